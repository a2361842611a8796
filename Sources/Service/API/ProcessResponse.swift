import Restoration

/// The success body of `POST /api/process`, field for field as the contract shows it, plus the
/// additive per-result fields (faces found and restored, parameters applied).
struct ProcessResponse: JSONRepresentable {
    let results: [Item]

    struct Item: JSONRepresentable {
        let originalName: String
        let filename: String
        let imageURL: String
        /// Present only when `return_base64` was true; plain base64, no data-URI prefix.
        let imageBase64: String?
        let facesFound: Int
        /// Less than `facesFound` when `--max-faces` left some as they were, or a face's landmarks
        /// could not be aligned (never pasted unrestored).
        let facesRestored: Int
        let applied: AppliedParameters

        /// The same item with `imageBase64` set (or removed).
        func with(base64: String?) -> Item {
            Item(originalName: originalName, filename: filename, imageURL: imageURL, imageBase64: base64,
                 facesFound: facesFound, facesRestored: facesRestored, applied: applied)
        }

        var json: JSONDocument {
            var members: [(String, JSONDocument)] = [
                ("original_name", .string(originalName)),
                ("filename", .string(filename)),
                ("image_url", .string(imageURL)),
            ]
            if let imageBase64 { members.append(("image_base64", .string(imageBase64))) }
            members.append(("faces_found", .int(facesFound)))
            members.append(("faces_restored", .int(facesRestored)))
            members.append(("applied", applied.json))
            return .object(members)
        }
    }

    var json: JSONDocument {
        .object([
            ("status", .string("success")),
            ("count", .int(results.count)),
            ("results", .array(results.map(\.json))),
        ])
    }
}

/// The parameters a restoration actually ran with; the large-image rules can lower `upscale` and
/// switch Real-ESRGAN off.
struct AppliedParameters: JSONRepresentable, Equatable {
    let fidelity: Float
    let upscale: Int
    let backgroundEnhance: Bool
    let faceUpsample: Bool

    init(_ options: RestorationOptions) {
        fidelity = options.fidelity
        upscale = options.upscale
        backgroundEnhance = options.backgroundEnhance
        faceUpsample = options.faceUpsample
    }

    var json: JSONDocument {
        .object([
            // Through the Float's shortest decimal, so 0.7 reads 0.7 and not 0.699999988079071.
            ("fidelity", .double(Double("\(fidelity)") ?? Double(fidelity))),
            ("upscale", .int(upscale)),
            ("background_enhance", .bool(backgroundEnhance)),
            ("face_upsample", .bool(faceUpsample)),
        ])
    }
}

/// `GET /api/health`: the contract's two fields, then the version, the models, the queue and the
/// results folder and the limits.
struct HealthResponse: JSONRepresentable {
    let version: String
    let models: [String: ModelInventory.State]
    let queue: InferenceExecutor.Status
    let results: ResultStoreHealth
    let limits: ServiceLimits

    var json: JSONDocument {
        .object([
            ("status", .string("online")),
            ("device", .string("cpu")),
            ("version", .string(version)),
            ("models", .object(models.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) })),
            ("queue", .object([("running", .bool(queue.running)), ("waiting", .int(queue.waiting)), ("queue_depth", .int(queue.queueDepth))])),
            ("results", results.json),
            ("limits", limits.json),
        ])
    }
}

/// The configured limits, as `/api/health` reports them: a client (the web page) can then refuse
/// up front what the service would refuse with 413, and predict the large-image rules.
struct ServiceLimits: JSONRepresentable, Equatable {
    let maxBodyBytes: Int
    let maxImageBytes: Int
    let maxPixels: Int
    let maxBatch: Int
    /// Longer side (px) above which upscale 4 becomes 2; nil when the rule is off.
    let reduceUpscaleAbove: Int?
    /// Longer side (px) above which upscale becomes 1 without Real-ESRGAN; nil when the rule is off.
    let noUpscaleAbove: Int?
    let retentionSeconds: Int

    init(_ configuration: ServiceConfiguration) {
        maxBodyBytes = configuration.maxBodyBytes
        maxImageBytes = configuration.maxImageBytes
        maxPixels = configuration.maxPixels
        maxBatch = configuration.maxBatch
        reduceUpscaleAbove = configuration.largeImageLimits.reduceToTwoAbove
        noUpscaleAbove = configuration.largeImageLimits.reduceToOneAbove
        retentionSeconds = Int(configuration.retention.components.seconds)
    }

    var json: JSONDocument {
        .object([
            ("max_body_bytes", .int(maxBodyBytes)),
            ("max_image_bytes", .int(maxImageBytes)),
            ("max_pixels", .int(maxPixels)),
            ("max_batch", .int(maxBatch)),
            ("reduce_upscale_above", reduceUpscaleAbove.map(JSONDocument.int) ?? .null),
            ("no_upscale_above", noUpscaleAbove.map(JSONDocument.int) ?? .null),
            ("result_retention_seconds", .int(retentionSeconds)),
        ])
    }
}
