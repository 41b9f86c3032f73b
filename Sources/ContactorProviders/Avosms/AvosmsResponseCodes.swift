import Contactor
import Foundation

/// Avosms's result codes (the `code` member of every answer) and what each means for one
/// contact, from the `contact/add` and `contact/delete` pages.
enum AvosmsResponseCodes {
    /// What one answer means: a result for the contact, or an error for the whole batch.
    enum Outcome: Sendable, Hashable {
        /// The contact's result.
        case result(ContactResult)
        /// Nothing in the batch can succeed (bad credentials, unknown list): throw it.
        case batchFailure(ContactError)
    }

    /// The success code.
    static let ok = "OK"

    /// The documented error codes and the docs' own description of each.
    static let documented: [String: String] = [
        "ERR_100": "unrecognised API",
        "ERR_101": "the ID of the contact list is empty",
        "ERR_102": "the contact number is empty",
        "ERR_103": "no existing list of contacts for the ID entered",
        "ERR_104": "the contact number already exists in the contact list (add) / "
            + "no existing contact with this phone number in the contact list (delete, update)",
        "ERR_105": "the contact number formatting is not valid",
        "ERR_106": "the country of origin of the number does not match the country of the list",
        "ERR_107": "the type of the contact number is not allowed",
        "ERR_9XX": "processing error at Avosms",
    ]

    /// Whether `code` is one of the `ERR_9XX` processing errors: `ERR_9` followed by one
    /// or more digits.
    static func isProcessingError(_ code: String) -> Bool {
        guard code.hasPrefix("ERR_9") else { return false }
        let digits = code.dropFirst("ERR_9".count)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The code as Avosms may write it (` OK `, `err_104`), trimmed and in upper case.
    static func normalised(_ code: String) -> String {
        code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
    }

    /// What `code` means for `contact` in `operation` on `list`, or `nil` when the code is
    /// not documented.
    static func outcome(
        for rawCode: String, operation: ContactOperation, contact: Contact, list: String
    ) -> Outcome? {
        let code = normalised(rawCode)
        let phone = contact.phone.e164
        func error(
            _ kind: ContactError.Code, _ message: String, field: String? = nil,
            transient: Bool = false
        ) -> ContactError {
            ContactError(
                kind, message, providerCode: code, provider: AvosmsProvider.name,
                operation: operation, field: field, isTransient: transient)
        }
        switch code {
        case ok:
            switch operation {
            case .delete: return .result(.deleted())
            case .update: return .result(.updated())
            default: return .result(.added())
            }
        case "ERR_100":
            return .batchFailure(
                error(
                    .authFailed,
                    "Avosms did not recognise the API call (ERR_100), which is how it answers "
                        + "bad credentials: check the credentials 'id' (account e-mail) and 'key'"
                ))
        case "ERR_101":
            return .result(
                .rejected(
                    error(.missingField, "Avosms says the contact list ID is empty", field: "list"))
            )
        case "ERR_102":
            return .result(
                .rejected(
                    error(.missingField, "Avosms says the contact number is empty", field: "phone"))
            )
        case "ERR_103":
            return .batchFailure(
                error(.listNotFound, "Avosms has no contact list with ID '\(list)'"))
        case "ERR_104" where operation == .delete:
            return .result(.skipped(error(.notInList, "\(phone) is not in Avosms list '\(list)'")))
        case "ERR_104" where operation == .update:
            return .result(
                .skipped(
                    error(
                        .notInList,
                        "\(phone) is not in Avosms list '\(list)', so it was not updated")))
        case "ERR_104":
            return .result(
                .skipped(error(.alreadyInList, "\(phone) is already in Avosms list '\(list)'")))
        case "ERR_105":
            return .result(
                .rejected(
                    error(
                        .invalidPhone, "Avosms refused the format of the number \(phone)",
                        field: "phone")))
        case "ERR_106":
            let country = contact.phone.region.map { " (\($0))" } ?? ""
            return .result(
                .rejected(
                    error(
                        .wrongCountry,
                        "the country of \(phone)\(country) does not match the country of "
                            + "Avosms list '\(list)'", field: "phone")))
        case "ERR_107":
            return .result(
                .rejected(
                    error(
                        .numberTypeNotAllowed,
                        "Avosms does not allow the line type of \(phone) "
                            + "(\(contact.phone.type)) in list '\(list)'", field: "phone")))
        case _ where isProcessingError(code):
            return .result(
                .failed(
                    error(
                        .providerError,
                        "Avosms had a processing error (\(code)) for \(phone); it may succeed later",
                        transient: true)))
        default:
            return nil
        }
    }
}
