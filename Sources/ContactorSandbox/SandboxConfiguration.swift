public import Logging

/// How a ``SandboxServer`` listens, misbehaves and what data it starts with.
public struct SandboxConfiguration: Sendable {
    /// The TCP port on 127.0.0.1; `0` picks a free port (read it from ``SandboxServer/port``).
    public var port: Int
    /// Faults injected into provider requests (not into `/_sandbox/` admin requests).
    public var faults: FaultConfiguration
    /// The accounts and lists that exist at start and after a reset.
    public var demo: SandboxDemo
    /// Where the server logs: one line per request at `debug` (method, path and status,
    /// never a query string, header or body, so no credential is logged).
    public var logger: Logger
    /// Whether the server keeps a log of the provider requests it receives (arrival time,
    /// method, path and answer; see ``SandboxServer/requests``), for tests that count
    /// requests or measure their rate. Off by default, so a long-running sandbox does not
    /// grow.
    public var recordsRequests: Bool
    /// The time the rate-limit fault counts its one-second windows on: the continuous
    /// clock by default; tests pass a time they move themselves, so that "within one
    /// second" does not depend on how busy the machine is.
    public var now: @Sendable () -> ContinuousClock.Instant

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - port: The port on 127.0.0.1, `0` for a free one.
    ///   - faults: Fault injection, none by default.
    ///   - demo: The starting data, ``SandboxDemo/standard`` by default.
    ///   - logger: The server's logger; by default one labelled `contactor.sandbox` at
    ///     `warning`.
    ///   - recordsRequests: Whether to keep a log of provider requests (off by default).
    ///   - now: The time the rate-limit fault's windows are counted on.
    public init(
        port: Int = 0, faults: FaultConfiguration = .none, demo: SandboxDemo = .standard,
        logger: Logger? = nil, recordsRequests: Bool = false,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.port = port
        self.now = now
        self.recordsRequests = recordsRequests
        self.faults = faults
        self.demo = demo
        self.logger =
            logger
            ?? {
                var logger = Logger(label: "contactor.sandbox")
                logger.logLevel = .warning
                return logger
            }()
    }
}

/// Faults a sandbox injects into provider requests, to exercise clients' retries.
///
/// For each provider request, in this order: the added ``latency`` is waited; the
/// per-provider ``rateLimit`` is checked (over it: `429 Too Many Requests` with a
/// `Retry-After` header in whole seconds); then with probability ``dropRate`` the
/// connection is closed without an answer; then with probability ``failureRate`` the
/// answer is `503 Service Unavailable`; then, for Avosms requests only, with probability
/// ``avosmsProcessingErrorRate`` the answer is Avosms's documented transient error
/// (HTTP 200 `{"status": "error", "code": "ERR_9xx"}`, code ``avosmsProcessingErrorCode``).
/// Random draws come from a generator seeded with ``seed``, so a given sequence of
/// requests meets the same faults on every run; setting the faults
/// (``SandboxServer/faults`` or `PUT /_sandbox/faults`) reseeds it. A fault whose rate is 0
/// draws nothing, so adding one leaves the sequence of the others as it was.
public struct FaultConfiguration: Sendable, Hashable {
    /// Added before every provider answer; `.zero` for none.
    public var latency: Duration
    /// The share of requests (0...1) answered `503 Service Unavailable`.
    public var failureRate: Double
    /// The most requests a provider accepts in any one-second window, `nil` for no limit.
    public var rateLimit: Int?
    /// The share of requests (0...1) whose connection is closed without an answer.
    public var dropRate: Double
    /// The share of Avosms requests (0...1) answered with Avosms's provider-side processing
    /// error, `ERR_9xx` (other providers document no such error: use ``failureRate``).
    public var avosmsProcessingErrorRate: Double
    /// The number of that error, 900 to 999 (`ERR_900` by default); the docs say only that
    /// the last two digits vary with the kind of error.
    public var avosmsProcessingErrorCode: Int
    /// The seed of the random generator that decides failures, drops and processing errors.
    public var seed: UInt64

    /// The valid values of ``avosmsProcessingErrorCode``.
    public static let avosmsProcessingErrorCodes = 900...999

    /// Creates a fault configuration; every fault is off by default.
    public init(
        latency: Duration = .zero, failureRate: Double = 0, rateLimit: Int? = nil,
        dropRate: Double = 0, avosmsProcessingErrorRate: Double = 0,
        avosmsProcessingErrorCode: Int = 900, seed: UInt64 = 1
    ) {
        self.latency = latency
        self.failureRate = failureRate
        self.rateLimit = rateLimit
        self.dropRate = dropRate
        self.avosmsProcessingErrorRate = avosmsProcessingErrorRate
        self.avosmsProcessingErrorCode = avosmsProcessingErrorCode
        self.seed = seed
    }

    /// No faults at all.
    public static let none = FaultConfiguration()
}

/// SplitMix64: a small, fast, seedable generator (the sequence is the same on every run).
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the fault injector decided for one request.
enum FaultDecision: Equatable {
    case proceed
    case rateLimited(retryAfterSeconds: Int)
    case drop
    case fail
    /// Avosms's `ERR_9xx`, with its number.
    case processingError(Int)
}

/// The fault injector's mutable state: configuration, generator and rate-limit windows.
struct FaultState: Sendable {
    private(set) var configuration: FaultConfiguration
    private var generator: SeededGenerator
    /// Times of the requests each provider accepted in the last second.
    private var recent: [String: [ContinuousClock.Instant]] = [:]

    init(configuration: FaultConfiguration) {
        self.configuration = configuration
        generator = SeededGenerator(seed: configuration.seed)
    }

    mutating func set(_ configuration: FaultConfiguration) {
        self.configuration = configuration
        generator = SeededGenerator(seed: configuration.seed)
        recent = [:]
    }

    /// Decides the fate of a request to `provider` arriving at `now`.
    mutating func decide(provider: String, now: ContinuousClock.Instant) -> FaultDecision {
        if let limit = configuration.rateLimit {
            let windowStart = now - .seconds(1)
            var times = recent[provider, default: []].filter { $0 > windowStart }
            if times.count >= max(limit, 0) {
                recent[provider] = times
                let wait = (times.first.map { $0 + .seconds(1) } ?? now) - now
                let seconds =
                    Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0)
                return .rateLimited(retryAfterSeconds: max(seconds, 1))
            }
            times.append(now)
            recent[provider] = times
        }
        if configuration.dropRate > 0,
            Double.random(in: 0..<1, using: &generator) < configuration.dropRate
        {
            return .drop
        }
        if configuration.failureRate > 0,
            Double.random(in: 0..<1, using: &generator) < configuration.failureRate
        {
            return .fail
        }
        if provider == "avosms", configuration.avosmsProcessingErrorRate > 0,
            Double.random(in: 0..<1, using: &generator) < configuration.avosmsProcessingErrorRate
        {
            return .processingError(configuration.avosmsProcessingErrorCode)
        }
        return .proceed
    }
}
