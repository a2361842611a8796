/// A request parameter as it arrived: multipart fields are always text; JSON keeps its types.
/// Kept apart from the parsed value so coercion and its error messages live in one place.
enum ParameterValue: Equatable, Sendable {
    case text(String)
    case number(Double)
    case bool(Bool)
    /// JSON `null`: treated as absent.
    case null
    /// A JSON array or object where a scalar was expected.
    case structured(String)

    /// How the value is quoted in error messages.
    var shown: String {
        switch self {
        case .text(let text): "'\(text.count > 40 ? text.prefix(40) + "…" : text)'"
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .bool(let bool): String(bool)
        case .null: "null"
        case .structured(let kind): "a JSON \(kind)"
        }
    }
}
