import Contactor
import ContactorPostgres
import ContactorSandbox
import ContactorTesting
import Foundation
import Logging
import PostgresNIO

let quietLogger: Logger = {
    var logger = Logger(label: "contactor.postgres-tests")
    logger.logLevel = .critical
    return logger
}()

/// The configuration of a schema of its own on the test server.
func storeConfiguration(_ prefix: String) async throws -> PostgresStore.Configuration {
    try PostgresStore.Configuration(url: try await PostgresTestServer.url(schema: prefix))
}

/// Runs `body` with a migrated store in a schema of its own, dropped afterwards.
func withStore<T: Sendable>(
    _ prefix: String = "t", _ body: @Sendable (PostgresStore) async throws -> T
) async throws -> T {
    let configuration = try await storeConfiguration(prefix)
    return try await withStore(configuration, body)
}

/// Runs `body` with a migrated store for `configuration`; its schema is dropped afterwards.
func withStore<T: Sendable>(
    _ configuration: PostgresStore.Configuration,
    _ body: @Sendable (PostgresStore) async throws -> T
) async throws -> T {
    try await PostgresStore.with(configuration: configuration, logger: quietLogger) { store in
        do {
            let value = try await body(store)
            try await store.dropSchema()
            return value
        } catch {
            try? await store.dropSchema()
            throw error
        }
    }
}

/// The built `contactor` binary with the sandbox's Octopush credentials in its
/// environment and no bundled plugins.
func octopushContactor() throws -> CommandLineProcess {
    try CommandLineProcess.contactor(
        environment: [
            "CONTACTOR_OCTOPUSH_API_LOGIN": SandboxDemo.standard.octopush.apiLogin,
            "CONTACTOR_OCTOPUSH_API_KEY": SandboxDemo.standard.octopush.apiKey,
            "CONTACTOR_BUNDLED_PLUGINS": "/nonexistent",
        ])
}

/// A new temporary directory named after `prefix`; the caller removes it.
func temporaryDirectory(_ prefix: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "contactor-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Records with a phone and a first name, row `i` on line `i + 2`.
struct Rows: AsyncSequence, Sendable {
    let rows: [InputRecord]

    init(_ phones: [String], name: String = "Ada") {
        rows = phones.enumerated().map { index, phone in
            InputRecord(line: index + 2, columns: [("phone", phone), ("first_name", name)])
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(rows: rows) }

    struct Iterator: AsyncIteratorProtocol {
        let rows: [InputRecord]
        var index = 0

        mutating func next() async -> InputRecord? {
            defer { index += 1 }
            return index < rows.count ? rows[index] : nil
        }
    }
}

/// `count` distinct French mobile numbers, E.164.
func frenchMobiles(_ count: Int, start: Int = 0) -> [String] {
    (start..<(start + count)).map { "+336" + String(format: "%08d", 12_000_000 + $0) }
}

/// A connection of its own to the store's server; the caller closes it.
func connect(to configuration: PostgresStore.Configuration) async throws -> PostgresConnection {
    try await PostgresConnection.connect(
        configuration: .init(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password?.reveal(), database: configuration.database,
            tls: .disable),
        id: Int.random(in: 1..<1_000_000), logger: quietLogger)
}

/// Runs `body` on a connection of its own to the store's server, closed afterwards.
func withConnection<T: Sendable>(
    to configuration: PostgresStore.Configuration,
    _ body: (PostgresConnection) async throws -> T
) async throws -> T {
    let connection = try await connect(to: configuration)
    do {
        let value = try await body(connection)
        try await connection.close()
        return value
    } catch {
        try? await connection.close()
        throw error
    }
}

/// Runs `body` with the configuration of a database of its own on the test server
/// (`prefix` and a random suffix), dropped afterwards.
func withDatabase<T: Sendable>(
    _ prefix: String, _ body: (PostgresStore.Configuration) async throws -> T
) async throws -> T {
    let server = try await storeConfiguration(prefix)
    let database = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    try await execute("CREATE DATABASE \(database)", on: server)
    var configuration = server
    configuration.database = database
    do {
        let value = try await body(configuration)
        try await execute("DROP DATABASE \(database) WITH (FORCE)", on: server)
        return value
    } catch {
        try? await execute("DROP DATABASE \(database) WITH (FORCE)", on: server)
        throw error
    }
}

/// Runs `sql` on a connection of its own to the store's server.
func execute(_ sql: String, on configuration: PostgresStore.Configuration) async throws {
    _ = try await withConnection(to: configuration) { connection in
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
    }
}

/// The rows `sql` answers, every column an integer (cast them to `bigint`), read on a
/// connection of its own.
func integers(
    _ sql: String, on configuration: PostgresStore.Configuration
) async throws -> [[Int]] {
    try await withConnection(to: configuration) { connection in
        var rows: [[Int]] = []
        for try await row in try await connection.query(
            PostgresQuery(unsafeSQL: sql), logger: quietLogger)
        {
            rows.append(try row.map { try $0.decode(Int.self, context: .default) })
        }
        return rows
    }
}

extension PostgresStore {
    /// Ends the connections holding this store's leases, as a dead process's would end.
    func terminateLeaseConnections() async throws {
        try await execute(
            "SELECT pg_terminate_backend(pid) FROM \"\(configuration.schema)\".leases",
            on: configuration)
    }
}
