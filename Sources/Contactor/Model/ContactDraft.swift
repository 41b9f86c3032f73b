/// A contact as a mapping produced it, before the phone is normalised and fields checked.
///
/// This is also the shape of a contact in Lua (`{ phone = "...", first_name = ..., fields
/// = {...} }`).
public struct ContactDraft: Sendable, Hashable {
    /// The phone number as typed.
    public var phone: String
    /// The first name.
    public var firstName: String?
    /// The last name.
    public var lastName: String?
    /// The e-mail address.
    public var email: String?
    /// The birthday as `YYYY-MM-DD`.
    public var birthday: String?
    /// The civility.
    public var civility: String?
    /// Custom fields.
    public var fields: [String: String]
    /// The provider's identifier of the contact, when the draft comes from a provider's
    /// list (an export) rather than from input.
    public var providerID: String?

    /// Creates a draft.
    public init(
        phone: String, firstName: String? = nil, lastName: String? = nil, email: String? = nil,
        birthday: String? = nil, civility: String? = nil, fields: [String: String] = [:],
        providerID: String? = nil
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
