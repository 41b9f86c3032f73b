public import Foundation
import Hummingbird
import Logging
import Synchronization

/// Local emulators of the four providers' contact APIs, served over HTTP on 127.0.0.1.
///
/// Each provider lives under its own path prefix, and its documented paths are appended
/// to it, so `url(for: "octopush")` is what `--endpoint` takes:
///
/// | provider        | prefix            | example                                   |
/// |-----------------|-------------------|-------------------------------------------|
/// | Avosms          | `/avosms`         | `POST /avosms/v1/contact/add`             |
/// | Octopush        | `/octopush`       | `POST /octopush/v1/public/contact/create` |
/// | SMS Gateway API | `/smsgatewayapi`  | `POST /smsgatewayapi/v1/contact`          |
/// | SMS Partner     | `/smspartner`     | `POST /smspartner/v1/contact/add`         |
///
/// Admin endpoints live under `/_sandbox/` (`GET state`, `GET {provider}/lists/{list}`,
/// `POST reset`, `GET`/`PUT faults`). Every server has its own state: two servers in one
/// process share nothing.
///
/// ```swift
/// let server = SandboxServer()
/// try await server.start()
/// print(server.url(for: "octopush"))   // http://127.0.0.1:54321/octopush
/// // ... drive a client against it ...
/// let contacts = await server.contacts(provider: "octopush", list: "demo")
/// await server.stop()
/// ```
public final class SandboxServer: Sendable {
    /// The configuration the server was created with (its `faults` are the initial faults).
    public let configuration: SandboxConfiguration
    private let core: SandboxCore
    private let running = Mutex<Running?>(nil)

    private struct Running: Sendable {
        var port: Int
        var task: Task<Void, any Error>
    }

    /// Creates a server; nothing listens until ``start()``.
    public init(configuration: SandboxConfiguration = SandboxConfiguration()) {
        self.configuration = configuration
        core = SandboxCore(configuration: configuration)
    }

    /// Binds 127.0.0.1 on the configured port and starts answering.
    ///
    /// Returns once the port is bound, so requests can be sent straight away. Calling it
    /// on a running server does nothing.
    /// - Throws: The bind error (port in use, ...) when the server cannot listen.
    public func start() async throws {
        if running.withLock({ $0 != nil }) { return }
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            responder: SandboxResponder(core: core),
            configuration: ApplicationConfiguration(
                address: .hostname("127.0.0.1", port: configuration.port)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: Self.frameworkLogger(configuration.logger)
        )
        let task = Task {
            defer { announce.finish() }
            try await application.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The server stopped before it listened: report why.
            try await task.value
            throw SandboxServerError("the sandbox server stopped before it listened")
        }
        running.withLock { $0 = Running(port: port, task: task) }
        configuration.logger.info("sandbox listening", metadata: ["port": "\(port)"])
    }

    /// The logger handed to Hummingbird: the configured one, quietened to `critical`
    /// unless it is at `debug` or `trace`.
    ///
    /// ``stop()`` cancels the server's task (a graceful shutdown would need
    /// ServiceLifecycle, which this target does not depend on), and Hummingbird logs that
    /// cancellation as an error; this keeps that noise out of normal runs.
    private static func frameworkLogger(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel > .debug { logger.logLevel = .critical }
        return logger
    }

    /// Stops listening and closes every connection; the state stays readable.
    public func stop() async {
        guard
            let task = running.withLock({ state in
                defer { state = nil }; return state?.task
            })
        else {
            return
        }
        task.cancel()
        _ = await task.result
    }

    /// The port the server listens on; before ``start()``, the configured port.
    public var port: Int { running.withLock { $0?.port } ?? configuration.port }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The base URL of one provider's emulator, for `--endpoint`:
    /// `http://127.0.0.1:PORT/octopush`.
    ///
    /// - Parameter provider: `avosms`, `octopush`, `smsgatewayapi` or `smspartner`.
    public func url(for provider: String) -> URL {
        baseURL.appendingPathComponent(provider)
    }

    /// The contacts in one list (group) of a provider, in the order they were added;
    /// empty when there is no such list.
    ///
    /// - Parameters:
    ///   - provider: `avosms`, `octopush`, `smsgatewayapi` or `smspartner`.
    ///   - list: The list id (Avosms, SMS Partner), name (Octopush; `""` holds contacts
    ///     added without a list) or group id (SMS Gateway API).
    public func contacts(provider: String, list: String) async -> [SandboxContact] {
        await core.state.contacts(provider: provider, list: list) ?? []
    }

    /// Whether `provider` has a list (group) named `list`.
    public func hasList(provider: String, list: String) async -> Bool {
        await core.state.contacts(provider: provider, list: list) != nil
    }

    /// Puts every provider back to the demo data (lists, no contacts); faults stay as set.
    public func reset() async {
        await core.state.reset()
    }

    /// The faults injected into provider requests, changeable while the server runs.
    ///
    /// Setting them reseeds the random generator and clears the rate-limit windows.
    public var faults: FaultConfiguration {
        get { core.faults.withLock { $0.configuration } }
        set { core.faults.withLock { $0.set(newValue) } }
    }
}

extension SandboxServer {
    /// The provider requests received since the start or the last ``clearRequests()``, in
    /// the order they were answered, when ``SandboxConfiguration/recordsRequests`` is on
    /// (otherwise always empty). Admin requests (`/_sandbox/`) are not recorded.
    public var requests: [SandboxRequestRecord] { core.requestLog.withLock { $0 } }

    /// Empties the request log.
    public func clearRequests() { core.requestLog.withLock { $0.removeAll() } }
}

/// One provider request as the sandbox received and answered it.
public struct SandboxRequestRecord: Sendable, Hashable {
    /// The provider prefix (`octopush`).
    public var provider: String
    /// The method (`POST`).
    public var method: String
    /// The path, prefix included, without the query string (`/octopush/v1/public/contact/create`).
    public var path: String
    /// When the request reached the emulator, before any injected latency.
    public var receivedAt: ContinuousClock.Instant
    /// When it was answered (or its connection dropped).
    public var answeredAt: ContinuousClock.Instant
    /// The status answered, or `nil` when the connection was dropped by fault injection.
    public var status: Int?
}

/// An error of the sandbox server itself (not an emulated provider's answer).
public struct SandboxServerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public let description: String

    init(_ description: String) { self.description = description }
}

/// What a server and its responder share: emulator state, fault injector, logger.
final class SandboxCore: Sendable {
    let state: SandboxState
    let faults: Mutex<FaultState>
    let logger: Logger
    let recordsRequests: Bool
    let requestLog = Mutex<[SandboxRequestRecord]>([])

    init(configuration: SandboxConfiguration) {
        state = SandboxState(demo: configuration.demo)
        faults = Mutex(FaultState(configuration: configuration.faults))
        logger = configuration.logger
        recordsRequests = configuration.recordsRequests
    }

    /// Adds a provider request to the log, when the log is on.
    func recordRequest(
        provider: String, method: String, path: String, receivedAt: ContinuousClock.Instant,
        status: Int?
    ) {
        guard recordsRequests else { return }
        let record = SandboxRequestRecord(
            provider: provider, method: method, path: path, receivedAt: receivedAt,
            answeredAt: .now, status: status)
        requestLog.withLock { $0.append(record) }
    }
}

/// The request context: Hummingbird's basic storage plus a way to drop the connection.
struct SandboxRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Closes the request's connection at once, without an answer.
    let dropConnection: @Sendable () -> Void

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        let channel = source.channel
        dropConnection = { channel.close(promise: nil) }
    }
}
