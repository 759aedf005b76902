// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Logbook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "logbook", targets: ["logbook"]),
        .library(name: "LogbookEngine", targets: ["Sidecar", "Capture", "Replay", "History", "Operate", "FanOut"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // C libraries: one system-library target each, imported only by its wrapper.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),

        // Pure Swift: LSNs, the streaming-replication copy messages and pgoutput.
        .target(name: "PGWire"),
        // The only importer of CLibPQ.
        .target(name: "LibPQ", dependencies: ["CLibPQ", "PGWire"]),
        // The only importer of CZstd: segment format, writer, reader.
        .target(name: "Archive", dependencies: [
            "CZstd", "PGWire",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: [
            // The tests' seam for failing a system call (a full disk, EIO): debug builds only.
            .define("LOGBOOK_FAULT_INJECTION", .when(configuration: .debug)),
        ]),
        // The run service: stream -> spool -> segment writer -> flush -> feedback.
        .target(name: "Capture", dependencies: [
            "PGWire", "LibPQ", "Archive",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // Planner, per-key folding, bulk loaders.
        .target(name: "Replay", dependencies: [
            "PGWire", "LibPQ", "Archive",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The only importer of CRdKafka: producer, mock cluster, Debezium envelope, publisher.
        .target(name: "FanOut", dependencies: [
            "CRdKafka", "PGWire", "Archive",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // Prometheus exposition and /healthz over HTTP (SwiftNIO), for `logbook run --metrics-address`.
        .target(name: "Monitoring", dependencies: [
            "PGWire",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Off-site copies: a small S3 client (AsyncHTTPClient + SigV4 with swift-crypto), the uploader,
        // and reading an archive back from a bucket.
        .target(name: "OffSite", dependencies: [
            "Archive", "PGWire", "Operate",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // The configuration file (TOML), LOGBOOK_* variables and flags, merged in that order.
        .target(name: "Settings", dependencies: [
            "PGWire",
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        // Every version of a row, and the net changes between two points, from the archive alone
        // (segments' key indexes pick what to read).
        .target(name: "History", dependencies: [
            "PGWire", "Archive", "Replay",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Status, inspect, verify (integrity and restore tests), compaction.
        .target(name: "Operate", dependencies: [
            "PGWire", "LibPQ", "Archive", "Replay", "Capture",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `logbook run` as one ServiceGroup: capture, publisher, uploader, backup_log recorder,
        // compaction and retention, metrics; one lifecycle, graceful shutdown in a stated order.
        .target(name: "Sidecar", dependencies: [
            "Capture", "FanOut", "OffSite", "Operate", "Monitoring",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "logbook", dependencies: [
            "Sidecar",
            "Capture", "Replay", "History", "Operate", "FanOut", "Archive", "PGWire", "LibPQ", "Monitoring", "Settings", "OffSite",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "PGWireTests", dependencies: ["PGWire"]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "PGWire"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
        .testTarget(name: "OffSiteTests", dependencies: ["OffSite"]),
        .testTarget(name: "FoldTests", dependencies: ["Replay", "PGWire", "Archive"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Sidecar", "Capture", "Replay", "History", "Operate", "FanOut", "Archive", "LibPQ", "PGWire", "OffSite",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
