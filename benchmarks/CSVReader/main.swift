// Measures CSVRecordReader's throughput: writes a 6-column CSV file of N rows (default
// 1,000,000; some fields quoted, some with doubled quotes) and reads it back once.
//
//     swift build -c release --product contactor-csv-bench
//     .build/release/contactor-csv-bench [ROWS]
import Contactor
import ContactorCSV
import Foundation

let rows = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
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

let clock = ContinuousClock()
var count = 0
var problems = 0
let elapsed = try clock.measure {
    let cursor = try CSVRecordReader(path: url.path).makeCursor()
    while let record = try cursor.nextRecord() {
        count += 1
        if record.problem != nil { problems += 1 }
    }
}
let seconds = elapsed.seconds
print(
    "\(count) records (\(problems) with problems), \(bytes / 1_000_000) MB in "
        + "\(String(format: "%.3f", seconds)) s: "
        + "\(Int(Double(count) / seconds)) records/s, "
        + "\(String(format: "%.1f", Double(bytes) / seconds / 1e6)) MB/s")
