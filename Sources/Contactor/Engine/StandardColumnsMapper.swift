/// The built-in mapping of the CSV contract: standard columns and custom fields.
///
/// - The columns `phone`, `first_name`, `last_name`, `email`, `birthday` and `civility`
///   (matched without regard to case or surrounding spaces) fill the standard fields.
/// - Any other column becomes a custom field of that name (its header with surrounding
///   spaces removed, case kept: `param1`).
/// - Values lose their surrounding whitespace; a cell that is then empty is treated as
///   absent: it sets no field, and an empty `phone` is a missing phone.
/// - When two columns give the same field, the first non-empty one wins.
/// - A record with a ``InputRecord/problem`` (invalid UTF-8, wrong number of columns) is
///   rejected with that problem; a record without a phone is rejected with
///   `missing_field` naming the `phone` column.
public struct StandardColumnsMapper: RecordMapper {
    /// Creates the mapper.
    public init() {}

    /// Maps one record to a draft.
    /// - Throws: ``ContactError`` — the record's own problem, or `missing_field` for the
    ///   phone.
    public func map(_ record: InputRecord) throws(ContactError) -> ContactDraft {
        if let problem = record.problem { throw problem }
        var draft = ContactDraft(phone: "")
        var phone: String?
        for column in record.columns {
            let value = column.value.trimmingWhitespace()
            guard !value.isEmpty else { continue }
            let name = column.name.trimmingWhitespace()
            switch Self.standardField(name) {
            case .phone: phone = phone ?? value
            case .firstName: draft.firstName = draft.firstName ?? value
            case .lastName: draft.lastName = draft.lastName ?? value
            case .email: draft.email = draft.email ?? value
            case .birthday: draft.birthday = draft.birthday ?? value
            case .civility: draft.civility = draft.civility ?? value
            case nil:
                if draft.fields[name] == nil { draft.fields[name] = value }
            }
        }
        guard let phone else {
            let hasColumn = record.columns.contains {
                Self.standardField($0.name.trimmingWhitespace()) == .phone
            }
            throw ContactError(
                .missingField,
                hasColumn
                    ? "the phone column is empty" : "the record has no phone column",
                field: "phone")
        }
        draft.phone = phone
        return draft
    }

    private enum StandardField { case phone, firstName, lastName, email, birthday, civility }

    /// The standard field a column name (trimmed) fills: `name.lowercased()` against each
    /// standard name, the exact lowercase names first (a header's usual spelling, and the
    /// cheapest comparison), then on bytes for other ASCII names.
    private static func standardField(_ name: String) -> StandardField? {
        switch name {
        case "phone": return .phone
        case "first_name": return .firstName
        case "last_name": return .lastName
        case "email": return .email
        case "birthday": return .birthday
        case "civility": return .civility
        default: break
        }
        if name.equalsLowercased("phone") { return .phone }
        if name.equalsLowercased("first_name") { return .firstName }
        if name.equalsLowercased("last_name") { return .lastName }
        if name.equalsLowercased("email") { return .email }
        if name.equalsLowercased("birthday") { return .birthday }
        if name.equalsLowercased("civility") { return .civility }
        return nil
    }
}
