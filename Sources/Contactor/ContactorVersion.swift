/// Contactor's own version, for `--version` and the `User-Agent` it sends.
public enum ContactorVersion {
    /// The version of this build of Contactor (semantic versioning).
    public static let current = "0.1.0"

    /// The `User-Agent` Contactor sends: `Contactor/0.1.0 (+https://github.com/contactor)`.
    public static let userAgent = "Contactor/\(current) (+https://github.com/contactor)"
}
