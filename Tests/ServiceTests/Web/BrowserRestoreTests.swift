import Foundation
import Testing
import TestSupport

/// The page in headless Chromium against a real `facerestore serve` with the small models: a
/// photo chosen through the file input, every control changed, the result shown, compared,
/// zoomed and downloaded. Screenshots at 1280 × 800 and 390 × 844, light and dark.
@Suite("Browser: restore a photo from the page", .serialized, .enabled(if: BrowserTest.enabled))
struct BrowserRestoreTests {
    @Test("upload by file input, every control, result at its size, divider, zoom, download, screenshots")
    func restoreFromThePage() async throws {
        try await BrowserTest.withPage { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            try await browser.execute(BrowserTest.recordProcessCalls)

            // Every control, away from its default: fidelity by keyboard, the others by their labels.
            try await browser.execute("document.getElementById('fidelity').focus()")
            try await browser.keys(String(repeating: WebDriverKey.arrowRight, count: 4))
            #expect(try await browser.execute("return document.getElementById('fidelity-value').textContent") as? String == "0.70")
            try await browser.click("label[for=upscale-4]")
            try await browser.click("label[for=background-enhance]")
            try await browser.click("label[for=face-upsample]")

            try await BrowserTest.addPhoto(BrowserTest.fixturePhoto("04.jpg"), in: browser)
            #expect(try await BrowserTest.waitForPhoto(0, in: browser, states: ["ready"], timeout: .seconds(20)) == "ready")
            #expect(try await browser.execute("return document.querySelector('.thumb-image').naturalWidth") as? Int == 225)
            try await browser.click("#restore-all")
            try await BrowserTest.waitForPhoto(0, in: browser, states: ["done", "failed"], timeout: .seconds(180))
            try await BrowserTest.screenshot("restored-1280x800-light", browser)

            // What the page sent and got.
            let calls = try #require(try await browser.execute("return window.__processCalls") as? [[String: Any]])
            try #require(calls.count == 1)
            let fields = try #require(calls[0]["fields"] as? [String: String])
            #expect(fields == ["fidelity": "0.7", "upscale": "4", "background_enhance": "true", "face_upsample": "true"])
            #expect(calls[0]["status"] as? Int == 200)
            let body = try #require((calls[0]["body"] as? String)?.data(using: .utf8))
            let response = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            let result = try #require((response["results"] as? [[String: Any]])?.first)
            let states = try await browser.execute("return window.__photoStates()") as? [String] ?? []
            #expect(states == ["04.jpg:checking", "04.jpg:ready", "04.jpg:scheduled", "04.jpg:uploading", "04.jpg:waiting", "04.jpg:done"], "\(states)")

            // The numbers the API returned, as the page shows them.
            func shown(_ field: String) async throws -> String? {
                try await browser.execute("return document.querySelector('.numbers dd[data-field=\(field)]')?.textContent") as? String
            }
            let applied = try #require(result["applied"] as? [String: Any])
            #expect(try await shown("faces_found") == "\(try #require(result["faces_found"] as? Int))")
            #expect(try await shown("faces_restored") == "\(try #require(result["faces_restored"] as? Int))")
            #expect(try await shown("fidelity") == "0.7" && applied["fidelity"] as? Double == 0.7)
            #expect(try await shown("upscale") == "×\(try #require(applied["upscale"] as? Int))")
            #expect(try await shown("background") == ((applied["background_enhance"] as? Bool) == true ? "Real-ESRGAN" : "plain resize"))

            // The result is displayed at the size of the PNG the service serves, and is that PNG.
            let imageURL = try #require(result["image_url"] as? String)
            #expect(imageURL.hasPrefix(server.baseURL + "/static/results/api_result_"))
            let served = try await BrowserTest.get(imageURL)
            #expect(served.status == 200)
            let size = try #require(BrowserTest.pngSize(served.body))
            let natural = try #require(try await browser.execute(
                "const i = document.querySelector('.compare-after'); return [i.naturalWidth, i.naturalHeight, i.complete]") as? [Any])
            #expect(natural[0] as? Int == size.width && natural[1] as? Int == size.height && natural[2] as? Bool == true)
            #expect(try await shown("result")?.hasPrefix("\(size.width) × \(size.height) px") == true)
            #expect(try await browser.execute("return document.querySelector('.compare-after').alt") as? String == "Restored: 04.jpg")

            try await checkDivider(browser)
            try await checkZoom(browser, width: size.width, height: size.height)
            try await checkDownload(browser, expected: served.body)

            // "Reset to defaults", then "Restore again": the same photo with the contract's defaults
            // (the small Real-ESRGAN stand-in paints the previous result nearly black, so the
            // screenshots below show this one).
            try await browser.click("#reset-settings")
            try await browser.click("li.photo .again")
            try await browser.waitFor("the second restoration", timeout: .seconds(120),
                                      "return window.__processCalls.length === 2 && document.querySelector('li.photo').dataset.state === 'done'")
            let again = try #require(try await browser.execute("return window.__processCalls[1].fields") as? [String: String])
            #expect(again == ["fidelity": "0.5", "upscale": "2", "background_enhance": "false", "face_upsample": "false"])
            #expect(try await shown("upscale") == "×2")

            // Light and dark, desktop and phone width.
            try await browser.execute("document.querySelector('li.photo').scrollIntoView({ block: 'start' })")
            try await BrowserTest.screenshot("result-1280x800-light", browser)
            try await browser.emulateColorScheme("dark")
            try await BrowserTest.screenshot("result-1280x800-dark", browser)
            try await browser.devTools("Emulation.setDeviceMetricsOverride", ["width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true])
            // Narrow: the two pictures side by side, no divider.
            let layout = try #require(try await browser.execute("""
                const range = getComputedStyle(document.querySelector('.compare-range')).display;
                const before = document.querySelector('.compare-before').getBoundingClientRect();
                const after = document.querySelector('.compare-after').getBoundingClientRect();
                return [range, before.right <= after.left + 1, Math.abs(before.top - after.top) < 1, document.documentElement.scrollWidth]
                """) as? [Any])
            #expect(layout[0] as? String == "none" && layout[1] as? Bool == true && layout[2] as? Bool == true, "\(layout)")
            #expect(layout[3] as? Int == 390, "the page is wider than the phone: \(layout[3])")
            try await browser.execute("window.scrollTo(0, 0)")
            try await BrowserTest.screenshot("top-390x844-dark", browser)
            try await browser.execute("document.querySelector('li.photo').scrollIntoView({ block: 'start' })")
            try await BrowserTest.screenshot("result-390x844-dark", browser)
            try await browser.emulateColorScheme("light")
            try await BrowserTest.screenshot("result-390x844-light", browser)
        }
    }

    /// The divider follows the keyboard (arrow keys on the focused slider) and a pointer drag.
    private func checkDivider(_ browser: WebDriverSession) async throws {
        /// The slider's value, the divider's CSS position and the original's clip path.
        func position() async throws -> [String] {
            try #require(try await browser.execute("""
                const range = document.querySelector('.compare-range');
                const clip = getComputedStyle(document.querySelector('.compare-before')).clipPath;
                return [range.value, document.querySelector('.compare').style.getPropertyValue('--position'), clip]
                """) as? [String])
        }
        try await browser.execute("const r = document.querySelector('.compare-range'); r.scrollIntoView({ block: 'center' }); r.focus()")
        try await browser.keys(String(repeating: WebDriverKey.arrowLeft, count: 10))
        let byKeyboard = try await position()
        #expect(byKeyboard == ["40", "40%", "inset(0px 60% 0px 0px)"])

        let box = try #require(try await browser.execute("""
            const b = document.querySelector('.compare-frame').getBoundingClientRect();
            return [Math.round(b.left), Math.round(b.top), Math.round(b.width), Math.round(b.height)]
            """) as? [Int])
        try #require(box.count == 4)
        let y = box[1] + box[3] / 2
        try await browser.pointerActions([
            ["type": "pointerMove", "origin": "viewport", "x": box[0] + box[2] / 2, "y": y, "duration": 0],
            ["type": "pointerDown", "button": 0],
            ["type": "pointerMove", "origin": "viewport", "x": box[0] + box[2] * 8 / 10, "y": y, "duration": 200],
            ["type": "pointerUp", "button": 0],
        ])
        let byPointer = try await position()
        let value = Int(byPointer[0]) ?? -1
        #expect((78...82).contains(value), "after dragging to 80 % the divider is at \(byPointer)")
        #expect(byPointer[1] == "\(value)%")
    }

    /// "View at 100 %": one image pixel per CSS pixel, in a dialog that pans and closes with Escape.
    private func checkZoom(_ browser: WebDriverSession, width: Int, height: Int) async throws {
        try await browser.click(".zoom")
        try await browser.waitFor("the zoom dialog", timeout: .seconds(20), "return document.getElementById('zoom-dialog').open && document.getElementById('zoom-image').complete")
        let shown = try #require(try await browser.execute("""
            const i = document.getElementById('zoom-image'); const v = document.getElementById('zoom-viewport');
            return [i.clientWidth, i.clientHeight, i.naturalWidth, document.activeElement === v, v.scrollWidth > v.clientWidth]
            """) as? [Any])
        #expect(shown[0] as? Int == width && shown[1] as? Int == height && shown[2] as? Int == width, "\(shown)")
        #expect(shown[3] as? Bool == true, "the viewport has the focus, so the arrow keys pan")
        if width > 1280 {
            #expect(shown[4] as? Bool == true)
            let before = try await browser.execute("return document.getElementById('zoom-viewport').scrollLeft") as? Double ?? -1
            try await browser.keys(String(repeating: WebDriverKey.arrowRight, count: 5))
            // Keyboard scrolling is animated: wait for it to move.
            try await browser.waitFor("the arrow keys to pan the 100 % view", timeout: .seconds(20),
                                      "return document.getElementById('zoom-viewport').scrollLeft > \(before)")
        }
        try await BrowserTest.screenshot("zoom-1280x800-light", browser)
        try await browser.keys(WebDriverKey.escape)
        try await browser.waitFor("the zoom dialog to close", timeout: .seconds(20), "return !document.getElementById('zoom-dialog').open")
    }

    /// "Download PNG" saves `<name>_restored.png` with exactly the bytes the service serves, and
    /// "Download all" a ZIP holding the same.
    private func checkDownload(_ browser: WebDriverSession, expected: Data) async throws {
        try await browser.execute("document.querySelector('.download').scrollIntoView({ block: 'center' })")
        try await browser.click(".download")
        let file = browser.downloads.appendingPathComponent("04_restored.png")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: file.path), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        // Chrome writes a .crdownload and renames it when complete.
        let downloaded = try Data(contentsOf: file)
        #expect(downloaded == expected, "downloaded \(downloaded.count) bytes, the service serves \(expected.count)")

        // "Download all": a ZIP whose one stored entry is that file.
        try await browser.click("#download-all")
        let archive = browser.downloads.appendingPathComponent("facerestore_results.zip")
        let zipDeadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: archive.path), ContinuousClock.now < zipDeadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let entry = try #require(Self.firstStoredEntry(in: try Data(contentsOf: archive)))
        #expect(entry.name == "04_restored.png")
        #expect(entry.data == expected)
    }

    /// The first entry of a ZIP archive written with the "stored" method: its name and bytes
    /// (local file header: signature, sizes at 18 and 22, name and extra lengths at 26 and 28).
    static func firstStoredEntry(in zip: Data) -> (name: String, data: Data)? {
        let bytes = [UInt8](zip)
        func integer(_ at: Int, _ count: Int) -> Int { (0..<count).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        guard bytes.count >= 30, integer(0, 4) == 0x0403_4b50, integer(8, 2) == 0 else { return nil }
        let size = integer(18, 4)
        let (nameLength, extraLength) = (integer(26, 2), integer(28, 2))
        let start = 30 + nameLength + extraLength
        guard bytes.count >= start + size else { return nil }
        return (String(decoding: bytes[30..<30 + nameLength], as: UTF8.self), Data(bytes[start..<start + size]))
    }
}
