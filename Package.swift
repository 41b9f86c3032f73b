// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Contactor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Contactor", targets: ["Contactor"]),
        .library(name: "ContactorProviders", targets: ["ContactorProviders"]),
        .library(name: "ContactorTesting", targets: ["ContactorTesting"]),
        .library(name: "ContactorStore", targets: ["ContactorStore"]),
        .library(name: "ContactorCSV", targets: ["ContactorCSV"]),
        .executable(name: "contactor", targets: ["contactor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C glue
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("protobuf")]
        ),
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),

        // Core: model, protocols, pipeline; no I/O.
        .target(
            name: "Contactor",
            dependencies: [
                "CPhoneNumber",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "ContactorProviders", dependencies: ["Contactor"]),
        .target(name: "ContactorTesting", dependencies: ["Contactor"]),
        // SQLite run journal (GRDB, WAL) and the input file digest.
        .target(
            name: "ContactorStore",
            dependencies: [
                "Contactor",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Streaming CSV reader (a quote-aware byte scanner; see CSVRecordReader's docs).
        .target(name: "ContactorCSV", dependencies: ["Contactor"]),
        // Throughput benchmark of the CSV reader (run in release mode; docs in main.swift).
        .executableTarget(
            name: "contactor-csv-bench", dependencies: ["Contactor", "ContactorCSV"],
            path: "Benchmarks/CSVReader"),
        // Test helper: records N entries in a journal, says so, then waits to be killed.
        .executableTarget(
            name: "contactor-journal-torture", dependencies: ["Contactor", "ContactorStore"]),
        .executableTarget(name: "contactor", dependencies: ["Contactor", "ContactorProviders"]),

        .testTarget(
            name: "ContactorTests", dependencies: ["Contactor", "ContactorTesting"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ContactorStoreTests",
            dependencies: [
                "ContactorStore", "contactor-journal-torture",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ContactorCSVTests",
            dependencies: ["ContactorCSV", .product(name: "CSV", package: "CSV.swift")]
        ),
        .testTarget(
            name: "ContactorProvidersTests",
            dependencies: ["ContactorProviders", "ContactorTesting"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
