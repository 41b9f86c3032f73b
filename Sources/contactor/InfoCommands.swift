import ArgumentParser
import Contactor
import ContactorSandbox
import Foundation
import Synchronization

/// `contactor providers`: lists built-in and plugin providers.
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract:
            "List the built-in and plugin providers, their operations, batch sizes and credentials.",
        usage: "contactor providers [<options>]",
        discussion: """

            Example:
              contactor providers --plugins ./my-plugins --output json
            """)

    @OptionGroup var setup: SetupOptions
    @OptionGroup var outputOption: OutputOption
    @OptionGroup var logging: LoggingOptions

    private var global: GlobalOptions {
        .with(setup: setup, output: outputOption, logging: logging)
    }

    func run() async throws {
        try await Runtime.with(provider: .none, global: global) { runtime in
            list(runtime)
            // On stderr, so that the JSON Lines on stdout stay one provider a line.
            if !global.quiet {
                Console.err(
                    "contactor: plugin directories "
                        + PluginSet.searchedLine(runtime.plugins.loader.directories))
            }
        }
    }

    private func list(_ runtime: Runtime) {
        let format = global.outputFormat()
        for provider in runtime.registry.providers {
            let descriptor = provider.descriptor
            let source = runtime.plugins.source(ofProvider: descriptor.name) ?? "built-in"
            let operations = [ContactOperation.add, .update, .delete, .list].filter(
                descriptor.supports)
            let variables = descriptor.credentialKeys.map {
                Credentials.environmentVariable(provider: descriptor.name, key: $0)
            }
            switch format {
            case .json, .csv:
                let object: JSONValue = .object([
                    "name": .string(descriptor.name),
                    "source": .string(source),
                    "operations": .array(operations.map { .string($0.rawValue) }),
                    "batch_sizes": .object(
                        Dictionary(
                            uniqueKeysWithValues: operations.map {
                                ($0.rawValue, JSONValue.int(Int64(descriptor.batchSize(for: $0))))
                            })),
                    "credentials": .array(variables.map(JSONValue.string)),
                    "endpoint": .string(descriptor.defaultEndpoint.absoluteString),
                    "region": descriptor.defaultRegion.map(JSONValue.string) ?? .null,
                ])
                Console.out(object.jsonText)
            case .table:
                Console.out("\(descriptor.name)  (\(source))")
                Console.out(
                    "  operations:  "
                        + operations.map {
                            $0 == .list ? "list" : "\($0) (batch \(descriptor.batchSize(for: $0)))"
                        }
                        .joined(separator: ", "))
                Console.out(
                    "  credentials: "
                        + (variables.isEmpty ? "none" : variables.joined(separator: ", ")))
                Console.out(
                    "  endpoint:    \(descriptor.defaultEndpoint.absoluteString)"
                        + (descriptor.defaultRegion.map { "   region: \($0)" } ?? ""))
            }
        }
    }
}

/// `contactor sandbox`: serves the emulators until interrupted.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve local emulators of the four providers (Ctrl-C to stop).",
        discussion: """

            Example:
              contactor sandbox --port 8080 &
              contactor add --provider octopush --list demo --phone 0612345678 \\
                --endpoint http://127.0.0.1:8080/octopush \\
                --credential api_login=demo@contactor.test \\
                --credential api_key=octopush-demo-key
            """)

    @Option(name: .long, help: "The port to listen on, on 127.0.0.1 (0: any free port).")
    var port: Int = 8080

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
    }

    func run() async throws {
        let server = SandboxServer(configuration: SandboxConfiguration(port: port))
        do {
            try await server.start()
        } catch {
            throw CLIError.usage("cannot start the sandbox on port \(port): \(error)")
        }
        Console.err(SandboxDemo.standard.banner(baseURL: server.baseURL.absoluteString))
        await waitForTermination()
        await server.stop()
    }

    /// Suspends until SIGINT or SIGTERM.
    private func waitForTermination() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "contactor.signals")
            let sources = [SIGINT, SIGTERM].map {
                DispatchSource.makeSignalSource(signal: $0, queue: queue)
            }
            let resumed = ResumeOnce(continuation)
            for source in sources {
                source.setEventHandler { resumed.resume() }
                source.resume()
            }
            // Keep the sources alive until a signal arrives.
            resumed.keep(sources)
        }
    }
}

/// Resumes a continuation once, from whichever signal arrives first.
final class ResumeOnce: Sendable {
    private let state: Mutex<(CheckedContinuation<Void, Never>?, [any DispatchSourceSignal])>

    init(_ continuation: CheckedContinuation<Void, Never>) {
        state = Mutex((continuation, []))
    }

    func keep(_ sources: [any DispatchSourceSignal]) {
        state.withLock { $0.1 = sources }
    }

    func resume() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.0 = nil }
            return state.0
        }
        continuation?.resume()
    }
}
