import Foundation
import TestSupport

/// What the browser tests share: when they run, a server and a browser for one test, the page's
/// selectors and a recorder of the requests the page makes.
enum BrowserTest {
    /// Outside CI the tests skip where Chromium is not installed; in CI (`CI=true`) they run and a
    /// missing browser or fixture fails them.
    static var enabled: Bool {
        Fixtures.isCI || (WebDriverSession.browserInstalled && SmallModels.available)
    }

    /// Where screenshots go: outside the repository, never committed.
    static let screenshots = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-screenshots")

    static func fixturePhoto(_ name: String) -> URL { Fixtures.url("images/\(name)") }

    /// Starts `facerestore serve` (small models) and a headless browser at 1280 × 800, runs `body`,
    /// then closes both whatever happened. Runs on the tests' own threads (`isolated`): in a full
    /// run Swift's cooperative pool is held by parity tests and real-process tests, and the
    /// WebDriver client would wait minutes for it.
    static func withPage<T: Sendable>(serverArguments: [String] = [], models: URL? = nil,
                                      _ body: @Sendable (ServeProcess, WebDriverSession) async throws -> T) async throws -> T {
        try await isolated { try await openPage(serverArguments: serverArguments, models: models, body) }
    }

    private static func openPage<T>(serverArguments: [String], models: URL?,
                                    _ body: (ServeProcess, WebDriverSession) async throws -> T) async throws -> T {
        guard WebDriverSession.browserInstalled else { throw BrowserTestError.browserMissing }
        let server = try ServeProcess(arguments: serverArguments, models: models)
        defer { server.stop() }
        let browser = try await WebDriverSession()
        defer { browser.close() }
        try await browser.devTools("Emulation.setDeviceMetricsOverride", ["width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false])
        do {
            return try await body(server, browser)
        } catch {
            // The server's log tells why a request failed.
            print("facerestore serve output (last 3000 characters):\n\(server.output.suffix(3000))")
            throw error
        }
    }

    /// Opens the page and waits until it has heard from the service.
    static func open(_ url: String, in browser: WebDriverSession) async throws {
        try await browser.navigate(url)
        try await browser.waitFor("the page to reach the service", timeout: .seconds(20),
                                  "const s = document.getElementById('server-status'); return s && ['online', 'busy'].includes(s.dataset.state)")
    }

    /// Records every request the page sends to /api/process through XMLHttpRequest: the form's text
    /// fields, the status and the response body (`window.__processCalls`).
    static let recordProcessCalls = """
        window.__processCalls = [];
        const send = XMLHttpRequest.prototype.send;
        XMLHttpRequest.prototype.send = function (body) {
          const fields = {};
          if (body instanceof FormData) for (const [key, value] of body.entries()) if (typeof value === 'string') fields[key] = value;
          this.addEventListener('loadend', () => window.__processCalls.push({ status: this.status, fields, body: this.responseText,
            retryAfter: this.getResponseHeader('Retry-After') }));
          return send.call(this, body);
        };
        // Each photo's states in order: the value before each change (a batch of changes reaches
        // the observer at once, so the current value would hide the steps), then the current one.
        window.__states = [];
        new MutationObserver((records) => {
          for (const record of records) {
            if (record.attributeName !== 'data-state' || !record.target.matches('li.photo')) continue;
            window.__states.push([record.target, record.oldValue]);
          }
        }).observe(document.getElementById('photo-list'), { subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-state'] });
        window.__photoStates = () => {
          const entries = window.__states.concat([...document.querySelectorAll('li.photo')].map((li) => [li, li.dataset.state]));
          const result = [];
          for (const [li, state] of entries) {
            const entry = li.querySelector('.photo-name').textContent + ':' + state;
            const last = result.filter((e) => e.startsWith(entry.split(':')[0] + ':')).pop();
            if (last !== entry) result.push(entry); // each render sets the attribute again
          }
          return result;
        };
        """

    /// Adds a file through the page's file input and waits until the page has checked it.
    static func addPhoto(_ file: URL, in browser: WebDriverSession) async throws {
        let before = try await browser.elements("li.photo").count
        try await browser.sendKeys("#file-input", file.path)
        try await browser.waitFor("\(file.lastPathComponent) to be checked", timeout: .seconds(10),
                                  "const l = document.querySelectorAll('li.photo'); return l.length > \(before) && l[\(before)].dataset.state !== 'checking'")
    }

    /// Waits until the photo at `index` is in one of `states`; returns the state.
    @discardableResult
    static func waitForPhoto(_ index: Int, in browser: WebDriverSession, states: [String], timeout: Duration) async throws -> String {
        let list = states.map { "'\($0)'" }.joined(separator: ",")
        let value = try await browser.waitFor("photo \(index) to be \(states.joined(separator: " or "))", timeout: timeout,
                                              "const l = document.querySelectorAll('li.photo')[\(index)]; return l && [\(list)].includes(l.dataset.state) ? l.dataset.state : null")
        return value as? String ?? ""
    }

    /// Writes a screenshot to `screenshots/<name>.png` and prints where.
    static func screenshot(_ name: String, _ browser: WebDriverSession) async throws {
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        let file = screenshots.appendingPathComponent("\(name).png")
        try await browser.screenshot().write(to: file)
        print("screenshot: \(file.path)")
    }

    /// The body of a GET, for comparing what the page shows with what the service serves.
    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        try await LoopbackHTTP.get(url)
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0] == 0x89, bytes[1] == 0x50, String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR" else { return nil }
        func int(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (int(16), int(20))
    }
}

enum BrowserTestError: Error, CustomStringConvertible {
    case browserMissing

    var description: String {
        "Chromium is not installed: the browser tests need Debian's chromium and chromium-driver (scripts/setup.sh installs them)"
    }
}
