import Contactor

/// What a script raised with `error(...)`, read back: a structured error that fails a
/// batch with its code, or a readable one-line message for everything else.
///
/// A structured error is `error{ code = "<a code of the taxonomy>", message = "...",
/// provider_code = "...", transient = true }`. Anything that is almost one (a code that is
/// not a string or not in the taxonomy, an unknown key, a message that is not a string)
/// is not taken for one: it ends as a `plugin_error` whose message says where the error
/// was raised, what was received and what shape is expected.
enum LuaRaisedError {
    /// The expected shape, as the messages show it.
    static let expectedShape =
        #"error{ code = "<a code from the taxonomy>", message = "..." } or error("message")"#

    /// The structured error `failure` carries, or `nil` when it is not a valid one (then
    /// ``summary(of:)`` says why).
    static func structured(_ failure: LuaFailure, redactor: Redactor) -> ContactError? {
        guard failure.kind == .runtime, let value = failure.value, case .map = value,
            let table = value.stringMap, table["code"] != nil, problem(with: table) == nil,
            let codeText = table["code"]?.stringValue,
            let code = ContactError.Code(rawValue: codeText)
        else { return nil }
        let message = table["message"]?.stringValue ?? "the plugin reported \(codeText)"
        return ContactError(
            code, redactor.redact(message),
            providerCode: table["provider_code"].flatMap(text).map(redactor.redact),
            isTransient: table["transient"] == .boolean(true))
    }

    /// What is wrong with a table raised as an error that has a `code`, or `nil` when it is
    /// a valid structured error.
    static func problem(with table: [String: LuaValue]) -> String? {
        let codes = ContactError.Code.all.map(\.rawValue)
        let codeValue = table["code"] ?? .nil
        guard let code = codeValue.stringValue else {
            return "has code = \(codeValue.shortDescription), which is not a string; "
                + "use one of: \(codes.joined(separator: ", "))"
        }
        guard codes.contains(code) else {
            let hint = PluginKeys.nearest(to: code, among: codes).map { " (did you mean `\($0)`?)" }
            return
                "has code \"\(code)\", which is not one of Contactor's error codes\(hint ?? ""): "
                + codes.joined(separator: ", ")
        }
        let known = PluginKeys.raisedError
        if let key = table.keys.sorted().first(where: { !known.contains($0) }) {
            return "has \(PluginKeys.unknownKey(key, known: known))"
        }
        if let message = table["message"], !message.isNil, message.stringValue == nil {
            return "has message = \(message.shortDescription), which is not a string "
                + "(write message = \"...\", or tostring(...))"
        }
        if let providerCode = table["provider_code"], !providerCode.isNil,
            text(providerCode) == nil
        {
            return "has provider_code = \(providerCode.shortDescription); "
                + "expected a string or an integer"
        }
        if let transient = table["transient"], !transient.isNil,
            transient != .boolean(true), transient != .boolean(false)
        {
            return "has transient = \(transient.shortDescription); expected true or false"
        }
        return nil
    }

    /// The first line of a failure's message, made readable: `file:line:` of the code
    /// that raised it first, then the message; for a value that is not a string, what
    /// was received and the shape expected.
    static func summary(of failure: LuaFailure) -> String {
        let full = failure.message
        let first = full.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? full
        guard failure.kind == .runtime else { return first }
        let place = failure.location.map { $0 + ": " } ?? ""
        switch failure.value {
        case .some(.string):
            // Lua put `file:line:` in front unless the script raised with level 0.
            if first.firstMatch(of: #/^[^:\n]+:\d+: /#) != nil { return first }
            return place + first
        case .some(.nil), .none:
            return place + "error() was called with nil (no message); expected " + expectedShape
        case .some(.boolean(let flag)):
            return place + "error() got the boolean \(flag); expected " + expectedShape
        case .some(.integer(let number)):
            return place + "error() got the number \(number); expected " + expectedShape
        case .some(.number(let number)):
            return place + "error() got the number \(number); expected " + expectedShape
        case .some(.opaque(let type)):
            return place + "error() got a \(type); expected " + expectedShape
        case .some(.array), .some(.map):
            // A table with __tostring reads as its text (the bridge made it so).
            guard first.hasPrefix("error object is a table") else { return place + first }
            let table = failure.value?.stringMap
            if let table, table["code"] != nil, let problem = problem(with: table) {
                return place + "error\(literal(failure.value!)) \(problem)"
            }
            return place + "error() got a table \(literal(failure.value!)) without a code; "
                + "expected " + expectedShape
        }
    }

    /// A short Lua-like rendering of a value: `{code = 42, reason = "boom"}`.
    static func literal(_ value: LuaValue, depth: Int = 0) -> String {
        switch value {
        case .string:
            let text = value.stringValue ?? "<\(value.bytesValue?.count ?? 0) bytes>"
            return "\"" + (text.count > 60 ? text.prefix(57) + "..." : text[...]) + "\""
        case .array(let items):
            if depth > 1 { return "{...}" }
            let shown = items.prefix(6).map { literal($0, depth: depth + 1) }
            return "{" + (shown + (items.count > 6 ? ["..."] : [])).joined(separator: ", ") + "}"
        case .map(let members):
            if depth > 1 { return "{...}" }
            let keys = members.keys.sorted { $0.sortKey < $1.sortKey }
            var shown = keys.prefix(8).map { key in
                let name =
                    key.stringValue.flatMap {
                        $0.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil ? $0 : nil
                    }
                    ?? "[\(literal(key, depth: 2))]"
                return "\(name) = \(literal(members[key]!, depth: depth + 1))"
            }
            if keys.count > 8 { shown.append("...") }
            return "{" + shown.joined(separator: ", ") + "}"
        default:
            return value.shortDescription
        }
    }

    /// An `id` or `provider_code`: a string or an integer, as text.
    static func text(_ value: LuaValue) -> String? {
        switch value {
        case .string: value.stringValue
        case .integer(let number): String(number)
        default: nil
        }
    }
}

extension LuaValue {
    /// Orders keys for messages: strings by text, then everything else by description.
    fileprivate var sortKey: String {
        stringValue.map { "0" + $0 } ?? "1" + shortDescription
    }
}

extension LuaProvider {
    /// An error raised as `error({ code = "auth_failed", message = "...", ... })`, as the
    /// ``ContactError`` that fails the batch; `nil` for any other error (see
    /// ``LuaRaisedError``).
    static func structuredError(_ failure: LuaFailure, redactor: Redactor) -> ContactError? {
        LuaRaisedError.structured(failure, redactor: redactor)
    }
}
