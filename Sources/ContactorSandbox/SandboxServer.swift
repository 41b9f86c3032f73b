public import Foundation
import Hummingbird
import Logging
public import ServiceLifecycle
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
///
/// It is also a swift-service-lifecycle `Service`, for a program that runs it beside its
/// own services: put it in a `ServiceGroup`, and ``run()`` serves until the group shuts
/// down (gracefully: requests in flight are answered) or is cancelled.
///
/// ```swift
/// let sandbox = SandboxServer()
/// let group = ServiceGroup(
///     services: [sandbox], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class SandboxServer: Service, Sendable {
    /// The configuration the server was created with (its `faults` are the initial faults).
    public let configuration: SandboxConfiguration
    private let core: SandboxCore
    private let lifecycle = Mutex(Lifecycle())

    /// One run of the server, from ``start()`` to the end of Hummingbird's `Application`.
    private struct Run: Sendable {
        let id: Int
        /// The port, once the server listens.
        var port: Int?
        /// Gives the port once the server listens; throws when it ended before (bind error).
        let listening: Task<Int, any Error>
        /// Runs the group below until it ends.
        let serving: Task<Void, any Error>
        /// The group holding the `Application`, for a graceful shutdown.
        let group: ServiceGroup
    }

    private struct Lifecycle: Sendable {
        var run: Run?
        var runs = 0
    }

    /// Creates a server; nothing listens until ``start()`` or ``run()``.
    public init(configuration: SandboxConfiguration = SandboxConfiguration()) {
        self.configuration = configuration
        core = SandboxCore(configuration: configuration)
    }

    /// Binds 127.0.0.1 on the configured port and starts answering.
    ///
    /// Returns once the port is bound, so requests can be sent straight away. Calling it
    /// on a running or starting server (from any task, at the same time or not, and while
    /// ``run()`` serves) starts nothing more: it returns once that one run listens.
    /// - Throws: The bind error (port in use, ...) when the server cannot listen.
    public func start() async throws {
        let run = lifecycle.withLock { state in
            if let run = state.run { return run }
            let run = makeRun(id: state.runs + 1)
            state.runs += 1
            state.run = run
            return run
        }
        do {
            _ = try await run.listening.value
        } catch {
            release(run.id)
            throw error
        }
    }

    /// Runs the server as a swift-service-lifecycle `Service`: starts it (as ``start()``),
    /// answers until the task is cancelled or the service group shuts down gracefully,
    /// then stops.
    ///
    /// On a graceful shutdown the server stops accepting connections and finishes the
    /// requests in flight before it returns; on cancellation (or ``stop()``) it closes
    /// every connection at once. A server that is already running (through ``start()``)
    /// is served by that same run: there is never more than one listening socket.
    /// - Throws: The bind error when the server cannot listen, or the error that ended
    ///   the server when it was not asked to stop.
    public func run() async throws {
        try await start()
        guard let run = lifecycle.withLock({ $0.run }) else { return }
        let result = await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await run.serving.result
            } onGracefulShutdown: {
                Task { await run.group.triggerGracefulShutdown() }
            }
        } onCancel: {
            run.serving.cancel()
        }
        release(run.id)
        if case .failure(let error) = result, !(error is CancellationError),
            !run.serving.isCancelled
        {
            throw error
        }
    }

    /// Builds one run: the application, its group, and the tasks that serve and announce.
    private func makeRun(id: Int) -> Run {
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let logger = Self.frameworkLogger(configuration.logger)
        let application = Application(
            router: SandboxRoutes.router(core: core),
            configuration: ApplicationConfiguration(
                address: .hostname("127.0.0.1", port: configuration.port)),
            onServerRunning: { [weak self] channel in
                let port = channel.localAddress?.port ?? 0
                self?.lifecycle.withLock { state in
                    if state.run?.id == id { state.run?.port = port }
                }
                self?.configuration.logger.info("sandbox listening", metadata: ["port": "\(port)"])
                announce.yield(port)
                announce.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: application)], logger: logger))
        let serving = Task { [weak self] in
            defer {
                announce.finish()
                self?.release(id)
            }
            try await group.run()
        }
        let listening = Task {
            for await port in ports { return port }
            // The server ended before it listened: report why.
            try await serving.value
            throw SandboxServerError("the sandbox server stopped before it listened")
        }
        return Run(id: id, listening: listening, serving: serving, group: group)
    }

    /// Forgets run `id` (it ended or failed to start), so that the next start begins anew.
    private func release(_ id: Int) {
        lifecycle.withLock { state in
            if state.run?.id == id { state.run = nil }
        }
    }

    /// The logger handed to Hummingbird: the configured one, quietened to `critical`
    /// unless it is at `debug` or `trace`.
    ///
    /// ``stop()`` cancels the server's task, and Hummingbird logs that cancellation as an
    /// error; this keeps that noise out of normal runs.
    private static func frameworkLogger(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel > .debug { logger.logLevel = .critical }
        return logger
    }

    /// Stops listening and closes every connection at once; the state stays readable.
    ///
    /// Returns once the server has stopped (a ``run()`` serving it returns too). A later
    /// ``start()`` starts a new run with the same state.
    public func stop() async {
        guard
            let run = lifecycle.withLock({ state in
                defer { state.run = nil }; return state.run
            })
        else { return }
        run.serving.cancel()
        _ = await run.serving.result
    }

    /// The port the server listens on; before it listens, the configured port.
    public var port: Int { lifecycle.withLock { $0.run?.port } ?? configuration.port }

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

    /// How many provider requests are being handled right now.
    var requestsInFlight: Int { core.requestsInFlight.withLock { $0 } }
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
    let now: @Sendable () -> ContinuousClock.Instant
    let requestLog = Mutex<[SandboxRequestRecord]>([])
    /// Provider requests being handled now (from arrival, before any injected latency, to
    /// the answer), so that tests can tell when a request has reached the server.
    let requestsInFlight = Mutex(0)

    init(configuration: SandboxConfiguration) {
        state = SandboxState(demo: configuration.demo)
        faults = Mutex(FaultState(configuration: configuration.faults))
        logger = configuration.logger
        recordsRequests = configuration.recordsRequests
        now = configuration.now
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
