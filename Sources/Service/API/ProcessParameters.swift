import Foundation
import Restoration

/// The five parameters of `POST /api/process` with the contract's defaults, coerced from text
/// (multipart) or JSON values and range-checked. Unknown parameters are ignored so clients written
/// against a later version keep working.
struct ProcessParameters: Equatable, Sendable {
    var fidelity: Float = 0.5
    var upscale = 2
    var backgroundEnhance = false
    var faceUpsample = false
    var returnBase64 = false

    static let allowedUpscales = [1, 2, 4]

    /// Reads the parameters from `values` (by field name); absent, empty or null values keep the default.
    init(_ values: [String: ParameterValue]) throws {
        func value(_ name: String) -> ParameterValue? {
            switch values[name] {
            case nil, .null?: nil
            case .text(let text)? where text.trimmingCharacters(in: .whitespaces).isEmpty: nil
            case let other?: other
            }
        }
        if let raw = value("fidelity") {
            let number = try Self.number(raw, name: "fidelity", expected: "a number from 0 to 1")
            guard (0...1).contains(number) else {
                throw ServiceError.invalidParameter(name: "fidelity", value: raw.shown, expected: "a number from 0 to 1")
            }
            fidelity = Float(number)
        }
        if let raw = value("upscale") {
            let expected = "1, 2 or 4"
            let number = try Self.number(raw, name: "upscale", expected: expected)
            guard number.rounded() == number, let factor = Int(exactly: number), Self.allowedUpscales.contains(factor) else {
                throw ServiceError.invalidParameter(name: "upscale", value: raw.shown, expected: expected)
            }
            upscale = factor
        }
        if let raw = value("background_enhance") { backgroundEnhance = try Self.bool(raw, name: "background_enhance") }
        if let raw = value("face_upsample") { faceUpsample = try Self.bool(raw, name: "face_upsample") }
        if let raw = value("return_base64") { returnBase64 = try Self.bool(raw, name: "return_base64") }
    }

    init() {}

    /// The options the pipeline gets: the API's four plus the service's large-image limits and its
    /// cap on faces restored per photo.
    func restorationOptions(limits: LargeImageLimits, maxFaces: Int? = nil) -> RestorationOptions {
        RestorationOptions(fidelity: fidelity, upscale: upscale, backgroundEnhance: backgroundEnhance,
                           faceUpsample: faceUpsample, limits: limits, maxFaces: maxFaces)
    }

    /// A finite number from a JSON number or decimal text (`0.7`, ` 1 `, `1e-1`); not the other
    /// spellings Swift's `Double(_:)` reads (`0x1p-1`, `nan`, `inf`).
    private static func number(_ raw: ParameterValue, name: String, expected: String) throws -> Double {
        let number: Double? = switch raw {
        case .number(let value): value
        case .text(let text): decimal(text.trimmingCharacters(in: .whitespaces))
        default: nil
        }
        guard let number, number.isFinite else {
            throw ServiceError.invalidParameter(name: name, value: raw.shown, expected: expected)
        }
        return number
    }

    /// `[+-]digits[.digits][e[+-]digits]` (a leading or trailing dot allowed, as in `.5` and `1.`).
    private static func decimal(_ text: String) -> Double? {
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(mantissa.count)
        guard mantissa.contains(where: \.isNumber), mantissa.filter({ $0 == "." }).count <= 1 else { return nil }
        if let e = rest.first, e == "e" || e == "E" {
            rest = rest.dropFirst()
            if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
            guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            rest = ""
        }
        return rest.isEmpty ? Double(text) : nil
    }

    static let trueWords: Set<String> = ["true", "1", "yes", "on"]
    static let falseWords: Set<String> = ["false", "0", "no", "off"]

    /// A boolean from JSON true/false, the numbers 1/0, or text true/false, 1/0, yes/no, on/off in any case.
    private static func bool(_ raw: ParameterValue, name: String) throws -> Bool {
        switch raw {
        case .bool(let value): return value
        case .number(let value) where value == 1: return true
        case .number(let value) where value == 0: return false
        case .text(let text):
            let word = text.trimmingCharacters(in: .whitespaces).lowercased()
            if trueWords.contains(word) { return true }
            if falseWords.contains(word) { return false }
        default: break
        }
        throw ServiceError.invalidParameter(name: name, value: raw.shown, expected: "true or false (also 1/0, yes/no, on/off)")
    }
}
