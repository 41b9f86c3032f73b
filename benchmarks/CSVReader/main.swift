// Measures CSVRecordReader's throughput: writes a 6-column CSV file of N rows (default
// 1,000,000; some fields quoted, some with doubled quotes) and reads it back RUNS times
// (default 5), printing each run and the median. Times are process CPU time
// (CLOCK_PROCESS_CPUTIME_ID), so that other work on a shared machine does not count;
// CSV_BENCH_INPUT=1 also measures CSVInput (the same reading plus its SHA-256);
// CSV_BENCH_FIELD_MB=5,50 also reads files whose one record has a quoted field of that
// many megabytes (the limit raised to fit), to show that the cost grows linearly.
//
//     swift build -c release --product contactor-csv-bench
//     .build/release/contactor-csv-bench [ROWS] [RUNS]
import Contactor
import ContactorCSV
import Foundation

let arguments = CommandLine.arguments
let rows = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
let runs = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 5) : 5
let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("contactor-csv-bench-\(ProcessInfo.processInfo.processIdentifier).csv")
defer { try? FileManager.default.removeItem(at: url) }

var text = "phone,first_name,last_name,email,birthday,civility\n"
text.reserveCapacity(rows * 80)
for index in 0..<rows {
    let last = index.isMultiple(of: 10) ? "\"Dupont, \"\"Jr\"\"\"" : "Dupont"
    text += "+336\(100_000_00 + index % 90_000_000),Zoé \(index),\(last),"
    text += "user\(index)@example.com,1990-01-\(10 + index % 18),Mme\n"
}
try Data(text.utf8).write(to: url)
let bytes = text.utf8.count
text = ""

/// Process CPU time in seconds.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Reads the file once with `next`, returning (records, problems, CPU seconds).
func measure(_ read: () throws -> (Int, Int)) rethrows -> (Int, Int, Double) {
    let start = cpuSeconds()
    let (count, problems) = try read()
    return (count, problems, cpuSeconds() - start)
}

func report(_ label: String, _ seconds: [Double], count: Int, problems: Int) {
    let median = seconds.sorted()[seconds.count / 2]
    let each = seconds.map { String(format: "%.3f", $0) }.joined(separator: " ")
    print(
        "\(label): \(count) records (\(problems) with problems), \(bytes / 1_000_000) MB; "
            + "CPU s per run: \(each); median \(String(format: "%.3f", median)) s: "
            + "\(Int(Double(count) / median)) records/s, "
            + "\(String(format: "%.1f", Double(bytes) / median / 1e6)) MB/s")
}

var seconds: [Double] = []
var count = 0
var problems = 0
for _ in 0..<runs {
    let (records, bad, time) = try measure {
        let cursor = try CSVRecordReader(path: url.path).makeCursor()
        var count = 0
        var problems = 0
        while let record = try cursor.nextRecord() {
            count += 1
            if record.problem != nil { problems += 1 }
        }
        return (count, problems)
    }
    (count, problems) = (records, bad)
    seconds.append(time)
}
report("CSVRecordReader", seconds, count: count, problems: problems)

if ProcessInfo.processInfo.environment["CSV_BENCH_INPUT"] == "1" {
    seconds = []
    for _ in 0..<runs {
        let (records, bad, time) = try measure {
            let input = try CSVInput.open(path: url.path)
            var count = 0
            var problems = 0
            while let record = try input.nextRecord() {
                count += 1
                if record.problem != nil { problems += 1 }
            }
            precondition(input.digest != nil)
            return (count, problems)
        }
        (count, problems) = (records, bad)
        seconds.append(time)
    }
    report("CSVInput (with SHA-256)", seconds, count: count, problems: problems)
}

if let sizes = ProcessInfo.processInfo.environment["CSV_BENCH_FIELD_MB"] {
    for megabytes in sizes.split(separator: ",").compactMap({ Int($0) }) {
        let field = [UInt8](repeating: UInt8(ascii: "x"), count: megabytes * 1_000_000)
        let long = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-csv-bench-long-\(megabytes).csv")
        defer { try? FileManager.default.removeItem(at: long) }
        try Data(Array("phone,note\n+33611111111,\"".utf8) + field + Array("\"\n".utf8))
            .write(to: long)
        let options = CSVReaderOptions(maximumRecordBytes: (megabytes + 1) * 1_000_000)
        let (count, _, time) = try measure {
            let cursor = try CSVRecordReader(path: long.path, options: options).makeCursor()
            var count = 0
            while try cursor.nextRecord() != nil { count += 1 }
            return (count, 0)
        }
        print(
            "one \(megabytes) MB field: \(count) record in \(String(format: "%.3f", time)) s CPU")
    }
}
