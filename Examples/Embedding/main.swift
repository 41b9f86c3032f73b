// A complete program that embeds Contactor: it imports contacts from a CSV file into an
// SMS Partner group, with the journal, a Lua validator and the sandbox standing in for
// the real service. docs/library.md shows this file; a test keeps the two identical.
import Contactor
import ContactorCSV
import ContactorHTTP
import ContactorLua
import ContactorProviders
import ContactorSandbox
import ContactorStore
import Foundation

@main
struct EmbeddingExample {
    static func main() async throws {
        // 1. The emulators, so this runs without an account. In production, leave this out
        //    and let the providers use their real endpoints.
        let sandbox = SandboxServer()
        try await sandbox.start()

        // 2. One transport for the whole program: pooled connections, TLS verified.
        let http = AsyncHTTPClientTransport()

        // 3. Providers are a value: the built-ins, plus any Lua plugin providers.
        var providers = ProviderRegistry(BuiltInProviders.all)
        let plugins = try await PluginLoader(
            configuration: .init(builtinProviderNames: Set(BuiltInProviders.names))
        ).load()
        for provider in plugins.providers.values { providers.register(provider) }

        // 4. The client: transport, providers, retries, a journal, credentials.
        let journalPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("contactor-example.sqlite").path
        let client = ContactorClient(
            configuration: .init(
                transport: http, providers: providers, retry: .standard, concurrency: 4,
                journal: try SQLiteJournal(path: journalPath),
                credentials: CredentialResolver(
                    explicit: SandboxDemo.standard.credentials(for: "smspartner"))))

        // 5. An import: records stream in, outcomes stream out in input order.
        let csv = """
            phone,first_name,last_name,birthday,custom1
            06 12 34 56 78,Ada,Lovelace,1815-12-10,vip
            +33 7 81 23 45 67,Alan,Turing,1912-06-23,
            12345,Not,A Number,,
            """
        let run = try await client.importRecords(
            CSVRecordReader(string: csv), provider: "smspartner", list: "5001",
            options: RunOptions(
                region: "FR", endpoint: sandbox.url(for: "smspartner"),
                runInfo: RunInfo(
                    operation: .add, provider: "smspartner", list: "5001",
                    inputPath: "inline.csv",
                    inputDigest: InputDigest.sha256(of: Data(csv.utf8)))))
        for try await outcome in run {
            let detail = outcome.result.error.map { " (\($0.code): \($0.message))" } ?? ""
            let line = outcome.line.map(String.init) ?? "-"
            print("line \(line): \(outcome.phone ?? "-") \(outcome.result.status)\(detail)")
        }

        // 6. One-off operations use the same client.
        let deleted = try await client.delete(
            phones: ["+33612345678"], provider: "smspartner", list: "5001",
            options: RunOptions(endpoint: sandbox.url(for: "smspartner")))
        print("delete: \(deleted.map(\.result.status))")

        try await http.shutdown()
        await sandbox.stop()
        try? FileManager.default.removeItem(atPath: journalPath)
    }
}
