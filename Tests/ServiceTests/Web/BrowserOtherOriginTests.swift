import Foundation
import Testing
import TestSupport

/// The page served by one service and pointed at another with `?api=`: it uses only the public API
/// across origins (CORS), and reads that service's models: without Real-ESRGAN both options that
/// need it are disabled with a note naming the file and the command that installs it.
@Suite("Browser: the page against another origin", .serialized, .enabled(if: BrowserTest.enabled))
struct BrowserOtherOriginTests {
    /// The small models without `RealESRGAN_x2plus.pth`, as links in a temporary folder.
    static func modelsWithoutUpsampler() throws -> URL {
        let source = try SmallModels.folder.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-no-esrgan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "RealESRGAN_x2plus.pth" {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name),
                                                       withDestinationURL: source.appendingPathComponent(name).resolvingSymlinksInPath())
        }
        return folder
    }

    @Test("?api= points the page at another service, whose missing Real-ESRGAN disables two options; a photo restores across origins")
    func otherOrigin() async throws {
        let models = try Self.modelsWithoutUpsampler()
        defer { try? FileManager.default.removeItem(at: models) }
        let api = try ServeProcess(models: models)
        defer { api.stop() }
        try await BrowserTest.withPage { pageServer, browser in
            // 127.0.0.1 and localhost are different origins even on one port; here the ports differ too.
            let apiBase = api.baseURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            try await BrowserTest.open("\(pageServer.baseURL)/?api=\(apiBase)", in: browser)
            try await browser.execute(BrowserTest.recordProcessCalls)
            #expect(try await browser.execute("return document.getElementById('api-base').textContent") as? String == apiBase)

            for (box, note) in [("background-enhance", "background-model"), ("face-upsample", "face-model")] {
                let state = try #require(try await browser.execute("""
                    const n = document.getElementById('\(note)');
                    return [document.getElementById('\(box)').disabled, n.hidden, n.textContent]
                    """) as? [Any])
                #expect(state[0] as? Bool == true && state[1] as? Bool == false, "\(box): \(state)")
                let text = state[2] as? String ?? ""
                #expect(text.contains("RealESRGAN_x2plus.pth is not installed on the server") && text.contains("facerestore models download"), "\(text)")
            }
            try await browser.execute("document.getElementById('background-enhance').scrollIntoView({ block: 'center' })")
            try await BrowserTest.screenshot("missing-model-1280x800-light", browser)

            try await BrowserTest.addPhoto(BrowserTest.fixturePhoto("04.jpg"), in: browser)
            try await browser.click("#restore-all")
            #expect(try await BrowserTest.waitForPhoto(0, in: browser, states: ["done", "failed"], timeout: .seconds(120)) == "done")
            let calls = try #require(try await browser.execute("return window.__processCalls") as? [[String: Any]])
            #expect(calls.count == 1 && (calls.first?["fields"] as? [String: String])?["background_enhance"] == "false")
            #expect((calls.first?["body"] as? String)?.contains("\"image_url\":\"\(apiBase)/static/results/") == true)

            // The page's own files came from its server, everything else from the API's.
            let resources = try #require(try await browser.execute(
                "return performance.getEntriesByType('resource').map((e) => e.name)") as? [String])
            let elsewhere = resources.filter { !$0.hasPrefix(pageServer.baseURL + "/web/") && !$0.hasPrefix(apiBase + "/") }
            #expect(elsewhere.isEmpty, "\(elsewhere)")
            #expect(resources.contains { $0.hasPrefix(apiBase + "/static/results/") })
            let problems = try await browser.browserLog().filter { $0.level == "SEVERE" }
            #expect(problems.isEmpty, "console: \(problems)")
        }
    }
}
