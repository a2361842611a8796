import Foundation
import Restoration
/// One setting of `facerestore serve`: its flag, its environment variable and its help, in one place
/// so the command line, the start-up summary and the README table cannot drift apart.
/// A flag wins over the variable, the variable over the default.
package enum ServiceSetting: String, CaseIterable, Sendable {
    case host
    case port
    case models
    case results
    case publicURL
    case retention
    case maxBodySize
    case maxImageSize
    case maxPixels
    case maxBatch
    case queueDepth
    case maxBufferedUploads
    case idleTimeout
    case headerTimeout
    case bodyTimeout
    case minBodyRate
    case maxFaces
    case requestTimeout
    case jobTimeout
    case shutdownGrace
    case threads
    case detector
    case precision
    case reduceUpscaleAbove
    case noUpscaleAbove
    case store
    case noInference
    case lease
    case maxAttempts
    case metricsPort

    /// The long flag, e.g. `--public-url`.
    package var flag: String { "--" + kebabName }

    /// The environment variable, e.g. `FACERESTORE_PUBLIC_URL`.
    package var environmentVariable: String {
        "FACERESTORE_" + kebabName.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    var kebabName: String {
        switch self {
        case .publicURL: return "public-url"
        default:
            var out = ""
            for character in rawValue {
                if character.isUppercase { out += "-" + character.lowercased() } else { out.append(character) }
            }
            return out
        }
    }

    /// What the flag's value looks like in `--help`.
    package var valueName: String {
        switch self {
        case .host: "address"
        case .port: "port"
        case .models, .results: "dir"
        case .publicURL: "url"
        case .retention: "duration"
        case .maxBodySize, .maxImageSize, .maxBufferedUploads: "size"
        case .idleTimeout, .headerTimeout, .bodyTimeout, .requestTimeout, .jobTimeout, .shutdownGrace: "duration"
        case .minBodyRate: "size"
        case .maxPixels, .maxBatch, .queueDepth, .threads, .maxFaces: "count"
        case .detector: "choice"
        case .precision: "mixed|float32|bfloat16"
        case .reduceUpscaleAbove, .noUpscaleAbove: "pixels"
        case .store: "url"
        case .noInference: "true|false"
        case .lease: "duration"
        case .maxAttempts: "count"
        case .metricsPort: "port"
        }
    }

    /// The default, as shown in `--help` and the README.
    package var defaultDescription: String {
        let defaults = ServiceConfiguration()
        return switch self {
        case .host: defaults.host
        case .port: String(defaults.port)
        case .models: "$FACERESTORE_MODELS, else ./weights"
        case .results: defaults.resultsDirectory
        case .publicURL: "the request's scheme and host"
        case .retention: DurationText.describe(defaults.retention)
        case .maxBodySize: ByteCount.describe(defaults.maxBodyBytes).replacingOccurrences(of: " ", with: "")
        case .maxImageSize: ByteCount.describe(defaults.maxImageBytes).replacingOccurrences(of: " ", with: "")
        case .maxPixels: String(defaults.maxPixels)
        case .maxBatch: String(defaults.maxBatch)
        case .queueDepth: String(defaults.queueDepth)
        case .maxBufferedUploads: ByteCount.describe(defaults.maxBufferedUploadBytes).replacingOccurrences(of: " ", with: "")
        case .idleTimeout: DurationText.describe(defaults.connectionLimits.idleTimeout)
        case .headerTimeout: DurationText.describe(defaults.connectionLimits.headerTimeout)
        case .bodyTimeout: DurationText.describe(defaults.connectionLimits.bodyTimeout)
        case .minBodyRate: ByteCount.describe(defaults.connectionLimits.minBodyRate).replacingOccurrences(of: " ", with: "")
        case .maxFaces: String(defaults.maxFaces)
        case .requestTimeout: DurationText.describe(defaults.requestTimeout)
        case .jobTimeout: DurationText.describe(defaults.jobTimeout)
        case .shutdownGrace: DurationText.describe(defaults.shutdownGrace)
        case .threads: "all cores"
        case .detector: defaults.detector.rawValue
        case .precision: defaults.precision.rawValue
        case .reduceUpscaleAbove: defaults.largeImageLimits.reduceToTwoAbove.map(String.init) ?? "off"
        case .noUpscaleAbove: defaults.largeImageLimits.reduceToOneAbove.map(String.init) ?? "off"
        case .store: "none"
        case .noInference: "false"
        case .lease: DurationText.describe(defaults.lease)
        case .maxAttempts: String(defaults.maxAttempts)
        case .metricsPort: "off"
        }
    }

    /// What the setting does.
    package var summary: String {
        switch self {
        case .host: "Address to listen on (0.0.0.0: every interface; 127.0.0.1: this machine only)."
        case .port: "TCP port to listen on (0 picks a free one)."
        case .models: "Folder with the official model files, by their release names."
        case .results: "Folder the result PNGs are written to and served from (/static/results/)."
        case .publicURL: "Base of the image_url in responses, e.g. https://faces.example.com (for a proxy that rewrites hosts)."
        case .retention: "How long results are kept before they are removed (90s, 30m, 1h, 2d)."
        case .maxBodySize: "Largest request body (bytes, or with KiB/MiB/GiB)."
        case .maxImageSize: "Largest single image, encoded (bytes, or with KiB/MiB/GiB)."
        case .maxPixels: "Largest image in pixels (width x height): the upload, checked from its header before decoding, and every image a restoration makes from it (enlarged to a short side of 512, the detector's copy, the upscaled result, Real-ESRGAN's output)."
        case .maxBatch: "Most images in one request."
        case .queueDepth: "Requests that may wait while one runs; beyond that the answer is 503 with Retry-After."
        case .maxBufferedUploads: "Request bodies held at once (being received, queued, restored); beyond it new uploads get 503 with Retry-After before their body is read."
        case .idleTimeout: "A connection with no request in progress is closed after this long without a byte."
        case .headerTimeout: "A request's head must arrive within this time of its first byte; else 408."
        case .bodyTimeout: "Longest pause while a request body arrives, and the allowance before --min-body-rate applies; else 408."
        case .minBodyRate: "Bytes per second a request body must average after --body-timeout (a trickling upload gets 408)."
        case .maxFaces: "Most faces restored in one photo: the largest are restored, the rest left as they are (faces_found and faces_restored say how many)."
        case .requestTimeout: "Longest a POST /api/process may take, waiting in the queue included; then the work stops at its next face or tile and the answer is 504 (use /api/jobs for longer work)."
        case .jobTimeout: "Longest a job may take from submission; then it stops at its next face or tile and fails with 504."
        case .shutdownGrace: "After SIGTERM or SIGINT: new work gets 503 and /api/ready 503, queued and running work may finish within this time, then what is left is stopped with 503 and the process exits 0."
        case .threads: "Threads one restoration uses."
        case .detector: "Face detector file: automatic (ResNet-50 if present, else MobileNet-0.25), resnet50 or mobilenet."
        case .precision: "Convolution arithmetic: mixed (the Real-ESRGAN upsampler at its fastest: the float32 Winograd kernel on AVX-512 CPUs, bfloat16 for its other layers on CPUs with AVX-512 BF16; the other networks float32), float32 (every network; matches the official models) or bfloat16 (every network; faster, slightly different faces)."
        case .reduceUpscaleAbove: "Longer side (px) above which upscale 4 is lowered to 2; 0 turns the rule off."
        case .noUpscaleAbove: "Longer side (px) above which upscale becomes 1 and Real-ESRGAN is off; 0 turns the rule off."
        case .store: "A PostgreSQL database (postgres://user:password@host:5432/db?sslmode=disable|prefer|require) shared by a cluster of replicas and workers: the job queue and the results live there instead of in this process and the results folder."
        case .noInference: "With --store: only serve HTTP; leave restorations to `facerestore worker` processes (no models are loaded)."
        case .lease: "With --store: how long a worker's claim on a job lasts without renewal; a worker that dies loses its jobs after this."
        case .maxAttempts: "With --store: how many workers may start a job (each that dies costs one) before it fails for good."
        case .metricsPort: "facerestore worker only: serve GET /metrics (Prometheus) and GET /api/ready on this port of --host; off: no HTTP at all."
        }
    }

    /// The `--help` text: what it does, the variable and the default.
    package var help: String {
        "\(summary) Env: \(environmentVariable). Default: \(defaultDescription)."
    }
}
