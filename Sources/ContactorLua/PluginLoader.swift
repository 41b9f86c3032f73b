import Contactor
import Foundation
import Logging

/// What a plugin is: `provider`, `mapping` or `validator`.
public struct LuaPluginKind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The kind's name, as written in the plugin (`provider`).
    public let rawValue: String
    /// Creates a kind from its name.
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A contact provider (`add`, `delete`).
    public static let provider = LuaPluginKind(rawValue: "provider")
    /// A record mapping (`map`, optional `payload`).
    public static let mapping = LuaPluginKind(rawValue: "mapping")
    /// A contact validator (`validate`).
    public static let validator = LuaPluginKind(rawValue: "validator")
    /// Every kind.
    public static let all: [LuaPluginKind] = [.provider, .mapping, .validator]
}

/// One problem found while loading plugins: the file, the line when known, and what is
/// wrong.
public struct PluginProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, as shown to people (relative to the working directory when under it).
    public var file: String
    /// The line, when the problem has one (syntax and runtime errors).
    public var line: Int?
    /// What is wrong.
    public var message: String

    /// Creates a problem.
    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message` (or `file: message`).
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// A plugin that loaded, as `contactor plugins check` lists it.
public struct PluginSummary: Sendable, Hashable {
    /// The kind.
    public var kind: LuaPluginKind
    /// The name.
    public var name: String
    /// The file.
    public var file: URL
}

/// The plugins found in the plugin directories, ready to use.
public struct LuaPlugins: Sendable {
    /// Provider plugins by name.
    public var providers: [String: LuaProvider] = [:]
    /// Mapping plugins by name.
    public var mappings: [String: LuaMapping] = [:]
    /// Validator plugins by name.
    public var validators: [String: LuaValidator] = [:]
    /// Every plugin, in discovery order.
    public var summaries: [PluginSummary] = []

    /// Creates an empty set.
    public init() {}
}

/// The result of ``PluginLoader/check()``: what loaded and every problem found.
public struct PluginCheckReport: Sendable {
    /// The plugins that loaded (also those involved in a duplicate).
    public var plugins: [PluginSummary]
    /// Every problem, in discovery order.
    public var problems: [PluginProblem]
    /// The directories searched, in order.
    public var directories: [URL]
}

/// Finds, loads and checks Lua plugins.
///
/// The search path is the `--plugins` directories in order, then `CONTACTOR_PLUGIN_PATH`
/// (colon-separated), then the bundled `plugins/` directory; a directory listed twice is
/// searched once. In each directory, the `*.lua` files of the directory itself and of its
/// `providers/`, `mappings/` and `validators/` folders are plugins; `require` finds
/// modules in the directories and their `lib/` folders.
public struct PluginLoader: Sendable {
    /// Where to look and how to run plugins.
    public struct Configuration: Sendable {
        /// The `--plugins` directories, in order.
        public var pluginDirectories: [URL]
        /// The environment (for `CONTACTOR_PLUGIN_PATH`).
        public var environment: [String: String]
        /// The project's bundled `plugins/` directory, if known.
        public var bundledDirectory: URL?
        /// Built-in provider names no plugin may take.
        public var builtinProviderNames: Set<String>
        /// The sandbox limits for every plugin call.
        public var limits: LuaSandboxLimits
        /// Where plugins' `ctx.log` and `print` write outside a provider call.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            pluginDirectories: [URL] = [],
            environment: [String: String] = ProcessInfo.processInfo.environment,
            bundledDirectory: URL? = nil, builtinProviderNames: Set<String> = [],
            limits: LuaSandboxLimits = .standard,
            logger: Logger = Logger(label: "contactor.lua")
        ) {
            self.pluginDirectories = pluginDirectories
            self.environment = environment
            self.bundledDirectory = bundledDirectory
            self.builtinProviderNames = builtinProviderNames
            self.limits = limits
            self.logger = logger
        }
    }

    /// The configuration.
    public var configuration: Configuration

    /// Creates a loader.
    public init(configuration: Configuration) { self.configuration = configuration }

    /// The directories searched, in order, without duplicates.
    public var directories: [URL] {
        var list = configuration.pluginDirectories
        if let path = configuration.environment["CONTACTOR_PLUGIN_PATH"] {
            list += path.split(separator: ":").filter { !$0.isEmpty }.map {
                URL(fileURLWithPath: String($0), isDirectory: true)
            }
        }
        if let bundled = configuration.bundledDirectory { list.append(bundled) }
        var seen = Set<String>()
        return list.filter {
            seen.insert($0.standardizedFileURL.resolvingSymlinksInPath().path).inserted
        }
    }

    /// The plugin files, in search order.
    public func pluginFiles() -> [URL] {
        var files: [URL] = []
        let manager = FileManager.default
        for directory in directories {
            for folder in ["", "providers", "mappings", "validators"] {
                let base = folder.isEmpty ? directory : directory.appendingPathComponent(folder)
                guard let names = try? manager.contentsOfDirectory(atPath: base.path) else {
                    continue
                }
                for name in names.sorted() where name.hasSuffix(".lua") {
                    files.append(base.appendingPathComponent(name))
                }
            }
        }
        return files
    }

    /// Loads every plugin and returns every problem, for `contactor plugins check`.
    public func check() async -> PluginCheckReport {
        let (plugins, summaries, problems) = await loadAll()
        _ = plugins
        return PluginCheckReport(plugins: summaries, problems: problems, directories: directories)
    }

    /// Loads every plugin.
    /// - Throws: ``ContactError`` `plugin_error` listing every problem, one per line.
    public func load() async throws(ContactError) -> LuaPlugins {
        let (plugins, _, problems) = await loadAll()
        if !problems.isEmpty {
            throw ContactError(
                .pluginError,
                "\(problems.count) plugin problem\(problems.count == 1 ? "" : "s"):\n"
                    + problems.map(\.description).joined(separator: "\n"))
        }
        return plugins
    }

    /// Loads one plugin file (`--mapping FILE.lua`) and checks that it is of `kind`.
    public func loadFile(
        _ file: URL, expecting kind: LuaPluginKind? = nil
    )
        async throws(ContactError) -> LuaPlugins
    {
        var plugins = LuaPlugins()
        var problems: [PluginProblem] = []
        var summaries: [PluginSummary] = []
        await load(file, into: &plugins, summaries: &summaries, problems: &problems)
        if let kind, problems.isEmpty, summaries.first?.kind != kind {
            problems.append(
                PluginProblem(
                    file: LuaPluginRuntime.displayPath(of: file),
                    message:
                        "is a \(summaries.first?.kind.rawValue ?? "?") plugin, expected a \(kind) plugin"
                ))
        }
        if let problem = problems.first {
            throw ContactError(.pluginError, problem.description)
        }
        return plugins
    }

    private func loadAll() async -> (LuaPlugins, [PluginSummary], [PluginProblem]) {
        var plugins = LuaPlugins()
        var summaries: [PluginSummary] = []
        var problems: [PluginProblem] = []
        for directory in configuration.pluginDirectories {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory)
                || !isDirectory.boolValue
            {
                problems.append(
                    PluginProblem(
                        file: LuaPluginRuntime.displayPath(of: directory),
                        message: "plugin directory does not exist"))
            }
        }
        for file in pluginFiles() {
            await load(file, into: &plugins, summaries: &summaries, problems: &problems)
        }
        plugins.summaries = summaries
        return (plugins, summaries, problems)
    }

    private func load(
        _ file: URL, into plugins: inout LuaPlugins, summaries: inout [PluginSummary],
        problems: inout [PluginProblem]
    ) async {
        let display = LuaPluginRuntime.displayPath(of: file)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            problems.append(PluginProblem(file: display, message: "cannot be read"))
            return
        }
        let source = Array(data)
        let state: LuaState
        let value: LuaValue
        do {
            (state, value) = try await LuaPluginRuntime.loadState(
                source: source, chunkName: "@" + display, limits: configuration.limits,
                modulePaths: directories, logger: configuration.logger)
        } catch {
            problems.append(Self.problem(from: error, file: display))
            return
        }
        let declaration: PluginDeclaration
        switch PluginDeclaration.parse(value, source: source) {
        case .success(let parsed): declaration = parsed
        case .failure(let found):
            problems += found.problems.map {
                PluginProblem(file: display, line: $0.line, message: $0.text)
            }
            return
        }
        if let existing = summaries.first(where: {
            $0.kind == declaration.kind && $0.name == declaration.name
        }) {
            problems.append(
                PluginProblem(
                    file: display,
                    message:
                        "\(declaration.kind) '\(declaration.name)' is already defined by \(LuaPluginRuntime.displayPath(of: existing.file)); rename one of them"
                ))
            return
        }
        if declaration.kind == .provider,
            configuration.builtinProviderNames.contains(declaration.name)
        {
            problems.append(
                PluginProblem(
                    file: display,
                    message:
                        "provider '\(declaration.name)' has the name of a built-in provider; choose another name"
                ))
            return
        }
        let runtime = LuaPluginRuntime(
            name: declaration.name, file: file, source: source, limits: configuration.limits,
            modulePaths: directories, logger: configuration.logger)
        runtime.pool.checkIn(state)
        summaries.append(PluginSummary(kind: declaration.kind, name: declaration.name, file: file))
        switch declaration.kind {
        case .provider:
            plugins.providers[declaration.name] = declaration.provider(runtime: runtime)
        case .mapping:
            plugins.mappings[declaration.name] = LuaMapping(
                runtime: runtime, hasPayload: declaration.hasPayload)
        default:
            plugins.validators[declaration.name] = LuaValidator(runtime: runtime)
        }
    }

    static func problem(from failure: LuaFailure, file: String) -> PluginProblem {
        let first = LuaRaisedError.summary(of: failure)
        // Lua messages start with `chunkname:line:`; keep the line, drop the chunk name.
        if let match = first.firstMatch(of: /^(.*?\.lua):(\d+): (.*)$/) {
            return PluginProblem(file: file, line: Int(match.2), message: String(match.3))
        }
        return PluginProblem(file: file, message: first)
    }
}

/// A plugin table, checked.
struct PluginDeclaration {
    /// What is wrong with a plugin table, with the line of the key when it is known.
    struct Problem: Error {
        var text: String
        var line: Int?
    }

    /// Every problem found (unknown keys are all reported at once).
    struct Problems: Error {
        var problems: [Problem]
    }

    var kind: LuaPluginKind
    var name: String
    var descriptor: ProviderDescriptor?
    var extraOrigins: [String] = []
    var acceptsAnyCustomField = true
    var hasPayload = false

    func provider(runtime: LuaPluginRuntime) -> LuaProvider {
        LuaProvider(
            descriptor: descriptor!, extraOrigins: extraOrigins,
            acceptsAnyCustomField: acceptsAnyCustomField, runtime: runtime)
    }

    /// Checks the table a plugin file returned; `source` is the file, to find the line of a
    /// key in messages.
    static func parse(_ value: LuaValue, source: [UInt8]) -> Result<PluginDeclaration, Problems> {
        if let table = value.stringMap, value.typeName == "table",
            let kindText = table["kind"]?.stringValue,
            LuaPluginKind.all.contains(LuaPluginKind(rawValue: kindText))
        {
            let unknown = unknownKeys(
                of: table, kind: LuaPluginKind(rawValue: kindText), source: source)
            if !unknown.isEmpty { return .failure(Problems(problems: unknown)) }
        }
        return parseTable(value, source: source).mapError { Problems(problems: [$0]) }
    }

    /// The problems of keys no plugin of `kind` has, each at its line; empty when none.
    static func unknownKeys(
        of table: [String: LuaValue], kind: LuaPluginKind, source: [UInt8]
    ) -> [Problem] {
        let known = PluginKeys.plugin(kind)
        return table.keys.filter { !known.contains($0) }.sorted().map { key in
            Problem(
                text: "the \(kind) table has \(PluginKeys.unknownKey(key, known: known))",
                line: PluginKeys.line(of: key, in: source))
        }
    }

    private static func parseTable(
        _ value: LuaValue, source: [UInt8]
    ) -> Result<PluginDeclaration, Problem> {
        func fail(_ text: String, key: String? = nil) -> Result<PluginDeclaration, Problem> {
            .failure(Problem(text: text, line: key.flatMap { PluginKeys.line(of: $0, in: source) }))
        }
        guard let table = value.stringMap, value.typeName == "table" else {
            return fail(
                "must return a plugin table { kind = ..., name = ... }; it returned \(value.shortDescription)"
            )
        }
        guard let kindText = table["kind"]?.stringValue else {
            return fail("the plugin table has no kind (provider, mapping or validator)")
        }
        let kind = LuaPluginKind(rawValue: kindText)
        guard LuaPluginKind.all.contains(kind) else {
            return fail(
                "unknown kind '\(kindText)': expected provider, mapping or validator", key: "kind")
        }
        guard let name = table["name"]?.stringValue, !name.isEmpty else {
            return fail("the plugin table has no name (a string)")
        }
        guard name.wholeMatch(of: /[a-z0-9][a-z0-9_\-]*/) != nil else {
            return fail("name '\(name)' must be lower case letters, digits, _ and -", key: "name")
        }
        func isFunction(_ key: String) -> Bool { table[key] == .opaque("function") }
        func checkFunction(_ key: String, required: Bool) -> String? {
            guard let element = table[key], !element.isNil else {
                return required ? "a \(kind) plugin needs a function \(key)" : nil
            }
            return isFunction(key)
                ? nil : "\(key) must be a function, got \(element.shortDescription)"
        }
        var declaration = PluginDeclaration(kind: kind, name: name)
        switch kind {
        case .mapping:
            if let problem = checkFunction("map", required: true) {
                return fail(problem, key: "map")
            }
            if let problem = checkFunction("payload", required: false) {
                return fail(problem, key: "payload")
            }
            declaration.hasPayload = isFunction("payload")
            return .success(declaration)
        case .validator:
            if let problem = checkFunction("validate", required: true) {
                return fail(problem, key: "validate")
            }
            return .success(declaration)
        default:
            break
        }
        for key in ["add", "delete", "update", "list"] {
            if let problem = checkFunction(key, required: false) { return fail(problem, key: key) }
        }
        var operations = Set<ContactOperation>()
        if isFunction("add") { operations.insert(.add) }
        if isFunction("delete") { operations.insert(.delete) }
        if isFunction("update") { operations.insert(.update) }
        if operations.isEmpty { return fail("a provider plugin needs a function add or delete") }
        if isFunction("list") { operations.insert(.list) }
        func strings(_ key: String) -> Result<[String]?, Problem> {
            guard let element = table[key], !element.isNil else { return .success(nil) }
            let line = PluginKeys.line(of: key, in: source)
            guard let items = element.arrayValue else {
                return .failure(Problem(text: "\(key) must be a list of strings", line: line))
            }
            var out: [String] = []
            for item in items {
                guard let text = item.stringValue, !text.isEmpty else {
                    return .failure(
                        Problem(
                            text:
                                "\(key) must be a list of strings; it holds \(item.shortDescription)",
                            line: line))
                }
                out.append(text)
            }
            return .success(out)
        }
        let credentials: [String]
        switch strings("credentials") {
        case .success(let list): credentials = list ?? []
        case .failure(let problem): return .failure(problem)
        }
        guard let endpointText = table["endpoint"]?.stringValue,
            let endpoint = URL(string: endpointText), LuaHTTP.origin(of: endpoint) != nil
        else {
            return fail(
                "endpoint must be an http(s) URL, got \(table["endpoint"]?.shortDescription ?? "nil")",
                key: "endpoint")
        }
        var origins: [String] = []
        switch strings("hosts") {
        case .success(let list):
            for host in list ?? [] {
                guard let origin = LuaHTTP.origin(of: host) else {
                    return fail(
                        "hosts entry '\(host)' is not an http(s) URL such as https://api.example.com",
                        key: "hosts")
                }
                origins.append(origin)
            }
        case .failure(let problem): return .failure(problem)
        }
        var region: String?
        if let regionValue = table["region"], !regionValue.isNil {
            guard let text = regionValue.stringValue, text.wholeMatch(of: /[A-Za-z]{2}/) != nil
            else {
                return fail(
                    "region must be a two-letter country code such as \"FR\"", key: "region")
            }
            region = text.uppercased()
        }
        var batchSizes: [ContactOperation: Int] = [:]
        let batchValue = table["batch_size"] ?? .nil
        switch batchValue {
        case .nil:
            for operation in operations { batchSizes[operation] = 1 }
        case .integer, .number:
            guard let size = batchValue.integerValue, size >= 1 else {
                return fail("batch_size must be a positive integer", key: "batch_size")
            }
            for operation in operations { batchSizes[operation] = Int(size) }
        default:
            guard let map = batchValue.stringMap else {
                return fail(
                    "batch_size must be a number or a table { add = n, delete = n, update = n }",
                    key: "batch_size")
            }
            for operation in operations { batchSizes[operation] = 1 }
            let batchLine = PluginKeys.line(of: "batch_size", in: source)
            let known = PluginKeys.batchSize
            for key in map.keys.sorted() {
                let line = PluginKeys.line(of: key, in: source, after: batchLine) ?? batchLine
                guard known.contains(key) else {
                    return .failure(
                        Problem(
                            text:
                                "batch_size has \(PluginKeys.unknownKey(key, known: known, noun: "operation"))",
                            line: line))
                }
                guard let size = map[key]?.integerValue, size >= 1 else {
                    return .failure(
                        Problem(text: "batch_size.\(key) must be a positive integer", line: line))
                }
                batchSizes[ContactOperation(rawValue: key)] = Int(size)
            }
        }
        var standardFields = Contact.standardFieldNames.filter { $0 != "phone" }
        switch strings("fields") {
        case .success(let list):
            if let list {
                let known = Contact.standardFieldNames
                if let unknown = list.first(where: { !known.contains($0) }) {
                    return fail(
                        "fields has \(PluginKeys.unknownKey(unknown, known: known, noun: "field")); "
                            + "custom fields go in custom_fields",
                        key: "fields")
                }
                standardFields = list
            }
        case .failure(let problem): return .failure(problem)
        }
        var customFields: [String] = []
        switch strings("custom_fields") {
        case .success(let list):
            declaration.acceptsAnyCustomField = list == nil
            customFields = list ?? []
        case .failure(let problem): return .failure(problem)
        }
        var maxLengths: [String: Int] = [:]
        if let lengths = table["max_lengths"], !lengths.isNil {
            guard let map = lengths.stringMap else {
                return fail("max_lengths must be a table { field = length }", key: "max_lengths")
            }
            // With custom_fields declared, every field a length may apply to is known.
            let known = Contact.standardFieldNames + customFields
            let lengthsLine = PluginKeys.line(of: "max_lengths", in: source)
            for key in map.keys.sorted() {
                let line = PluginKeys.line(of: key, in: source, after: lengthsLine) ?? lengthsLine
                if !declaration.acceptsAnyCustomField, !known.contains(key) {
                    return .failure(
                        Problem(
                            text:
                                "max_lengths has \(PluginKeys.unknownKey(key, known: known, noun: "field"))",
                            line: line))
                }
                guard let length = map[key]?.integerValue, length >= 1 else {
                    return .failure(
                        Problem(text: "max_lengths.\(key) must be a positive integer", line: line))
                }
                maxLengths[key] = Int(length)
            }
        }
        var rateLimit: Double?
        if let rate = table["rate_limit"], !rate.isNil {
            guard let value = rate.doubleValue, value > 0 else {
                return fail(
                    "rate_limit must be a positive number of requests per second", key: "rate_limit"
                )
            }
            rateLimit = value
        }
        if let summary = table["summary"], !summary.isNil, summary.stringValue == nil {
            return fail(
                "summary must be a string, got \(summary.shortDescription)", key: "summary")
        }
        declaration.extraOrigins = origins
        declaration.descriptor = ProviderDescriptor(
            name: name, summary: table["summary"]?.stringValue ?? "Lua plugin",
            credentialKeys: credentials, defaultEndpoint: endpoint, defaultRegion: region,
            batchSizes: batchSizes, operations: operations, standardFields: standardFields,
            customFields: customFields,
            acceptsAnyCustomField: declaration.acceptsAnyCustomField, maxLengths: maxLengths,
            defaultRateLimit: rateLimit)
        return .success(declaration)
    }
}
