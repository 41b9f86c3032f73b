/// A value that must never be printed: an API key, a client secret.
///
/// Its `description`, `debugDescription` and reflection all show `***`, so interpolating
/// it into a log line, a message or a dump cannot leak it. The value itself is read only
/// where a request is built, with ``reveal()``.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    /// Wraps `value`.
    public init(_ value: String) { self.value = value }

    /// The value itself, for the one place that must send it.
    public func reveal() -> String { value }

    /// Whether the value is empty.
    public var isEmpty: Bool { value.isEmpty }

    /// `***`.
    public var description: String { "***" }

    /// `Secret(***)`.
    public var debugDescription: String { "Secret(***)" }

    /// A mirror with no children, so that `dump` shows nothing of the value.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
