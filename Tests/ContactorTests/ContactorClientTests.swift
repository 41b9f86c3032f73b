import Contactor
import ContactorTesting
import Testing

@Suite struct ContactorClientTests {
    private func refusal(
        _ client: ContactorClient, operation: ContactOperation = .add, provider: String = "memory",
        list: String = "l"
    ) async -> ContactorError? {
        do {
            _ = try await client.importRecords(
                GeneratedRecords(phones: mobiles(2)), operation: operation, provider: provider,
                list: list)
            return nil
        } catch {
            return error
        }
    }

    @Test func anUnknownProviderIsRefusedNamingTheKnownOnes() async {
        let client = makeClient([InMemoryProvider()])
        let error = await refusal(client, provider: "textmagic")
        #expect(error?.code == .unknownProvider)
        #expect(error?.message.contains("textmagic") == true)
        #expect(error?.message.contains("memory") == true)
    }

    @Test func aListTheProviderRefusesStopsTheRunBeforeAnythingIsSent() async {
        let provider = InMemoryProvider()
        let error = await refusal(makeClient([provider]), list: "")
        #expect(error?.code == .invalidList)
        #expect(error?.reason?.code == .missingField)
        #expect(error?.reason?.field == "list")
        #expect(await provider.receivedBatches.isEmpty)
    }

    @Test func anOperationTheProviderDoesNotSupportIsRefusedBeforeAnythingIsSent() async {
        let descriptor = ProviderDescriptor(
            name: "addonly", credentialKeys: [],
            defaultEndpoint: InMemoryProvider.descriptor().defaultEndpoint,
            batchSizes: [.add: 10])
        let provider = InMemoryProvider(descriptor: descriptor)
        let error = await refusal(makeClient([provider]), operation: .delete, provider: "addonly")
        #expect(error?.code == .unsupportedOperation)
        #expect(error?.message == "delete is not supported by addonly")
        #expect(await provider.receivedBatches.isEmpty)
    }

    @Test func aMissingCredentialIsRefusedNamingItsKey() async {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(credentialKeys: ["api_key"]))
        let error = await refusal(makeClient([provider]))
        #expect(error?.code == .missingCredential)
        #expect(error?.credentialKey == "api_key")
        #expect(error?.provider == "memory")
        #expect(error?.message.contains("'api_key'") == true)
        #expect(await provider.receivedBatches.isEmpty)
    }

    struct CredentialCase: Sendable, CustomTestStringConvertible {
        var explicit: String?
        var environment: String?
        var file: String?
        var expected: String
        var testDescription: String { "expects \(expected)" }
    }

    @Test(arguments: [
        CredentialCase(explicit: "cli", environment: "env", file: "file", expected: "cli"),
        CredentialCase(explicit: nil, environment: "env", file: "file", expected: "env"),
        CredentialCase(explicit: "", environment: "", file: "file", expected: "file"),
    ])
    func credentialsComeFromExplicitValuesThenEnvironmentThenFile(_ test: CredentialCase) throws {
        let resolver = CredentialResolver(
            explicit: test.explicit.map { ["api_key": $0] } ?? [:],
            environment: test.environment.map { ["CONTACTOR_MEMORY_API_KEY": $0] } ?? [:],
            file: test.file.map { ["memory": ["api_key": $0]] } ?? [:])
        let credentials = try resolver.resolve(
            for: InMemoryProvider.descriptor(credentialKeys: ["api_key"]))
        #expect(credentials["api_key"] == test.expected)
        #expect(credentials.provider == "memory")
        #expect(!credentials.description.contains(test.expected))
    }

    @Test func credentialsReachTheProviderThroughTheContext() async throws {
        let provider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(credentialKeys: ["api_key"]))
        await provider.requireCredentials(["api_key": "s3cret"])
        let client = makeClient(
            [provider],
            credentials: CredentialResolver(environment: ["CONTACTOR_MEMORY_API_KEY": "s3cret"]))
        let outcomes = try await client.add(
            [ContactDraft(phone: "+33612345678")], provider: "MEMORY", list: "l")
        #expect(outcomes.map(\.result.status) == [.added])
    }

    @Test func twoClientsInOneProcessDoNotShareState() async throws {
        let firstProvider = InMemoryProvider()
        let secondProvider = InMemoryProvider(
            descriptor: InMemoryProvider.descriptor(credentialKeys: ["api_key"]))
        let firstJournal = InMemoryJournal()
        let secondJournal = InMemoryJournal()
        await secondProvider.requireCredentials(["api_key": "two"])
        let first = makeClient([firstProvider], journal: firstJournal)
        let second = makeClient(
            [secondProvider], journal: secondJournal,
            credentials: CredentialResolver(environment: ["CONTACTOR_MEMORY_API_KEY": "two"]))
        let info = RunInfo(
            operation: .add, provider: "memory", list: "l", inputPath: "x.csv", inputDigest: "d")

        async let a = collect(
            first.importRecords(
                GeneratedRecords(phones: mobiles(30)), provider: "memory", list: "l",
                options: RunOptions(runInfo: info)))
        async let b = collect(
            second.importRecords(
                GeneratedRecords(phones: mobiles(20, start: 100)), provider: "memory", list: "l",
                options: RunOptions(runInfo: info)))
        let (outcomesA, outcomesB) = try await (a, b)

        #expect(outcomesA.count == 30 && outcomesA.allSatisfy { $0.result.status == .added })
        #expect(outcomesB.count == 20 && outcomesB.allSatisfy { $0.result.status == .added })
        #expect(await firstProvider.contacts(in: "l").map(\.phone.e164) == mobiles(30))
        #expect(
            await secondProvider.contacts(in: "l").map(\.phone.e164) == mobiles(20, start: 100))
        #expect(await firstProvider.receivedBatches.count == 3)
        #expect(await secondProvider.receivedBatches.count == 2)
        #expect(try await firstJournal.entries(run: 1).count == 30)
        #expect(try await secondJournal.entries(run: 1).count == 20)
    }
}
