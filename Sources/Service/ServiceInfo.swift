/// What the service reports about itself.
public enum ServiceInfo {
    /// Reported by `/api/health` and `facerestore --version`.
    public static let version = "0.2.0"
}
