// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "RarangiRatonga",
    products: [
        .executable(name: "rarangid", targets: ["rarangid"]),
        .library(name: "RarangiCore", targets: ["RarangiCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libevent, the heart of the reactor. Only RarangiReactor imports it.
        .systemLibrary(
            name: "CLibevent",
            path: "Modules/CLibevent",
            pkgConfig: "libevent",
            providers: [.apt(["libevent-dev"])]
        ),
        // Pure codecs: JSON validation, HTTP parsing, routing of requests.
        .target(name: "RarangiWire"),
        // The pure node: catalogue, versions, expiry. No clock, no I/O.
        .target(name: "RarangiCore", dependencies: ["RarangiWire"]),
        // Settings table, flags, port table, YAML configuration.
        .target(name: "RarangiConfig", dependencies: ["RarangiCore", "RarangiWire", "Yams"]),
        // The libevent shell that executes the core's effects.
        .target(name: "RarangiReactor", dependencies: ["CLibevent", "RarangiCore", "RarangiWire"]),
        // Virtual time, a simulated network and a runner for the simulation tests (B9).
        .target(name: "RarangiTestKit", dependencies: ["RarangiCore", "RarangiWire"]),
        .executableTarget(name: "rarangid", dependencies: ["RarangiConfig", "RarangiReactor", "RarangiCore"]),

        .testTarget(name: "RarangiWireTests", dependencies: ["RarangiWire"]),
        .testTarget(name: "RarangiCoreTests", dependencies: ["RarangiCore", "RarangiWire"]),
        .testTarget(name: "RarangiConfigTests", dependencies: ["RarangiConfig", "RarangiCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["RarangiWire"]),
        .testTarget(name: "RarangiSimulationTests", dependencies: ["RarangiTestKit", "RarangiCore", "RarangiWire"]),
    ],
    swiftLanguageModes: [.v5]
)
