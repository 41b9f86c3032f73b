import Contactor
import Foundation
import HTTPTypes
import Synchronization

/// Every request of a run and the answer it got, secrets hidden: what `--record` writes and
/// `--replay` answers from, so that a provider's behaviour is tested offline.
///
/// The file is JSON (keys sorted, two-space indented, one interaction after the other in
/// the order the requests were sent):
/// ```json
/// {
///   "format" : "contactor-cassette",
///   "interactions" : [
///     {
///       "request" : {
///         "body" : { "first_name" : "Ada", "phone" : "+33612345678" },
///         "headers" : { "Authorization" : "***", "Content-Type" : "application/json" },
///         "method" : "POST",
///         "url" : "https://api.example.com/v1/lists/test/contacts"
///       },
///       "response" : {
///         "headers" : { "content-type" : "application/json" },
///         "json" : { "id" : 1 },
///         "status" : 201
///       }
///     }
///   ],
///   "version" : 1
/// }
/// ```
/// A request is written as `--dry-run` prints it (``Redaction/dryRunJSON(_:redactor:)``):
/// its `body` is the JSON value of a JSON body, the text of any other, absent when there is
/// none. A response has its `status`, its `headers` (lower-case names; `content-length`,
/// `date`, `connection`, `keep-alive` and `transfer-encoding` left out) and one of `json`
/// (a body that is a JSON object or array), `body` (any other UTF-8 text) or `body_base64`
/// (other bytes), or none for an empty body. A request that got no answer has `error`
/// (`code`, `message`, `transient`) instead of `response`. Secret headers, secret members
/// and every credential are `***` in both.
public struct Cassette: Sendable, Hashable, Codable {
    /// The value of `format`.
    public static let formatName = "contactor-cassette"
    /// The version this build writes and reads.
    public static let currentVersion = 1

    /// Always ``formatName``.
    public var format: String
    /// Always ``currentVersion``.
    public var version: Int
    /// The requests and their answers, in the order they were sent.
    public var interactions: [Interaction]

    /// Creates a cassette.
    public init(interactions: [Interaction] = []) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.interactions = interactions
    }

    /// One request and what came back.
    public struct Interaction: Sendable, Hashable, Codable {
        /// The request, secrets hidden.
        public var request: Request
        /// The answer, when there was one.
        public var response: Response?
        /// Why there was no answer, when there was none.
        public var error: RecordedError?

        /// Creates an interaction.
        public init(request: Request, response: Response? = nil, error: RecordedError? = nil) {
            self.request = request
            self.response = response
            self.error = error
        }
    }

    /// A request, as `--dry-run` prints it.
    public struct Request: Sendable, Hashable, Codable, CustomStringConvertible {
        /// `POST`.
        public var method: String
        /// The absolute URL, query included (secret query values `***`).
        public var url: String
        /// The header fields (repeated ones joined with `, `), secret values `***`.
        public var headers: [String: String]
        /// The JSON value of a JSON body, the text of any other, `nil` for none.
        public var body: JSONValue?

        /// Creates a request.
        public init(
            method: String, url: String, headers: [String: String] = [:], body: JSONValue? = nil
        ) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }

        /// `request` with its secrets hidden by `redactor` and by name.
        public init(_ request: HTTPRequest, body: Data?, redactor: Redactor) {
            let json = Redaction.dryRunJSON(
                SentRequest(head: request, body: body), redactor: redactor)
            let fields = json["request"] ?? json
            self.method = fields["method"]?.stringValue ?? request.method.rawValue
            self.url = fields["url"]?.stringValue ?? ""
            self.headers = (fields["headers"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
            let body: JSONValue = fields["body"] ?? JSONValue.null
            if case .null = body { self.body = nil } else { self.body = body }
        }

        /// Whether this recorded request stands for `other`: the same method, URL and body,
        /// where a `***` of this one matches any text (the secrets of the run that recorded
        /// it need not be those of the run that replays it). Headers are not compared: they
        /// hold the credentials, and clients add their own.
        public func matches(_ other: Request) -> Bool {
            method.uppercased() == other.method.uppercased()
                && Self.text(url, matches: other.url)
                && Self.json(body ?? .null, matches: other.body ?? .null)
        }

        /// Whether `text` is `pattern` with each `***` of the pattern standing for any text.
        static func text(_ pattern: String, matches text: String) -> Bool {
            let pieces = pattern.components(separatedBy: Redaction.mask)
            guard pieces.count > 1, let first = pieces.first, let last = pieces.last else {
                return pattern == text
            }
            guard text.hasPrefix(first) else { return false }
            var rest = text[text.index(text.startIndex, offsetBy: first.count)...]
            for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
                guard let range = rest.range(of: piece) else { return false }
                rest = rest[range.upperBound...]
            }
            return rest.hasSuffix(last)
        }

        /// Whether `value` has the shape and values of `pattern`, its strings compared with
        /// ``text(_:matches:)``.
        static func json(_ pattern: JSONValue, matches value: JSONValue) -> Bool {
            switch (pattern, value) {
            case (.string(let expected), .string(let actual)):
                return text(expected, matches: actual)
            case (.array(let expected), .array(let actual)):
                return expected.count == actual.count
                    && zip(expected, actual).allSatisfy { json($0, matches: $1) }
            case (.object(let expected), .object(let actual)):
                return Set(expected.keys) == Set(actual.keys)
                    && expected.allSatisfy { key, member in
                        actual[key].map { json(member, matches: $0) } ?? false
                    }
            default:
                return pattern == value
            }
        }

        /// `POST https://host/path` (without the query, which may hold data).
        public var description: String {
            let withoutQuery = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
            return "\(method) \(withoutQuery)"
        }
    }

    /// An answer.
    public struct Response: Sendable, Hashable, Codable {
        /// The status code.
        public var status: Int
        /// The header fields, lower-case names, repeated ones joined with `, `.
        public var headers: [String: String]
        /// A body that is a JSON object or array.
        public var json: JSONValue?
        /// Any other body that is UTF-8 text.
        public var body: String?
        /// Any other body, in base64.
        public var bodyBase64: String?

        enum CodingKeys: String, CodingKey {
            case status, headers, json, body
            case bodyBase64 = "body_base64"
        }

        /// The header fields a cassette leaves out: they describe one transfer, not the
        /// answer (a redacted body no longer has the length it had).
        public static let droppedHeaders: Set<String> = [
            "content-length", "date", "connection", "keep-alive", "transfer-encoding",
        ]

        /// Creates a response.
        public init(
            status: Int, headers: [String: String] = [:], json: JSONValue? = nil,
            body: String? = nil, bodyBase64: String? = nil
        ) {
            self.status = status
            self.headers = headers
            self.json = json
            self.body = body
            self.bodyBase64 = bodyBase64
        }

        /// `response` and its `body` with secrets hidden by `redactor` and by name.
        public init(_ response: HTTPResponse, body: Data, redactor: Redactor) {
            var headers: [String: String] = [:]
            for field in Redaction.redact(headers: response.headerFields, redactor: redactor) {
                let name = field.name.canonicalName
                guard !Self.droppedHeaders.contains(name) else { continue }
                headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
            }
            self.init(status: response.status.code, headers: headers)
            if body.isEmpty { return }
            if let value = try? JSONValue.decode(body),
                value.objectValue != nil || value.arrayValue != nil
            {
                json = Redaction.redact(json: value, redactor: redactor)
            } else if let text = String(data: body, encoding: .utf8) {
                self.body = redactor.redact(text)
            } else {
                bodyBase64 = body.base64EncodedString()
            }
        }

        /// The head and body a transport would have returned.
        public var pair: (HTTPResponse, Data) {
            let data: Data =
                if let json { json.encoded() } else if let body {
                    Data(body.utf8)
                } else if let bodyBase64 {
                    Data(base64Encoded: bodyBase64) ?? Data()
                } else { Data() }
            let fields = HTTPFields(pairs: headers.sorted { $0.key < $1.key })
            return (HTTPResponse(status: .init(code: status), headerFields: fields), data)
        }
    }

    /// Why a request got no answer.
    public struct RecordedError: Sendable, Hashable, Codable {
        /// The error's code (`transport_error`, `timeout`).
        public var code: String
        /// Its message, secrets hidden.
        public var message: String
        /// Whether sending again could have helped.
        public var transient: Bool

        /// Creates a value.
        public init(code: String, message: String, transient: Bool) {
            self.code = code
            self.message = message
            self.transient = transient
        }

        /// The error a replay throws.
        public var contactError: ContactError {
            ContactError(
                ContactError.Code(rawValue: code) ?? .transportError, message,
                isTransient: transient)
        }
    }

    /// Reads a cassette file.
    ///
    /// - Throws: ``CassetteError`` when the file cannot be read, is not JSON of this
    ///   format, or has another version.
    public static func load(from url: URL) throws(CassetteError) -> Cassette {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CassetteError(
                "cannot read the cassette \(url.path): no such file or not readable")
        }
        let cassette: Cassette
        do {
            cassette = try JSONDecoder().decode(Cassette.self, from: data)
        } catch {
            throw CassetteError(
                "\(url.path) is not a cassette: expected JSON {\"format\": \"\(formatName)\", "
                    + "\"version\": \(currentVersion), \"interactions\": [...]} (\(Self.describe(error)))"
            )
        }
        guard cassette.format == formatName else {
            throw CassetteError(
                "\(url.path) is not a cassette: its format is '\(cassette.format)', not '\(formatName)'"
            )
        }
        guard cassette.version == currentVersion else {
            throw CassetteError(
                "\(url.path) is a cassette of version \(cassette.version); this contactor reads version \(currentVersion)"
            )
        }
        return cassette
    }

    /// The file's text: JSON, keys sorted, indented, with a final newline.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every member is a string, a number, a boolean or a JSONValue: encoding cannot fail.
        var data = (try? encoder.encode(self)) ?? Data()
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Writes the cassette to `url` (replacing it).
    public func write(to url: URL) throws(CassetteError) {
        do {
            try encoded().write(to: url, options: .atomic)
        } catch {
            throw CassetteError(
                "cannot write the cassette \(url.path): \(error.localizedDescription)")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "wrong type at \(path(context.codingPath))"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty
                ? "not JSON" : "bad value at \(path(context.codingPath))"
        default:
            return "unreadable"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

/// A cassette that cannot be read or written.
public struct CassetteError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the file's path.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// A middleware that passes every request on and keeps it with its answer, secrets hidden
/// by the request context's redactor: `--record`.
///
/// ```swift
/// let recorder = CassetteRecorder()
/// let configuration = ContactorClient.Configuration(..., middlewares: [recorder])
/// // ... run ...
/// try recorder.cassette.write(to: URL(fileURLWithPath: "acme.cassette.json"))
/// ```
/// Put it last among the middlewares (nearest the transport), so that it records what
/// was sent. Interactions are kept in the order the answers arrived: with one batch at a
/// time (the command line records with `--concurrency 1`) that is the order of sending, the
/// same from one run to the next.
public final class CassetteRecorder: ClientMiddleware {
    private let recorded = Mutex<[Cassette.Interaction]>([])

    /// Creates a recorder with nothing recorded.
    public init() {}

    /// What was recorded so far.
    public var cassette: Cassette { Cassette(interactions: recorded.withLock { $0 }) }

    /// How many interactions were recorded so far.
    public var count: Int { recorded.withLock { $0.count } }

    /// The interactions recorded after the first `start`, for a caller that reports them
    /// piece by piece (`contactor plugins test`, check by check).
    public func interactions(from start: Int) -> [Cassette.Interaction] {
        recorded.withLock { Array($0.dropFirst(start)) }
    }

    public func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        let recordedRequest = Cassette.Request(request, body: body, redactor: context.redactor)
        do {
            let (response, data) = try await next(request, body, context)
            let interaction = Cassette.Interaction(
                request: recordedRequest,
                response: Cassette.Response(response, body: data, redactor: context.redactor))
            recorded.withLock { $0.append(interaction) }
            return (response, data)
        } catch let error as ContactError {
            let interaction = Cassette.Interaction(
                request: recordedRequest,
                error: Cassette.RecordedError(
                    code: error.code.rawValue, message: context.redactor.redact(error.message),
                    transient: error.isTransient))
            recorded.withLock { $0.append(interaction) }
            throw error
        }
    }
}

/// A middleware that answers every request from a cassette and never passes one on:
/// `--replay`.
///
/// A request is answered by the first interaction not yet used whose request has the same
/// method, URL and body (after hiding secrets, as the recorder did; a recorded `***`
/// matches any text; headers are not compared), so a request sent twice gets its two
/// recorded answers in order. A request
/// with none throws a non-transient `transport_error` that says so: the engine treats it
/// as a refusal (a batch is split, then the contact is `rejected`), never retries it, and
/// nothing reaches the network.
public final class CassettePlayer: ClientMiddleware {
    /// The cassette answered from.
    public let cassette: Cassette
    /// How errors name the cassette (its file's path).
    public let name: String
    private let used: Mutex<[Bool]>

    /// Creates a player of `cassette`, named `name` in its errors.
    public init(_ cassette: Cassette, name: String = "the cassette") {
        self.cassette = cassette
        self.name = name
        self.used = Mutex(Array(repeating: false, count: cassette.interactions.count))
    }

    /// The interactions no request has used yet.
    public var unused: [Cassette.Interaction] {
        used.withLock { used in
            cassette.interactions.indices.filter { !used[$0] }.map { cassette.interactions[$0] }
        }
    }

    public func intercept(
        _ request: HTTPRequest, body: Data?, context: RequestContext,
        next: @Sendable (HTTPRequest, Data?, RequestContext) async throws -> (HTTPResponse, Data)
    ) async throws -> (HTTPResponse, Data) {
        let wanted = Cassette.Request(request, body: body, redactor: context.redactor)
        let interactions = cassette.interactions
        let index = used.withLock { used -> Int? in
            guard
                let index = interactions.indices.first(where: {
                    !used[$0] && interactions[$0].request.matches(wanted)
                })
            else { return nil }
            used[index] = true
            return index
        }
        guard let index else { throw miss(wanted) }
        let interaction = interactions[index]
        if let response = interaction.response { return response.pair }
        throw
            (interaction.error
            ?? Cassette.RecordedError(
                code: "transport_error", message: "the recorded request has no answer",
                transient: false)).contactError
    }

    /// The error for a request the cassette cannot answer, saying why.
    func miss(_ wanted: Cassette.Request) -> ContactError {
        let interactions = cassette.interactions
        let same = interactions.filter { $0.request.matches(wanted) }.count
        let sameURL = interactions.filter {
            $0.request.method.uppercased() == wanted.method.uppercased()
                && $0.request.url == wanted.url
        }.count
        let why: String
        if same > 0 {
            why =
                "it was recorded \(same) time\(same == 1 ? "" : "s"), and every answer is used already"
        } else if sameURL > 0 {
            why =
                "\(sameURL) recorded request\(sameURL == 1 ? "" : "s") to this URL \(sameURL == 1 ? "has" : "have") another body"
        } else {
            why = "none of its \(interactions.count) recorded requests has this method and URL"
        }
        return ContactError(
            .transportError,
            "replay: \(name) has no answer for \(wanted) (\(why)); record it again with --record",
            isTransient: false)
    }
}
