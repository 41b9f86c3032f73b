/// The local half of the pipeline: map, normalise and validate one record, with no I/O.
///
/// The engine runs every record through a preparer before batching; `contactor validate`
/// can use one on its own (with or without a provider).
///
/// Order of the steps:
/// 1. the ``mapper`` turns an ``InputRecord`` into a ``ContactDraft``;
/// 2. normalisation: the phone through ``PhoneNumber/init(parsing:defaultRegion:)`` with
///    ``region``, the birthday as a ``CalendarDate``, empty optional values dropped;
/// 3. the provider's ``ContactProvider/check(_:for:)``, when there is a provider;
/// 4. the ``validators``, in order; the first rejection wins.
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
    public var provider: (any ContactProvider)?
    /// The operation the contacts are prepared for.
    public var operation: ContactOperation
    /// Extra checks, run in order after the provider's.
    public var validators: [any ContactValidator]

    /// Creates a preparer.
    /// - Parameters:
    ///   - mapper: Turns records into drafts; the CSV contract's columns by default.
    ///   - region: The region for national numbers; when `nil`, the provider's default.
    ///   - provider: The provider whose checks apply, if any.
    ///   - operation: The operation the contacts are for.
    ///   - validators: Extra checks, in order.
    public init(
        mapper: any RecordMapper = StandardColumnsMapper(), region: String? = nil,
        provider: (any ContactProvider)? = nil, operation: ContactOperation = .add,
        validators: [any ContactValidator] = []
    ) {
        self.mapper = mapper
        self.region = region ?? provider?.descriptor.defaultRegion
        self.provider = provider
        self.operation = operation
        self.validators = validators
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
        let phone = contact.phone.e164
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
    /// the birthday, and drops empty optional values and custom fields.
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
            fields: draft.fields.filter { !$0.value.isEmpty })
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
