// A small C API over libphonenumber's PhoneNumberUtil, for Swift.
#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

#include <stddef.h>

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
/// "tel:" URIs (RFC 3966). Never throws.
cpn_status cpn_parse(const char *input, size_t length, const char *default_region,
                     cpn_number *out) CPN_NOEXCEPT;

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
