// Driver of scripts/phone-differential: the large differential run of CPhoneNumber's fast
// path against libphonenumber (cpn_differential_run), and a C++-level timing of both paths.
// Built by the script with g++ from Sources/CPhoneNumber; not part of the Swift package.

#include "cphonenumber.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <time.h>

namespace {

void print_mismatch(const char *input, size_t length, const char *region, void *context) {
    auto *printed = static_cast<unsigned *>(context);
    if (++*printed > 50) return;
    cpn_number fast, reference;
    cpn_status fast_status = cpn_parse(input, length, region, &fast);
    cpn_status reference_status = cpn_parse_reference(input, length, region, &reference);
    std::printf("MISMATCH input=\"");
    for (size_t i = 0; i < length; ++i) {
        unsigned char c = static_cast<unsigned char>(input[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') std::printf("\\x%02x", c);
        else std::putchar(c);
    }
    std::printf("\" region=\"%s\"\n  cpn_parse: status=%d e164=%s region=%s cc=%d type=%d valid=%d possible=%d\n"
                "  reference: status=%d e164=%s region=%s cc=%d type=%d valid=%d possible=%d\n",
                region, fast_status, fast.e164, fast.region, fast.country_code, fast.number_type,
                fast.is_valid, fast.is_possible, reference_status, reference.e164,
                reference.region, reference.country_code, reference.number_type,
                reference.is_valid, reference.is_possible);
}

double thread_cpu_ns() {
    timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1e9 + now.tv_nsec;
}

// Median of five timed passes over `inputs`, in nanoseconds of this thread's CPU time per
// number (the machine may be shared).
template <typename Parse>
double median_ns(const std::vector<std::pair<std::string, std::string>> &inputs, Parse parse) {
    std::vector<double> runs;
    for (int run = 0; run < 5; ++run) {
        double start = thread_cpu_ns();
        unsigned valid = 0;
        for (const auto &input : inputs) {
            cpn_number out;
            if (parse(input.first.data(), input.first.size(), input.second.c_str(), &out) ==
                    CPN_OK && out.is_valid) {
                ++valid;
            }
        }
        runs.push_back((thread_cpu_ns() - start) / inputs.size());
        if (valid == 0) std::printf("(no valid number in this set)\n");
    }
    std::sort(runs.begin(), runs.end());
    return runs[2];
}

int bench() {
    std::vector<std::pair<std::string, std::string>> french, mixed;
    for (unsigned i = 0; i < 200000; ++i) {
        char text[32];
        unsigned n = 12345678 + i * 37;
        std::snprintf(text, sizeof text, "06 %02u %02u %02u %02u", n / 1000000 % 100,
                      n / 10000 % 100, n / 100 % 100, n % 100);
        french.emplace_back(text, "FR");
    }
    const std::pair<const char *, const char *> shapes[] = {
        {"+33 6 12 34 56 78", ""},      {"+49 1512 3456789", ""},   {"030 123456", "DE"},
        {"07400 123456", "GB"},         {"+44 20 7946 0958", "GB"}, {"(201) 555-0123", "US"},
        {"+1 650-253-0000", ""},        {"612 34 56 78", "ES"},     {"+39 312 345 6789", ""},
        {"06 1234 5678", "IT"},         {"0470 12 34 56", "BE"},    {"078 123 45 67", "CH"},
        {"0041 78 123 45 67", "FR"},    {"0033612345678", ""},      {"+81 90-1234-5678", ""},
        {"+61 412 345 678", ""},        {"011 44 20 7946 0958", "US"}, {"+7 912 345-67-89", ""},
        {"+55 11 91234-5678", ""},      {"+86 138 0013 8000", ""},
    };
    for (unsigned i = 0; i < 200000; ++i) {
        const auto &s = shapes[i % (sizeof shapes / sizeof shapes[0])];
        mixed.emplace_back(s.first, s.second);
    }
    std::printf("per number, median of 5 passes over 200,000 inputs:\n");
    std::printf("  FR '06 12 34 56 78': reference %.0f ns, cpn_parse %.0f ns\n",
                median_ns(french, cpn_parse_reference), median_ns(french, cpn_parse));
    std::printf("  mixed international: reference %.0f ns, cpn_parse %.0f ns\n",
                median_ns(mixed, cpn_parse_reference), median_ns(mixed, cpn_parse));
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    uint64_t count = 1000000, seed = 12;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--bench")) return bench();
        if (!std::strcmp(argv[i], "--count") && i + 1 < argc) count = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
        else {
            std::fprintf(stderr, "usage: %s [--count N] [--seed S] | --bench\n", argv[0]);
            return 2;
        }
    }
    cpn_differential_report report;
    unsigned printed = 0;
    auto start = std::chrono::steady_clock::now();
    if (cpn_differential_run(seed, count, &report, print_mismatch, &printed) != 0) {
        std::fprintf(stderr, "phone-differential: cannot read libphonenumber's metadata\n");
        return 2;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    static const char *statuses[] = {"ok", "invalid_country_code", "not_a_number",
                                     "too_short_after_idd", "too_short_nsn", "too_long_nsn",
                                     "input_too_long"};
    static const char *types[] = {"fixed_line", "mobile", "fixed_line_or_mobile", "toll_free",
                                  "premium_rate", "shared_cost", "voip", "personal_number",
                                  "pager", "uan", "voicemail", "unknown"};
    std::printf("seed %llu: %llu inputs from %llu metadata entries (%llu regions) in %.1f s\n",
                (unsigned long long)seed, (unsigned long long)report.tried,
                (unsigned long long)report.metadata_entries, (unsigned long long)report.regions,
                seconds);
    std::printf("fast path answered %llu (%.2f %%)\n", (unsigned long long)report.fast_handled,
                100.0 * report.fast_handled / report.tried);
    std::printf("reference: %llu valid;", (unsigned long long)report.reference_valid);
    for (int s = 0; s < 7; ++s) std::printf(" %s %llu", statuses[s], (unsigned long long)report.by_status[s]);
    std::printf("\nreference types of parsed numbers:");
    for (int t = 0; t < 12; ++t) std::printf(" %s %llu", types[t], (unsigned long long)report.by_type[t]);
    std::printf("\nmismatches: %llu\n", (unsigned long long)report.mismatches);
    return report.mismatches == 0 ? 0 : 1;
}
