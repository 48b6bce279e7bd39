// swift-tools-version:6.0
import PackageDescription

// The pure modules (and the simulation tests that drive thousands of their
// nodes) are optimised even in debug builds, with their assertions kept: the
// simulations run five times faster, which keeps the test command's run time
// in bounds. The shell, the daemon and the other tests stay debuggable.
let optimizedInTests: [SwiftSetting] = [.unsafeFlags(["-O", "-assert-config", "Debug"], .when(configuration: .debug))]

// The shell runs on one thread and touches its connections and its node only
// from the reactor's turn: in release builds its class properties go without
// the dynamic exclusivity check (a thread-local look-up at every access, a
// tenth of a lookup's cost). Debug builds, which the tests run, keep the check.
let uncheckedExclusivityInRelease: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "RarangiRatonga",
    products: [
        .executable(name: "rarangid", targets: ["rarangid"]),
        .library(name: "RarangiCore", targets: ["RarangiCore"]),
        .executable(name: "rarangi", targets: ["rarangi"]),
        .library(name: "RarangiClient", targets: ["RarangiClient"]),
    ],
    dependencies: [
        // The client library's non-blocking I/O: one event-loop thread of its
        // own, never the caller's, with HTTP/1.1 framing (NIOHTTP1) for
        // held-registration streams and blocking queries.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The `rarangi` command line: subcommands, help, env-var defaults.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The cluster key's primitives (HMAC, HKDF, AES-GCM) for peer links:
        // no cryptography of our own beyond their composition.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // libevent, the heart of the reactor. Only RarangiReactor imports it.
        .systemLibrary(
            name: "CLibevent",
            path: "Modules/CLibevent",
            pkgConfig: "libevent",
            providers: [.apt(["libevent-dev"])]
        ),
        // What the daemon and the client share: the port table, Endpoint,
        // name rules, the version, the reconnect back-off. No dependencies:
        // the client links this, not the server core.
        .target(name: "RarangiProtocol", swiftSettings: optimizedInTests),
        // Pure codecs: JSON validation, HTTP parsing, routing of requests.
        .target(name: "RarangiWire", dependencies: ["RarangiProtocol"], swiftSettings: optimizedInTests),
        // The pure node: catalogue, versions, expiry. No clock, no I/O.
        .target(name: "RarangiCore", dependencies: ["RarangiProtocol", "RarangiWire"], swiftSettings: optimizedInTests),
        // libyaml, the configuration file's parser. Only RarangiConfig imports it.
        .systemLibrary(
            name: "CLibYAML",
            path: "Modules/CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // Settings table, flags, YAML configuration.
        .target(name: "RarangiConfig", dependencies: ["CLibYAML", "RarangiCore", "RarangiProtocol", "RarangiWire", "RarangiSeal"]),
        // The cluster key: the peer handshake and sealed frames (rarangi-protocol(7)).
        .target(name: "RarangiSeal", dependencies: ["RarangiWire", .product(name: "Crypto", package: "swift-crypto")]),
        // The libevent shell that executes the core's effects.
        .target(name: "RarangiReactor", dependencies: ["CLibevent", "RarangiCore", "RarangiWire", "RarangiSeal"],
                swiftSettings: uncheckedExclusivityInRelease),
        // Virtual time, a simulated network and a runner for the simulation tests (B9).
        .target(name: "RarangiTestKit", dependencies: ["RarangiCore", "RarangiProtocol", "RarangiWire"], swiftSettings: optimizedInTests),
        .executableTarget(name: "rarangid", dependencies: ["RarangiConfig", "RarangiReactor", "RarangiCore", "RarangiProtocol", "RarangiSeal"]),
        // The client library: discovery, held registrations, lookups, watches.
        // It links RarangiProtocol only, never the server core or the codecs.
        .target(name: "RarangiClient", dependencies: [
            "RarangiProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // The command-line client.
        .executableTarget(name: "rarangi", dependencies: [
            "RarangiClient", "RarangiProtocol", "RarangiSeal",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The runnable example of the client library (README, rarangi.1).
        .executableTarget(name: "rarangi-example", dependencies: ["RarangiClient"], path: "Examples/rarangi-example"),
        // The fuzz targets (scripts/fuzz.sh builds them with libFuzzer; a
        // plain build replays the seed corpus through them, as a test does).
        .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .executableTarget(name: "rarangi-fuzz", dependencies: ["CFuzzDriver", "RarangiWire", "RarangiCore", "RarangiReactor", "RarangiSeal", "RarangiProtocol"],
                          path: "Fuzz/rarangi-fuzz"),
        // The scale simulation (bench/simulate.sh runs it in release).
        .executableTarget(name: "rarangi-sim", dependencies: ["RarangiTestKit"], path: "bench/rarangi-sim", swiftSettings: optimizedInTests),
        // The client-side benchmark (bench/client.sh runs it in release).
        .executableTarget(name: "rarangi-bench", dependencies: ["RarangiClient"], path: "bench/rarangi-bench"),

        .testTarget(name: "RarangiProtocolTests", dependencies: ["RarangiProtocol"]),
        .testTarget(name: "RarangiWireTests", dependencies: ["RarangiWire"]),
        .testTarget(name: "RarangiSealTests", dependencies: ["RarangiSeal"]),
        .testTarget(name: "RarangiReactorTests", dependencies: ["RarangiReactor", "RarangiCore"]),
        .testTarget(name: "RarangiCoreTests", dependencies: ["RarangiCore", "RarangiProtocol", "RarangiWire"]),
        .testTarget(name: "RarangiConfigTests", dependencies: ["RarangiConfig", "RarangiCore", "RarangiProtocol"]),
        .testTarget(name: "EndToEndTests", dependencies: ["RarangiWire", "RarangiClient"]),
        .testTarget(name: "RarangiSimulationTests", dependencies: ["RarangiTestKit", "RarangiCore", "RarangiWire"], swiftSettings: optimizedInTests),
    ],
    swiftLanguageModes: [.v5]
)
