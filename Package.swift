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
        .executable(name: "contactor", targets: ["contactor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
        // Test helper: records N entries in a journal, says so, then waits to be killed.
        .executableTarget(
            name: "contactor-journal-torture", dependencies: ["Contactor", "ContactorStore"]),
        .executableTarget(name: "contactor", dependencies: ["Contactor", "ContactorProviders"]),

        .testTarget(name: "ContactorTests", dependencies: ["Contactor", "ContactorTesting"]),
        .testTarget(
            name: "ContactorStoreTests",
            dependencies: [
                "ContactorStore", "contactor-journal-torture",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ContactorProvidersTests",
            dependencies: ["ContactorProviders", "ContactorTesting"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
