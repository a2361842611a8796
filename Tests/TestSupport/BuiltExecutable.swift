package import Foundation

/// The `facerestore` executable `swift test` built: it sits beside the test bundle in the build
/// folder (Linux: `<build>/facerestorePackageTests.xctest`; macOS: `<build>/x.xctest/Contents/MacOS/x`).
package enum BuiltExecutable {
    package static var facerestore: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("facerestore").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("facerestore")
    }
}
