/// What the service reports about itself.
package enum ServiceInfo {
    /// Reported by `/api/health` and `facerestore --version`.
    package static let version = "0.2.0"
}
