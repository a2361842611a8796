import Foundation
import HummingbirdTesting
import Testing
@testable import Service
import HTTPTypes
import Restoration

/// `/api/health` reports the configured limits, so a client can refuse what the service would.
@Suite("GET /api/health limits")
struct HealthLimitsTests {
    @Test("the limits object carries each configured limit")
    func configuredLimits() async throws {
        let harness = try ServiceHarness { configuration in
            configuration.maxBodyBytes = 3 << 20
            configuration.maxImageBytes = 1 << 20
            configuration.maxPixels = 123_456
            configuration.maxBatch = 3
            configuration.largeImageLimits.reduceToTwoAbove = 900
            configuration.largeImageLimits.reduceToOneAbove = nil
            configuration.retention = .seconds(90)
        }
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/health", method: .get)
            let limits = try #require(response.json["limits"] as? [String: Any])
            #expect(limits["max_body_bytes"] as? Int == 3 << 20)
            #expect(limits["max_image_bytes"] as? Int == 1 << 20)
            #expect(limits["max_pixels"] as? Int == 123_456)
            #expect(limits["max_batch"] as? Int == 3)
            #expect(limits["reduce_upscale_above"] as? Int == 900)
            #expect(limits["no_upscale_above"] is NSNull)
            #expect(limits["result_retention_seconds"] as? Int == 90)
        }
    }

    @Test("the defaults are the documented ones")
    func defaults() async throws {
        try await ServiceHarness().test { client in
            let limits = try #require(try await client.execute(uri: "/api/health", method: .get).json["limits"] as? [String: Any])
            #expect(limits["max_body_bytes"] as? Int == 64 << 20)
            #expect(limits["max_image_bytes"] as? Int == 20 << 20)
            #expect(limits["max_pixels"] as? Int == 25_000_000)
            #expect(limits["max_batch"] as? Int == 8)
            #expect(limits["reduce_upscale_above"] as? Int == 1000)
            #expect(limits["no_upscale_above"] as? Int == 1500)
            #expect(limits["result_retention_seconds"] as? Int == 3600)
        }
    }
}
