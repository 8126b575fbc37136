// swift-tools-version:6.0
// Strata: an embeddable log-and-index storage engine (Kafka-format log + full-text index).
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        .library(name: "StrataIO", targets: ["StrataIO"]),
        .library(name: "StrataLog", targets: ["StrataLog"]),
        .library(name: "StrataSearch", targets: ["StrataSearch"]),
        .library(name: "StrataStore", targets: ["StrataStore"]),
        .executable(name: "strata", targets: ["strata"]),
        .executable(name: "strata-fuzz", targets: ["StrataFuzz"]),
        .executable(name: "strata-bench", targets: ["StrataBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CStrataSupport"),
        .target(name: "StrataIO", dependencies: ["CLZ4", "CZlib", "CStrataSupport"]),
        .target(name: "StrataLog", dependencies: ["StrataIO", "CStrataSupport", "CZlib"]),
        .target(name: "StrataSearch", dependencies: ["StrataIO"]),
        // The log and the index together: indexes as materialized views of partitions.
        .target(name: "StrataStore", dependencies: ["StrataLog", "StrataSearch", "StrataIO"]),
        .executableTarget(
            name: "strata",
            dependencies: ["StrataLog", "StrataIO", "StrataSearch", "StrataStore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "CStrataFuzzSupport", path: "Fuzz/CStrataFuzzSupport"),
        .executableTarget(name: "StrataFuzz", dependencies: ["StrataLog", "StrataIO", "StrataSearch", "CStrataFuzzSupport"], path: "Fuzz/StrataFuzz"),
        .executableTarget(name: "StrataBench", dependencies: ["StrataLog", "StrataIO", "StrataSearch"], path: "Benchmarks/StrataBench"),
        .executableTarget(name: "strata-torture", dependencies: ["StrataLog", "StrataIO", "StrataSearch"], path: "Tests/StrataTorture"),
        .testTarget(name: "StrataIOTests", dependencies: ["StrataIO"]),
        .testTarget(name: "StrataLogTests", dependencies: ["StrataLog", "StrataIO"]),
        .testTarget(name: "StrataSearchTests", dependencies: ["StrataSearch", "StrataIO"]),
        .testTarget(name: "StrataStoreTests", dependencies: ["StrataStore", "StrataLog", "StrataSearch", "StrataIO"]),
    ],
    swiftLanguageModes: [.v6]
)
