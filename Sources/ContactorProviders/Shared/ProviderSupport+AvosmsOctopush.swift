import Contactor
import Foundation

/// Small helpers shared by the Avosms and Octopush adapters: reading answers safely and
/// keeping secrets out of what they report.
///
/// Namespaced so that it cannot collide with helpers of the other adapters in this target.
enum AvosmsOctopushSupport {
    /// The most characters of a response body quoted in an error message.
    static let maxQuotedBody = 200

    /// What a response body says, for an error message: its JSON `message` (or
    /// `error_message`, `error`) when there is one, else its text cut to
    /// ``maxQuotedBody`` characters; credentials are replaced by `***`.
    static func bodyMessage(_ response: HTTPResponse, credentials: Credentials) -> String {
        var text: String
        if let json = try? JSONValue.decode(response.body),
            let message = ["message", "error_message", "error"].lazy.compactMap({
                json[$0]?.stringValue
            }).first
        {
            text = message
        } else {
            text = response.text
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        text = String(
            text.unicodeScalars.map {
                CharacterSet.controlCharacters.contains($0) ? " " : Character($0)
            })
        if text.count > maxQuotedBody { text = String(text.prefix(maxQuotedBody)) + "…" }
        return credentials.redact(text)
    }

    /// `text` in quotes when it is not empty, for the end of a message (`: "Bad list"`).
    static func quoted(_ text: String) -> String {
        text.isEmpty ? " (empty body)" : ": \"\(text)\""
    }

}
