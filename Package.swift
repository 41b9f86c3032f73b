// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Contactor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Contactor", targets: ["Contactor"]),
        .library(name: "ContactorProviders", targets: ["ContactorProviders"]),
        .library(name: "ContactorTesting", targets: ["ContactorTesting"]),
        .library(name: "ContactorLua", targets: ["ContactorLua"]),
        .executable(name: "contactor", targets: ["contactor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2")
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
        // The C half of the Swift–Lua bridge (allocator, hooks, trampoline, value codec).
        .target(name: "CLuaHelpers", dependencies: ["CLua"]),
        .target(name: "ContactorProviders", dependencies: ["Contactor"]),
        .target(
            name: "ContactorLua",
            dependencies: [
                "Contactor", "CLua", "CLuaHelpers",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "ContactorTesting", dependencies: ["Contactor"]),
        .executableTarget(name: "contactor", dependencies: ["Contactor", "ContactorProviders"]),

        .testTarget(name: "ContactorTests", dependencies: ["Contactor", "ContactorTesting"]),
        .testTarget(
            name: "ContactorProvidersTests",
            dependencies: ["ContactorProviders", "ContactorTesting"]
        ),
        .testTarget(
            name: "ContactorLuaTests",
            dependencies: ["ContactorLua", "ContactorTesting"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
