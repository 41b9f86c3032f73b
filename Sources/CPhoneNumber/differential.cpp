// cpn_differential_run: the generator that proves the fast path exact (see cphonenumber.h).
//
// Inputs come from libphonenumber's own metadata: an example number of some type of some
// region (every region and non-geographic entity is drawn uniformly), mutated (a digit
// changed, dropped or added, cut short, made longer, replaced by random digits), written in
// one of the shapes people use ("+CC", IDD + CC, national prefix, CC without "+", "+CC (0)"),
// split by separators, sometimes with out-of-scope noise (letters, extensions, "tel:",
// non-ASCII digits, tabs, stray "+", invalid UTF-8, over-long input), and parsed with no
// default region, the number's own, another one, or an invalid one. Each input goes through
// cpn_parse, cpn_parse_reference and cpn_parse_fast_only; any difference is a mismatch.

#include "cphonenumber.h"

#include <phonenumbers/phonemetadata.pb.h>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace i18n {
namespace phonenumbers {
int metadata_size();
const void *metadata_get();
}  // namespace phonenumbers
}  // namespace i18n

namespace {

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumberDesc;

// splitmix64: small, fast, and the same sequence on every platform.
struct Random {
    uint64_t state;

    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
    bool percent(unsigned p) { return below(100) < p; }
    char digit() { return static_cast<char>('0' + below(10)); }
    template <typename T> const T &pick(const std::vector<T> &values) {
        return values[below(values.size())];
    }
};

struct Source {
    std::string id;
    int country_code = 0;
    std::string national_prefix;
    std::vector<std::string> idd;       // digit strings that may be this region's IDD
    std::vector<std::string> examples;  // national significant numbers
};

std::string digits_only(const std::string &text) {
    std::string digits;
    for (char c : text) {
        if (c >= '0' && c <= '9') digits += c;
    }
    return digits;
}

bool all_digits(const std::string &text) {
    if (text.empty()) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::vector<Source> load_sources() {
    std::vector<Source> sources;
    PhoneMetadataCollection collection;
    if (!collection.ParseFromArray(i18n::phonenumbers::metadata_get(),
                                   i18n::phonenumbers::metadata_size())) {
        return sources;
    }
    for (const PhoneMetadata &m : collection.metadata()) {
        Source source;
        source.id = m.id();
        source.country_code = m.country_code();
        source.national_prefix = m.national_prefix();
        if (!m.preferred_international_prefix().empty()) {
            source.idd.push_back(digits_only(m.preferred_international_prefix()));
        }
        if (all_digits(m.international_prefix())) source.idd.push_back(m.international_prefix());
        for (const char *common : {"00", "011", "010", "001", "0011", "810", "002", "009", "119"}) {
            source.idd.push_back(common);
        }
        const PhoneNumberDesc *descs[] = {
            &m.fixed_line(), &m.mobile(),    &m.toll_free(), &m.premium_rate(),
            &m.shared_cost(), &m.voip(),     &m.personal_number(), &m.pager(),
            &m.uan(),        &m.voicemail(), &m.no_international_dialling(),
        };
        for (const PhoneNumberDesc *desc : descs) {
            if (desc->has_example_number()) source.examples.push_back(desc->example_number());
        }
        if (source.examples.empty()) source.examples.push_back("123456789");
        sources.push_back(std::move(source));
    }
    return sources;
}

// A national number, often not the example as it is.
std::string mutate(Random &random, std::string number) {
    switch (random.below(14)) {
    case 0:  // a digit changed
        if (!number.empty()) number[random.below(number.size())] = random.digit();
        break;
    case 1:  // a digit dropped
        if (!number.empty()) number.erase(random.below(number.size()), 1);
        break;
    case 2:  // a digit added
        number.insert(random.below(number.size() + 1), 1, random.digit());
        break;
    case 3:  // cut short
        number.resize(random.below(number.size() + 1));
        break;
    case 4:  // longer
        for (size_t n = 1 + random.below(4); n > 0; --n) number += random.digit();
        break;
    case 5: {  // random digits
        number.clear();
        for (size_t n = 1 + random.below(18); n > 0; --n) number += random.digit();
        break;
    }
    case 6:  // another first digit
        if (!number.empty()) number[0] = random.digit();
        break;
    default:  // as it is
        break;
    }
    return number;
}

// The digits people would type: calling code, prefixes and the number, as separate parts.
std::vector<std::string> shape(Random &random, const Source &source, const std::string &national,
                               const std::vector<Source> &sources, bool &leading_plus) {
    std::string cc = std::to_string(source.country_code);
    std::string np = source.national_prefix;
    leading_plus = false;
    switch (random.below(10)) {
    case 0:
    case 1:
        leading_plus = true;
        return {cc, national};
    case 2:  // this region's (or a guessed) IDD
        return {random.pick(source.idd), cc, national};
    case 3:  // another region's IDD
        return {random.pick(random.pick(sources).idd), cc, national};
    case 4:
    case 5:  // national, with the national prefix when there is one
        if (!np.empty() && random.percent(80)) return {np, national};
        return {national};
    case 6:  // the calling code without '+'
        if (!np.empty() && random.percent(30)) return {cc, np, national};
        return {cc, national};
    case 7:  // "+CC (0) ..."
        leading_plus = true;
        return {cc, np.empty() ? std::string("0") : np, national};
    case 8: {  // random digits
        leading_plus = random.percent(40);
        std::string digits;
        for (size_t n = random.below(21); n > 0; --n) digits += random.digit();
        return {digits};
    }
    default:  // another calling code's number under this region
        leading_plus = random.percent(50);
        return {std::to_string(random.pick(sources).country_code), national};
    }
}

std::string separator(Random &random) {
    static const std::vector<std::string> separators = {
        "", "", "", " ", " ", " ", ".", "-", "/", "  ", " - ", ") ", " (", ". ",
    };
    return random.pick(separators);
}

// Splits the parts into groups with separators, as typed.
std::string write(Random &random, const std::vector<std::string> &parts, bool leading_plus) {
    std::string text;
    if (random.percent(10)) text += random.percent(50) ? " " : "  ";
    if (random.percent(3)) text += "\t";
    if (random.percent(4)) text += "(";
    if (leading_plus) text += "+";
    bool bracket_prefix = parts.size() > 1 && random.percent(10);
    for (size_t p = 0; p < parts.size(); ++p) {
        const std::string &part = parts[p];
        if (p > 0) text += separator(random);
        if (bracket_prefix && p == parts.size() - 2) {
            text += "(" + part + ")";
            continue;
        }
        size_t group = 2 + random.below(3);
        for (size_t i = 0; i < part.size(); ++i) {
            if (i > 0 && i % group == 0) text += separator(random);
            text += part[i];
        }
    }
    if (random.percent(5)) text += random.percent(50) ? " " : ".";
    if (random.percent(2)) text += "\n";
    return text;
}

// Characters and forms outside the fast path's scope, so that its fallback is tested too.
void add_noise(Random &random, std::string &text) {
    static const std::vector<std::string> tails = {
        " ext. 12", " x123", ";ext=45", " #", "#", " ext 1", ",,12", " (home)", "+",
    };
    static const std::vector<std::string> inside = {
        "\t", "+", "a", "O", "\xEF\xBC\x91" /* fullwidth 1 */, "\xD9\xA3" /* Arabic-Indic 3 */,
        "~", "*", "\xC2\xA0" /* no-break space */, "\xFF" /* not UTF-8 */, std::string(1, '\0'),
        "[", "]", "x",
    };
    switch (random.below(8)) {
    case 0:
        text += random.pick(tails);
        break;
    case 1:
        text.insert(random.below(text.size() + 1), random.pick(inside));
        break;
    case 2:
        text = "tel:" + text;
        break;
    case 3:
        text = "\xEF\xBC\x8B" + text;  // fullwidth plus
        break;
    case 4:
        text = "++" + text;
        break;
    case 5:
        text = std::string(CPN_MAX_INPUT_LENGTH - 5 + random.below(10), '1');
        break;
    case 6:
        text = random.percent(50) ? std::string() : std::string(" - ");
        break;
    default:
        text = "Tel: " + text;
        break;
    }
}

std::string default_region(Random &random, const Source &source,
                           const std::vector<Source> &sources) {
    bool geographic = source.id != "001";
    size_t roll = random.below(100);
    if (roll < 20) return "";
    if (roll < 60 && geographic) return source.id;
    if (roll < 85) {
        const Source &other = random.pick(sources);
        return other.id == "001" ? std::string("FR") : other.id;
    }
    if (roll < 90 && geographic) {
        std::string lower = source.id;
        for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return lower;
    }
    static const std::vector<std::string> odd = {"ZZ", "001", "XX", "F", "FRA", "UK", "EU"};
    return random.pick(odd);
}

}  // namespace

extern "C" int cpn_differential_run(uint64_t seed, uint64_t count, cpn_differential_report *report,
                                    cpn_mismatch_callback on_mismatch, void *context) noexcept {
    std::memset(report, 0, sizeof *report);
    try {
        std::vector<Source> sources = load_sources();
        if (sources.empty()) return -1;
        for (const Source &source : sources) {
            report->metadata_entries += 1;
            if (source.id != "001") report->regions += 1;
        }
        Random random{seed};
        for (uint64_t n = 0; n < count; ++n) {
            const Source &source = random.pick(sources);
            std::string national = mutate(random, random.pick(source.examples));
            bool leading_plus = false;
            std::vector<std::string> parts = shape(random, source, national, sources, leading_plus);
            std::string text = write(random, parts, leading_plus);
            if (random.percent(8)) add_noise(random, text);
            std::string region = default_region(random, source, sources);

            cpn_number fast_or_reference, reference, fast_only;
            cpn_status status = cpn_parse(text.data(), text.size(), region.c_str(),
                                          &fast_or_reference);
            cpn_status reference_status = cpn_parse_reference(text.data(), text.size(),
                                                              region.c_str(), &reference);
            int handled = 0;
            cpn_status fast_status = cpn_parse_fast_only(text.data(), text.size(),
                                                         region.c_str(), &fast_only, &handled);
            report->tried += 1;
            if (handled) report->fast_handled += 1;
            if (reference_status >= 0 && reference_status < 7) {
                report->by_status[reference_status] += 1;
            }
            if (reference_status == CPN_OK) {
                if (reference.number_type >= 0 && reference.number_type < 12) {
                    report->by_type[reference.number_type] += 1;
                }
                if (reference.is_valid) report->reference_valid += 1;
            }
            bool same = status == reference_status &&
                        std::memcmp(&fast_or_reference, &reference, sizeof reference) == 0;
            if (handled) {
                same = same && fast_status == reference_status &&
                       std::memcmp(&fast_only, &reference, sizeof reference) == 0;
            }
            if (!same) {
                report->mismatches += 1;
                if (on_mismatch) on_mismatch(text.data(), text.size(), region.c_str(), context);
            }
        }
        return 0;
    } catch (...) {
        return -1;
    }
}
