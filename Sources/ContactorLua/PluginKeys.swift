import Contactor

/// Every key a plugin may write, per table, and how an unknown one is reported.
///
/// This is the one list of known keys: ``PluginDeclaration`` checks plugin tables against
/// it at load time, the sandbox prelude gets the result and `ctx.http.pages` sets from it
/// (``luaSet(_:)``) and asks ``LuaHost`` for the message when a script uses another key,
/// and ``LuaRaisedError`` checks `error{...}` tables. docs/plugins.md lists the same keys.
enum PluginKeys {
    /// The keys of a provider plugin's table.
    static let provider = [
        "kind", "name", "summary", "credentials", "endpoint", "hosts", "region", "batch_size",
        "fields", "custom_fields", "max_lengths", "rate_limit", "add", "delete", "update",
        "list",
    ]
    /// The keys of a mapping plugin's table.
    static let mapping = ["kind", "name", "map", "payload"]
    /// The keys of a validator plugin's table.
    static let validator = ["kind", "name", "validate"]
    /// The operations `batch_size = { ... }` may name.
    static let batchSize = ["add", "delete", "update"]
    /// The keys of one result returned by `add`, `delete` (and later `update`).
    static let result = ["status", "id", "error", "message", "provider_code", "transient"]
    /// The keys of the page `list(ctx, list, page)` returns: `{ contacts = {...}, next = ... }`.
    static let listPage = ["contacts", "next"]
    /// The keys of one contact of a listed page.
    static let listContact = [
        "phone", "first_name", "last_name", "email", "birthday", "civility", "fields", "id",
    ]
    /// The provider functions whose return value is a list of results, checked by the
    /// prelude for unknown keys.
    static let resultFunctions = ["add", "delete", "update"]
    /// The keys of a structured error, `error{ code = ..., message = ... }`.
    static let raisedError = ["code", "message", "provider_code", "transient"]
    /// The keys of the table given to `ctx.http.request { ... }`.
    static let request = [
        "method", "url", "headers", "query", "json", "form", "body", "timeout", "retry",
    ]
    /// The keys of the table given to `ctx.http.pages { ... }`.
    static let pages = [
        "request", "style", "param", "start", "size", "size_param", "items", "next_cursor",
        "max_pages", "check",
    ]

    /// The keys of a plugin table of `kind`.
    static func plugin(_ kind: LuaPluginKind) -> [String] {
        switch kind {
        case .provider: provider
        case .mapping: mapping
        default: validator
        }
    }

    /// The known keys of the table called `what` by the prelude (`result`, `pages`).
    static func table(named what: String) -> [String]? {
        switch what {
        case "result": result
        case "pages": pages
        case "request": request
        case "error": raisedError
        case "batch_size": batchSize
        default: LuaPluginKind.all.first { $0.rawValue == what }.map(plugin)
        }
    }

    /// "an unknown key `stauts` (did you mean `status`?)", or with the list of known keys
    /// when none is close; callers write what has it before ("result 1 has ...").
    static func unknownKey(_ key: String, known: [String], noun: String = "key") -> String {
        if let nearest = nearest(to: key, among: known) {
            return "an unknown \(noun) `\(key)` (did you mean `\(nearest)`?)"
        }
        return "an unknown \(noun) `\(key)` (known \(noun)s: \(known.joined(separator: ", ")))"
    }

    /// The known key closest to `key`, when it is close enough to be a misspelling: at
    /// most one edit for short keys, two from five characters, three from twelve (edits
    /// are insertions, deletions, substitutions and swaps of neighbours; case is ignored).
    static func nearest(to key: String, among known: [String]) -> String? {
        let typed = Array(key.lowercased().unicodeScalars)
        let limit = typed.count >= 12 ? 3 : typed.count >= 5 ? 2 : 1
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(typed, Array(candidate.unicodeScalars))
            if distance <= limit, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// The optimal-string-alignment distance (Levenshtein plus swaps of neighbours).
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, before[j - 2] + 1)
                }
                current[j] = value
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// `{ ["a"] = true, ... }`: a key list as a Lua set, for the prelude's source.
    static func luaSet(_ keys: [String]) -> String {
        "{ " + keys.map { "[\"\($0)\"] = true" }.joined(separator: ", ") + " }"
    }

    /// The line where the plugin table's `key = ...` is written, found in the source: the
    /// first `key =` (or `["key"] =`, `t.key =`, `function t.key(`) after `after` (a line
    /// number) or, without it, after the file's last top-level `return`, where the plugin
    /// table usually is; else anywhere. `nil` when the key is not spelled out.
    static func line(of key: String, in source: [UInt8], after: Int? = nil) -> Int? {
        let lines = String(decoding: source, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        func assigns(_ line: Substring) -> Bool {
            var rest = line[...]
            while let range = rest.range(of: key) {
                let before = line[..<range.lowerBound].last
                var tail = rest[range.upperBound...]
                defer { rest = rest[range.upperBound...] }
                if let before, before.isLetter || before.isNumber || before == "_" {
                    continue
                }
                if let next = tail.first, next.isLetter || next.isNumber || next == "_" {
                    continue
                }
                // `function plugin.key(` (a table built field by field).
                if before == "." || before == ":" {
                    let head = line.drop { $0 == " " || $0 == "\t" }
                    if head.hasPrefix("function "), tail.first == "(" { return true }
                }
                if before == "\"" || before == "'" {
                    guard let quote = tail.first, quote == before else { continue }
                    tail = tail.dropFirst().drop { $0 == " " }
                    guard tail.first == "]" else { continue }
                    tail = tail.dropFirst()
                }
                tail = tail.drop { $0 == " " || $0 == "\t" }
                if tail.first == "=", tail.dropFirst().first != "=" { return true }
            }
            return false
        }
        let start: Int
        if let after {
            start = after - 1
        } else {
            start =
                lines.lastIndex { $0.hasPrefix("return") && !$0.hasPrefix("return_") } ?? 0
        }
        for index in start..<lines.count where assigns(lines[index]) { return index + 1 }
        if after == nil {
            for index in 0..<start where assigns(lines[index]) { return index + 1 }
        }
        return nil
    }
}
