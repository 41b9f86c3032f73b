import Synchronization

/// The local half of the pipeline: map, normalise and validate one record, with no I/O.
///
/// The engine runs every record through a preparer before batching; `contactor validate`
/// can use one on its own (with or without a provider).
///
/// Order of the steps:
/// 1. the ``mapper`` turns an ``InputRecord`` into a ``ContactDraft``;
/// 2. normalisation: the phone through ``PhoneNumber/init(parsing:defaultRegion:)`` with
///    ``region``, the birthday as a ``CalendarDate``, empty optional values dropped;
/// 3. fields the provider has no place for: dropped (and named once through
///    ``onDroppedFields``) or left for the provider's check to reject, as
///    ``unsupportedFields`` says;
/// 4. the provider's ``ContactProvider/check(_:for:)``, when there is a provider;
/// 5. the ``validators``, in order; the first rejection wins.
///
/// A thrown `plugin_error` (a mapping or validator that broke) makes the record
/// `failed`; every other error makes it `rejected`.
public struct RecordPreparer: Sendable {
    /// The outcome of preparing one record.
    public enum Preparation: Sendable, Hashable {
        /// The contact is ready to be sent.
        case ready(Contact)
        /// The record stops here, with this result (`rejected`, or `failed` for a plugin
        /// error) and the E.164 phone when it parsed.
        case refused(phone: String?, result: ContactResult)
    }

    /// Turns records into drafts.
    public var mapper: any RecordMapper
    /// The region national numbers are read in: `--region`, else the provider's default.
    public var region: String?
    /// The provider whose local checks apply, if any.
    public var provider: (any ContactProvider)? {
        didSet { descriptor = provider?.descriptor }
    }
    /// The provider's descriptor, read once (through an existential each read is a copy).
    private var descriptor: ProviderDescriptor?
    /// The operation the contacts are prepared for.
    public var operation: ContactOperation
    /// Extra checks, run in order after the provider's.
    public var validators: [any ContactValidator]
    /// What to do with fields the provider has no place for.
    public var unsupportedFields: UnsupportedFieldPolicy
    /// Told the names of fields dropped under ``UnsupportedFieldPolicy/drop``, each name
    /// once per preparer (from whichever task prepares first).
    public var onDroppedFields: (@Sendable ([String]) -> Void)?
    private let dropped = DroppedFields()

    /// Creates a preparer.
    /// - Parameters:
    ///   - mapper: Turns records into drafts; the CSV contract's columns by default.
    ///   - region: The region for national numbers; when `nil`, the provider's default.
    ///   - provider: The provider whose checks apply, if any.
    ///   - operation: The operation the contacts are for.
    ///   - validators: Extra checks, in order.
    ///   - unsupportedFields: What to do with fields the provider has no place for.
    ///   - onDroppedFields: Told the names of dropped fields, once each.
    public init(
        mapper: any RecordMapper = StandardColumnsMapper(), region: String? = nil,
        provider: (any ContactProvider)? = nil, operation: ContactOperation = .add,
        validators: [any ContactValidator] = [],
        unsupportedFields: UnsupportedFieldPolicy = .drop,
        onDroppedFields: (@Sendable ([String]) -> Void)? = nil
    ) {
        self.mapper = mapper
        self.region = region ?? provider?.descriptor.defaultRegion
        self.provider = provider
        self.descriptor = provider?.descriptor
        self.operation = operation
        self.validators = validators
        self.unsupportedFields = unsupportedFields
        self.onDroppedFields = onDroppedFields
    }

    /// Maps, normalises and checks one record.
    public func prepare(_ record: InputRecord) async -> Preparation {
        if let problem = record.problem { return .refused(phone: nil, result: .rejected(problem)) }
        let draft: ContactDraft
        do {
            draft = try await mapper.map(record)
        } catch {
            return .refused(phone: nil, result: Self.result(for: error, from: "the mapping"))
        }
        return await prepare(draft)
    }

    /// Normalises and checks one draft.
    public func prepare(_ draft: ContactDraft) async -> Preparation {
        let contact: Contact
        do {
            contact = try normalize(draft)
        } catch {
            return .refused(phone: nil, result: .rejected(error))
        }
        return await check(contact)
    }

    /// Runs the provider's checks and the validators on a contact already normalised.
    public func check(_ contact: Contact) async -> Preparation {
        var contact = contact
        let phone = contact.phone.e164
        if let descriptor, operation == .add || operation == .update {
            let unsendable = descriptor.unsendableFields(of: contact)
            if !unsendable.isEmpty {
                let standard = Set(Contact.standardFieldNames)
                for name in unsendable {
                    if standard.contains(name) {
                        contact.clearStandardField(name)
                    } else if unsupportedFields == .drop {
                        contact.fields[name] = nil
                    }
                }
                let named =
                    unsupportedFields == .drop
                    ? unsendable : unsendable.filter { standard.contains($0) }
                if let onDroppedFields, let new = dropped.firstSeen(named) {
                    onDroppedFields(new)
                }
            }
        }
        if let provider, let error = provider.check(contact, for: operation) {
            return .refused(phone: phone, result: .rejected(error))
        }
        for validator in validators {
            do {
                if let error = try await validator.validate(contact) {
                    return .refused(phone: phone, result: .rejected(error))
                }
            } catch {
                return .refused(
                    phone: phone,
                    result: Self.result(for: error, from: "validator '\(validator.name)'"))
            }
        }
        return .ready(contact)
    }

    /// Turns a draft into a contact: parses the phone (in ``region`` when national) and
    /// the birthday, drops empty optional values and custom fields, and keeps the
    /// provider's id when the draft has one.
    /// - Throws: ``ContactError`` `invalid_phone` (field `phone`), or `invalid_field`
    ///   naming `birthday` and the value.
    public func normalize(_ draft: ContactDraft) throws(ContactError) -> Contact {
        let text = draft.phone.trimmingWhitespace()
        guard !text.isEmpty else {
            throw ContactError(.missingField, "the phone is empty", field: "phone")
        }
        let phone = try PhoneNumber(parsing: text, defaultRegion: region)
        var birthday: CalendarDate?
        if let value = Self.present(draft.birthday) {
            guard let date = CalendarDate(value) else {
                let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
                throw ContactError(
                    .invalidField, "birthday '\(shown)' is not a date as YYYY-MM-DD",
                    field: "birthday")
            }
            birthday = date
        }
        return Contact(
            phone: phone, firstName: Self.present(draft.firstName),
            lastName: Self.present(draft.lastName), email: Self.present(draft.email),
            birthday: birthday, civility: Self.present(draft.civility),
            fields: draft.fields.filter { !$0.value.isEmpty },
            providerID: Self.present(draft.providerID))
    }

    private static func present(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    /// The result of an error thrown by a mapping or a validator.
    static func result(for error: any Error, from source: String) -> ContactResult {
        guard let error = error as? ContactError else {
            return .failed(
                ContactError(
                    .pluginError, "\(source) failed with an error of type \(type(of: error))")
            )
        }
        return error.code == .pluginError ? .failed(error) : .rejected(error)
    }
}

/// What to do with a contact's fields that the provider has no place for.
///
/// Standard fields a provider does not send (Octopush has no e-mail field) are never a
/// reason to refuse a contact: they are left out and named. The policy decides for custom
/// fields (a CSV column or a mapping's `fields.x` the provider has no extra field for).
public enum UnsupportedFieldPolicy: Sendable, Hashable {
    /// Leave them out of what is sent, and name each once (the command line prints it:
    /// "avosms has no place for column vip: not sent"). The default, as the CLI contract
    /// says of CSV columns.
    case drop
    /// Reject the contact with `invalid_field` naming the field.
    case reject
}

extension Contact {
    /// Sets the standard field `name` (`email`, ...) to `nil`.
    mutating func clearStandardField(_ name: String) {
        switch name {
        case "first_name": firstName = nil
        case "last_name": lastName = nil
        case "email": email = nil
        case "birthday": birthday = nil
        case "civility": civility = nil
        default: break
        }
    }
}

/// The field names already reported as dropped, shared by the tasks of one preparer.
final class DroppedFields: Sendable {
    private let seen = Mutex<Set<String>>([])

    /// The names of `names` not seen before (and now seen), or `nil` when there is none.
    func firstSeen(_ names: [String]) -> [String]? {
        let new = seen.withLock { seen in names.filter { seen.insert($0).inserted } }
        return new.isEmpty ? nil : new
    }
}
