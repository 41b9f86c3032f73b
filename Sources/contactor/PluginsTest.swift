import ArgumentParser
import Contactor
import ContactorHTTP
import ContactorLua
import ContactorTesting
import Foundation
import HTTPTypes
import Logging

/// `--record CASSETTE` / `--replay CASSETTE`: keep every request and answer of a run in a
/// file, or answer every request from one with no network (see docs/plugins.md).
struct CassetteOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Save every request and its answer (secrets as ***) to this JSON file; one batch at a time.",
            valueName: "cassette"), completion: .file(extensions: ["json"]))
    var record: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Answer every request from this file (written by --record); nothing reaches the network.",
            valueName: "cassette"), completion: .file(extensions: ["json"]))
    var replay: String?

    /// Refuses both at once.
    func check() throws {
        if record != nil, replay != nil {
            throw ValidationError("give --record or --replay, not both")
        }
    }

    /// The recorder, the player, and the middlewares to put last in a client's list.
    func middlewares() throws -> (recorder: CassetteRecorder?, player: CassettePlayer?) {
        try check()
        let recorder = record.map { _ in CassetteRecorder() }
        var player: CassettePlayer?
        if let replay {
            do {
                player = CassettePlayer(
                    try Cassette.load(from: URL(fileURLWithPath: replay)), name: replay)
            } catch {
                throw CLIError.usage("--replay: \(error.message)")
            }
        }
        return (recorder, player)
    }

    /// Writes what `recorder` holds to the `--record` file.
    func save(_ recorder: CassetteRecorder?) throws {
        guard let record, let recorder else { return }
        do {
            try recorder.cassette.write(to: URL(fileURLWithPath: record))
        } catch {
            throw CLIError.usage("--record: \(error.message)")
        }
        Console.err(
            "contactor: recorded \(recorder.count) request\(recorder.count == 1 ? "" : "s") to \(record)"
        )
    }
}

/// The transport of a replay: the player answers every request, so reaching this is a bug.
struct NoNetworkTransport: HTTPTransport {
    func send(
        _ request: HTTPRequest, body: Data?, context: RequestContext
    ) async throws -> (HTTPResponse, Data) {
        throw ContactError(.transportError, "replay: no request may reach the network")
    }
}

/// `contactor plugins test PLUGIN.lua`: the provider conformance checks, from the command
/// line.
struct PluginsTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract:
            "Run the provider conformance checks on a plugin against an endpoint and print each check.",
        discussion: """
            Each check (add, duplicateAdd, invalidNumber, unknownList, authFailure, \
            delete, deleteAbsent, allFields, partialBatch, update, list) calls the \
            plugin with its own numbers and prints what it sent and received: the \
            contacts and results, then every HTTP request and answer (secrets as ***). \
            Checks that look at the list afterwards use the plugin's own list \
            function; without one they judge by the answers and say what they could \
            not verify. Exit status: 0 when every check passed, 1 when one failed, \
            2 for usage errors.

            Example:
              contactor plugins test my-plugins/providers/acme.lua \\
                --endpoint http://127.0.0.1:8099 --list test \\
                --credential api_key=test-key --phones-from +33612340100
            """)

    @Argument(
        help: ArgumentHelp("The provider plugin file.", valueName: "plugin.lua"),
        completion: .file(extensions: ["lua"]))
    var plugin: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The base URL to test against (default: the plugin's endpoint).", valueName: "url"))
    var endpoint: String?

    @Option(name: .long, help: "A list that exists and that the checks may add numbers to.")
    var list: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A number the checks may add and delete (repeatable; 12 distinct numbers).",
            valueName: "phone"))
    var phone: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Complete the numbers up to 12 by counting up from this one (+33612340100, +33612340101, ...).",
            valueName: "phone"))
    var phonesFrom: String?

    @Option(name: .long, help: "A list that does not exist.")
    var unknownList = "contactor-no-such-list"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A number the provider must refuse, in E.164.", valueName: "phone"))
    var invalidPhone = "+3361234"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Credential of the plugin (repeatable); else CONTACTOR_<NAME>_<KEY>.",
            valueName: "key=value"))
    var credential: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A credential the provider refuses, for the authFailure check (repeatable; default: each secret key as contactor-bad-<key>).",
            valueName: "key=value"))
    var badCredential: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Run only this check (repeatable).", valueName: "check"))
    var check: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A status the provider documents for adding a number already in the list (repeatable; default: skipped).",
            valueName: "status"))
    var duplicateAddStatus: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A status the provider documents for deleting a number not in the list (repeatable; default: skipped).",
            valueName: "status"))
    var absentDeleteStatus: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A status the provider documents for an update (repeatable; default: updated).",
            valueName: "status"))
    var updateStatus: [String] = []

    @OptionGroup var cassette: CassetteOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try cassette.check()
        try global.validateRegion()
        for (option, given) in [
            ("--output", global.output != nil), ("--config", global.config != nil),
            ("--profile", global.profile != nil),
        ] where given {
            throw ValidationError(
                "plugins test takes no \(option): it prints its report as text, and reads credentials from --credential and CONTACTOR_<NAME>_<KEY>"
            )
        }
        _ = try selectedChecks()
        for (option, values) in [
            ("--duplicate-add-status", duplicateAddStatus),
            ("--absent-delete-status", absentDeleteStatus), ("--update-status", updateStatus),
        ] {
            _ = try Self.statuses(values, option: option, default: .skipped)
        }
    }

    /// The statuses given to `option`, or `fallback`.
    static func statuses(
        _ values: [String], option: String, default fallback: ContactResult.Status
    ) throws -> Set<ContactResult.Status> {
        if values.isEmpty { return [fallback] }
        return Set(
            try values.map { value in
                guard let status = ContactResult.Status(rawValue: value), status != .valid else {
                    throw ValidationError(
                        "\(option) \(value): not a status (added, updated, deleted, skipped, rejected, failed)"
                    )
                }
                return status
            })
    }

    /// The checks `--check` names, or all of them.
    func selectedChecks() throws -> [ProviderConformance.Check] {
        if check.isEmpty { return ProviderConformance.Check.allCases }
        func folded(_ text: String) -> String {
            text.lowercased().filter { $0 != "_" && $0 != "-" }
        }
        return try check.map { name in
            guard
                let found = ProviderConformance.Check.allCases.first(where: {
                    folded($0.rawValue) == folded(name)
                })
            else {
                throw ValidationError(
                    "--check \(name): no such check (checks: "
                        + ProviderConformance.Check.allCases.map(\.rawValue).joined(separator: ", ")
                        + ")")
            }
            return found
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "contactor") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        logger.logLevel = global.verbose ? .debug : .warning
        let provider = try await loadProvider(environment: environment, logger: logger)
        let descriptor = provider.descriptor
        let (recorder, player) = try cassette.middlewares()
        let credentials = try resolveCredentials(
            descriptor, environment: environment, replaying: player != nil)
        let bad = try badCredentials(for: descriptor, good: credentials)
        let numbers = try phoneNumbers(region: global.region ?? descriptor.defaultRegion)
        let invalid = try invalidNumber()
        let endpoint = try endpointURL(default: descriptor.defaultEndpoint)
        let checks = try selectedChecks()

        let http: AsyncHTTPClientTransport? =
            player == nil
            ? AsyncHTTPClientTransport(
                configuration: .init(proxy: ProxySettings.fromEnvironment(environment))) : nil
        // The report's HTTP lines come from a recorder of their own, next to the transport.
        let exchanges = CassetteRecorder()
        var middlewares: [any ClientMiddleware] = [LoggingMiddleware()]
        if let recorder { middlewares.append(recorder) }
        middlewares.append(exchanges)
        if let player { middlewares.append(player) }
        var transport: any HTTPTransport = NoNetworkTransport()
        if let http { transport = http }
        let context = ProviderContext(
            transport: transport,
            credentials: credentials, endpoint: endpoint, logger: logger,
            middlewares: middlewares)
        let redactor = Redactor(credentials.secrets + bad.secrets)
        let target = ConformanceTarget(
            provider: provider, context: context, badCredentials: bad, list: list,
            unknownList: unknownList, numbers: numbers, invalidNumber: invalid,
            duplicateAddStatuses: try Self.statuses(
                duplicateAddStatus, option: "--duplicate-add-status", default: .skipped),
            absentDeleteStatuses: try Self.statuses(
                absentDeleteStatus, option: "--absent-delete-status", default: .skipped),
            updateStatuses: try Self.statuses(
                updateStatus, option: "--update-status", default: .updated))

        Console.out(
            "plugin \(descriptor.name) (\(plugin)) against \(player.map { "the cassette \($0.name)" } ?? endpoint.absoluteString), list \(list)"
        )
        var passed = 0
        var failed = 0
        var notApplicable = 0
        for check in checks {
            let start = exchanges.count
            let report: ConformanceReport
            do {
                report = try await ProviderConformance.report(check, on: target)
            } catch {
                report = ConformanceReport(
                    check: check, provider: descriptor.name,
                    failures: ["the check could not run: \(Self.describe(error))"])
            }
            let lines = Self.lines(
                report, http: exchanges.interactions(from: start), redactor: redactor)
            for line in lines { Console.out(line) }
            if !report.passed {
                failed += 1
            } else if report.notApplicable != nil {
                notApplicable += 1
            } else {
                passed += 1
            }
        }
        if let http { try? await http.shutdown() }
        try cassette.save(recorder)
        if let player, !player.unused.isEmpty {
            Console.err(
                "contactor: \(player.unused.count) recorded request\(player.unused.count == 1 ? " was" : "s were") not asked for (the plugin now sends fewer requests than when \(player.name) was recorded)"
            )
        }
        Console.out(
            "\(checks.count) check\(checks.count == 1 ? "" : "s"): \(passed) passed, \(failed) failed"
                + (notApplicable > 0 ? ", \(notApplicable) not applicable" : ""))
        throw ExitCode(failed == 0 ? 0 : 1)
    }

    // MARK: Inputs

    private func loadProvider(
        environment: [String: String], logger: Logger
    ) async throws -> LuaProvider {
        let file = URL(fileURLWithPath: plugin)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CLIError.usage("\(plugin): no such file")
        }
        // `require` searches the plugin's directory (its parent for providers/NAME.lua).
        var directory = file.deletingLastPathComponent()
        if directory.lastPathComponent == "providers" { directory.deleteLastPathComponent() }
        var environment = environment
        environment["CONTACTOR_PLUGIN_PATH"] = nil
        environment["CONTACTOR_BUNDLED_PLUGINS"] = "/nonexistent"
        let loader = PluginSet.makeLoader(
            directories: [directory.path] + global.plugins, environment: environment,
            logger: logger)
        do {
            let loaded = try await loader.loadFile(file, expecting: .provider)
            guard let provider = loaded.providers.values.first else {
                throw CLIError.usage("\(plugin): not a provider plugin")
            }
            return provider
        } catch let error as ContactError {
            throw CLIError.usage(error.message)
        }
    }

    private func resolveCredentials(
        _ descriptor: ProviderDescriptor, environment: [String: String], replaying: Bool
    ) throws -> Credentials {
        var explicit = Dictionary(
            try parsePairs(credential, option: "--credential"),
            uniquingKeysWith: { _, last in last })
        if replaying {
            // A cassette holds no secret: any value stands for one.
            for key in descriptor.credentialKeys where explicit[key] == nil {
                let variable = Credentials.environmentVariable(provider: descriptor.name, key: key)
                explicit[key] = environment[variable] ?? "replay-\(key)"
            }
        }
        do {
            return try CredentialResolver(explicit: explicit, environment: environment)
                .resolve(for: descriptor)
        } catch {
            var message = error.message
            if let key = error.credentialKey {
                let variable = Credentials.environmentVariable(provider: descriptor.name, key: key)
                message += ": set \(variable) or pass --credential \(key)=..."
            }
            throw CLIError.usage(message)
        }
    }

    private func badCredentials(
        for descriptor: ProviderDescriptor, good: Credentials
    ) throws -> Credentials {
        let given = Dictionary(
            try parsePairs(badCredential, option: "--bad-credential"),
            uniquingKeysWith: { _, last in last })
        var values: [String: String] = [:]
        for key in descriptor.credentialKeys {
            values[key] =
                given[key]
                ?? (descriptor.publicCredentialKeys.contains(key)
                    ? good[key] ?? "" : "contactor-bad-\(key)")
        }
        return Credentials(
            provider: descriptor.name, values, publicKeys: descriptor.publicCredentialKeys)
    }

    private func phoneNumbers(region: String?) throws -> [PhoneNumber] {
        var numbers: [PhoneNumber] = []
        for text in phone {
            do {
                let number = try PhoneNumber(parsing: text, defaultRegion: region)
                guard !numbers.contains(number) else {
                    throw CLIError.usage("--phone \(text) is given twice; each check needs its own")
                }
                numbers.append(number)
            } catch let error as ContactError {
                throw CLIError.usage("--phone \(text): \(error.message)")
            }
        }
        if let phonesFrom {
            let first: PhoneNumber
            do {
                first = try PhoneNumber(parsing: phonesFrom, defaultRegion: region)
            } catch {
                throw CLIError.usage("--phones-from \(phonesFrom): \(error.message)")
            }
            guard let start = Int(first.e164.dropFirst()) else {
                throw CLIError.usage("--phones-from \(phonesFrom): not a number")
            }
            var next = start
            while numbers.count < 12 {
                let text = "+\(next)"
                next += 1
                guard let number = try? PhoneNumber(parsing: text), !numbers.contains(number),
                    String(next - 1).count == String(start).count
                else {
                    if next - start > 100 {
                        throw CLIError.usage(
                            "--phones-from \(phonesFrom): no 12 valid numbers follow it")
                    }
                    continue
                }
                numbers.append(number)
            }
        }
        guard numbers.count >= 12 else {
            throw CLIError.usage(
                "give 12 distinct numbers with --phone (repeatable) or --phones-from (\(numbers.count) given): "
                    + "each check adds and deletes its own, so use numbers that may be added to and removed from --list \(list)"
            )
        }
        return numbers
    }

    private func invalidNumber() throws -> PhoneNumber {
        guard invalidPhone.hasPrefix("+"), invalidPhone.count > 1,
            invalidPhone.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw CLIError.usage("--invalid-phone must be + and digits, not '\(invalidPhone)'")
        }
        let digits = invalidPhone.dropFirst()
        return PhoneNumber(
            e164: invalidPhone, region: nil, countryCode: Int(digits.prefix(2)) ?? 0,
            type: .unknown)
    }

    private func endpointURL(default fallback: URL) throws -> URL {
        guard let endpoint else { return fallback }
        guard let url = URL(string: endpoint), let scheme = url.scheme,
            ["http", "https"].contains(scheme), url.host != nil
        else {
            throw CLIError.usage("--endpoint must be an http:// or https:// URL, not '\(endpoint)'")
        }
        return url
    }

    // MARK: Output

    static func describe(_ error: any Error) -> String {
        (error as? ContactError).map { "\($0.code): \($0.message)" } ?? String(describing: error)
    }

    /// A report's lines: `PASS check` / `FAIL check` / `N/A check`, the failures, what could
    /// not be verified, each call with what it sent and received, and its HTTP requests.
    static func lines(
        _ report: ConformanceReport, http: [Cassette.Interaction], redactor: Redactor
    ) -> [String] {
        let verdict =
            !report.passed ? "FAIL" : report.notApplicable != nil ? "N/A " : "PASS"
        var lines = ["\(verdict) \(report.check)" + (report.notApplicable.map { " (\($0))" } ?? "")]
        lines += report.failures.map { "  - \($0)" }
        lines += report.unverified.map { "  not verified (the plugin has no list): \($0)" }
        for exchange in report.exchanges {
            lines.append("  \(exchange.operation) on '\(exchange.list)'")
            lines += exchange.sent.map { "    sent     \($0)" }
            lines += exchange.received.map { "    received \($0)" }
        }
        for interaction in http {
            let request = interaction.request
            var line = "    > \(request.method) \(request.url)"
            let headers = request.headers.sorted { $0.key < $1.key }.map {
                "\($0.key): \($0.value)"
            }
            if !headers.isEmpty { line += "  [\(headers.joined(separator: "; "))]" }
            if let body = request.body { line += "  " + cut(body.stringValue ?? body.jsonText) }
            lines.append(line)
            if let response = interaction.response {
                let body =
                    response.json?.jsonText ?? response.body
                    ?? response.bodyBase64.map { "(\($0.count) base64 characters)" }
                lines.append("    < \(response.status)" + (body.map { "  " + cut($0) } ?? ""))
            } else if let error = interaction.error {
                lines.append("    < no answer: \(error.code): \(error.message)")
            }
        }
        return lines.map { redactor.redact($0) }
    }

    private static func cut(_ text: String, limit: Int = 400) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "..."
    }
}
