// The C API of cphonenumber.h over libphonenumber's PhoneNumberUtil.
//
// Nothing here lets a C++ exception escape: every entry point is noexcept and catches
// everything, since an exception unwinding through Swift frames is undefined behaviour.

#include "cphonenumber.h"

#include "fastpath.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstring>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

void copy_string(char *destination, size_t capacity, const std::string &source) {
    size_t length = source.size() < capacity - 1 ? source.size() : capacity - 1;
    std::memcpy(destination, source.data(), length);
    destination[length] = '\0';
}

cpn_status map_error(PhoneNumberUtil::ErrorType error) {
    switch (error) {
    case PhoneNumberUtil::NO_PARSING_ERROR: return CPN_OK;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return CPN_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::NOT_A_NUMBER: return CPN_NOT_A_NUMBER;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD: return CPN_TOO_SHORT_AFTER_IDD;
    case PhoneNumberUtil::TOO_SHORT_NSN: return CPN_TOO_SHORT_NSN;
    case PhoneNumberUtil::TOO_LONG_NSN: return CPN_TOO_LONG_NSN;
    }
    return CPN_NOT_A_NUMBER;
}

// Leading "00" read as "+" when there is no region to interpret it as an IDD prefix.
std::string prepare(const std::string &input, bool has_region) {
    size_t start = input.find_first_not_of(" \t\r\n");
    if (start == std::string::npos) return input;
    if (!has_region && input.compare(start, 2, "00") == 0) {
        return "+" + input.substr(start + 2);
    }
    return input;
}

}  // namespace

extern "C" cpn_status cpn_parse(const char *input, size_t length, const char *default_region,
                                cpn_number *out) noexcept {
    std::memset(out, 0, sizeof *out);
    if (length > CPN_MAX_INPUT_LENGTH) return CPN_INPUT_TOO_LONG;
    cpn_status status = CPN_NOT_A_NUMBER;
    if (cpn::fast_parse(input, length, default_region, out, &status)) return status;
    return cpn_parse_reference(input, length, default_region, out);
}

extern "C" cpn_status cpn_parse_fast_only(const char *input, size_t length,
                                          const char *default_region, cpn_number *out,
                                          int *handled) noexcept {
    std::memset(out, 0, sizeof *out);
    *handled = 1;
    if (length > CPN_MAX_INPUT_LENGTH) return CPN_INPUT_TOO_LONG;
    cpn_status status = CPN_NOT_A_NUMBER;
    if (cpn::fast_parse(input, length, default_region, out, &status)) return status;
    *handled = 0;
    return CPN_NOT_A_NUMBER;
}

extern "C" cpn_status cpn_parse_reference(const char *input, size_t length,
                                          const char *default_region, cpn_number *out) noexcept {
    std::memset(out, 0, sizeof *out);
    if (length > CPN_MAX_INPUT_LENGTH) return CPN_INPUT_TOO_LONG;
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        std::string region = default_region ? default_region : "";
        bool has_region = !region.empty() && util->GetCountryCodeForRegion(region) != 0;
        if (!has_region) region = "ZZ";
        std::string text = prepare(std::string(input ? input : "", length), has_region);

        PhoneNumber number;
        PhoneNumberUtil::ErrorType error = util->Parse(text, region, &number);
        if (error != PhoneNumberUtil::NO_PARSING_ERROR) return map_error(error);

        std::string e164;
        util->Format(number, PhoneNumberUtil::E164, &e164);
        copy_string(out->e164, sizeof out->e164, e164);
        std::string number_region;
        util->GetRegionCodeForNumber(number, &number_region);
        copy_string(out->region, sizeof out->region, number_region.empty() ? "ZZ" : number_region);
        out->country_code = number.country_code();
        out->number_type = static_cast<int>(util->GetNumberType(number));
        out->is_valid = util->IsValidNumber(number) ? 1 : 0;
        out->is_possible = util->IsPossibleNumber(number) ? 1 : 0;
        return CPN_OK;
    } catch (...) {
        return CPN_NOT_A_NUMBER;
    }
}

extern "C" const char *cpn_type_name(int number_type) noexcept {
    switch (static_cast<PhoneNumberUtil::PhoneNumberType>(number_type)) {
    case PhoneNumberUtil::FIXED_LINE: return "fixed_line";
    case PhoneNumberUtil::MOBILE: return "mobile";
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return "fixed_line_or_mobile";
    case PhoneNumberUtil::TOLL_FREE: return "toll_free";
    case PhoneNumberUtil::PREMIUM_RATE: return "premium_rate";
    case PhoneNumberUtil::SHARED_COST: return "shared_cost";
    case PhoneNumberUtil::VOIP: return "voip";
    case PhoneNumberUtil::PERSONAL_NUMBER: return "personal_number";
    case PhoneNumberUtil::PAGER: return "pager";
    case PhoneNumberUtil::UAN: return "uan";
    case PhoneNumberUtil::VOICEMAIL: return "voicemail";
    case PhoneNumberUtil::UNKNOWN: return "unknown";
    }
    return "unknown";
}

extern "C" int cpn_is_supported_region(const char *region) noexcept {
    try {
        return region && PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) != 0 ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" int cpn_country_code_for_region(const char *region) noexcept {
    try {
        return region ? PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) : 0;
    } catch (...) {
        return 0;
    }
}
