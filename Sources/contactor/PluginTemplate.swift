import ArgumentParser
import Foundation

/// `contactor plugins new provider NAME`.
struct PluginsNewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract:
            "Write a commented provider template and a dry-run test for it into a plugin directory.",
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
        for file in [plugin, csv, script] where FileManager.default.fileExists(atPath: file.path) {
            throw CLIError.usage("\(file.path) already exists; not overwriting it")
        }
        try FileManager.default.createDirectory(
            at: plugin.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: csv.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PluginTemplate.provider(name: name).write(to: plugin, atomically: true, encoding: .utf8)
        try PluginTemplate.testCSV.write(to: csv, atomically: true, encoding: .utf8)
        try PluginTemplate.testScript(name: name, directory: dir).write(
            to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        Console.err("contactor: wrote \(plugin.path), \(csv.path) and \(script.path)")
        Console.err("contactor: next: edit the endpoint and requests, then run sh \(script.path)")
    }
}

/// The text of the templates `plugins new` writes.
enum PluginTemplate {
    static func provider(name: String) -> String {
        """
        -- \(name): a Contactor provider plugin. See docs/plugins.md for the whole API.
        --
        -- Credentials declared below are read from --credential KEY=VALUE or from
        -- CONTACTOR_\(name.uppercased())_<KEY> environment variables, e.g.
        -- CONTACTOR_\(name.uppercased())_API_KEY.
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

          -- Adds `contacts` to `list`; returns one result per contact, in order.
          add = function(ctx, list, contacts)
            local results = {}
            for i, contact in ipairs(contacts) do
              local response = ctx.http.request {
                method = "POST",
                url = ctx.endpoint .. "/v1/lists/" .. list .. "/contacts",
                headers = { ["Authorization"] = "Bearer " .. ctx.credentials.api_key },
                json = {
                  phone = contact.phone,            -- E.164, e.g. +33612345678
                  first_name = contact.first_name,
                  last_name = contact.last_name,
                  email = contact.email,
                },
              }
              if response.status == 201 then
                results[i] = { status = "added", id = response.json and tostring(response.json.id) }
              elseif response.status == 409 then
                results[i] = { status = "skipped", error = "already_in_list", message = "already in the list" }
              elseif response.status == 401 then
                results[i] = { status = "failed", error = "auth_failed", message = "bad API key" }
              else
                results[i] = { status = "failed", error = "provider_error",
                               message = "HTTP " .. response.status, provider_code = tostring(response.status) }
              end
            end
            return results
          end,

          -- Deletes `contacts` from `list`.
          delete = function(ctx, list, contacts)
            local results = {}
            for i, contact in ipairs(contacts) do
              local response = ctx.http.request {
                method = "DELETE",
                url = ctx.endpoint .. "/v1/lists/" .. list .. "/contacts/" .. contact.phone,
                headers = { ["Authorization"] = "Bearer " .. ctx.credentials.api_key },
              }
              if response.status == 204 then
                results[i] = { status = "deleted" }
              elseif response.status == 404 then
                results[i] = { status = "skipped", error = "not_in_list", message = "not in the list" }
              else
                results[i] = { status = "failed", error = "provider_error", message = "HTTP " .. response.status }
              end
            end
            return results
          end,
        }

        """
    }

    static let testCSV = """
        phone,first_name,last_name,email
        06 12 34 56 78,Ada,Lovelace,ada@example.com
        +33 7 81 23 45 67,Alan,Turing,alan@example.com
        12345,Bad,Number,

        """

    static func testScript(name: String, directory: String) -> String {
        """
        #!/bin/sh
        # A dry-run test of the \(name) plugin: loads it, maps the CSV, builds every request
        # (printed as JSON, secrets as ***) and sends nothing. The third row must be rejected.
        set -u
        here=$(dirname "$0")
        contactor plugins check "$here/.." || exit 1
        contactor import "$here/\(name).csv" --provider \(name) --list test --plugins "$here/.." \\
          --credential api_key=test-key --dry-run --output json > "$here/\(name).out"
        status=$?
        requests=$(grep -c '"request"' "$here/\(name).out")
        rejected=$(grep -c '"rejected"' "$here/\(name).out")
        if [ "$status" -eq 1 ] && [ "$requests" -eq 2 ] && [ "$rejected" -eq 1 ]; then
          echo "ok: 2 requests built, 1 row rejected"
        else
          echo "FAILED: exit $status, $requests requests, $rejected rejected (see $here/\(name).out)"
          exit 1
        fi

        """
    }
}
