// Measures cpn_parse per number, libphonenumber's PhoneNumberUtil (cpn_parse_reference, the
// path before the fast path existed) against cpn_parse (the fast path, with libphonenumber as
// its fallback), side by side in one run: the median of 5 passes over each input set.
//
//     swift build -c release --product contactor-phone-bench
//     .build/release/contactor-phone-bench [NUMBERS]   (default 200,000 per set)
//
// Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that a machine shared with
// other work measures what one core spends per number, not how long it waited for the core.
//
// Sets: French mobiles typed "06 12 34 56 78" with region FR, and a mixed international set
// (FR, DE, GB, US, ES, IT, BE, CH and others; national and "+" forms). Also times
// PhoneNumber(parsing:), the Swift API the pipeline calls, on the French set.
import CPhoneNumber
import Contactor
import Foundation

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000

let french: [(String, String)] = (0..<count).map { index in
    let n = 12_345_678 + index * 37
    let pairs = [n / 1_000_000 % 100, n / 10_000 % 100, n / 100 % 100, n % 100]
    return ("06 " + pairs.map { String(format: "%02d", $0) }.joined(separator: " "), "FR")
}
let shapes: [(String, String)] = [
    ("+33 6 12 34 56 78", ""), ("+49 1512 3456789", ""), ("030 123456", "DE"),
    ("07400 123456", "GB"), ("+44 20 7946 0958", "GB"), ("(201) 555-0123", "US"),
    ("+1 650-253-0000", ""), ("612 34 56 78", "ES"), ("+39 312 345 6789", ""),
    ("06 1234 5678", "IT"), ("0470 12 34 56", "BE"), ("078 123 45 67", "CH"),
    ("0041 78 123 45 67", "FR"), ("0033612345678", ""), ("+81 90-1234-5678", ""),
    ("+61 412 345 678", ""), ("011 44 20 7946 0958", "US"), ("+7 912 345-67-89", ""),
    ("+55 11 91234-5678", ""), ("+86 138 0013 8000", ""),
]
let mixed = (0..<count).map { shapes[$0 % shapes.count] }

typealias Parse = (
    UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, UnsafeMutablePointer<cpn_number>?
) -> cpn_status

/// The CPU time `body` takes on this thread, in nanoseconds.
func cpuNanoseconds(_ body: () -> Void) -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
    body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
    return Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
}

/// Nanoseconds per number: the median of 5 passes.
func medianNanoseconds(_ inputs: [(String, String)], _ parse: Parse) -> Double {
    var runs: [Double] = []
    var valid = 0
    for _ in 0..<5 {
        let elapsed = cpuNanoseconds {
            for (input, region) in inputs {
                var out = cpn_number()
                var text = input
                let status = text.withUTF8 { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        parse($0.baseAddress, $0.count, region, &out)
                    }
                }
                if status == CPN_OK && out.is_valid != 0 { valid += 1 }
            }
        }
        runs.append(elapsed / Double(inputs.count))
    }
    precondition(valid > 0, "no valid number in the set")
    return runs.sorted()[2]
}

/// The same for PhoneNumber(parsing:defaultRegion:).
func medianNanosecondsSwift(_ inputs: [(String, String)]) -> Double {
    var runs: [Double] = []
    var valid = 0
    for _ in 0..<5 {
        let elapsed = cpuNanoseconds {
            for (input, region) in inputs {
                if (try? PhoneNumber(parsing: input, defaultRegion: region)) != nil { valid += 1 }
            }
        }
        runs.append(elapsed / Double(inputs.count))
    }
    precondition(valid > 0, "no valid number in the set")
    return runs.sorted()[2]
}

func row(_ name: String, _ old: Double, _ new: Double) {
    print(
        name.padding(toLength: 34, withPad: " ", startingAt: 0)
            + String(format: "%10.0f ns %10.0f ns %8.1fx", old, new, old / new))
}

var fastHandled = 0
for (input, region) in mixed {
    var out = cpn_number()
    var handled: Int32 = 0
    _ = cpn_parse_fast_only(input, input.utf8.count, region, &out, &handled)
    fastHandled += Int(handled)
}
print("\(count) numbers per set; per number, median of 5 passes")
print(
    "set".padding(toLength: 34, withPad: " ", startingAt: 0) + "  reference   cpn_parse  speed-up")
row(
    "FR '06 12 34 56 78'", medianNanoseconds(french, cpn_parse_reference),
    medianNanoseconds(french, cpn_parse))
row(
    "mixed international", medianNanoseconds(mixed, cpn_parse_reference),
    medianNanoseconds(mixed, cpn_parse))
print(
    "PhoneNumber(parsing:) on the FR set: "
        + String(format: "%.0f ns", medianNanosecondsSwift(french)))
print("fast path answered \(fastHandled) of \(mixed.count) mixed inputs")
