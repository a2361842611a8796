import Foundation
import Testing
import TestSupport
import HTTPTypes

/// Failures as the page shows them: the service's message next to the photo it belongs to, photos
/// refused before upload with the reason, and a full queue (503 + Retry-After) waited out and retried.
@Suite("Browser: errors on the page", .serialized, .enabled(if: BrowserTest.enabled))
struct BrowserErrorTests {
    @Test("an undecodable photo gets the service's message; a non-image and an oversize photo are refused before upload")
    func refusedAndUndecodable() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-page-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // JPEG's signature, then nothing a decoder can use: the browser cannot preview it, so only
        // the service can say what is wrong.
        let broken = folder.appendingPathComponent("broken.jpg")
        try (Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + Data("JFIF not really a photo".utf8)).write(to: broken)
        let notes = folder.appendingPathComponent("notes.txt")
        try Data("just some text\n".utf8).write(to: notes)

        // 03.jpg is 15 KB: over this server's 10 KiB per image.
        try await BrowserTest.withPage(serverArguments: ["--max-image-size", "10KiB"]) { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            try await browser.execute(BrowserTest.recordProcessCalls)
            try await BrowserTest.addPhoto(broken, in: browser)
            try await BrowserTest.addPhoto(notes, in: browser)
            try await BrowserTest.addPhoto(BrowserTest.fixturePhoto("03.jpg"), in: browser)

            func text(_ index: Int, _ selector: String) async throws -> String {
                try await browser.execute("return document.querySelectorAll('li.photo')[\(index)].querySelector('\(selector)').textContent") as? String ?? ""
            }
            #expect(try await BrowserTest.waitForPhoto(1, in: browser, states: ["refused"], timeout: .seconds(20)) == "refused")
            #expect(try await text(1, ".status-text") == "This is not a JPEG, PNG or WebP file, so the service cannot read it.")
            #expect(try await BrowserTest.waitForPhoto(2, in: browser, states: ["refused"], timeout: .seconds(20)) == "refused")
            #expect(try await text(2, ".status-text") == "It is 15 KB, over the service's limit of 10 KiB per photo.")

            try await browser.click("#restore-all")
            #expect(try await BrowserTest.waitForPhoto(0, in: browser, states: ["failed", "done"], timeout: .seconds(60)) == "failed")
            let calls = try #require(try await browser.execute("return window.__processCalls") as? [[String: Any]])
            #expect(calls.count == 1, "only the photo that passed the checks is sent")
            let body = try #require((calls.first?["body"] as? String)?.data(using: .utf8))
            let message = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["message"] as? String)
            #expect(calls.first?["status"] as? Int == 400)
            #expect(message.hasPrefix("image 'broken.jpg' cannot be decoded"))
            // The service's own words, beside the photo, announced to screen readers.
            #expect(try await text(0, ".photo-error") == "\(message) (HTTP 400)")
            #expect(try await browser.execute("return document.querySelector('li.photo .photo-error').getAttribute('role')") as? String == "alert")
            let placeholder = try await browser.execute(
                "return getComputedStyle(document.querySelector('li.photo .thumb'), '::after').content") as? String
            #expect(placeholder == "\"No preview\"", "the browser cannot preview it, and says so")
            #expect(try await browser.execute("return document.getElementById('restore-all').disabled") as? Bool == true)
            try await browser.execute("document.getElementById('photos-heading').scrollIntoView()")
            try await BrowserTest.screenshot("errors-1280x800-light", browser)
        }
    }

    @Test("a full queue: the page says the service is busy, waits the advised Retry-After, and then restores the photo")
    func queueFullIsRetried() async throws {
        try await BrowserTest.withPage(serverArguments: ["--queue-depth", "0"]) { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            try await browser.execute(BrowserTest.recordProcessCalls)
            try await BrowserTest.addPhoto(BrowserTest.fixturePhoto("04.jpg"), in: browser)

            // Another client keeps the only place busy, one request after the other, until stopped.
            let photo = try Data(contentsOf: BrowserTest.fixturePhoto("03.jpg"))
            let busy = BusyClient(baseURL: server.baseURL, photo: photo)
            // On the tests' own threads, like the rest of the test (the cooperative pool may be held).
            let keeper = Task(executorPreference: TestServerExecutor.shared) { await busy.run() }
            defer { keeper.cancel() }
            try await busy.waitUntilRunning(timeout: .seconds(120))

            try await browser.click("#restore-all")
            try await BrowserTest.waitForPhoto(0, in: browser, states: ["retrying", "done", "failed"], timeout: .seconds(30))
            let status = try await browser.execute("return document.querySelector('li.photo .status-text').textContent") as? String ?? ""
            #expect(status.hasPrefix("The service is busy (its queue is full). Retrying in "), "\(status)")
            let calls = try #require(try await browser.execute("return window.__processCalls") as? [[String: Any]])
            let first = try #require(calls.first)
            #expect(first["status"] as? Int == 503)
            let advised = try #require((first["retryAfter"] as? String).flatMap { Int($0) })
            #expect(status.contains("(Retry-After: \(advised) s)"), "\(status)")
            try await browser.execute("document.getElementById('photos-heading').scrollIntoView()")
            try await BrowserTest.screenshot("busy-1280x800-light", browser)

            keeper.cancel()
            await busy.stopped()
            // The page waits as long as it was advised (at most 300 s), then restores.
            #expect(try await BrowserTest.waitForPhoto(0, in: browser, states: ["done", "failed"], timeout: .seconds(330)) == "done")
            let all = try #require(try await browser.execute("return window.__processCalls") as? [[String: Any]])
            #expect(all.last?["status"] as? Int == 200)
            #expect(all.dropLast().allSatisfy { $0["status"] as? Int == 503 })
        }
    }
}

/// A client that keeps the service's single place busy: POSTs a photo again as soon as the last
/// one is answered, until its task is cancelled.
actor BusyClient {
    let baseURL: String
    let photo: Data
    private var started = false
    private var finished = false

    init(baseURL: String, photo: Data) {
        self.baseURL = baseURL
        self.photo = photo
    }

    func run() async {
        // Real-ESRGAN on both and upscale 4: the slowest request the small models allow.
        let body = Data("{\"image_base64\": \"\(photo.base64EncodedString())\", \"upscale\": 4, \"background_enhance\": true, \"face_upsample\": true}".utf8)
        let url = baseURL + "/api/process"
        while !Task.isCancelled {
            // Unstructured, so cancelling the keeper lets the request in flight finish.
            let job = Task { try? await LoopbackHTTP.send(.post, url, headers: [.contentType: "application/json"], body: body, timeout: .seconds(120)) }
            started = true
            _ = await job.value
        }
        finished = true
    }

    /// Waits until `/api/health` reports a restoration running.
    func waitUntilRunning(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if started, let (_, data) = try? await LoopbackHTTP.get(baseURL + "/api/health"),
               String(decoding: data, as: UTF8.self).contains("\"running\":true") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BusyClientError.neverBusy
    }

    /// Waits for the request in flight to be answered.
    func stopped() async {
        while !finished { try? await Task.sleep(for: .milliseconds(50)) }
    }
}

enum BusyClientError: Error {
    case neverBusy
}
