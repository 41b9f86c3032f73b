import Contactor
import ContactorTesting
import Foundation

/// Running an adapter through a ``ContactorClient``: where the single local checks live
/// (the list, the credentials, the contacts' fields), so that tests of those checks go
/// through the one place that makes them.
enum ClientSupport {
    /// A client of `provider` over `transport`, with these credential values.
    static func client(
        _ provider: any ContactProvider, _ transport: MockTransport,
        credentials: [String: String]
    ) -> ContactorClient {
        ContactorClient(
            configuration: .init(
                transport: transport, providers: ProviderRegistry([provider]),
                credentials: CredentialResolver(explicit: credentials),
                clock: ImmediateClock()))
    }

    /// The outcomes of sending `contacts` with `operation`.
    static func run(
        _ provider: any ContactProvider, _ transport: MockTransport,
        credentials: [String: String], operation: ContactOperation = .add, list: String,
        contacts: [Contact], options: RunOptions = RunOptions()
    ) async throws -> [RecordOutcome] {
        let client = client(provider, transport, credentials: credentials)
        let name = provider.descriptor.name
        return operation == .delete
            ? try await client.delete(contacts, provider: name, list: list, options: options)
            : try await client.add(contacts, provider: name, list: list, options: options)
    }

    /// The run error the client refuses `contacts` with, or `nil` when it ran.
    static func refusal(
        _ provider: any ContactProvider, _ transport: MockTransport,
        credentials: [String: String], operation: ContactOperation = .add, list: String,
        contacts: [Contact], options: RunOptions = RunOptions()
    ) async -> ContactorError? {
        do {
            _ = try await run(
                provider, transport, credentials: credentials, operation: operation, list: list,
                contacts: contacts, options: options)
            return nil
        } catch {
            return error as? ContactorError
        }
    }
}
