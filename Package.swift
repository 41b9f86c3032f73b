// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Contactor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Contactor", targets: ["Contactor"]),
        .library(name: "ContactorProviders", targets: ["ContactorProviders"]),
        .library(name: "ContactorTesting", targets: ["ContactorTesting"]),
        .library(name: "ContactorSandbox", targets: ["ContactorSandbox"]),
        .library(name: "ContactorHTTP", targets: ["ContactorHTTP"]),
        .library(name: "ContactorTestServer", targets: ["ContactorTestServer"]),
        .library(name: "ContactorStore", targets: ["ContactorStore"]),
        .library(name: "ContactorPostgres", targets: ["ContactorPostgres"]),
        .library(name: "ContactorCSV", targets: ["ContactorCSV"]),
        .library(name: "ContactorLua", targets: ["ContactorLua"]),
        .executable(name: "contactor", targets: ["contactor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // Already required by async-http-client (same lower bound); named here only so that
        // ContactorHTTP can recognise TLS errors.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already required by Hummingbird; named here so that the sandbox can be a `Service`.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C glue
        // libphonenumber behind a C API, with an exact fast path on PCRE2 (pcre2-8).
        .target(
            name: "CPhoneNumber",
            linkerSettings: [
                .linkedLibrary("phonenumber"), .linkedLibrary("protobuf"),
                .linkedLibrary("pcre2-8"),
            ]
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
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // The C half of the Swift–Lua bridge (allocator, hooks, trampoline, value codec).
        .target(name: "CLuaHelpers", dependencies: ["CLua"]),
        .target(
            name: "ContactorProviders",
            dependencies: ["Contactor", .product(name: "HTTPTypes", package: "swift-http-types")]),
        .target(
            name: "ContactorLua",
            dependencies: [
                "Contactor", "CLua", "CLuaHelpers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "ContactorTesting",
            dependencies: [
                "Contactor", .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Local emulators of the providers, written from their docs: no code shared with
        // ContactorProviders (Contactor is used only for libphonenumber checks).
        .target(
            name: "ContactorSandbox",
            dependencies: [
                "Contactor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The real transport, on AsyncHTTPClient (an HTTPClient the caller owns may be wrapped).
        .target(
            name: "ContactorHTTP",
            dependencies: [
                "Contactor", .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A scripted HTTP/1.1 server on 127.0.0.1 for tests that cross the network.
        .target(
            name: "ContactorTestServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "contactor",
            dependencies: [
                "Contactor", "ContactorProviders", "ContactorHTTP", "ContactorSandbox",
                "ContactorCSV", "ContactorStore", "ContactorLua", "ContactorPostgres",
                "ContactorTesting",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SQLite run journal (GRDB, WAL) and the input file digest.
        .target(
            name: "ContactorStore",
            dependencies: [
                "Contactor",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The PostgreSQL store: journal, ledger, rate limits and work shared between workers.
        .target(
            name: "ContactorPostgres",
            dependencies: [
                "Contactor",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Streaming CSV reader (a quote-aware byte scanner; see CSVRecordReader's docs) and
        // CSVInput, which reads an input once and digests it (SHA-256 from swift-crypto).
        .target(
            name: "ContactorCSV",
            dependencies: ["Contactor", .product(name: "Crypto", package: "swift-crypto")]),
        // Throughput benchmark of the CSV reader (run in release mode; docs in main.swift).
        .executableTarget(
            name: "contactor-csv-bench", dependencies: ["Contactor", "ContactorCSV"],
            path: "benchmarks/CSVReader"),
        // Benchmarks of the bulk engine (run in release mode; docs/performance.md).
        .executableTarget(
            name: "contactor-bench",
            dependencies: [
                "Contactor", "ContactorProviders", "ContactorHTTP", "ContactorSandbox",
                "ContactorTesting",
            ],
            path: "benchmarks/Engine"),
        // What a sync of a large file costs beside validating it (docs/performance.md).
        .executableTarget(
            name: "contactor-sync-bench",
            dependencies: [
                "Contactor", "ContactorStore", "ContactorTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "benchmarks/Sync"),
        // Work shared by workers through PostgreSQL (docs/scaling.md).
        .executableTarget(
            name: "contactor-scaling-bench",
            dependencies: [
                "Contactor", "ContactorHTTP", "ContactorPostgres", "ContactorProviders",
                "ContactorSandbox", "ContactorTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "benchmarks/Scaling"),
        // Cost of Lua mapping and validation per contact (run in release mode; docs in main.swift).
        .executableTarget(
            name: "contactor-lua-bench", dependencies: ["Contactor", "ContactorLua"],
            path: "benchmarks/LuaBench"),
        // Cost of cpn_parse, fast path against libphonenumber (run in release mode; docs in main.swift).
        .executableTarget(
            name: "contactor-phone-bench", dependencies: ["Contactor", "CPhoneNumber"],
            path: "benchmarks/Phone"),
        // Test helper: records N entries in a journal, says so, then waits to be killed.
        .executableTarget(
            name: "contactor-journal-torture", dependencies: ["Contactor", "ContactorStore"]),

        // The program of docs/library.md, compiled so that the example cannot rot.
        .executableTarget(
            name: "contactor-embedding-example",
            dependencies: [
                "Contactor", "ContactorCSV", "ContactorHTTP", "ContactorLua", "ContactorProviders",
                "ContactorSandbox", "ContactorStore",
            ],
            path: "Examples/Embedding"
        ),
        // The service of docs/library.md (ServiceLifecycle, Prometheus, a wrapped
        // HTTPClient, per-call credentials), compiled and run by a test.
        .executableTarget(
            name: "contactor-service-example",
            dependencies: [
                "Contactor", "ContactorHTTP", "ContactorProviders", "ContactorSandbox",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Examples/Service"
        ),
        .testTarget(
            name: "ContactorTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"), "Contactor",
                "ContactorTesting", "CPhoneNumber",
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ContactorStoreTests",
            dependencies: [
                "ContactorStore", "ContactorTesting", "contactor-journal-torture",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The PostgreSQL store against a real server started on 127.0.0.1 by the tests.
        .testTarget(
            name: "ContactorPostgresTests",
            dependencies: [
                "ContactorPostgres", "ContactorTesting", "ContactorProviders", "ContactorSandbox",
                "ContactorHTTP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "ContactorCSVTests",
            dependencies: ["ContactorCSV", .product(name: "CSV", package: "CSV.swift")]
        ),
        .testTarget(
            name: "ContactorProvidersTests",
            dependencies: [
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "HTTPTypes", package: "swift-http-types"), "ContactorProviders",
                "ContactorTesting",
            ]
        ),
        .testTarget(
            name: "ContactorSandboxTests",
            dependencies: [
                "ContactorSandbox",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The scripted test server's replies, hostile ones included, seen from a raw TCP
        // client and from AsyncHTTPClient.
        .testTarget(
            name: "ContactorTestServerTests",
            dependencies: [
                "ContactorTestServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "ContactorHTTPTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "ContactorHTTP", "Contactor", "ContactorTesting", "ContactorTestServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Every built-in adapter against its loopback emulator: the shared conformance
        // checks, and end-to-end imports through ContactorClient.
        .testTarget(
            name: "ContactorConformanceTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "Contactor", "ContactorProviders", "ContactorSandbox", "ContactorHTTP",
                "ContactorTesting", "ContactorTestServer",
            ]
        ),
        // The bulk engine end to end: real HTTP to the sandbox emulators, the CLI killed
        // and resumed (depends on `contactor` so that the binary is built).
        .testTarget(
            name: "ContactorEngineE2ETests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "Contactor", "ContactorProviders", "ContactorSandbox", "ContactorHTTP",
                "ContactorStore", "ContactorCSV", "ContactorTesting", "ContactorTestServer",
                "contactor", "contactor-service-example",
            ]
        ),
        // End-to-end tests of the command line: run the built `contactor` binary.
        .testTarget(
            name: "ContactorCLITests",
            dependencies: [
                "ContactorTesting", "ContactorSandbox", "contactor",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ContactorLuaTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"), "ContactorLua",
                "ContactorTesting", "ContactorTestServer", "ContactorHTTP",
            ],
            resources: [.copy("Fixtures")]
        ),
        // The bundled plugins/ (read from the checkout, not copied), each provider against a
        // loopback fake of its service, and the Lua examples of docs/plugins.md.
        .testTarget(
            name: "ContactorPluginsTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "Contactor", "ContactorLua", "ContactorTesting", "ContactorTestServer",
                "ContactorHTTP", "ContactorCSV", "ContactorProviders", "contactor",
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
