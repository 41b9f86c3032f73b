import Synchronization

/// A single-producer, single-consumer hand-off of outcome chunks with a bounded buffer.
///
/// ``send(_:)`` suspends while the buffer is full, which is how a slow consumer slows the
/// engine down (back-pressure). The consumer going away (``close()``) releases a waiting
/// producer, whose ``send(_:)`` then returns `false`.
final class OutcomeChannel: Sendable {
    private struct State {
        var chunks: [[RecordOutcome]] = []
        var consumer: CheckedContinuation<[RecordOutcome]?, any Error>?
        var producer: CheckedContinuation<Void, Never>?
        var end: Result<Void, any Error>?
        var closed = false
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// Creates a channel holding at most `capacity` chunks not yet taken.
    init(capacity: Int = 1) { self.capacity = max(1, capacity) }

    /// Hands `chunk` to the consumer, waiting while the buffer is full.
    /// - Returns: `false` when the consumer has gone away.
    func send(_ chunk: [RecordOutcome]) async -> Bool {
        while true {
            enum Action {
                case deliver(CheckedContinuation<[RecordOutcome]?, any Error>)
                case done(Bool)
                case wait
            }
            let action: Action = state.withLock { state in
                if state.closed || state.end != nil { return .done(false) }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .deliver(consumer)
                }
                if state.chunks.count < capacity {
                    state.chunks.append(chunk)
                    return .done(true)
                }
                return .wait
            }
            switch action {
            case .deliver(let consumer):
                consumer.resume(returning: chunk)
                return true
            case .done(let sent):
                return sent
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.closed || state.chunks.count < capacity { return true }
                        state.producer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Ends the stream, after the chunks already buffered, normally or with `error`.
    func finish(throwing error: (any Error)? = nil) {
        let consumer = state.withLock {
            state -> CheckedContinuation<[RecordOutcome]?, any Error>? in
            guard state.end == nil else { return nil }
            guard let consumer = state.consumer else {
                state.end = error.map { .failure($0) } ?? .success(())
                return nil
            }
            // The waiting consumer gets the end now; later calls just see the end.
            state.consumer = nil
            state.end = .success(())
            return consumer
        }
        if let error { consumer?.resume(throwing: error) } else { consumer?.resume(returning: nil) }
    }

    /// The consumer has gone away: releases a waiting producer.
    func close() {
        let producer = state.withLock { state in
            state.closed = true
            defer { state.producer = nil }
            return state.producer
        }
        producer?.resume()
    }

    /// The next chunk, or `nil` at the end.
    /// - Throws: The error the producer finished with.
    func next() async throws -> [RecordOutcome]? {
        enum Action {
            case chunk([RecordOutcome], CheckedContinuation<Void, Never>?)
            case end(Result<Void, any Error>)
            case wait
        }
        let action: Action = state.withLock { state in
            if !state.chunks.isEmpty {
                let chunk = state.chunks.removeFirst()
                defer { state.producer = nil }
                return .chunk(chunk, state.producer)
            }
            if let end = state.end {
                state.end = .success(())  // report an error once, then end
                return .end(end)
            }
            return .wait
        }
        switch action {
        case .chunk(let chunk, let producer):
            producer?.resume()
            return chunk
        case .end(let end):
            try end.get()
            return nil
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                enum Now {
                    case chunk([RecordOutcome], CheckedContinuation<Void, Never>?)
                    case end(Result<Void, any Error>)
                    case parked
                }
                let now: Now = state.withLock { state in
                    if !state.chunks.isEmpty {
                        let chunk = state.chunks.removeFirst()
                        defer { state.producer = nil }
                        return .chunk(chunk, state.producer)
                    }
                    if let end = state.end {
                        state.end = .success(())
                        return .end(end)
                    }
                    state.consumer = continuation
                    return .parked
                }
                switch now {
                case .chunk(let chunk, let producer):
                    producer?.resume()
                    continuation.resume(returning: chunk)
                case .end(.success):
                    continuation.resume(returning: nil)
                case .end(.failure(let error)):
                    continuation.resume(throwing: error)
                case .parked:
                    break
                }
            }
        }
    }
}
