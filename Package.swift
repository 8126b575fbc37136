// swift-tools-version:6.0
// Strata: an embeddable log-and-index storage engine (Kafka-format log + full-text index).
import PackageDescription
import Foundation

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

let package = Package(
    name: "Strata",
    products: [
        // The front door: `Store` — topics and their search indexes in one directory.
        .library(name: "Strata", targets: ["Strata"]),
        // The layers beneath it, usable on their own.
        .library(name: "StrataIO", targets: ["StrataIO"]),
        .library(name: "StrataLog", targets: ["StrataLog"]),
        .library(name: "StrataSearch", targets: ["StrataSearch"]),
        // The C API: libstrata-c.so, installed as libstrata.so.0 with strata.h and strata.pc
        // by scripts/install.sh.
        .library(name: "strata-c", type: .dynamic, targets: ["StrataC"]),
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
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // snappy: Kafka's codec 2 (Kafka's Java producer writes it in xerial framing).
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .target(name: "CStrataSupport"),
        .target(name: "StrataIO", dependencies: ["CLZ4", "CZlib", "CZstd", "CSnappy", "CStrataSupport"]),
        .target(name: "StrataLog", dependencies: ["StrataIO", "CStrataSupport", "CZlib", .product(name: "Logging", package: "swift-log")]),
        .target(name: "StrataSearch", dependencies: ["StrataIO", "CStrataSupport"]),
        // The store: the log and its indexes as materialized views, kept up to date in the background.
        .target(name: "Strata", dependencies: ["StrataLog", "StrataSearch", "StrataIO", .product(name: "Logging", package: "swift-log")]),
        // strata.h and the C API's static parts; StrataC implements the rest over the Store.
        .target(name: "CStrata"),
        .target(name: "StrataC", dependencies: ["Strata", "CStrata"], exclude: ["strata.map"],
                swiftSettings: [.enableExperimentalFeature("CImplementation")],
                linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/Sources/StrataC/strata.map",
                                               "-Xlinker", "-soname", "-Xlinker", "libstrata.so.0"])]),
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
        .testTarget(name: "StrataSearchTests", dependencies: ["StrataSearch", "StrataIO", "CStrataSupport"]),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataLog", "StrataSearch", "StrataIO"]),
    ],
    swiftLanguageModes: [.v6]
)
