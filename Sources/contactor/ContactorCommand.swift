import ArgumentParser
import Contactor
import Foundation

/// The `contactor` command line.
@main
struct ContactorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactor",
        abstract: "Keep contact lists at SMS providers in step with your own data.",
        discussion: """
            Try it without an account, against the built-in emulators:
              contactor import examples/contacts.csv --provider avosms --list 1001 \\
                --sandbox

            Exit status: 0 when every contact was added, updated, deleted or skipped (or \
            valid), 1 when any was rejected or failed, 2 for usage, configuration, credential \
            or plugin errors (then nothing is sent).
            """,
        version: ContactorVersion.current,
        subcommands: [
            AddCommand.self, DeleteCommand.self, ImportCommand.self, SyncCommand.self,
            ValidateCommand.self, ListCommand.self, RunsCommand.self, ProvidersCommand.self,
            PluginsCommand.self, SandboxCommand.self, WorkerCommand.self, ResultsCommand.self,
        ]
    )

    /// Runs the command; usage errors exit with 2 (not ArgumentParser's 64), as the
    /// contract says.
    static func main() async {
        StandardStreams.ignoreBrokenPipeSignal()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as CLIError {
            Console.err("contactor: \(error.message)")
            Foundation.exit(error.exitCode)
        } catch let error as ConfigurationError {
            Console.err("contactor: \(error.description)")
            Foundation.exit(2)
        } catch let error as ContactError {
            Console.err("contactor: \(error.description)")
            Foundation.exit(2)
        } catch let error as ContactorError {
            Console.err("contactor: \(error.message)")
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: ArgumentParser prints them.
                exit(withError: error)
            }
            Console.err(fullMessage(for: error))
            Foundation.exit(code == .failure || code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// An error the CLI reports with a chosen exit status.
struct CLIError: Error {
    var message: String
    var exitCode: Int32

    /// A usage or configuration error: exit status 2.
    static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
}
