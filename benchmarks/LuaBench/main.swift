// Measures the per-contact cost of Lua plugins: a mapping's six-field `map(row)` and a
// validator's `validate(contact)`, each called one contact at a time from one task (so
// the rate is per core), through the public API (`LuaMapping`, `LuaValidator`): the
// record crosses the bridge, runs in the sandbox under its limits, and comes back.
//
//     swift run -c release contactor-lua-bench [CONTACTS]
//
// Prints contacts per second for each, best of five runs after a warm-up, by wall time and
// by process CPU time (which is what "per core" means on a machine shared with other work).
import Contactor
import ContactorLua
import Foundation

let contacts = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000

let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("contactor-lua-bench-\(ProcessInfo.processInfo.processIdentifier)")
try FileManager.default.createDirectory(
    at: directory.appendingPathComponent("mappings"), withIntermediateDirectories: true)
try FileManager.default.createDirectory(
    at: directory.appendingPathComponent("validators"), withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

// Six fields in, six fields out, as a CRM export mapping does.
try """
return {
  kind = "mapping", name = "six",
  map = function(row)
    if row.Mobile == "" then return nil, "no mobile" end
    return {
      phone = row.Mobile, first_name = row.First, last_name = row.Last,
      email = row.Email, birthday = row.Birthday, civility = row.Title,
    }
  end,
}
""".write(
    to: directory.appendingPathComponent("mappings/six.lua"), atomically: true, encoding: .utf8)

// The shape of plugins/validators/eu_mobiles.lua: a set lookup and a type check.
try """
local allowed = { FR = true, BE = true, DE = true, ES = true, IT = true, NL = true }
local sms = { mobile = true, fixed_line_or_mobile = true }
return {
  kind = "validator", name = "eu",
  validate = function(contact)
    if not allowed[contact.region] then return false, "not an EU number" end
    if not sms[contact.type] then return false, "not a mobile" end
    return true
  end,
}
""".write(
    to: directory.appendingPathComponent("validators/eu.lua"), atomically: true, encoding: .utf8)

let plugins = try await PluginLoader(
    configuration: .init(pluginDirectories: [directory], environment: [:])
).load()
guard let mapping = plugins.mappings["six"], let validator = plugins.validators["eu"] else {
    fatalError("the benchmark plugins did not load")
}

let records = (0..<1000).map { index in
    InputRecord(
        line: index + 2,
        columns: [
            ("Mobile", "+3361234\(String(format: "%04d", index))"), ("First", "Zoé"),
            ("Last", "Martin-\(index)"), ("Email", "zoe.\(index)@example.com"),
            ("Birthday", "1990-05-17"), ("Title", "Mme"),
        ])
}
let people = try records.map { record in
    Contact(
        phone: try PhoneNumber(parsing: record[column: "Mobile"]!), firstName: "Zoé",
        lastName: record[column: "Last"], email: record[column: "Email"],
        birthday: CalendarDate(year: 1990, month: 5, day: 17), civility: "Mme")
}

/// CPU time used by the whole process so far: on a shared machine, wall time also counts
/// the time other processes held the core.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The measurements, nonisolated: the engine calls mappings and validators from tasks on
/// the global executor, so the loop must not hop to the main actor around every call
/// (top-level code in main.swift is main-actor isolated, and that hop alone costs more
/// than the Lua call).
enum Bench {
    static func run(
        mapping: LuaMapping, validator: LuaValidator, records: [InputRecord], people: [Contact],
        contacts: Int
    ) async throws {
        func measure(_ name: String, _ body: (Int) async throws -> Void) async throws {
            for index in 0..<min(contacts, 10_000) { try await body(index) }  // warm-up
            var best = Double.infinity
            var bestCPU = Double.infinity
            for _ in 0..<5 {
                let clock = ContinuousClock()
                let start = clock.now
                let cpuStart = processCPUSeconds()
                for index in 0..<contacts { try await body(index) }
                let elapsed = clock.now - start
                bestCPU = min(bestCPU, processCPUSeconds() - cpuStart)
                best = min(
                    best,
                    Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds)
                        / 1e18)
            }
            print(
                "\(name): \(contacts) contacts in \(String(format: "%.3f", best)) s wall, "
                    + "\(String(format: "%.3f", bestCPU)) s CPU: "
                    + "\(Int(Double(contacts) / best)) contacts/s (wall), "
                    + "\(Int(Double(contacts) / bestCPU)) contacts/s per CPU-second, "
                    + "\(String(format: "%.2f", best / Double(contacts) * 1e6)) µs each")
        }

        var sink = 0
        try await measure("map (six fields)") { index in
            let draft = try await mapping.map(records[index % records.count])
            sink &+= draft.phone.utf8.count
        }
        try await measure("validate") { index in
            if try await validator.validate(people[index % people.count]) == nil { sink &+= 1 }
        }
        try await measure("map + validate") { index in
            let draft = try await mapping.map(records[index % records.count])
            sink &+= draft.phone.utf8.count
            if try await validator.validate(people[index % people.count]) == nil { sink &+= 1 }
        }
        if sink == 42 { print("") }
    }
}

try await Bench.run(
    mapping: mapping, validator: validator, records: records, people: people, contacts: contacts)
