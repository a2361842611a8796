import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Service

/// A service over a stand-in restorer and a fresh results folder, for one test.
struct ServiceHarness {
    let directory: URL
    let service: FaceRestoreService
    let restorer: StubRestorer

    init(restorer: StubRestorer = StubRestorer(), configure: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = ServiceConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.resultsDirectory = directory.appendingPathComponent("results").path
        configure(&configuration)
        self.restorer = restorer
        service = try FaceRestoreService(configuration: configuration, restorer: restorer)
    }

    var resultsDirectory: URL { URL(fileURLWithPath: service.resultsPath) }

    /// Names of the files in the results folder (hidden temporaries included).
    var resultFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: service.resultsPath)) ?? []).sorted()
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "facerestore-test")
        logger.logLevel = .critical
        return logger
    }

    /// Runs `body` against the application (`.router` in process, `.live` over a socket), then
    /// stops the inference thread and removes the folder. `logger` is the application's.
    func test<Value: Sendable>(_ setup: TestingSetup = .router, logger: Logger = quietLogger,
                               _ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        defer {
            service.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
        let app = service.makeApplication(logger: logger)
        return try await isolated { try await app.test(setup, body) }
    }
}
