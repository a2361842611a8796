import Foundation
import HTTPTypes
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven through `chromedriver` over W3C WebDriver (HTTP + JSON on loopback).
/// It runs in a temporary folder of its own (profile, downloads, driver log); `close()` ends the
/// session, kills chromedriver and every process under it (Chromium) and removes the folder.
final class WebDriverSession: @unchecked Sendable {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    /// Whether the browser is installed (Debian's `chromium` and `chromium-driver`).
    static var browserInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: chromium) && FileManager.default.isExecutableFile(atPath: chromedriver)
    }

    let directory: URL
    let downloads: URL
    private let driver: Process
    private let driverURL: String
    private var sessionID = ""

    /// Starts chromedriver on a free loopback port and opens a headless Chromium at `width` × `height`.
    init(width: Int = 1280, height: Int = 800) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("facerestore-browser-\(UUID().uuidString)")
        downloads = directory.appendingPathComponent("downloads")
        try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)

        let port = try Self.freePort()
        driverURL = "http://127.0.0.1:\(port)"
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: Self.chromedriver)
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1",
                            "--log-path=\(directory.appendingPathComponent("chromedriver.log").path)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        driver.standardInput = FileHandle.nullDevice
        try driver.run()
        do {
            try await waitForDriver()
            try await startSession(width: width, height: height)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private var closed = false

    /// Ends the session and every process of it; removes the folder. Safe to call twice.
    func close() {
        guard !closed else { return }
        closed = true
        if !sessionID.isEmpty {
            // Best effort within a few seconds, from a thread of its own (close() is synchronous so
            // that it can run in a defer); the kill below covers a hung browser.
            let done = DispatchSemaphore(value: 0)
            let url = "\(driverURL)/session/\(sessionID)"
            Thread.detachNewThread {
                Task {
                    _ = try? await LoopbackHTTP.send(.delete, url, timeout: .seconds(10))
                    done.signal()
                }
            }
            _ = done.wait(timeout: .now() + 10)
        }
        if driver.isRunning {
            // Chromium's processes first (found before their parent goes), then chromedriver.
            for pid in Self.descendants(of: driver.processIdentifier) { kill(pid, SIGKILL) }
            kill(driver.processIdentifier, SIGKILL)
            driver.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Commands

    func navigate(_ url: String) async throws {
        _ = try await command("POST", "url", ["url": url])
    }

    /// The first element matching a CSS selector, or nil.
    func element(_ selector: String) async throws -> String? {
        try await elements(selector).first
    }

    func elements(_ selector: String) async throws -> [String] {
        let value = try await command("POST", "elements", ["using": "css selector", "value": selector])
        return (value as? [[String: Any]] ?? []).compactMap { $0[Self.elementKey] as? String }
    }

    func click(_ selector: String) async throws {
        _ = try await command("POST", "element/\(try await require(selector))/click", [:])
    }

    func sendKeys(_ selector: String, _ text: String) async throws {
        _ = try await command("POST", "element/\(try await require(selector))/value", ["text": text])
    }

    /// Runs `script` (a function body; `arguments` as given) in the page and returns its value.
    @discardableResult
    func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "execute/sync", ["script": script, "args": arguments])
    }

    /// Pointer actions: a list of W3C pointer action items (pointerMove, pointerDown, pointerUp, pause).
    func pointerActions(_ actions: [[String: Any]]) async throws {
        _ = try await command("POST", "actions", ["actions": [["type": "pointer", "id": "mouse",
                                                              "parameters": ["pointerType": "mouse"], "actions": actions]]])
        _ = try await command("DELETE", "actions", nil)
    }

    /// Key presses sent to the focused element (WebDriver key codes, e.g. "\u{E014}" for ArrowRight).
    func keys(_ text: String) async throws {
        let actions: [[String: Any]] = text.unicodeScalars.flatMap { key -> [[String: Any]] in
            [["type": "keyDown", "value": String(key)], ["type": "keyUp", "value": String(key)]]
        }
        _ = try await command("POST", "actions", ["actions": [["type": "key", "id": "keyboard", "actions": actions]]])
    }

    func setWindowSize(width: Int, height: Int) async throws {
        _ = try await command("POST", "window/rect", ["width": width, "height": height])
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        let value = try await command("GET", "screenshot", nil)
        guard let text = value as? String, let data = Data(base64Encoded: text) else { throw WebDriverError.unexpected("screenshot") }
        return data
    }

    /// The browser console's entries since the last call (`level`, `message`).
    func browserLog() async throws -> [(level: String, message: String)] {
        let value = try await command("POST", "se/log", ["type": "browser"])
        return (value as? [[String: Any]] ?? []).map { ($0["level"] as? String ?? "", $0["message"] as? String ?? "") }
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    @discardableResult
    func devTools(_ method: String, _ parameters: [String: Any] = [:]) async throws -> Any? {
        try await command("POST", "goog/cdp/execute", ["cmd": method, "params": parameters])
    }

    /// Follows the system colour scheme the page sees (`prefers-color-scheme`).
    func emulateColorScheme(_ scheme: String) async throws {
        try await devTools("Emulation.setEmulatedMedia", ["features": [["name": "prefers-color-scheme", "value": scheme]]])
    }

    /// Polls `condition` (a script returning a truthy value when done) every 100 ms for at most
    /// `timeout`; returns its last value or throws with `what` and the page's state.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration, _ condition: String) async throws -> Any {
        let deadline = ContinuousClock.now + timeout
        while true {
            let value = try await execute(condition)
            if let value, !(value is NSNull), (value as? Bool) != false { return value }
            if ContinuousClock.now >= deadline {
                let state = try? await execute("return document.querySelector('main')?.innerText ?? ''")
                throw WebDriverError.timedOut(what, page: String(String(describing: state ?? "").prefix(2000)))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: - Protocol

    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    private func require(_ selector: String) async throws -> String {
        guard let id = try await element(selector) else { throw WebDriverError.noElement(selector) }
        return id
    }

    private func startSession(width: Int, height: Int) async throws {
        let options: [String: Any] = [
            "binary": Self.chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=\(width),\(height)", "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
                     "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--hide-scrollbars",
                     "--force-device-scale-factor=1", "--lang=en-GB"],
            "prefs": ["download.default_directory": downloads.path, "download.prompt_for_download": false],
        ]
        let capabilities: [String: Any] = ["alwaysMatch": [
            "browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": ["browser": "ALL"],
            "timeouts": ["script": 30_000, "pageLoad": 60_000, "implicit": 0],
        ]]
        let value = try await send("POST", "\(driverURL)/session", ["capabilities": capabilities])
        guard let id = (value as? [String: Any])?["sessionId"] as? String else { throw WebDriverError.unexpected("new session: \(String(describing: value))") }
        sessionID = id
        try await devTools("Browser.setDownloadBehavior", ["behavior": "allow", "downloadPath": downloads.path])
    }

    private func waitForDriver() async throws {
        // Generous: on a loaded 2-core machine (the whole suite, other builds) a new process can
        // take long to be scheduled; normally it answers within a second.
        let deadline = ContinuousClock.now + .seconds(180)
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let value = try await send("GET", "\(driverURL)/status", nil)
                if ((value as? [String: Any])?["ready"] as? Bool) == true { return }
                last = "\(String(describing: value))"
            } catch {
                last = "\(error)"
            }
            guard driver.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("chromedriver.log"), encoding: .utf8)) ?? "(no log)"
        throw WebDriverError.driverDidNotStart(last: "\(last); running: \(driver.isRunning); chromedriver.log: \(log.suffix(1500))")
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        try await send(method, "\(driverURL)/session/\(sessionID)/\(path)", body)
    }

    /// One WebDriver request; returns the response's `value`, throws its error.
    private func send(_ method: String, _ url: String, _ body: [String: Any]?) async throws -> Any? {
        var headers: HTTPFields = [:]
        var data: Data?
        if let body {
            data = try JSONSerialization.data(withJSONObject: body)
            headers[.contentType] = "application/json; charset=utf-8"
        }
        let (_, answer) = try await LoopbackHTTP.send(HTTPRequest.Method(method)!, url, headers: headers, body: data)
        let json = try JSONSerialization.jsonObject(with: answer.isEmpty ? Data("{}".utf8) : answer) as? [String: Any] ?? [:]
        let value = json["value"]
        if let failure = value as? [String: Any], let error = failure["error"] as? String {
            throw WebDriverError.command("\(method) \(url.replacingOccurrences(of: driverURL, with: ""))", error: error,
                                         message: String((failure["message"] as? String ?? "").prefix(1000)))
        }
        return value
    }

    /// Every process below `root`, from /proc (the parent pid is the 4th field of `stat`, after the
    /// parenthesised command name).
    private static func descendants(of root: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(pid) }
        }
        var result: [Int32] = []
        var pending = [root]
        while let pid = pending.popLast() {
            let below = children[pid] ?? []
            result += below
            pending += below
        }
        return result
    }

    /// A port nothing listens on now (bound, read, closed: chromedriver takes it a moment later).
    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw WebDriverError.unexpected("socket") }
        defer { Glibc.close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw WebDriverError.unexpected("bind") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

enum WebDriverError: Error, CustomStringConvertible {
    case driverDidNotStart(last: String)
    case noElement(String)
    case command(String, error: String, message: String)
    case timedOut(String, page: String)
    case unexpected(String)

    var description: String {
        switch self {
        case .driverDidNotStart(let last): "chromedriver did not become ready within 180 s (last: \(last))"
        case .noElement(let selector): "no element matches \(selector)"
        case .command(let request, let error, let message): "WebDriver \(request): \(error): \(message)"
        case .timedOut(let what, let page): "timed out waiting for \(what); the page shows:\n\(page)"
        case .unexpected(let what): "unexpected WebDriver answer: \(what)"
        }
    }
}

/// WebDriver key codes.
enum WebDriverKey {
    static let arrowLeft = "\u{E012}"
    static let arrowRight = "\u{E014}"
    static let escape = "\u{E00C}"
    static let tab = "\u{E004}"
}
