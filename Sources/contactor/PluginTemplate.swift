import ArgumentParser
import Contactor
import ContactorTesting
import Foundation

/// `contactor plugins new provider NAME`.
struct PluginsNewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract:
            "Write a commented provider template and a test for it (dry run, cassette replay) into a plugin directory.",
        discussion: """

            Example:
              contactor plugins new provider acme --dir ./my-plugins
              contactor plugins check ./my-plugins
              sh ./my-plugins/tests/acme.sh
            """)

    @Argument(help: ArgumentHelp("What to create: provider.", valueName: "kind"))
    var kind: String

    @Argument(
        help: ArgumentHelp("The plugin's name (lower case letters, digits, _).", valueName: "name"))
    var name: String

    @Option(
        name: .long,
        help: ArgumentHelp("The plugin directory (default: ./plugins).", valueName: "dir"),
        completion: .directory)
    var dir: String = "plugins"

    func validate() throws {
        guard kind == "provider" else {
            throw ValidationError("only 'provider' templates exist, not '\(kind)'")
        }
        guard let first = name.first, first.isLetter, first.isLowercase,
            name.allSatisfy({
                ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_"
            })
        else {
            throw ValidationError(
                "the name must be lower case letters, digits and _ (starting with a letter), not '\(name)'"
            )
        }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: dir, isDirectory: true)
        let plugin = directory.appendingPathComponent("providers/\(name).lua")
        let csv = directory.appendingPathComponent("tests/\(name).csv")
        let script = directory.appendingPathComponent("tests/\(name).sh")
        let cassette = directory.appendingPathComponent("tests/\(name).cassette.json")
        for file in [plugin, csv, script, cassette]
        where FileManager.default.fileExists(atPath: file.path) {
            throw CLIError.usage("\(file.path) already exists; not overwriting it")
        }
        try FileManager.default.createDirectory(
            at: plugin.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: csv.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PluginTemplate.provider(name: name).write(to: plugin, atomically: true, encoding: .utf8)
        try PluginTemplate.testCSV.write(to: csv, atomically: true, encoding: .utf8)
        try PluginTemplate.testScript(name: name, contactor: Self.executablePath()).write(
            to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        try PluginTemplate.testCassette().encoded().write(to: cassette, options: .atomic)
        Console.err(
            "contactor: wrote \(plugin.path), \(csv.path), \(script.path) and \(cassette.path)")
        Console.err("contactor: next: edit the endpoint and requests, then run sh \(script.path)")
    }
}

extension PluginsNewCommand {
    /// The absolute path of the running `contactor`, for the test script to run the same
    /// binary without needing it on the PATH.
    static func executablePath() -> String {
        (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().path
    }
}

/// The text of the templates `plugins new` writes.
enum PluginTemplate {
    static func provider(name: String) -> String {
        """
        -- \(name): a Contactor provider plugin. See docs/plugins.md for the whole API.
        --
        -- This template is the plugin of the docs' tutorial (the imaginary "Acme SMS" API):
        -- POST /v1/lists/{list}/contacts answers 201 { "id": 12 }, 409 already there, 404
        -- no such list, 400 { "error": "..." } for a number it refuses; DELETE
        -- /v1/lists/{list}/contacts/{phone} answers 204, or 404 when it is not there; 401
        -- for a wrong key. Change the endpoint, the paths and what each answer becomes to
        -- your provider's.
        --
        -- Credentials declared below are read from --credential KEY=VALUE or from
        -- CONTACTOR_\(name.uppercased())_<KEY> environment variables, e.g.
        -- CONTACTOR_\(name.uppercased())_API_KEY.

        -- Sends one request. A refused key concerns the whole batch, not one contact, so it
        -- is raised as a structured error: every contact of the batch ends failed with
        -- auth_failed, and the run stops.
        local function send(ctx, method, path, body)
          local res = ctx.http.request {
            method = method,
            url = ctx.endpoint .. path,
            headers = { ["Authorization"] = "Bearer " .. ctx.credentials.api_key },
            json = body,
          }
          if res.status == 401 or res.status == 403 then
            error({ code = "auth_failed", message = "\(name) refused the API key",
                    provider_code = tostring(res.status) })
          end
          return res
        end

        -- The id the provider gave a new contact (a string or an integer), or nil when the
        -- answer has none: never the text "nil".
        local function id_of(res)
          local id = type(res.json) == "table" and res.json.id or nil
          if type(id) == "string" or math.type(id) == "integer" then return id end
          return nil
        end

        return {
          kind = "provider",
          name = "\(name)",
          credentials = { "api_key" },
          -- The base URL; --endpoint replaces it. Requests may only reach this origin
          -- and the origins listed in `hosts`.
          endpoint = "https://api.example.com",
          hosts = {},
          region = "FR",      -- default region for national numbers
          batch_size = 1,     -- contacts per call of add/delete
          fields = { "first_name", "last_name", "email" },
          custom_fields = {},

          -- Adds `contacts` to `list`; returns one result per contact, in order.
          add = function(ctx, list, contacts)
            local results = {}
            for i, contact in ipairs(contacts) do
              local res = send(ctx, "POST", "/v1/lists/" .. list .. "/contacts", {
                phone = contact.phone,            -- E.164, e.g. +33612345678
                first_name = contact.first_name,
                last_name = contact.last_name,
                email = contact.email,
              })
              if res.status == 201 then
                results[i] = { status = "added", id = id_of(res) }
              elseif res.status == 409 then
                results[i] = { status = "skipped", error = "already_in_list" }
              elseif res.status == 404 then
                -- An unknown list concerns the whole batch too.
                error({ code = "list_not_found", message = "\(name) has no list " .. list })
              elseif res.status == 400 then
                results[i] = { status = "rejected", error = "invalid_phone", provider_code = "400",
                               message = type(res.json) == "table" and res.json.error or "refused" }
              else
                results[i] = { status = "failed", error = "provider_error",
                               provider_code = tostring(res.status), message = "HTTP " .. res.status }
              end
            end
            return results
          end,

          -- Deletes `contacts` from `list`; returns one result per contact, in order.
          delete = function(ctx, list, contacts)
            local results = {}
            for i, contact in ipairs(contacts) do
              local res = send(ctx, "DELETE", "/v1/lists/" .. list .. "/contacts/" .. contact.phone)
              if res.status == 204 then
                results[i] = { status = "deleted" }
              elseif res.status == 404 then
                results[i] = { status = "skipped", error = "not_in_list" }
              else
                results[i] = { status = "failed", error = "provider_error",
                               provider_code = tostring(res.status), message = "HTTP " .. res.status }
              end
            end
            return results
          end,
        }

        """
    }

    /// The cassette the test script replays: the answers the tutorial's API gives to the
    /// template's requests for the two good rows of ``testCSV`` (201 with an id).
    static func testCassette() -> Cassette {
        let rows: [(String, String, String, String)] = [
            ("+33612345678", "Ada", "Lovelace", "ada@example.com"),
            ("+33781234567", "Alan", "Turing", "alan@example.com"),
        ]
        return Cassette(
            interactions: rows.enumerated().map { index, row in
                Cassette.Interaction(
                    request: Cassette.Request(
                        method: "POST", url: "https://api.example.com/v1/lists/test/contacts",
                        headers: [
                            "Authorization": Redaction.mask,
                            "Content-Type": "application/json",
                        ],
                        body: [
                            "phone": .string(row.0), "first_name": .string(row.1),
                            "last_name": .string(row.2), "email": .string(row.3),
                        ]),
                    response: Cassette.Response(
                        status: 201, headers: ["content-type": "application/json"],
                        json: ["id": .int(Int64(index + 1))]))
            })
    }

    static let testCSV = """
        phone,first_name,last_name,email
        06 12 34 56 78,Ada,Lovelace,ada@example.com
        +33 7 81 23 45 67,Alan,Turing,alan@example.com
        12345,Bad,Number,

        """

    /// The test script: plugins check, a dry run of the CSV whose every contact must be
    /// accounted for, and the import replayed from the cassette. It runs `$CONTACTOR`, else `contactor` (the binary that wrote it),
    /// else the `contactor` on the PATH.
    static func testScript(name: String, contactor: String) -> String {
        let quoted = "'" + contactor.replacingOccurrences(of: "'", with: "'\\''") + "'"
        return """
            #!/bin/sh
            # Tests of the \(name) plugin; run it from anywhere: sh path/to/tests/\(name).sh
            # It uses the contactor binary named by $CONTACTOR, else the one that wrote this
            # file, else the one on the PATH. Exit 0 when every check passed.
            set -u
            here=$(cd "$(dirname "$0")" && pwd)
            plugins=$(dirname "$here")
            contactor=${CONTACTOR:-\(quoted)}
            if [ ! -x "$contactor" ]; then
              contactor=$(command -v contactor) || {
                echo "FAILED: no contactor binary: set CONTACTOR=/path/to/contactor"; exit 1; }
            fi
            failures=0
            fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

            # 1. The plugin loads: no syntax error, no unknown key.
            "$contactor" plugins check "$plugins" > "$here/\(name).check.out" 2>&1 ||
              fail "plugins check (see $here/\(name).check.out)"

            # 2. A dry run maps and validates the CSV and builds the requests (secrets as ***)
            #    without sending anything: each good row is in a request (however the plugin
            #    batches them), the bad number on line 4 is rejected, and the exit status is 1.
            out="$here/\(name).dry-run.out"
            "$contactor" import "$here/\(name).csv" --provider \(name) --list test --plugins "$plugins" \\
              --credential api_key=test-key --dry-run --output json > "$out" 2>&1
            status=$?
            [ "$status" -eq 1 ] || fail "dry run: exit $status, expected 1 (see $out)"
            for phone in +33612345678 +33781234567; do
              grep '"request"' "$out" | grep -q "$phone" || fail "dry run: no request carries $phone (see $out)"
            done
            [ "$(grep -c '"status":"rejected"' "$out")" -eq 1 ] && grep -q '"line":4,' "$out" ||
              fail "dry run: expected line 4 rejected, and only it (see $out)"
            grep -q 'test-key' "$out" && fail "dry run: the API key is printed (see $out)"

            # 3. A replay: the same import answered from tests/\(name).cassette.json (the answers
            #    recorded for these requests; nothing reaches the network). When the plugin's
            #    requests change, record it again against your fake or the real service:
            #      contactor import tests/\(name).csv --provider \(name) --list test --plugins . \\
            #        --endpoint URL --record tests/\(name).cassette.json
            #    and set `endpoint` below to that URL.
            endpoint=https://api.example.com
            out="$here/\(name).replay.out"
            "$contactor" import "$here/\(name).csv" --provider \(name) --list test --plugins "$plugins" \\
              --endpoint "$endpoint" --replay "$here/\(name).cassette.json" --output json > "$out" 2>&1
            status=$?
            [ "$status" -eq 1 ] || fail "replay: exit $status, expected 1 (see $out)"
            [ "$(grep -c '"status":"added"' "$out")" -eq 2 ] ||
              fail "replay: expected the 2 good rows added (see $out)"
            [ "$(grep -c '"status":"rejected"' "$out")" -eq 1 ] && grep -q '"line":4,' "$out" ||
              fail "replay: expected line 4 rejected, and only it (see $out)"

            if [ "$failures" -eq 0 ]; then
              echo "ok: \(name) loads; its dry run builds a request for each good row; its replay adds them"
            else
              exit 1
            fi

            """
    }
}
