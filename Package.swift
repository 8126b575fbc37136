// swift-tools-version:6.0
// Strata: an embeddable log-and-index storage engine (Kafka-format log + full-text index).
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        // The front door: `Store` — topics and their search indexes in one directory.
        .library(name: "Strata", targets: ["Strata"]),
        // The layers beneath it, usable on their own.
        .library(name: "StrataIO", targets: ["StrataIO"]),
        .library(name: "StrataLog", targets: ["StrataLog"]),
        .library(name: "StrataSearch", targets: ["StrataSearch"]),
        .executable(name: "strata", targets: ["StrataCLI"]),
        .executable(name: "strata-fuzz", targets: ["StrataFuzz"]),
        .executable(name: "strata-bench", targets: ["StrataBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CStrataSupport"),
        .target(name: "StrataIO", dependencies: ["CLZ4", "CZlib", "CStrataSupport"]),
        .target(name: "StrataLog", dependencies: ["StrataIO", "CStrataSupport", "CZlib", .product(name: "Logging", package: "swift-log")]),
        .target(name: "StrataSearch", dependencies: ["StrataIO"]),
        // The store: the log and its indexes as materialized views, kept up to date in the background.
        .target(name: "Strata", dependencies: ["StrataLog", "StrataSearch", "StrataIO", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "StrataCLI",
            dependencies: ["Strata", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            path: "Sources/strata"),
        .target(name: "CStrataFuzzSupport", path: "Fuzz/CStrataFuzzSupport"),
        .executableTarget(name: "StrataFuzz", dependencies: ["StrataLog", "StrataIO", "StrataSearch", "CStrataFuzzSupport"], path: "Fuzz/StrataFuzz"),
        .executableTarget(name: "StrataBench", dependencies: ["Strata"], path: "Benchmarks/StrataBench"),
        .executableTarget(name: "strata-torture", dependencies: ["Strata"], path: "Tests/StrataTorture"),
        .testTarget(name: "StrataIOTests", dependencies: ["StrataIO"]),
        .testTarget(name: "StrataLogTests", dependencies: ["StrataLog", "StrataIO", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StrataSearchTests", dependencies: ["StrataSearch", "StrataIO"]),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataLog", "StrataSearch", "StrataIO"]),
    ],
    swiftLanguageModes: [.v6]
)
