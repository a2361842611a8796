import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Service

@Suite("GET /api/health")
struct HealthTests {
    @Test("online, cpu, version, models and queue")
    func health() async throws {
        try await ServiceHarness().test { client in
            let response = try await client.execute(uri: "/api/health", method: .get)
            #expect(response.status == .ok)
            #expect(response.text.hasPrefix(#"{"status":"online","device":"cpu","version":""#))
            let json = response.json
            #expect(json["status"] as? String == "online")
            #expect(json["device"] as? String == "cpu")
            #expect(json["version"] as? String == ServiceInfo.version)
            #expect((json["models"] as? [String: String])?["codeformer.pth"] == "loaded")
            let queue = try #require(json["queue"] as? [String: Any])
            #expect(queue["waiting"] as? Int == 0 && queue["running"] as? Bool == false && queue["queue_depth"] as? Int == 4)
        }
    }
}
