// A small C API over libphonenumber's PhoneNumberUtil, for Swift.
#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define CPN_NOEXCEPT noexcept
#else
#define CPN_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of cpn_parse.
typedef enum {
    CPN_OK = 0,                    ///< parsed (check is_valid for validity)
    CPN_INVALID_COUNTRY_CODE = 1,  ///< no or unknown country calling code, and no usable region
    CPN_NOT_A_NUMBER = 2,
    CPN_TOO_SHORT_AFTER_IDD = 3,
    CPN_TOO_SHORT_NSN = 4,
    CPN_TOO_LONG_NSN = 5,
    CPN_INPUT_TOO_LONG = 6,        ///< input longer than cpn_max_input_length
} cpn_status;

/// A parsed number. Strings are NUL-terminated ASCII.
typedef struct {
    char e164[24];        ///< "+33612345678"
    char region[4];       ///< ISO 3166-1 alpha-2 region of the number, "ZZ" when unknown
    int country_code;     ///< 33
    int number_type;      ///< libphonenumber's PhoneNumberUtil::PhoneNumberType value
    int is_valid;         ///< PhoneNumberUtil::IsValidNumber
    int is_possible;      ///< PhoneNumberUtil::IsPossibleNumber
} cpn_number;

/// The longest input cpn_parse accepts, in bytes.
#define CPN_MAX_INPUT_LENGTH 250

/// Parses `input` (UTF-8, `length` bytes) with `default_region` (ISO-2, or NULL/"" for none).
/// Accepts what people type: spaces, dots, dashes, brackets, "00" and other IDD prefixes,
/// "tel:" URIs (RFC 3966). Never throws. Thread-safe.
///
/// The common shapes (ASCII digits and separators, "+", "00" or the region's IDD prefix, a
/// national prefix) are answered by an exact fast path that reads libphonenumber's own
/// metadata and matches its patterns with PCRE2; everything else goes to libphonenumber's
/// PhoneNumberUtil. Both give byte-identical results (see cpn_differential_run).
cpn_status cpn_parse(const char *input, size_t length, const char *default_region,
                     cpn_number *out) CPN_NOEXCEPT;

/// For tests and benchmarks: cpn_parse answered by libphonenumber's PhoneNumberUtil only
/// (Parse, Format(E164), GetRegionCodeForNumber, GetNumberType, IsValidNumber,
/// IsPossibleNumber), never by the fast path. Same arguments and results as cpn_parse.
cpn_status cpn_parse_reference(const char *input, size_t length, const char *default_region,
                               cpn_number *out) CPN_NOEXCEPT;

/// For tests and benchmarks: cpn_parse answered by the fast path only. Sets `*handled` to 1
/// when the fast path answered (the status and `*out` are then cpn_parse's answer), or to 0
/// when the input is outside its scope (`*out` is then zeroed and the status is
/// CPN_NOT_A_NUMBER, meaning nothing).
cpn_status cpn_parse_fast_only(const char *input, size_t length, const char *default_region,
                               cpn_number *out, int *handled) CPN_NOEXCEPT;

/// Totals of a cpn_differential_run.
typedef struct {
    uint64_t tried;                 ///< inputs generated and compared
    uint64_t fast_handled;          ///< inputs the fast path answered (cpn_parse_fast_only)
    uint64_t mismatches;            ///< inputs where cpn_parse and cpn_parse_reference differ
    uint64_t reference_valid;       ///< inputs the reference parsed as valid numbers
    uint64_t by_status[7];          ///< reference status counts, indexed by cpn_status
    uint64_t by_type[12];           ///< reference number_type counts of CPN_OK answers
    uint64_t metadata_entries;      ///< regions and non-geographic entities inputs came from
    uint64_t regions;               ///< of which regions (two-letter codes)
} cpn_differential_report;

/// Called for each mismatch of a cpn_differential_run with the input and the default region.
typedef void (*cpn_mismatch_callback)(const char *input, size_t length,
                                      const char *default_region, void *context);

/// For tests: generates `count` messy inputs from `seed` (example numbers of every number
/// type of every region and non-geographic entity in libphonenumber's metadata, mutated, with
/// separators, IDD prefixes, "+", national prefixes, random digit strings, out-of-scope
/// noise, with no, the same, another or an invalid default region), parses each with
/// cpn_parse, cpn_parse_reference and cpn_parse_fast_only, and counts in `*report`. Returns 0,
/// or -1 when the metadata cannot be read. The same seed gives the same inputs.
int cpn_differential_run(uint64_t seed, uint64_t count, cpn_differential_report *report,
                         cpn_mismatch_callback on_mismatch, void *context) CPN_NOEXCEPT;

/// Snake-case name of a number type: "mobile", "fixed_line", "fixed_line_or_mobile",
/// "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager", "uan",
/// "voicemail", "unknown".
const char *cpn_type_name(int number_type) CPN_NOEXCEPT;

/// 1 when libphonenumber knows `region` (ISO-2, upper case), else 0.
int cpn_is_supported_region(const char *region) CPN_NOEXCEPT;

/// The country calling code of `region`, 0 when unknown.
int cpn_country_code_for_region(const char *region) CPN_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
