import Foundation
import Testing
import TestSupport

/// The page as it first loads: nothing wrong in the console, nothing fetched from anywhere but the
/// service, and what a keyboard or screen-reader user needs (names, alt texts, focus order).
@Suite("Browser: the page loads", .serialized, .enabled(if: BrowserTest.enabled))
struct BrowserPageLoadTests {
    @Test("no console errors, no request outside the service, limits and models from /api/health")
    func cleanLoad() async throws {
        try await BrowserTest.withPage { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            // Let late requests (the icon, a second health poll) happen.
            try await Task.sleep(for: .milliseconds(500))

            let log = try await browser.browserLog()
            let problems = log.filter { $0.level == "SEVERE" || $0.level == "WARNING" }
            #expect(problems.isEmpty, "console: \(problems)")

            let resources = try #require(try await browser.execute(
                "return performance.getEntriesByType('resource').map((e) => e.name)") as? [String])
            #expect(resources.contains(server.baseURL + "/web/app.js") && resources.contains(server.baseURL + "/api/health"), "\(resources)")
            let elsewhere = resources.filter { !$0.hasPrefix(server.baseURL + "/") }
            #expect(elsewhere.isEmpty, "requests outside the service: \(elsewhere)")

            // The limits and models the service reported are on the page.
            let help = try await browser.execute("return document.getElementById('input-help').textContent") as? String ?? ""
            #expect(help.contains("up to 20 MiB and 25 MP each, 8 at a time"), "\(help)")
            #expect(try await browser.execute("return document.getElementById('background-enhance').disabled") as? Bool == false)
            #expect(try await browser.execute("return document.getElementById('api-base').textContent") as? String == server.baseURL)
            let footer = try await browser.execute("return document.querySelector('footer').textContent") as? String ?? ""
            #expect(footer.contains("NTU S-Lab License 1.0") && footer.contains("non-commercial use only"))
            // The contract's defaults.
            let defaults = try #require(try await browser.execute("""
                return [document.getElementById('fidelity').value, document.querySelector('input[name=upscale]:checked').value,
                        document.getElementById('background-enhance').checked, document.getElementById('face-upsample').checked]
                """) as? [Any])
            #expect(defaults[0] as? String == "0.5" && defaults[1] as? String == "2" && defaults[2] as? Bool == false && defaults[3] as? Bool == false)

            try await BrowserTest.screenshot("empty-1280x800-light", browser)
            try await browser.devTools("Emulation.setDeviceMetricsOverride", ["width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true])
            #expect(try await browser.execute("return document.documentElement.scrollWidth") as? Int == 390)
            try await BrowserTest.screenshot("empty-390x844-light", browser)
        }
    }

    @Test("every control has a name, every image an alt text, and Tab goes through the steps in order")
    func keyboardAndScreenReader() async throws {
        try await BrowserTest.withPage { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            let unnamed = try #require(try await browser.execute("""
                const name = (e) => (e.labels && e.labels.length ? [...e.labels].map((l) => l.textContent).join(' ') : '')
                  + (e.getAttribute('aria-label') || '') + (e.tagName === 'BUTTON' ? e.textContent : '');
                return [...document.querySelectorAll('input, button, select, textarea')]
                  .filter((e) => !e.closest('template') && name(e).trim() === '').map((e) => e.outerHTML);
                """) as? [String])
            #expect(unnamed.isEmpty, "controls without a name: \(unnamed)")
            let withoutAlt = try await browser.execute("return [...document.querySelectorAll('img:not([alt])')].map((i) => i.outerHTML)") as? [String]
            #expect(withoutAlt == [])

            // Tab from the top: skip link, file picker, then the settings in the order they are shown.
            var order: [String] = []
            try await browser.execute("document.activeElement.blur(); window.focus()")
            for _ in 0..<7 {
                try await browser.keys(WebDriverKey.tab)
                let id = try await browser.execute("const e = document.activeElement; return e.id || e.className || e.tagName") as? String ?? ""
                order.append(id)
            }
            #expect(order == ["skip-link", "file-input", "fidelity", "upscale-2", "background-enhance", "face-upsample", "reset-settings"],
                    "focus order \(order)")
        }
    }

    @Test("a pasted image and dropped files are added like chosen ones; a dropped non-image is refused with the reason")
    func pasteAndDrop() async throws {
        try await BrowserTest.withPage { server, browser in
            try await BrowserTest.open(server.baseURL + "/", in: browser)
            // Clipboard and drag-and-drop events carrying files, made in the page: a 64x48 PNG
            // drawn on a canvas, and a text file.
            try await browser.execute("""
                const canvas = document.createElement('canvas');
                canvas.width = 64; canvas.height = 48;
                canvas.getContext('2d').fillRect(0, 0, 32, 24);
                canvas.toBlob((blob) => {
                  const pasted = new DataTransfer();
                  pasted.items.add(new File([blob], 'clipboard.png', { type: 'image/png' }));
                  document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true }));
                  const dropped = new DataTransfer();
                  dropped.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
                  dropped.items.add(new File(['hello'], 'readme.txt', { type: 'text/plain' }));
                  const zone = document.getElementById('drop-zone');
                  zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dropped, bubbles: true }));
                  zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dropped, bubbles: true, cancelable: true }));
                }, 'image/png');
                """)
            try await browser.waitFor("three photos checked", timeout: .seconds(10), """
                const l = [...document.querySelectorAll('li.photo')];
                return l.length === 3 && l.every((p) => p.dataset.state !== 'checking')
                """)
            let photos = try #require(try await browser.execute("""
                return [...document.querySelectorAll('li.photo')].map((p) => [p.querySelector('.photo-name').textContent, p.dataset.state,
                  p.querySelector('.photo-meta').textContent])
                """) as? [[String]])
            #expect(photos.map { $0[0] } == ["clipboard.png", "dropped.png", "readme.txt"])
            #expect(photos.map { $0[1] } == ["ready", "ready", "refused"])
            #expect(photos[0][2].hasPrefix("PNG · 64 × 48 px"), "\(photos[0][2])")
            #expect(try await browser.execute("return document.getElementById('restore-all').textContent") as? String == "Restore 2 photos")
        }
    }
}
