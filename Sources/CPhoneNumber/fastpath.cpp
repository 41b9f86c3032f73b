// The exact fast path of cpn_parse.
//
// libphonenumber's Debian build runs its regular expressions through ICU, which costs about
// 23 µs per number for Parse + IsValidNumber + GetNumberType + Format + GetRegionCodeForNumber.
// This file answers the same questions for the common shapes (ASCII digits with spaces, dots,
// dashes, brackets and slashes, a leading "+", "00" or the region's IDD prefix, a national
// prefix) with the SAME metadata, read at start-up from the library itself
// (i18n::phonenumbers::metadata_get(), the serialized PhoneMetadataCollection that
// PhoneNumberUtil loads), and the same algorithm, step for step: the functions below carry
// the names of the PhoneNumberUtil methods they follow. Patterns are matched with PCRE2's JIT
// (see docs/performance.md, "Phone numbers", for why PCRE2 rather than RE2).
//
// Anything outside that scope returns "not handled" and cpn_parse asks PhoneNumberUtil:
// other characters (letters, extensions, "tel:", '#', ';', non-ASCII digits or punctuation),
// a '+' anywhere but at the start, tabs or newlines between digits, fewer than three digits,
// a "+" whose country code is unknown (libphonenumber's retry without the plus), or metadata
// PCRE2 does not compile or whose national prefix transform rule uses more than digits and
// "$1".."$8".
// scripts/phone-differential and PhoneFastPathDifferentialTests prove the rest against
// PhoneNumberUtil on generated inputs from every region of the metadata.
//
// Thread safety: the tables are built once (a function-local static); each region's patterns
// are compiled once, on first use (std::call_once). Matching then only reads shared state;
// PCRE2's per-match scratch space is thread-local. No locks on the matching path.

#include "fastpath.h"

#include <phonenumbers/phonemetadata.pb.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#if defined(CPN_FAST_PATH_RE2)
// Only for re-measuring the engine choice (scripts/phone-differential --engine re2).
#include <re2/re2.h>
#else
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

namespace i18n {
namespace phonenumbers {
// Exported by libphonenumber (metadata.h, not installed by Debian): the serialized
// PhoneMetadataCollection that PhoneNumberUtil itself loads.
int metadata_size();
const void *metadata_get();
}  // namespace phonenumbers
}  // namespace i18n

namespace cpn {
namespace {

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumberDesc;

// PhoneNumberUtil's constants (phonenumberutil.h / phonenumberutil.cc).
constexpr size_t kMinLengthForNsn = 2;
constexpr size_t kMaxLengthForNsn = 17;
constexpr size_t kMaxLengthCountryCode = 3;
constexpr int kMaxCountryCode = 999;

// PhoneNumberUtil::PhoneNumberType values, as cpn_number.number_type carries them.
enum NumberType {
    FIXED_LINE = 0,
    MOBILE,
    FIXED_LINE_OR_MOBILE,
    TOLL_FREE,
    PREMIUM_RATE,
    SHARED_COST,
    VOIP,
    PERSONAL_NUMBER,
    PAGER,
    UAN,
    VOICEMAIL,
    UNKNOWN,
};

// PhoneNumberUtil::ValidationResult.
enum ValidationResult {
    IS_POSSIBLE,
    IS_POSSIBLE_LOCAL_ONLY,
    INVALID_COUNTRY_CODE,
    TOO_SHORT,
    INVALID_LENGTH,
    TOO_LONG,
};

// Per-call state: set when the regex engine fails (rather than answering match / no match),
// so the whole call falls back instead of guessing.
struct Call {
    bool engine_error = false;
};

// The capture groups of a prefix match: group n spans [start[n], end[n]) of the subject, or
// did not take part (start[n] < 0). Group 0 is the whole match.
struct Groups {
    static constexpr int kMax = 8;
    int count = 0;  // capture groups of the pattern (not counting group 0)
    long start[kMax + 1];
    long end[kMax + 1];

    std::string_view text(std::string_view subject, int n) const {
        if (n > count || start[n] < 0) return {};
        return subject.substr(static_cast<size_t>(start[n]),
                              static_cast<size_t>(end[n] - start[n]));
    }
};

// One compiled pattern, in the one mode libphonenumber uses it in: a full match
// (RegExp::FullMatch) or a match anchored at the start whose length is wanted
// (RegExp::Consume, ICU's lookingAt: leftmost-first, as PCRE2 and RE2 both do).
class Regex {
public:
    enum Mode { FULL, PREFIX };

    Regex() = default;
    Regex(const Regex &) = delete;
    Regex &operator=(const Regex &) = delete;

#if defined(CPN_FAST_PATH_RE2)
    bool compile(const std::string &pattern, Mode mode) {
        RE2::Options options;
        options.set_log_errors(false);
        re_.reset(new RE2(pattern, options));
        mode_ = mode;
        return re_->ok();
    }

    bool full_match(std::string_view text, Call &) const {
        return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
    }

    long prefix_match(std::string_view text, Call &) const {
        re2::StringPiece match;
        if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                        RE2::ANCHOR_START, &match, 1)) {
            return -1;
        }
        return static_cast<long>(match.size());
    }

    int capture_count() const { return re_->NumberOfCapturingGroups(); }

    long prefix_match(std::string_view text, Call &call, Groups &groups) const {
        re2::StringPiece pieces[Groups::kMax + 1];
        groups.count = capture_count();
        if (groups.count > Groups::kMax) {
            call.engine_error = true;
            return -1;
        }
        if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                        RE2::ANCHOR_START, pieces, groups.count + 1)) {
            return -1;
        }
        for (int n = 0; n <= groups.count; ++n) {
            groups.start[n] = pieces[n].data() ? pieces[n].data() - text.data() : -1;
            groups.end[n] = groups.start[n] + static_cast<long>(pieces[n].size());
        }
        return static_cast<long>(pieces[0].size());
    }

private:
    std::unique_ptr<RE2> re_;
    Mode mode_ = FULL;
#else
    ~Regex() {
        if (code_) pcre2_code_free(code_);
    }

    bool compile(const std::string &pattern, Mode mode) {
        int error = 0;
        PCRE2_SIZE offset = 0;
        uint32_t options = PCRE2_ANCHORED | (mode == FULL ? PCRE2_ENDANCHORED : 0);
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              options, &error, &offset, nullptr);
        if (!code_) return false;
        jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
        return true;
    }

    bool full_match(std::string_view text, Call &call) const {
        return run(text, call) >= 0;
    }

    long prefix_match(std::string_view text, Call &call) const {
        int rc = run(text, call);
        if (rc < 0) return -1;
        return static_cast<long>(pcre2_get_ovector_pointer(scratch())[1]);
    }

    int capture_count() const {
        uint32_t count = 0;
        pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &count);
        return static_cast<int>(count);
    }

    long prefix_match(std::string_view text, Call &call, Groups &groups) const {
        groups.count = capture_count();
        if (groups.count > Groups::kMax) {
            call.engine_error = true;
            return -1;
        }
        if (run(text, call) < 0) return -1;
        const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(scratch());
        for (int n = 0; n <= groups.count; ++n) {
            bool unset = ovector[2 * n] == PCRE2_UNSET;
            groups.start[n] = unset ? -1 : static_cast<long>(ovector[2 * n]);
            groups.end[n] = unset ? -1 : static_cast<long>(ovector[2 * n + 1]);
        }
        return groups.end[0];  // the match starts at 0 (anchored)
    }

private:
    // Thread-local match data, with room for every group a transform rule may use.
    struct Scratch {
        pcre2_match_data *data = pcre2_match_data_create(Groups::kMax + 1, nullptr);
        ~Scratch() {
            if (data) pcre2_match_data_free(data);
        }
    };
    static pcre2_match_data *scratch() {
        thread_local Scratch scratch;
        return scratch.data;
    }

    // >= 0: matched; -1: no match (an engine error also sets call.engine_error).
    int run(std::string_view text, Call &call) const {
        pcre2_match_data *data = scratch();
        if (!data) {
            call.engine_error = true;
            return -1;
        }
        auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
        int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), 0, 0, data, nullptr)
                      : pcre2_match(code_, subject, text.size(), 0, 0, data, nullptr);
        if (rc >= 0) return rc;
        if (rc != PCRE2_ERROR_NOMATCH) call.engine_error = true;
        return -1;
    }

    pcre2_code *code_ = nullptr;
    bool jit_ = false;
#endif
};

// A PhoneNumberDesc: possible lengths and the national number pattern.
struct Desc {
    std::vector<int> lengths;
    std::vector<int> local_lengths;
    bool has_pattern = false;
    Regex pattern;

    bool load(const PhoneNumberDesc &desc) {
        lengths.assign(desc.possible_length().begin(), desc.possible_length().end());
        local_lengths.assign(desc.possible_length_local_only().begin(),
                             desc.possible_length_local_only().end());
        has_pattern = !desc.national_number_pattern().empty();
        return !has_pattern || pattern.compile(desc.national_number_pattern(), Regex::FULL);
    }
};

// One PhoneMetadata (a region, or a non-geographic entity "001").
struct Meta {
    const PhoneMetadata *proto = nullptr;
    std::string id;
    int country_code = 0;
    std::string country_code_digits;
    bool main_country_for_code = false;
    bool has_leading_digits = false;
    bool has_transform_rule = false;
    bool same_mobile_and_fixed_line = false;

    // Compiled on first use.
    mutable std::once_flag once;
    mutable bool compiled = false;
    mutable Desc general, premium_rate, toll_free, shared_cost, voip, personal_number, pager,
        uan, voicemail, fixed_line, mobile;
    mutable bool has_national_prefix_for_parsing = false;
    mutable Regex national_prefix_for_parsing;
    // national_prefix_transform_rule as ICU's replaceFirst reads it: literal text, and "$n"
    // (group > 0) for capture group n.
    struct Piece {
        std::string literal;
        int group = 0;
    };
    mutable std::vector<Piece> transform_rule;
    mutable Regex international_prefix;
    mutable Regex leading_digits;

    // The compiled form, or nullptr when some pattern could not be compiled (then every
    // answer that needs this metadata falls back).
    const Meta *ready() const {
        std::call_once(once, [this] { compiled = compile(); });
        return compiled ? this : nullptr;
    }

private:
    bool compile() const {
        const PhoneMetadata &m = *proto;
        bool ok = general.load(m.general_desc()) && premium_rate.load(m.premium_rate()) &&
                  toll_free.load(m.toll_free()) && shared_cost.load(m.shared_cost()) &&
                  voip.load(m.voip()) && personal_number.load(m.personal_number()) &&
                  pager.load(m.pager()) && uan.load(m.uan()) && voicemail.load(m.voicemail()) &&
                  fixed_line.load(m.fixed_line()) && mobile.load(m.mobile());
        // TestNumberLength reads the first general possible length unconditionally.
        ok = ok && !general.lengths.empty();
        has_national_prefix_for_parsing = !m.national_prefix_for_parsing().empty();
        if (ok && has_national_prefix_for_parsing) {
            ok = national_prefix_for_parsing.compile(m.national_prefix_for_parsing(),
                                                     Regex::PREFIX);
        }
        if (ok && has_transform_rule) {
            ok = has_national_prefix_for_parsing &&
                 parse_transform_rule(m.national_prefix_transform_rule(),
                                      national_prefix_for_parsing.capture_count());
        }
        // Compiled even when empty, as RegExpCache::GetRegExp("") is (it matches "").
        ok = ok && international_prefix.compile(m.international_prefix(), Regex::PREFIX);
        if (ok && has_leading_digits) ok = leading_digits.compile(m.leading_digits(), Regex::PREFIX);
        return ok;
    }

    // ICU's replacement syntax, for the rules the metadata has: digits and "$n" references.
    // With fewer than ten groups ICU reads exactly one digit after "$". Anything else (a '\\'
    // escape, "${name}", "$0", a reference to a missing group, which ICU reports as an error)
    // makes the metadata unusable here, so such a region falls back.
    bool parse_transform_rule(const std::string &rule, int groups) const {
        if (groups > Groups::kMax) return false;
        transform_rule.clear();
        for (size_t i = 0; i < rule.size();) {
            char c = rule[i];
            if (c == '$') {
                if (i + 1 >= rule.size() || rule[i + 1] < '1' || rule[i + 1] > '9') return false;
                int group = rule[i + 1] - '0';
                i += 2;
                if (group > groups) return false;
                transform_rule.push_back({std::string(), group});
            } else if (c >= '0' && c <= '9') {
                if (transform_rule.empty() || transform_rule.back().group != 0) {
                    transform_rule.push_back({std::string(), 0});
                }
                transform_rule.back().literal += c;
                ++i;
            } else {
                return false;
            }
        }
        return true;
    }
};

// Everything PhoneNumberUtil derives from the metadata collection at construction.
struct Tables {
    PhoneMetadataCollection collection;
    std::vector<std::unique_ptr<Meta>> metas;
    // region_to_metadata_map_: the two-letter region codes ("FR"), indexed by letters.
    std::array<const Meta *, 26 * 26> regions{};
    // country_calling_code_to_region_code_map_: the metadata of each calling code, main
    // region first (libphonenumber's push_front/push_back order).
    std::vector<std::vector<const Meta *>> by_code =
        std::vector<std::vector<const Meta *>>(kMaxCountryCode + 1);
    // country_code_to_non_geographical_metadata_map_.
    std::array<const Meta *, kMaxCountryCode + 1> non_geographic{};
    bool ok = false;

    Tables() {
        try {
            ok = load();
        } catch (...) {
            ok = false;
        }
    }

    static int region_index(const char *region) {
        if (!region) return -1;
        if (region[0] < 'A' || region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z' ||
            region[2] != '\0') {
            return -1;
        }
        return (region[0] - 'A') * 26 + (region[1] - 'A');
    }

    // GetMetadataForRegion: nullptr for "ZZ", "001", lower case and unknown codes.
    const Meta *region(const char *region_code) const {
        int index = region_index(region_code);
        return index < 0 ? nullptr : regions[index];
    }

    // GetRegionCodeForCountryCode + GetMetadataForRegionOrCallingCode.
    const Meta *main_for_code(int country_code) const {
        const std::vector<const Meta *> &list = by_code[country_code];
        if (list.empty()) return nullptr;
        const Meta *main = list.front();
        return main->id == "001" ? non_geographic[country_code] : regions[region_index(main->id.c_str())];
    }

private:
    bool load() {
        if (!collection.ParseFromArray(i18n::phonenumbers::metadata_get(),
                                       i18n::phonenumbers::metadata_size())) {
            return false;
        }
        std::vector<bool> seen_region(26 * 26, false);
        for (const PhoneMetadata &m : collection.metadata()) {
            if (m.id() == "ZZ") continue;
            if (m.country_code() <= 0 || m.country_code() > kMaxCountryCode) return false;
            auto meta = std::make_unique<Meta>();
            meta->proto = &m;
            meta->id = m.id();
            meta->country_code = m.country_code();
            meta->country_code_digits = std::to_string(m.country_code());
            meta->main_country_for_code = m.main_country_for_code();
            meta->has_leading_digits = m.has_leading_digits();
            meta->has_transform_rule = !m.national_prefix_transform_rule().empty();
            meta->same_mobile_and_fixed_line = m.same_mobile_and_fixed_line_pattern();
            const Meta *pointer = meta.get();
            if (meta->id == "001") {
                // A calling code with two non-geographic entries would make the map's
                // insert keep the first: not a shape this emulation follows.
                if (non_geographic[meta->country_code]) return false;
                non_geographic[meta->country_code] = pointer;
            } else {
                int index = region_index(meta->id.c_str());
                if (index < 0 || seen_region[index]) return false;
                seen_region[index] = true;
                regions[index] = pointer;
            }
            std::vector<const Meta *> &list = by_code[meta->country_code];
            if (!list.empty() && meta->main_country_for_code) {
                list.insert(list.begin(), pointer);
            } else {
                list.push_back(pointer);
            }
            metas.push_back(std::move(meta));
        }
        // GetRegionCodeForNumberFromRegionList looks a shared code's regions up by region
        // code, which a non-geographic entry has not.
        for (const std::vector<const Meta *> &list : by_code) {
            if (list.size() < 2) continue;
            for (const Meta *meta : list) {
                if (meta->id == "001") return false;
            }
        }
        return !metas.empty();
    }
};

// Built on first use and never destroyed, so that a thread still parsing while the process
// exits does not read freed tables.
const Tables &tables() {
    static const Tables *instance = new Tables();
    return *instance;
}

bool contains(const std::vector<int> &values, int value) {
    for (int v : values) {
        if (v == value) return true;
    }
    return false;
}

// RegexBasedMatcher::MatchNationalNumber without prefix matching.
bool match_national_number(std::string_view number, const Desc &desc, Call &call) {
    return desc.has_pattern && desc.pattern.full_match(number, call);
}

// PhoneNumberUtil::IsNumberMatchingDesc.
bool is_number_matching_desc(std::string_view number, const Desc &desc, Call &call) {
    if (!desc.lengths.empty() && !contains(desc.lengths, static_cast<int>(number.size()))) {
        return false;
    }
    return match_national_number(number, desc, call);
}

// PhoneNumberUtil::GetNumberTypeHelper.
int get_number_type_helper(std::string_view number, const Meta &m, Call &call) {
    if (!is_number_matching_desc(number, m.general, call)) return UNKNOWN;
    if (is_number_matching_desc(number, m.premium_rate, call)) return PREMIUM_RATE;
    if (is_number_matching_desc(number, m.toll_free, call)) return TOLL_FREE;
    if (is_number_matching_desc(number, m.shared_cost, call)) return SHARED_COST;
    if (is_number_matching_desc(number, m.voip, call)) return VOIP;
    if (is_number_matching_desc(number, m.personal_number, call)) return PERSONAL_NUMBER;
    if (is_number_matching_desc(number, m.pager, call)) return PAGER;
    if (is_number_matching_desc(number, m.uan, call)) return UAN;
    if (is_number_matching_desc(number, m.voicemail, call)) return VOICEMAIL;
    if (is_number_matching_desc(number, m.fixed_line, call)) {
        if (m.same_mobile_and_fixed_line) return FIXED_LINE_OR_MOBILE;
        if (is_number_matching_desc(number, m.mobile, call)) return FIXED_LINE_OR_MOBILE;
        return FIXED_LINE;
    }
    if (!m.same_mobile_and_fixed_line && is_number_matching_desc(number, m.mobile, call)) {
        return MOBILE;
    }
    return UNKNOWN;
}

// PhoneNumberUtil::TestNumberLength for type UNKNOWN (the general description).
ValidationResult test_number_length(size_t length, const Meta &m) {
    const std::vector<int> &possible = m.general.lengths;
    int actual = static_cast<int>(length);
    if (possible.front() == -1) return INVALID_LENGTH;
    if (contains(m.general.local_lengths, actual)) return IS_POSSIBLE_LOCAL_ONLY;
    int minimum = possible.front();
    if (minimum == actual) return IS_POSSIBLE;
    if (minimum > actual) return TOO_SHORT;
    if (possible.back() < actual) return TOO_LONG;
    for (size_t i = 1; i < possible.size(); ++i) {
        if (possible[i] == actual) return IS_POSSIBLE;
    }
    return INVALID_LENGTH;
}

// PhoneNumberUtil::MaybeStripNationalPrefixAndCarrierCode: the number with its national
// prefix removed (or transformed by the region's rule, into `storage`), or as it was.
std::string_view maybe_strip_national_prefix(const Meta &m, std::string_view number, Call &call,
                                             std::string &storage) {
    if (number.empty() || !m.has_national_prefix_for_parsing) return number;
    bool is_viable_original_number = match_national_number(number, m.general, call);
    if (m.has_transform_rule) {
        // Consume(&carrier_code, &captured_part) with two groups or more, else
        // Consume(&captured_part) with one: the part captured is the last of those groups.
        Groups groups;
        long consumed = m.national_prefix_for_parsing.prefix_match(number, call, groups);
        int captured_group = groups.count >= 2 ? 2 : groups.count;
        if (consumed >= 0 && captured_group > 0 && !groups.text(number, captured_group).empty()) {
            // Replace (ICU's replaceFirst): the match, found again at the start, becomes the
            // rule with its groups filled in.
            storage.clear();
            for (const Meta::Piece &piece : m.transform_rule) {
                if (piece.group == 0) {
                    storage += piece.literal;
                } else {
                    std::string_view group = groups.text(number, piece.group);
                    storage.append(group.data(), group.size());
                }
            }
            std::string_view rest = number.substr(static_cast<size_t>(consumed));
            storage.append(rest.data(), rest.size());
            if (is_viable_original_number && !match_national_number(storage, m.general, call)) {
                return number;
            }
            return storage;
        }
    }
    long consumed = m.national_prefix_for_parsing.prefix_match(number, call);
    if (consumed < 0) return number;
    std::string_view rest = number.substr(static_cast<size_t>(consumed));
    if (is_viable_original_number && !match_national_number(rest, m.general, call)) {
        return number;
    }
    return rest;
}

// PhoneNumberUtil::ExtractCountryCode: the calling code at the start of `number` (removed
// from it), or 0.
int extract_country_code(const Tables &t, std::string_view &number) {
    if (number.empty() || number[0] == '0') return 0;
    for (size_t i = 1; i <= kMaxLengthCountryCode && i <= number.size(); ++i) {
        int code = 0;
        for (size_t k = 0; k < i; ++k) code = code * 10 + (number[k] - '0');
        if (!t.by_code[code].empty()) {
            number.remove_prefix(i);
            return code;
        }
    }
    return 0;
}

void copy_string(char *destination, size_t capacity, std::string_view source) {
    size_t length = source.size() < capacity - 1 ? source.size() : capacity - 1;
    std::memcpy(destination, source.data(), length);
    destination[length] = '\0';
}

bool fast_parse_unguarded(const char *input, size_t length, const char *default_region,
                          cpn_number *out, cpn_status *status) {
    const Tables &t = tables();
    if (!t.ok || !input) return false;
    Call call;

    // GetMetadataForRegion(default_region): the C wrapper passes "ZZ" when the region is
    // unknown, which has none either.
    const Meta *region_meta = t.region(default_region);
    if (region_meta) {
        region_meta = region_meta->ready();
        if (!region_meta) return false;
    }

    // cphonenumber.cpp's prepare(): with no usable region, a leading "00" (after
    // whitespace) stands for "+".
    size_t start = 0;
    while (start < length && (input[start] == ' ' || input[start] == '\t' ||
                              input[start] == '\r' || input[start] == '\n')) {
        ++start;
    }
    bool plus = false;
    size_t scan = 0;
    if (!region_meta && length - start >= 2 && input[start] == '0' && input[start + 1] == '0') {
        plus = true;
        scan = start + 2;
    }

    // ExtractPossibleNumber + IsViablePhoneNumber + Normalize, for the accepted characters:
    // the number starts at its first digit or '+', trailing separators are dropped, and
    // what remains is a leading '+' then digits and punctuation, reduced to its digits.
    char digits[CPN_MAX_INPUT_LENGTH];
    size_t digit_count = 0;
    bool started = plus;
    bool blank_after_start = false;
    for (size_t i = scan; i < length; ++i) {
        char c = input[i];
        if (c >= '0' && c <= '9') {
            // A tab or newline inside the number is not valid punctuation.
            if (blank_after_start) return false;
            digits[digit_count++] = c;
            started = true;
            continue;
        }
        switch (c) {
        case '+':
            // A second '+', or one after a digit: not a shape handled here.
            if (started) return false;
            started = true;
            plus = true;
            break;
        case ' ':
        case '.':
        case '-':
        case '(':
        case ')':
        case '/':
            break;
        case '\t':
        case '\r':
        case '\n':
            if (started) blank_after_start = true;
            break;
        default:
            return false;
        }
    }
    // Fewer than three digits meets the "two digits, no punctuation" rule of
    // IsViablePhoneNumber, or fails it: left to libphonenumber.
    if (digit_count < 3) return false;

    // CheckRegionForParsing.
    if (!region_meta && !plus) {
        *status = CPN_INVALID_COUNTRY_CODE;
        return true;
    }

    // MaybeExtractCountryCode. A transform rule writes the number it makes in a storage
    // string, which `number` may then point into.
    std::string region_storage, country_storage;
    std::string_view number(digits, digit_count);
    int country_code = 0;
    if (plus) {
        // digit_count > kMinLengthForNsn, so not TOO_SHORT_AFTER_IDD.
        country_code = extract_country_code(t, number);
        // An unknown code after '+' makes libphonenumber retry without the plus.
        if (country_code == 0) return false;
    } else {
        // MaybeStripInternationalPrefixAndNormalize / ParsePrefixAsIdd.
        long idd = region_meta->international_prefix.prefix_match(number, call);
        if (call.engine_error) return false;
        bool stripped_idd =
            idd >= 0 && !(static_cast<size_t>(idd) < number.size() && number[idd] == '0');
        if (stripped_idd) {
            number.remove_prefix(static_cast<size_t>(idd));
            if (number.size() <= kMinLengthForNsn) {
                *status = CPN_TOO_SHORT_AFTER_IDD;
                return true;
            }
            country_code = extract_country_code(t, number);
            if (country_code == 0) {
                *status = CPN_INVALID_COUNTRY_CODE;
                return true;
            }
        } else if (number.substr(0, region_meta->country_code_digits.size()) ==
                   region_meta->country_code_digits) {
            // The region's own calling code written without '+' or IDD.
            std::string_view potential = maybe_strip_national_prefix(
                *region_meta, number.substr(region_meta->country_code_digits.size()), call,
                region_storage);
            if ((!match_national_number(number, region_meta->general, call) &&
                 match_national_number(potential, region_meta->general, call)) ||
                test_number_length(number.size(), *region_meta) == TOO_LONG) {
                country_code = region_meta->country_code;
                number = potential;
            }
        }
    }

    // ParseHelper, after the calling code.
    const Meta *country_meta = region_meta;
    if (country_code != 0) {
        const Meta *main = t.main_for_code(country_code);
        if (main != region_meta) country_meta = main;
    } else {
        country_code = region_meta->country_code;
    }
    if (number.size() < kMinLengthForNsn) {
        if (call.engine_error) return false;
        *status = CPN_TOO_SHORT_NSN;
        return true;
    }
    if (!country_meta) return false;
    country_meta = country_meta->ready();
    if (!country_meta) return false;
    std::string_view potential =
        maybe_strip_national_prefix(*country_meta, number, call, country_storage);
    ValidationResult result = test_number_length(potential.size(), *country_meta);
    if (result != TOO_SHORT && result != IS_POSSIBLE_LOCAL_ONLY && result != INVALID_LENGTH) {
        number = potential;
    }
    if (call.engine_error) return false;
    if (number.size() < kMinLengthForNsn) {
        *status = CPN_TOO_SHORT_NSN;
        return true;
    }
    if (number.size() > kMaxLengthForNsn) {
        *status = CPN_TOO_LONG_NSN;
        return true;
    }
    // The national significant number: SetItalianLeadingZerosForPhoneNumber and
    // GetNationalSignificantNumber give back exactly these digits.
    std::string_view nsn = number;

    // GetRegionCodeForNumber (and GetRegionCodeForNumberFromRegionList).
    const std::vector<const Meta *> &list = t.by_code[country_code];
    const Meta *number_meta = nullptr;
    int number_type = UNKNOWN;
    bool typed = false;
    if (list.size() == 1) {
        number_meta = list.front();
    } else {
        for (const Meta *candidate : list) {
            const Meta *m = candidate->ready();
            if (!m) return false;
            if (m->has_leading_digits) {
                if (m->leading_digits.prefix_match(nsn, call) >= 0) {
                    number_meta = m;
                    break;
                }
            } else {
                int type = get_number_type_helper(nsn, *m, call);
                if (type != UNKNOWN) {
                    number_meta = m;
                    number_type = type;
                    typed = true;
                    break;
                }
            }
        }
    }
    // GetNumberType and IsValidNumber (IsValidNumberForRegion), which agree: the number's
    // region comes from its own calling code, so the code check always passes.
    if (number_meta) {
        number_meta = number_meta->ready();
        if (!number_meta) return false;
        if (!typed) number_type = get_number_type_helper(nsn, *number_meta, call);
    }
    // IsPossibleNumber: the main region's lengths.
    const Meta *main = t.main_for_code(country_code);
    if (!main) return false;
    main = main->ready();
    if (!main) return false;
    ValidationResult possible = test_number_length(nsn.size(), *main);
    if (call.engine_error) return false;

    // Format(E164): "+", the calling code, the national significant number.
    char e164[sizeof out->e164];
    int written = std::snprintf(e164, sizeof e164, "+%d", country_code);
    if (written <= 0 || static_cast<size_t>(written) + nsn.size() >= sizeof e164) return false;
    std::memcpy(e164 + written, nsn.data(), nsn.size());
    e164[static_cast<size_t>(written) + nsn.size()] = '\0';

    std::memcpy(out->e164, e164, std::strlen(e164) + 1);
    copy_string(out->region, sizeof out->region, number_meta ? number_meta->id : "ZZ");
    out->country_code = country_code;
    out->number_type = number_meta ? number_type : UNKNOWN;
    out->is_valid = number_meta && number_type != UNKNOWN ? 1 : 0;
    out->is_possible = possible == IS_POSSIBLE || possible == IS_POSSIBLE_LOCAL_ONLY ? 1 : 0;
    *status = CPN_OK;
    return true;
}

}  // namespace

bool fast_parse(const char *input, size_t length, const char *default_region, cpn_number *out,
                cpn_status *status) noexcept {
    try {
        if (fast_parse_unguarded(input, length, default_region, out, status)) return true;
    } catch (...) {
    }
    std::memset(out, 0, sizeof *out);
    return false;
}

}  // namespace cpn
