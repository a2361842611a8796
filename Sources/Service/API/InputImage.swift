import Foundation

/// One uploaded image, still encoded, with the name the response reports as `original_name`.
struct InputImage: Sendable {
    var name: String
    var data: Data
}

/// A parsed `POST /api/process` body: images in request order and the raw parameter values.
struct ProcessRequest: Sendable {
    var images: [InputImage]
    var parameters: [String: ParameterValue]
}
