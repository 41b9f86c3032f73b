import CPhoneNumber
import Dispatch
import Synchronization
import Testing

/// `cpn_parse`'s fast path against libphonenumber's `PhoneNumberUtil` (`cpn_parse_reference`):
/// every field of `cpn_number` and the status must be byte-identical, whichever path answers.
/// `scripts/phone-differential` runs the same generator on 1,000,000+ inputs.
@Suite struct PhoneFastPathDifferentialTests {
    /// One input through the three entry points.
    struct Answer: Equatable, CustomStringConvertible {
        var status: UInt32
        var bytes: [UInt8]

        init(_ input: String, _ region: String, using parse: ParseFunction) {
            var out = cpn_number()
            var text = input
            let status = text.withUTF8 { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    parse($0.baseAddress, $0.count, region, &out)
                }
            }
            self.status = status.rawValue
            self.bytes = withUnsafeBytes(of: &out) { Array($0) }
        }

        var description: String {
            let text = String(decoding: bytes.prefix(24).prefix { $0 != 0 }, as: UTF8.self)
            return "status \(status) e164 '\(text)' bytes \(bytes)"
        }
    }

    typealias ParseFunction = (
        UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, UnsafeMutablePointer<cpn_number>?
    ) -> cpn_status

    static func handledByFastPath(_ input: String, _ region: String) -> Bool {
        var out = cpn_number()
        var handled: Int32 = 0
        var text = input
        _ = text.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                cpn_parse_fast_only($0.baseAddress, $0.count, region, &out, &handled)
            }
        }
        return handled != 0
    }

    /// Collects the inputs of mismatches reported by `cpn_differential_run`.
    final class Mismatches {
        var inputs: [String] = []
    }

    @Test("60,000 generated inputs from every region: cpn_parse answers exactly as PhoneNumberUtil")
    func generatedInputsGiveIdenticalAnswers() {
        var report = cpn_differential_report()
        let mismatches = Mismatches()
        let result = withExtendedLifetime(mismatches) {
            cpn_differential_run(
                20_260_601, 60_000, &report,
                { input, length, region, context in
                    guard let input, let region, let context else { return }
                    let box = Unmanaged<Mismatches>.fromOpaque(context).takeUnretainedValue()
                    let bytes = UnsafeRawBufferPointer(start: input, count: length)
                    let text = String(decoding: bytes, as: UTF8.self)
                    box.inputs.append("'\(text)' region '\(String(cString: region))'")
                }, Unmanaged.passUnretained(mismatches).toOpaque())
        }
        #expect(result == 0)
        #expect(report.tried == 60_000)
        #expect(report.mismatches == 0, "first mismatches: \(mismatches.inputs.prefix(20))")
        // Every region and non-geographic entity of the metadata feeds the generator.
        #expect(report.regions >= 240)
        #expect(report.metadata_entries > report.regions)
        // The generator reaches every number type and every failure status, and the fast path
        // answers most inputs (noise and the shapes it leaves to libphonenumber are the rest).
        let types = withUnsafeBytes(of: report.by_type) { Array($0.bindMemory(to: UInt64.self)) }
        #expect(types.allSatisfy { $0 > 0 }, "types \(types)")
        let statuses = withUnsafeBytes(of: report.by_status) {
            Array($0.bindMemory(to: UInt64.self))
        }
        #expect(statuses.allSatisfy { $0 > 0 }, "statuses \(statuses)")
        #expect(report.reference_valid > 15_000)
        #expect(report.fast_handled > 45_000, "fast path answered \(report.fast_handled)")
    }

    /// Branches of the emulation, each pinned with a fixed input (and where any mismatch the
    /// generator finds is added).
    static let edgeCases: [(String, String)] = [
        ("06 12 34 56 78", "FR"), ("+33 6 12 34 56 78", ""), ("0033 6 12 34 56 78", ""),
        ("0033612345678", "FR"), ("33612345678", "FR"), ("+33 (0)6 12 34 56 78", ""),
        ("(0)6 12 34 56 78", "FR"), ("06.12.34.56.78", "FR"), ("06 12 34 56 78.", "FR"),
        ("06 12 34 56 78\n", "FR"), ("  06/12/34/56/78", "FR"), ("3361234567", "FR"),
        ("0612", "FR"), ("0000", "FR"), ("00 1", "FR"), ("00 0 1", "FR"), ("00999 123456", "FR"),
        ("0612345678", ""), ("06 12 34 56 78", "fr"), ("06 12 34 56 78", "001"),
        ("06 12 34 56 78", "ZZ"), ("123456789012345678901", "FR"), ("+33 123456789012345678", ""),
        ("030 123456", "DE"), ("+49 30 123456", ""), ("0049 1512 3456789", "DE"),
        ("07400 123456", "GB"), ("+44 (0)20 7946 0958", ""), ("+44 1534 123456", ""),
        ("(650) 253-0000", "US"), ("1-650-253-0000", "US"), ("650 253 0000", "CA"),
        ("+1 416 555 0123", ""), ("011 33 6 12 34 56 78", "US"), ("+1 999 555 0123", ""),
        ("612 34 56 78", "ES"), ("06 1234 5678", "IT"), ("+39 06 1234 5678", ""),
        ("0470 12 34 56", "BE"), ("078 123 45 67", "CH"), ("+7 701 123 4567", ""),
        ("+800 1234 5678", ""), ("+882 1234 5678", "DE"), ("+979 123456789", ""),
        // Left to libphonenumber: the answers must still be the same.
        ("+999 1234 5678", "FR"), ("+0033 6 12 34 56 78", "FR"), ("tel:+33612345678", ""),
        ("+33 6 12 34 56 78 ext. 12", ""), ("+33\t6 12 34 56 78", ""), ("06 12", "FR"),
        ("\u{FF0B}33 6 12 34 56 78", ""), ("++33 6 12 34 56 78", ""), ("06 12 34 56 78+", "FR"),
        ("0\u{0661}12345678", "FR"), ("", "FR"), (String(repeating: "1", count: 251), "FR"),
    ]

    @Test("Edge cases of the emulation give byte-identical answers on both paths")
    func edgeCasesGiveIdenticalAnswers() {
        for (input, region) in Self.edgeCases {
            let reference = Answer(input, region, using: cpn_parse_reference)
            #expect(Answer(input, region, using: cpn_parse) == reference, "'\(input)' \(region)")
        }
    }

    /// The shapes of the issue: national and international numbers of FR, DE, GB, US, ES, IT,
    /// BE and CH as people type them.
    static let commonShapes: [(String, String)] = [
        ("06 12 34 56 78", "FR"), ("0612345678", "FR"), ("+33 6 12 34 56 78", "FR"),
        ("+33612345678", ""), ("0033 6 12 34 56 78", ""), ("01 23 45 67 89", "FR"),
        ("0151 23456789", "DE"), ("030 1234567", "DE"), ("+49 151 23456789", ""),
        ("07400 123456", "GB"), ("020 7946 0958", "GB"), ("+44 7400 123456", ""),
        ("(201) 555-0123", "US"), ("201-555-0123", "US"), ("+1 201 555 0123", ""),
        ("612 34 56 78", "ES"), ("+34 612 34 56 78", ""), ("312 345 6789", "IT"),
        ("06 1234 5678", "IT"), ("+39 312 345 6789", ""), ("0470 12 34 56", "BE"),
        ("+32 470 12 34 56", ""), ("078 123 45 67", "CH"), ("+41 78 123 45 67", ""),
    ]

    @Test("The common FR/DE/GB/US/ES/IT/BE/CH shapes take the fast path and are valid")
    func commonShapesTakeTheFastPath() {
        for (input, region) in Self.commonShapes {
            #expect(Self.handledByFastPath(input, region), "'\(input)' \(region)")
            let reference = Answer(input, region, using: cpn_parse_reference)
            #expect(Answer(input, region, using: cpn_parse) == reference, "'\(input)' \(region)")
            var out = cpn_number()
            _ = cpn_parse_reference(input, input.utf8.count, region, &out)
            #expect(out.is_valid == 1, "'\(input)' \(region) should be valid")
        }
    }

    @Test("Inputs outside the fast path's scope are left to libphonenumber")
    func outOfScopeInputsFallBack() {
        let outside = [
            ("tel:+33612345678", ""), ("+33 6 12 34 56 78 ext. 12", ""), ("06 CALL ME", "FR"),
            ("\u{FF0B}33 6 12 34 56 78", ""), ("+33\t612345678", ""), ("+999 1234 5678", ""),
        ]
        for (input, region) in outside {
            #expect(!Self.handledByFastPath(input, region), "'\(input)' \(region)")
        }
    }

    @Test("cpn_parse called from many threads at once gives the single-threaded answers")
    func concurrentCallsGiveTheSameAnswers() {
        let inputs = Self.commonShapes + Self.edgeCases
        let expected = inputs.map { Answer($0.0, $0.1, using: cpn_parse_reference) }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<200 {
                let index = (worker * 31 + round) % inputs.count
                let (input, region) = inputs[index]
                if Answer(input, region, using: cpn_parse) != expected[index] { failures.add() }
            }
        }
        #expect(failures.value == 0)
    }

    /// A thread-safe tally for the concurrent test.
    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }
}
