/// An operation a provider can perform on a contact list.
///
/// A struct rather than an enum so that providers can grow operations (a future `merge`, ...)
/// without breaking embedders.
public struct ContactOperation: RawRepresentable, Sendable, Hashable, CustomStringConvertible,
    Codable
{
    /// The operation's name (`add`, `delete`).
    public let rawValue: String

    /// Creates an operation from its name.
    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    /// Add contacts to a list (or update them when the provider does).
    public static let add = ContactOperation(rawValue: "add")
    /// Delete contacts from a list.
    public static let delete = ContactOperation(rawValue: "delete")
    /// Change the fields of contacts already in a list.
    public static let update = ContactOperation(rawValue: "update")
    /// Read the contacts of a list (an export).
    public static let list = ContactOperation(rawValue: "list")
}
