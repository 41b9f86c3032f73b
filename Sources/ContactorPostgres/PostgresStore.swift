import Contactor
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// Contactor's state in PostgreSQL: the journal, the ledger, the rate limits and the work
/// shared by several workers, in one schema of one database.
///
/// ```swift
/// try await PostgresStore.with(url: "postgres://contactor@db.internal/contactor") { store in
///     let client = ContactorClient(configuration: .init(
///         transport: http, providers: providers, journal: store.journal,
///         rateLimiter: store.rateLimiter))
///     ...
/// }
/// ```
///
/// A store owns a `PostgresClient` (a connection pool) that must run while the store is used:
/// ``with(configuration:logger:_:)`` runs it around a closure; in a ServiceLifecycle
/// service, put the store's ``run()`` in the group. ``migrate()`` creates the schema's tables
/// (idempotent; `with` calls it).
public final class PostgresStore: Sendable {
    /// Where the store connects.
    public struct Configuration: Sendable {
        /// The server's host.
        public var host: String
        /// The server's port.
        public var port: Int
        /// The user.
        public var username: String
        /// The password, if any (never printed).
        public var password: Secret?
        /// The database.
        public var database: String?
        /// The schema holding Contactor's tables (letters, digits and `_`), `contactor` by
        /// default: several stores (tenants, tests) can share a database.
        public var schema: String
        /// Whether to require TLS (`sslmode=require` in a URL); off for 127.0.0.1 by default.
        public var requiresTLS: Bool
        /// How long a query may go unanswered (`query_timeout=SECONDS` in a URL), 60 s by
        /// default: past that it fails with `journal_failed`, as a lost connection does, and
        /// a worker tries again. It bounds waiting for a pooled connection and for the
        /// server's first answer, not reading a long answer.
        public var queryTimeout: Duration

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1", port: Int = 5432, username: String,
            password: Secret? = nil, database: String? = nil, schema: String = "contactor",
            requiresTLS: Bool = false, queryTimeout: Duration = .seconds(60)
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.schema = schema
            self.requiresTLS = requiresTLS
            self.queryTimeout = queryTimeout
        }

        /// Reads `postgres://user[:password]@host[:port]/database[?schema=name&sslmode=require]`.
        /// - Throws: ``ContactorError`` `invalid_options` saying what is wrong (the password
        ///   never appears in it).
        public init(url text: String) throws(ContactorError) {
            guard let components = URLComponents(string: text),
                ["postgres", "postgresql"].contains(components.scheme ?? ""),
                let host = components.host, !host.isEmpty
            else {
                throw ContactorError(
                    .invalidOptions,
                    "the store must be a postgres://user@host[:port]/database URL")
            }
            guard let user = components.user, !user.isEmpty else {
                throw ContactorError(
                    .invalidOptions, "the store URL names no user (postgres://user@host/...)")
            }
            let database = components.path.split(separator: "/").first.map(String.init)
            let query = Dictionary(
                (components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
                uniquingKeysWith: { _, last in last })
            let schema = query["schema"] ?? "contactor"
            guard PostgresStore.isIdentifier(schema) else {
                throw ContactorError(
                    .invalidOptions,
                    "the store's schema '\(schema)' must be letters, digits and _ (not starting with a digit)"
                )
            }
            var timeout = Duration.seconds(60)
            if let text = query["query_timeout"] {
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw ContactorError(
                        .invalidOptions,
                        "the store's query_timeout '\(text)' must be a number of seconds above 0")
                }
                timeout = .milliseconds(Int64((seconds * 1000).rounded(.up)))
            }
            self.init(
                host: host, port: components.port ?? 5432,
                username: user.removingPercentEncoding ?? user,
                password: components.password.map { Secret($0.removingPercentEncoding ?? $0) },
                database: database, schema: schema,
                requiresTLS: ["require", "verify-ca", "verify-full"].contains(
                    query["sslmode"] ?? ""), queryTimeout: timeout)
        }
    }

    /// The configuration.
    public let configuration: Configuration
    let client: PostgresClient
    let logger: Logger

    /// The schema's name, quoted for SQL.
    var schema: String { "\"\(configuration.schema)\"" }

    /// The logger given to postgres-nio for each query: the store's, at `error` at least.
    /// Its warnings (such as a query asked for while the pool is still starting, which it
    /// then waits for) are not a user's concern; its errors are also thrown, and reported
    /// by Contactor with what failed.
    var queryLogger: Logger {
        var logger = logger
        if logger.logLevel < .error { logger.logLevel = .error }
        return logger
    }

    /// Creates a store; nothing connects until ``run()`` runs.
    public init(configuration: Configuration, logger: Logger = Logger(label: "contactor.postgres"))
    {
        self.configuration = configuration
        self.logger = logger
        let tls: PostgresClient.Configuration.TLS =
            configuration.requiresTLS ? .require(.makeClientConfiguration()) : .disable
        var config = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password?.reveal(), database: configuration.database,
            tls: tls)
        config.options.maximumConnections = 8
        client = PostgresClient(configuration: config, backgroundLogger: logger)
    }

    /// Runs `query` on the pool, waiting at most ``Configuration/queryTimeout`` for a
    /// connection and the server's answer (``withDeadline(_:_:)`` says why).
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await withDeadline(configuration.queryTimeout) { [client] in
            try await client.query(query, logger: logger)
        }
    }

    /// How a lease's own connection connects.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password?.reveal(), database: configuration.database,
            tls: configuration.requiresTLS
                ? .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                : .disable)
    }

    private static let connectionIDs = Atomic<Int>(0)

    /// A new id for a connection of this process (the pool numbers its own).
    static func nextConnectionID() -> Int {
        1_000_000 + connectionIDs.add(1, ordering: .relaxed).newValue
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async { await client.run() }

    /// Runs a store for `configuration` around `body`: the pool runs, the schema is
    /// migrated, then `body` gets the store.
    public static func with<T: Sendable>(
        configuration: Configuration, logger: Logger = Logger(label: "contactor.postgres"),
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = PostgresStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            defer { group.cancelAll() }
            try await store.migrate()
            let result = try await body(store)
            group.cancelAll()
            return result
        }
    }

    /// The journal in this store.
    public var journal: PostgresJournal { PostgresJournal(store: self) }
    /// The ledger in this store.
    public var ledger: PostgresLedger { PostgresLedger(store: self) }
    /// One rate limit per provider account across every process using this store.
    public var rateLimiter: PostgresRateLimiter { PostgresRateLimiter(store: self) }
    /// The work shared by workers.
    public var work: PostgresWorkQueue { PostgresWorkQueue(store: self) }

    /// Creates the schema and its tables when they are missing.
    public func migrate() async throws {
        let s = schema
        let statements = [
            "CREATE SCHEMA IF NOT EXISTS \(s)",
            """
            CREATE TABLE IF NOT EXISTS \(s).runs (
                id BIGSERIAL PRIMARY KEY, operation TEXT NOT NULL, provider TEXT NOT NULL,
                list TEXT NOT NULL, input_path TEXT NOT NULL, input_digest TEXT NOT NULL,
                started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).outcomes (
                run_id BIGINT NOT NULL REFERENCES \(s).runs (id) ON DELETE CASCADE,
                line INTEGER NOT NULL, phone TEXT, status TEXT NOT NULL, result_id TEXT,
                error_code TEXT, message TEXT, provider_code TEXT, worker TEXT,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, line))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).ledger (
                provider TEXT NOT NULL, account TEXT NOT NULL, list TEXT NOT NULL,
                phone TEXT NOT NULL, fingerprint TEXT NOT NULL, provider_id TEXT,
                origin TEXT NOT NULL CHECK (origin IN ('added', 'found')),
                pending BOOLEAN NOT NULL DEFAULT false, updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (provider, account, list, phone))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).rate_limits (
                key TEXT PRIMARY KEY, tat TIMESTAMPTZ NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).jobs (
                run_id BIGINT PRIMARY KEY REFERENCES \(s).runs (id) ON DELETE CASCADE,
                spec JSONB NOT NULL, provider TEXT NOT NULL, account TEXT,
                submitted BOOLEAN NOT NULL DEFAULT false, chunks INTEGER NOT NULL,
                records INTEGER NOT NULL, submitted_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).chunks (
                run_id BIGINT NOT NULL REFERENCES \(s).jobs (run_id) ON DELETE CASCADE,
                index INTEGER NOT NULL, records JSONB NOT NULL,
                first_line INTEGER NOT NULL, last_line INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done')),
                owner TEXT, lease_expires TIMESTAMPTZ, claims INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (run_id, index))
            """,
            "CREATE INDEX IF NOT EXISTS chunks_state ON \(s).chunks (state, run_id, index)",
            // A sync's deletions are chunks of their own; a sync that may delete is held
            // (no chunk claimed) until its deletions are counted.
            "ALTER TABLE \(s).chunks ADD COLUMN IF NOT EXISTS operation TEXT",
            "ALTER TABLE \(s).jobs ADD COLUMN IF NOT EXISTS held BOOLEAN NOT NULL DEFAULT false",
            """
            CREATE TABLE IF NOT EXISTS \(s).sends (
                run_id BIGINT NOT NULL, line INTEGER NOT NULL, worker TEXT NOT NULL,
                sent_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """,
            "CREATE INDEX IF NOT EXISTS sends_line ON \(s).sends (run_id, line)",
            """
            CREATE TABLE IF NOT EXISTS \(s).leases (
                key TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL,
                acquired_at TIMESTAMPTZ NOT NULL)
            """,
        ]
        // A schema that is already current is left alone: `ALTER TABLE ... ADD COLUMN IF
        // NOT EXISTS` takes the table's exclusive lock even when the column exists, and a
        // worker starting beside others that write the table then deadlocks with them.
        let (client, logger, name) = (client, queryLogger, configuration.schema)
        do {
            if try await isCurrent() { return }
            // Two processes migrating at once: one waits for the other (a transaction-scoped
            // advisory lock on the schema's name), hence a deadline of twice the queries'.
            try await withDeadline(configuration.queryTimeout * 2) {
                _ = try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        "SELECT pg_advisory_xact_lock(hashtext(\(name)))", logger: logger)
                    for statement in statements {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
            }
        } catch {
            throw failure(
                .journalFailed, "the schema \(name) could not be created or brought up to date",
                error)
        }
    }

    /// Whether the schema holds the newest objects ``migrate()`` creates (the `leases`
    /// table, `chunks.operation`, `jobs.held`): a migration that adds one adds it here.
    private func isCurrent() async throws -> Bool {
        let rows = try await query(
            """
            SELECT to_regclass(\(schema + ".leases")) IS NOT NULL
                AND (SELECT count(*) FROM information_schema.columns
                     WHERE table_schema = \(configuration.schema)
                     AND ((table_name = 'chunks' AND column_name = 'operation')
                          OR (table_name = 'jobs' AND column_name = 'held'))) = 2
            """, logger: queryLogger)
        for try await current in rows.decode(Bool.self) { return current }
        return false
    }

    /// Drops the store's schema and everything in it (runs, outcomes, ledger, work): for
    /// tests, and for removing a tenant.
    public func dropSchema() async throws {
        do {
            try await query(
                PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"),
                logger: queryLogger)
        } catch {
            throw failure(
                .journalFailed, "the schema \(configuration.schema) could not be dropped", error)
        }
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !("0"..."9").contains(first) else {
            return false
        }
        return text.count <= 63
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || $0 == "_"
            }
    }

    /// `error` as a ``ContactorError`` of `code`, its message free of the password.
    func failure(_ code: ContactorError.Code, _ what: String, _ error: any Error) -> ContactorError
    {
        if let error = error as? ContactorError { return error }
        var text = String(reflecting: error)
        if let password = configuration.password?.reveal(), !password.isEmpty {
            text = Redactor(secrets: [password]).redact(text)
        }
        if let psql = error as? PSQLError, let message = psql.serverInfo?[.message] {
            text = message
        }
        return ContactorError(code, "\(what): \(text)")
    }
}
