// swift-tools-version:6.0
import PackageDescription

/// facerestore: CodeFormer face restoration as a Swift service.
/// Targets mirror the layers in DEVELOPERS.md; each layer depends only on the ones below it.
let package = Package(
    name: "facerestore",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "facerestore", targets: ["FaceRestoreCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (Debian packages installed by scripts/setup.sh).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg"),
        .systemLibrary(name: "CSPNG", path: "Sources/CSPNG", pkgConfig: "spng"),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP", pkgConfig: "libwebp"),

        // 1. Tensor core.
        .target(name: "TensorCore", dependencies: ["CDNNL", "COpenBLAS"]),
        // 2. Checkpoints.
        .target(name: "Checkpoints", dependencies: ["TensorCore"]),
        // 3. Networks.
        .target(name: "Networks", dependencies: ["TensorCore", "Checkpoints"]),
        // 4. Imaging (TensorCore only for its parallel loops).
        .target(name: "Imaging", dependencies: ["TensorCore", "CTurboJPEG", "CSPNG", "CWebP"]),
        // 5. Restoration pipeline.
        .target(name: "Restoration", dependencies: ["Networks", "Imaging", "TensorCore"]),
        // 6. CLI.
        .executableTarget(
            name: "FaceRestoreCLI",
            dependencies: [
                "Restoration", "Networks", "Imaging", "TensorCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Tests.
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "Checkpoints", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CSPNG", "TestSupport"]),
        .testTarget(name: "RestorationTests", dependencies: ["Restoration", "Networks", "Imaging", "TestSupport"]),
        // Runs the built `facerestore` executable; the dependency makes `swift test` build it first.
        .testTarget(name: "FaceRestoreCLITests", dependencies: ["FaceRestoreCLI", "Imaging", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
