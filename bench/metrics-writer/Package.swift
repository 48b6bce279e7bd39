// swift-tools-version:6.0
// The measurement behind the choice of /metrics writer: swift-prometheus
// (a well-kept library) against the daemon's own PrometheusText, on the
// daemon's workload. Run by bench/metrics.sh; not part of the daemon.
import Foundation
import PackageDescription

// The project's own package, by path: its identity is its folder's name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "metrics-writer",
    dependencies: [
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(path: root.path),
    ],
    targets: [
        .executableTarget(name: "metrics-writer", dependencies: [
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "RarangiCore", package: root.lastPathComponent.lowercased()),
        ]),
    ]
)
