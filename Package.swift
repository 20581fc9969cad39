// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SSO",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "AccountsFCGI", targets: ["AccountsFCGI"]),
        .executable(name: "AppAuthFCGI", targets: ["AppAuthFCGI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CMemcached", pkgConfig: "libmemcached", providers: [.apt(["libmemcached-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CXCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        .target(
            name: "Shared",
            dependencies: [
                "CFastCGI", "CMemcached", "COpenSSL", "CXCrypt",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "AccountsFCGI",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "AppAuthFCGI",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "SSOBench",
            dependencies: ["Shared", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "SharedTests", dependencies: ["Shared"]),
        .testTarget(name: "FlowTests", dependencies: ["Shared", "AccountsFCGI", "AppAuthFCGI"]),
    ]
)
