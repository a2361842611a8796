import Foundation
package import JobDatabase
package import Restoration
package import ModelCatalog

/// Everything `facerestore serve` can be told, resolved and checked: flags over `FACERESTORE_*`
/// variables over defaults (`ServiceSetting` lists them).
package struct ServiceConfiguration: Sendable, Equatable {
    package var host = "0.0.0.0"
    package var port = 8080
    /// nil: `ModelFiles`' default (`$FACERESTORE_MODELS`, else `./weights`).
    package var modelsDirectory: String?
    package var resultsDirectory = "results"
    /// Absolute http(s) URL without a trailing slash, or nil to use the request's scheme and host.
    package var publicBaseURL: String?
    package var retention: Duration = .seconds(3600)
    package var maxBodyBytes = 64 << 20
    package var maxImageBytes = 20 << 20
    package var maxPixels = 25_000_000
    package var maxBatch = 8
    package var queueDepth = 4
    /// Request bodies held at once (`UploadBudget`): eight bodies of the default limit.
    package var maxBufferedUploadBytes = 512 << 20
    package var connectionLimits = ConnectionLimits()
    /// nil: every core.
    package var threads: Int?
    package var detector = FaceRestorationModels.DetectorChoice.automatic
    package var precision = PrecisionSetting.mixed
    package var largeImageLimits = LargeImageLimits()
    /// Faces restored per photo, the largest first; the rest are left as they are.
    package var maxFaces = 50
    /// How long a synchronous `/api/process` may take, queue included; then 504.
    package var requestTimeout: Duration = .seconds(300)
    /// How long a job may take from submission; then it fails with 504.
    package var jobTimeout: Duration = .seconds(3600)
    /// After SIGTERM or SIGINT, how long queued and running work may take to finish.
    package var shutdownGrace: Duration = .seconds(30)
    /// The cluster's job database; nil: this process's own queue and results folder.
    package var store: DatabaseLocation?
    /// With a store: serve HTTP only, and leave restorations to workers.
    package var noInference = false
    /// With a store: how long a worker's claim on a job lasts without renewal.
    package var lease: Duration = .seconds(30)
    /// With a store: how many workers may start a job before it fails for good.
    package var maxAttempts = 3
    /// `facerestore worker`: the port of its `/metrics` and `/api/ready`; nil: none.
    package var metricsPort: Int?

    package init() {}

    /// The limits every restoration runs under: the large-image rules, and `maxPixels` for every
    /// image the restoration makes (`WorkingSizes`), not only the upload.
    package var restorationLimits: LargeImageLimits {
        var limits = largeImageLimits
        limits.maxPixels = maxPixels
        return limits
    }

    /// The models folder these settings point at.
    package func modelFiles(environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelFiles {
        ModelFiles(directory: modelsDirectory, environment: environment)
    }

    /// Resolves `flags` (raw flag values by setting, absent when not given) over `environment`.
    package static func resolve(flags: [ServiceSetting: String],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        for setting in ServiceSetting.allCases {
            let source: String
            let raw: String
            if let value = flags[setting] {
                (source, raw) = (setting.flag, value)
            } else if let value = environment[setting.environmentVariable], !value.isEmpty {
                (source, raw) = (setting.environmentVariable, value)
            } else {
                continue
            }
            try configuration.apply(setting, raw, source: source)
        }
        if configuration.noInference && configuration.store == nil {
            let source = flags[.noInference] != nil ? ServiceSetting.noInference.flag : ServiceSetting.noInference.environmentVariable
            throw ConfigurationError.missingCompanion(source: source, needs: ServiceSetting.store.flag,
                                                      reason: "a replica without inference leaves restorations to workers sharing its database")
        }
        return configuration
    }

    private mutating func apply(_ setting: ServiceSetting, _ raw: String, source: String) throws {
        let value = raw.trimmingCharacters(in: .whitespaces)
        func invalid(_ expected: String) -> ConfigurationError {
            ConfigurationError.invalid(source: source, value: raw, expected: expected)
        }
        func integer(_ range: ClosedRange<Int>, _ expected: String) throws -> Int {
            guard let number = Int(value), range.contains(number) else { throw invalid(expected) }
            return number
        }
        func pixelRule() throws -> Int? {
            if ["off", "none"].contains(value.lowercased()) { return nil }
            let number = try integer(0...Int.max, "a size in pixels, or 0 to turn the rule off")
            return number == 0 ? nil : number
        }
        switch setting {
        case .host:
            guard !value.isEmpty, !value.contains(where: \.isWhitespace) else { throw invalid("a host name or IP address") }
            host = value
        case .port:
            port = try integer(0...65535, "a port number from 0 to 65535")
        case .models:
            guard !value.isEmpty else { throw invalid("a folder") }
            modelsDirectory = value
        case .results:
            guard !value.isEmpty else { throw invalid("a folder") }
            resultsDirectory = value
        case .publicURL:
            var base = value
            while base.hasSuffix("/") { base.removeLast() }
            guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil else {
                throw invalid("an absolute http:// or https:// URL such as https://faces.example.com")
            }
            publicBaseURL = base
        case .retention:
            guard let duration = DurationText.parse(value), duration > .zero else {
                throw invalid("a positive duration such as 90s, 30m, 1h or 2d")
            }
            retention = duration
        case .maxBodySize:
            guard let bytes = ByteCount.parse(value), bytes > 0 else { throw invalid("a positive size such as 64MiB") }
            maxBodyBytes = bytes
        case .maxImageSize:
            guard let bytes = ByteCount.parse(value), bytes > 0 else { throw invalid("a positive size such as 20MiB") }
            maxImageBytes = bytes
        case .maxPixels:
            maxPixels = try integer(1...Int.max, "a positive pixel count")
        case .maxBatch:
            maxBatch = try integer(1...10_000, "a count from 1 to 10000")
        case .queueDepth:
            queueDepth = try integer(0...10_000, "a count from 0 to 10000")
        case .maxBufferedUploads:
            guard let bytes = ByteCount.parse(value), bytes > 0 else { throw invalid("a positive size such as 512MiB") }
            maxBufferedUploadBytes = bytes
        case .idleTimeout, .headerTimeout, .bodyTimeout:
            guard let duration = DurationText.parse(value), duration > .zero else {
                throw invalid("a positive duration such as 0.5s, 10s or 2m")
            }
            switch setting {
            case .idleTimeout: connectionLimits.idleTimeout = duration
            case .headerTimeout: connectionLimits.headerTimeout = duration
            default: connectionLimits.bodyTimeout = duration
            }
        case .minBodyRate:
            guard let bytes = ByteCount.parse(value) else { throw invalid("a size per second such as 16KiB, or 0 for none") }
            connectionLimits.minBodyRate = bytes
        case .threads:
            threads = try integer(1...4096, "a thread count of at least 1")
        case .maxFaces:
            maxFaces = try integer(1...100_000, "a count of at least 1")
        case .requestTimeout, .jobTimeout:
            guard let duration = DurationText.parse(value), duration > .zero else {
                throw invalid("a positive duration such as 90s, 5m or 1h")
            }
            if setting == .requestTimeout { requestTimeout = duration } else { jobTimeout = duration }
        case .shutdownGrace:
            guard let duration = DurationText.parse(value), duration >= .zero else {
                throw invalid("a duration such as 30s or 2m (0 stops at once)")
            }
            shutdownGrace = duration
        case .detector:
            guard let choice = FaceRestorationModels.DetectorChoice(rawValue: value.lowercased()) else {
                throw invalid(FaceRestorationModels.DetectorChoice.allCases.map(\.rawValue).joined(separator: ", "))
            }
            detector = choice
        case .precision:
            guard let choice = PrecisionSetting(rawValue: value.lowercased()) else {
                throw invalid(PrecisionSetting.allCases.map(\.rawValue).joined(separator: ", "))
            }
            precision = choice
        case .store:
            do {
                store = try DatabaseLocation(value)
            } catch {
                throw invalid("a PostgreSQL URL such as postgres://facerestore:secret@db:5432/facerestore (\(error))")
            }
        case .noInference:
            switch value.lowercased() {
            case "true", "1", "yes", "on": noInference = true
            case "false", "0", "no", "off": noInference = false
            default: throw invalid("true or false")
            }
        case .lease:
            guard let duration = DurationText.parse(value), duration >= .milliseconds(100) else {
                throw invalid("a duration of at least 0.1s, such as 30s or 2m")
            }
            lease = duration
        case .maxAttempts:
            maxAttempts = try integer(1...100, "a count from 1 to 100")
        case .metricsPort:
            metricsPort = value.lowercased() == "off" ? nil : try integer(0...65535, "a port number from 0 to 65535, or off")
        case .reduceUpscaleAbove:
            largeImageLimits.reduceToTwoAbove = try pixelRule()
        case .noUpscaleAbove:
            largeImageLimits.reduceToOneAbove = try pixelRule()
        }
    }

    /// The start-up summary, one setting per line.
    package func summary(models: ModelFiles, resultsPath: String) -> [String] {
        let threadText = threads.map(String.init) ?? "\(ProcessInfo.processInfo.activeProcessorCount) (all cores)"
        func rule(_ pixels: Int?) -> String { pixels.map { "\($0) px" } ?? "off" }
        return [
            "listen        \(host):\(port)",
            "models        \(models.directory.standardizedFileURL.path)",
            "results       \(resultsPath) (kept \(DurationText.describe(retention)))",
            "public URL    \(publicBaseURL ?? "from each request's scheme and host (X-Forwarded-Proto/-Host honoured)")",
            "limits        body \(ByteCount.describe(maxBodyBytes)), image \(ByteCount.describe(maxImageBytes)), \(maxPixels) pixels, batch \(maxBatch)",
            "queue         \(queueDepth) waiting, \(threadText) threads, uploads held at once \(ByteCount.describe(maxBufferedUploadBytes))",
            "work          at most \(maxFaces) faces per photo; requests stopped after \(DurationText.describe(requestTimeout)), jobs after \(DurationText.describe(jobTimeout)); shutdown grace \(DurationText.describe(shutdownGrace))",
            "timeouts      idle \(DurationText.describe(connectionLimits.idleTimeout)), head \(DurationText.describe(connectionLimits.headerTimeout)), body pause \(DurationText.describe(connectionLimits.bodyTimeout)) and at least \(ByteCount.describe(connectionLimits.minBodyRate))/s",
            "detector      \(detector.rawValue)",
            "precision     \(precision.summary)",
            "large images  upscale 4 -> 2 above \(rule(largeImageLimits.reduceToTwoAbove)), -> 1 above \(rule(largeImageLimits.reduceToOneAbove))",
            "store         " + (store.map { "\($0) (jobs and results shared by the cluster; lease \(DurationText.describe(lease)), \(maxAttempts) attempts)" + (noInference ? "; no inference here: workers run the restorations" : "; this process also runs restorations") } ?? "this process (queue in memory, results in the folder above)"),
        ]
    }
}

/// A setting that cannot be used, named by where it came from (flag or variable).
package enum ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(source: String, value: String, expected: String)
    case resultsFolderUnusable(path: String, reason: String)
    /// `source` only makes sense with the setting `needs`.
    case missingCompanion(source: String, needs: String, reason: String)

    package var description: String {
        switch self {
        case .invalid(let source, let value, let expected):
            "\(source): '\(value)' is not valid; expected \(expected)"
        case .resultsFolderUnusable(let path, let reason):
            "results folder \(path) cannot be used: \(reason)"
        case .missingCompanion(let source, let needs, let reason):
            "\(source) needs \(needs): \(reason)"
        }
    }
}
