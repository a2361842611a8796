import Foundation
import ModelCatalog
import Testing
import Restoration
@testable import Service
import JobDatabase

@Suite("Service configuration: flags, environment, defaults")
struct ConfigurationTests {
    @Test("defaults: port 8080, every limit set, Real-ESRGAN rules at 1000 and 1500 px")
    func defaults() throws {
        let configuration = try ServiceConfiguration.resolve(flags: [:], environment: [:])
        #expect(configuration == ServiceConfiguration())
        #expect(configuration.port == 8080)
        #expect(configuration.largeImageLimits.reduceToTwoAbove == 1000 && configuration.largeImageLimits.reduceToOneAbove == 1500)
    }

    @Test("every setting has a flag and a FACERESTORE_ variable, and a flag wins over the variable")
    func precedence() throws {
        #expect(ServiceSetting.publicURL.flag == "--public-url")
        #expect(ServiceSetting.publicURL.environmentVariable == "FACERESTORE_PUBLIC_URL")
        #expect(ServiceSetting.maxBodySize.flag == "--max-body-size")
        #expect(ServiceSetting.maxBodySize.environmentVariable == "FACERESTORE_MAX_BODY_SIZE")
        #expect(ServiceSetting.models.environmentVariable == "FACERESTORE_MODELS")
        #expect(Set(ServiceSetting.allCases.map(\.environmentVariable)).count == ServiceSetting.allCases.count)

        let environment = ["FACERESTORE_PORT": "9000", "FACERESTORE_HOST": "127.0.0.1", "FACERESTORE_RETENTION": "2h",
                           "FACERESTORE_MAX_BODY_SIZE": "10MiB", "FACERESTORE_QUEUE_DEPTH": "0", "FACERESTORE_THREADS": "1"]
        let fromEnvironment = try ServiceConfiguration.resolve(flags: [:], environment: environment)
        #expect(fromEnvironment.port == 9000 && fromEnvironment.host == "127.0.0.1")
        #expect(fromEnvironment.retention == .seconds(7200))
        #expect(fromEnvironment.maxBodyBytes == 10 << 20)
        #expect(fromEnvironment.queueDepth == 0 && fromEnvironment.threads == 1)

        let flagged = try ServiceConfiguration.resolve(flags: [.port: "9100", .publicURL: "https://faces.example.com/"], environment: environment)
        #expect(flagged.port == 9100)
        #expect(flagged.publicBaseURL == "https://faces.example.com")
    }

    @Test("values: sizes with units, durations, pixel rules that can be switched off, detector and precision choice")
    func values() throws {
        let configuration = try ServiceConfiguration.resolve(flags: [
            .maxImageSize: "512k", .maxPixels: "1000000", .maxBatch: "3", .retention: "90s", .detector: "MobileNet",
            .reduceUpscaleAbove: "0", .noUpscaleAbove: "off", .results: "/tmp/r", .models: "/tmp/m",
        ], environment: ["FACERESTORE_PRECISION": "BFloat16"])
        #expect(configuration.precision == .bfloat16)
        #expect(configuration.summary(models: ModelFiles(directory: "/tmp/m"), resultsPath: "/tmp/r").contains { $0.hasPrefix("precision     bfloat16") })
        #expect(configuration.maxImageBytes == 512 * 1024)
        #expect(configuration.maxPixels == 1_000_000 && configuration.maxBatch == 3)
        #expect(configuration.retention == .seconds(90))
        #expect(configuration.detector == .mobilenet)
        #expect(configuration.largeImageLimits == .init(reduceToTwoAbove: nil, reduceToOneAbove: nil))
        #expect(configuration.resultsDirectory == "/tmp/r" && configuration.modelsDirectory == "/tmp/m")
        #expect(ByteCount.parse("64MB") == 64 << 20 && ByteCount.parse("1.5 GiB") == 3 << 29 && ByteCount.parse("12") == 12)
        #expect(ByteCount.parse("12 parsecs") == nil && ByteCount.parse("-1") == nil)
        #expect(DurationText.parse("0.5s") == .milliseconds(500) && DurationText.parse("2d") == .seconds(172_800))
        #expect(DurationText.describe(.seconds(3600)) == "1h")
    }

    @Test("connection limits and the upload cap: defaults, flags, variables")
    func connectionLimits() throws {
        let defaults = try ServiceConfiguration.resolve(flags: [:], environment: [:])
        #expect(defaults.connectionLimits == ConnectionLimits() && defaults.maxBufferedUploadBytes == 512 << 20)
        #expect(defaults.restorationLimits.maxPixels == defaults.maxPixels)
        let configuration = try ServiceConfiguration.resolve(flags: [
            .idleTimeout: "2m", .headerTimeout: "0.5s", .bodyTimeout: "3s", .maxBufferedUploads: "1GiB",
        ], environment: ["FACERESTORE_MIN_BODY_RATE": "0"])
        #expect(configuration.connectionLimits.idleTimeout == .seconds(120))
        #expect(configuration.connectionLimits.headerTimeout == .milliseconds(500))
        #expect(configuration.connectionLimits.bodyTimeout == .seconds(3))
        #expect(configuration.connectionLimits.minBodyRate == 0)
        #expect(configuration.maxBufferedUploadBytes == 1 << 30)
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [.headerTimeout: "0"], environment: [:]) }
        #expect(configuration.summary(models: ModelFiles(directory: "/tmp/m"), resultsPath: "/tmp/r")
            .contains { $0.hasPrefix("timeouts      idle 2m, head 0.5s, body pause 3s") })
    }

    @Test("a bad value names its flag or variable and what was expected")
    func errors() {
        func message(_ flags: [ServiceSetting: String], _ environment: [String: String] = [:]) -> String? {
            do {
                _ = try ServiceConfiguration.resolve(flags: flags, environment: environment)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(message([.port: "80000"])?.hasPrefix("--port: '80000' is not valid") == true)
        #expect(message([:], ["FACERESTORE_PORT": "http"])?.hasPrefix("FACERESTORE_PORT:") == true)
        #expect(message([.publicURL: "faces.example.com"])?.contains("http://") == true)
        #expect(message([.retention: "0"]) != nil)
        #expect(message([.maxBodySize: "lots"]) != nil)
        #expect(message([.threads: "0"]) != nil)
        #expect(message([.maxBatch: "0"]) != nil)
        #expect(message([.detector: "yolo"])?.contains("automatic, resnet50, mobilenet") == true)
        #expect(message([:], ["FACERESTORE_PRECISION": "fp16"])?.contains("float32, bfloat16") == true)
    }

    @Test("help text names the variable and the default for every setting")
    func help() {
        for setting in ServiceSetting.allCases {
            #expect(setting.help.contains(setting.environmentVariable))
            #expect(setting.help.contains("Default: "))
        }
        #expect(ServiceSetting.port.help.contains("Default: 8080"))
    }

    @Test("the README's configuration table lists every flag with its variable and default")
    func readmeTable() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for setting in ServiceSetting.allCases {
            let row = text.split(separator: "\n").first { $0.hasPrefix("| `\(setting.flag)` |") }
            #expect(row?.contains("`\(setting.environmentVariable)`") == true, "\(setting.flag)")
            if setting != .models && setting != .publicURL && setting != .threads {
                #expect(row?.contains("`\(setting.defaultDescription)`") == true, "\(setting.flag): \(setting.defaultDescription)")
            }
        }
    }

    @Test("cluster settings: a PostgreSQL URL is checked, --no-inference needs --store, leases and attempts have bounds")
    func clusterSettings() throws {
        let configuration = try ServiceConfiguration.resolve(flags: [.store: "postgres://fr:pw@db:6543/faces?sslmode=disable",
                                                                     .noInference: "true", .lease: "10s", .maxAttempts: "5"])
        #expect(configuration.store?.port == 6543)
        #expect(configuration.noInference)
        #expect(configuration.lease == .seconds(10))
        #expect(configuration.maxAttempts == 5)
        #expect(configuration.summary(models: ModelFiles(directory: "/tmp/m"), resultsPath: "/tmp/r")
            .contains { $0.hasPrefix("store") && $0.contains("postgres://fr:***@db:6543/faces") && !$0.contains("pw") })
        #expect(throws: ConfigurationError.missingCompanion(source: "--no-inference", needs: "--store",
                                                            reason: "a replica without inference leaves restorations to workers sharing its database")) {
            try ServiceConfiguration.resolve(flags: [.noInference: "true"])
        }
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [.store: "http://db/faces"]) }
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [.lease: "0s"]) }
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.resolve(flags: [.maxAttempts: "0"]) }
        #expect(try ServiceConfiguration.resolve(flags: [:], environment: ["FACERESTORE_STORE": "postgres://a@b/c"]).store?.host == "b")
    }
}
