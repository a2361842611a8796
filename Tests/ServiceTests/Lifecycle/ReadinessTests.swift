import Foundation
import HummingbirdTesting
import Testing
@testable import Service
import HTTPTypes
import JobDatabase

/// `GET /api/ready`: 200 only once the networks are warmed up, the models of an ordinary request
/// are loaded and the server is not draining; otherwise 503 with the reason and Retry-After.
@Suite("Readiness: GET /api/ready")
struct ReadinessTests {
    @Test("503 while warming up, 200 after, 503 again while draining (which also refuses new work)")
    func warmUpAndDrain() async throws {
        let harness = try ServiceHarness()
        try await harness.test { client in
            let cold = try await client.execute(uri: "/api/ready", method: .get)
            #expect(cold.status == .serviceUnavailable)
            #expect(cold.json["status"] as? String == "not_ready" && cold.json["reason"] as? String == "warming up")
            #expect(cold.headers[.retryAfter] == "5")
            // /api/health keeps the contract's answer meanwhile.
            #expect(try await client.execute(uri: "/api/health", method: .get).json["status"] as? String == "online")

            try await harness.service.warmUp()
            let warm = try await client.execute(uri: "/api/ready", method: .get)
            #expect(warm.status == .ok && warm.json["status"] as? String == "ready")

            harness.service.readiness.startDraining()
            let draining = try await client.execute(uri: "/api/ready", method: .get)
            #expect(draining.status == .serviceUnavailable)
            #expect((draining.json["reason"] as? String ?? "").contains("draining"))
            for path in ["/api/process", "/api/jobs"] {
                let refused = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"],
                                                       body: jsonBody(["image_base64": TestImages.png().base64EncodedString()]))
                #expect(refused.status == .serviceUnavailable && refused.headers[.retryAfter] != nil)
                #expect(refused.message.contains("shutting down"))
            }
            #expect(try await client.execute(uri: "/api/ready", method: .post).status == .methodNotAllowed)
        }
        #expect(harness.restorer.receivedSizes.isEmpty)
    }

    @Test("a model an ordinary request needs is missing: not ready, naming the file")
    func missingModel() async throws {
        let harness = try Self.harness(missing: "parsing_parsenet.pth")
        try await harness.test { client in
            try await harness.service.warmUp()
            let response = try await client.execute(uri: "/api/ready", method: .get)
            #expect(response.status == .serviceUnavailable)
            #expect(response.json["reason"] as? String == "model file parsing_parsenet.pth is missing")
        }
    }

    @Test("Real-ESRGAN alone missing still leaves the service ready (only background_enhance needs it)")
    func upsamplerOptional() async throws {
        let harness = try Self.harness(missing: "RealESRGAN_x2plus.pth")
        try await harness.test { client in
            try await harness.service.warmUp()
            #expect(try await client.execute(uri: "/api/ready", method: .get).status == .ok)
        }
    }

    /// A service whose restorer reports `file` missing and every other model loaded.
    static func harness(missing file: String) throws -> ServiceHarness {
        var states = ModelInventory.allLoaded.states
        states[file] = .missing
        let inventory = ModelInventory(states: states, detectorFile: "detection_Resnet50_Final.pth")
        return try ServiceHarness(restorer: StubRestorer(inventory: inventory))
    }
}
