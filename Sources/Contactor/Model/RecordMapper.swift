/// Turns an input record into a contact draft (built-in columns or a Lua `map`).
///
/// ## Implementation requirements
/// - Return the draft, or throw a ``ContactError`` that rejects the record
///   (`validation_failed` with the mapping's reason, `missing_field`, ...) or fails it
///   (`plugin_error` when the mapping itself broke).
/// - Be safe to call from many tasks at once: the engine prepares records on every core.
public protocol RecordMapper: Sendable {
    /// Maps one record.
    func map(_ record: InputRecord) async throws -> ContactDraft
}

/// Checks a normalised contact before it is sent (a Lua validator).
///
/// ## Implementation requirements
/// - Return `nil` to accept, or the error that rejects the contact (`validation_failed`
///   with the validator's reason); throw only when the validator itself broke
///   (`plugin_error`).
/// - Be safe to call from many tasks at once.
public protocol ContactValidator: Sendable {
    /// The validator's name, for messages.
    var name: String { get }
    /// Checks one contact.
    func validate(_ contact: Contact) async throws -> ContactError?
}
