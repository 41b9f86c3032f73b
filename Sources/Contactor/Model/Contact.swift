/// A person to add to or delete from a provider's contact list.
///
/// The standard fields are those every provider knows in some form; anything else is a
/// custom field in ``fields``, which a built-in provider sends in its extra fields of the
/// same name (`param1`, `extra3`, `custom2`, ...).
public struct Contact: Sendable, Hashable {
    /// The normalised phone number.
    public var phone: PhoneNumber
    /// The first name.
    public var firstName: String?
    /// The last name.
    public var lastName: String?
    /// The e-mail address.
    public var email: String?
    /// The birthday.
    public var birthday: CalendarDate?
    /// The civility or title (`M`, `Mme`, `Mr`, ...), as given.
    public var civility: String?
    /// Custom fields, by name.
    public var fields: [String: String]
    /// The provider's own identifier of this contact in the list, when it is known (from
    /// the ledger or a list export): SMS Gateway API needs it to update a contact, SMS
    /// Partner to delete one without looking it up first. Not a field that is sent.
    public var providerID: String?

    /// Creates a contact.
    public init(
        phone: PhoneNumber, firstName: String? = nil, lastName: String? = nil,
        email: String? = nil, birthday: CalendarDate? = nil, civility: String? = nil,
        fields: [String: String] = [:], providerID: String? = nil
    ) {
        self.phone = phone
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.birthday = birthday
        self.civility = civility
        self.fields = fields
        self.providerID = providerID
    }
}

extension Contact {
    /// The names of the standard fields, as used in CSV headers, Lua tables and errors.
    public static let standardFieldNames: [String] = [
        "phone", "first_name", "last_name", "email", "birthday", "civility",
    ]

    /// The value of a standard or custom field by its snake-case name (`first_name`,
    /// `param1`); the phone in E.164 and the birthday as `YYYY-MM-DD`.
    public subscript(field name: String) -> String? {
        switch name {
        case "phone": phone.e164
        case "first_name": firstName
        case "last_name": lastName
        case "email": email
        case "birthday": birthday?.description
        case "civility": civility
        default: fields[name]
        }
    }

    /// Whether the field named `name` has a value: ``subscript(field:)`` is not `nil`,
    /// without building the value (the birthday's text).
    func hasValue(field name: String) -> Bool {
        switch name {
        case "phone": true
        case "first_name": firstName != nil
        case "last_name": lastName != nil
        case "email": email != nil
        case "birthday": birthday != nil
        case "civility": civility != nil
        default: fields[name] != nil
        }
    }
}
