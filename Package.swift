// swift-tools-version:6.0
import PackageDescription

/// Imports are internal unless marked, and members are visible only through a module imported in
/// the same file: the compiler checks the target graph (as hummingbird does).
let checkedImports: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// facerestore: CodeFormer face restoration as a Swift service.
/// Targets mirror the layers in ARCHITECTURE.md; each layer depends only on the ones below it.
let package = Package(
    name: "facerestore",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "facerestore", targets: ["FaceRestoreCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already in the graph through Hummingbird; named because Service imports them directly.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System libraries (Debian packages installed by scripts/setup.sh).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CMemory", path: "Sources/CMemory"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg"),
        .systemLibrary(name: "CSPNG", path: "Sources/CSPNG", pkgConfig: "spng"),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP", pkgConfig: "libwebp"),

        // 1. Tensor core.
        .target(name: "CWinograd"),

        .target(name: "TensorCore", dependencies: ["CDNNL", "CMemory", "CWinograd"]),
        // 2. The official model files: names, release URLs, licences, the SHA-256 record (Foundation only).
        .target(name: "ModelCatalog"),
        // 3. Checkpoints.
        .target(name: "Checkpoints", dependencies: ["TensorCore"]),
        // 4. Networks, and the one loader that turns a weights file into one.
        .target(name: "Networks", dependencies: ["TensorCore", "Checkpoints", "ModelCatalog"]),
        // 5. Imaging (TensorCore only for its parallel loops).
        .target(name: "Imaging", dependencies: ["TensorCore", "CTurboJPEG", "CSPNG", "CWebP"]),
        // 6. Restoration pipeline.
        .target(name: "Restoration", dependencies: ["Networks", "Imaging", "TensorCore", "ModelCatalog"]),
        // 7. Model files: downloading the official releases (Foundation networking only).
        .target(name: "ModelDownloads", dependencies: ["ModelCatalog"]),
        // 8. Reference measurements for `facerestore bench` (OpenBLAS sgemm, peak memory).
        .target(name: "Benchmarks", dependencies: ["TensorCore", "COpenBLAS"]),
        // 9. The job database a cluster shares (PostgreSQL): queue, leases, results, announcements.
        .target(
            name: "JobDatabase",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // 10. HTTP service (the CodeFormer web API).
        .target(
            name: "Service",
            dependencies: [
                "Restoration", "ModelCatalog", "Imaging", "TensorCore", "JobDatabase",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // The web page at `/`, compiled into the binary (no files to ship beside it).
            resources: [.embedInCode("Web/Page"), .embedInCode("OpenAPI")]
        ),
        // 11. CLI.
        .executableTarget(
            name: "FaceRestoreCLI",
            dependencies: [
                "Restoration", "Networks", "Imaging", "TensorCore", "Service", "ModelCatalog", "ModelDownloads", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests.
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "ModelCatalogTests", dependencies: ["ModelCatalog"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks", "Checkpoints", "ModelCatalog", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CSPNG", "TestSupport"]),
        .testTarget(name: "JobDatabaseTests", dependencies: ["JobDatabase", "TestSupport"]),
        .testTarget(name: "RestorationTests", dependencies: ["Restoration", "Networks", "ModelCatalog", "Imaging", "TestSupport"]),
        // Runs the built `facerestore` executable; the dependency makes `swift test` build it first.
        .testTarget(name: "FaceRestoreCLITests", dependencies: ["FaceRestoreCLI", "ModelCatalog", "Imaging", "TestSupport"]),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "Service", "ModelDownloads", "ModelCatalog", "Restoration", "Checkpoints", "Imaging", "TensorCore", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + checkedImports
    // Each folder under Sources/ has a README for the next engineer; it is not a resource.
    if target.path == nil, target.type == .regular || target.type == .executable {
        target.exclude.append("README.md")
    }
}
