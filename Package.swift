// swift-tools-version:6.0
import PackageDescription

// Targets and their arrows (docs/architecture.md): only the four wrapper targets import a C module.
//
//   SSOCrypto (OpenSSL, libxcrypt)  <-  SSOJWT
//   FastCGI   (libfcgi, sockets)           knows no session or config
//   SSOStore  (libmemcached)               the key-value protocol and memcached
//   SSOYAML   (libyaml)                    YAML text to nodes, for the config and users files
//   SSOCore   <- all of the above: config, sessions, hand-offs, request cache, users, pages, the runtime adapter
//   SSOCommand <- SSOCore: what every executable's command line shares
//   SSOTesting <- SSOCore: test doubles and scratch folders, never linked into a program
let package = Package(
    name: "SSO",
    products: [
        .executable(name: "AccountsFCGI", targets: ["AccountsFCGI"]),
        .executable(name: "AppAuthFCGI", targets: ["AppAuthFCGI"]),
        .executable(name: "ssoctl", targets: ["ssoctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CMemcached", pkgConfig: "libmemcached", providers: [.apt(["libmemcached-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CXCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        .target(name: "SSOCrypto", dependencies: ["COpenSSL", "CXCrypt"]),
        .target(name: "SSOSync"),
        .target(name: "SSOJWT", dependencies: ["SSOCrypto", "SSOSync"]),
        .target(
            name: "FastCGI",
            dependencies: ["CFastCGI", .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "SSOStore", dependencies: ["CMemcached"]),
        .target(name: "SSOYAML", dependencies: ["CYAML"]),
        .target(
            name: "SSOCore",
            dependencies: ["SSOCrypto", "SSOJWT", "SSOSync", "FastCGI", "SSOStore", "SSOYAML",
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .target(
            name: "SSOCommand",
            dependencies: ["SSOCore", "FastCGI", "SSOStore", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "SSOTesting",
            dependencies: ["SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore", .product(name: "Logging", package: "swift-log")]
        ),

        .executableTarget(name: "AccountsFCGI", dependencies: ["SSOCommand", "SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore"]),
        .executableTarget(name: "AppAuthFCGI", dependencies: ["SSOCommand", "SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore"]),
        .executableTarget(name: "ssoctl", dependencies: ["SSOCommand", "SSOCore", "SSOStore", "SSOCrypto",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "SSOBench",
            dependencies: ["SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // The fuzz targets' code: run by the libFuzzer binary below, and over the committed corpus by FuzzTests.
        .target(
            name: "SSOFuzz",
            dependencies: ["SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore", "SSOTesting"]
        ),

        .testTarget(name: "CryptoTests", dependencies: ["SSOCrypto", "SSOJWT"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "SyncTests", dependencies: ["SSOSync"]),
        .testTarget(name: "CoreTests", dependencies: ["SSOCore", "SSOYAML", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore", "SSOTesting"]),
        .testTarget(
            name: "FlowTests",
            dependencies: ["SSOCore", "SSOJWT", "SSOCrypto", "FastCGI", "SSOStore", "SSOTesting", "AccountsFCGI", "AppAuthFCGI"]
        ),
        .testTarget(name: "FuzzTests", dependencies: ["SSOFuzz"]),
    ]
)

// The libFuzzer binary exists only for scripts/fuzz (SSO_FUZZ=1, its own --scratch-path): it cannot link without
// -sanitize=fuzzer, and the ordinary build and tests never need it.
if Context.environment["SSO_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "FuzzSSO", dependencies: ["SSOFuzz"],
                                             swiftSettings: [.enableExperimentalFeature("Extern")]))
}
