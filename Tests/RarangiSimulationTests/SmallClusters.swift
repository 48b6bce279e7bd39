import Foundation
@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// Small named clusters for the simulation tests: one shape of daemon
/// configuration (gossip 1 s, origin timeout 10 s, addressed by name) and
/// a fast, lossless network.
enum SmallClusters {
    /// A daemon `name` of cluster "c" dialling `peers` by name.
    static func config(_ name: String, master: Bool, peers: [String]) -> NodeConfig {
        NodeConfig(environment: "testing", cluster: "c", name: name, livenessSeconds: 86400, master: master,
                   peers: peers.map { NodeConfig.Peer(host: $0, port: 1) }, gossipIntervalMs: 1000,
                   originTimeoutMs: 10_000, advertiseHost: name, advertisePort: 1)
    }

    /// An empty simulation on a 1–5 ms lossless network.
    static func simulation(seed: UInt64) -> Simulation {
        Simulation(seed: seed, network: .init(loss: 0, minDelayMs: 1, maxDelayMs: 5))
    }
}

/// Tests on one master m and leaves a, b, c linked to it, registering
/// instances of service "web" (id "x" unless told).
class StarClusterTestCase: XCTestCase {
    /// The star, each daemon's wall clock skewed by `skew` (by name).
    func star(seed: UInt64 = 1, skew: [String: Int64] = [:]) -> Simulation {
        let sim = SmallClusters.simulation(seed: seed)
        _ = sim.add(SmallClusters.config("m", master: true, peers: []), skewMs: skew["m"] ?? 0)
        for leaf in ["a", "b", "c"] {
            _ = sim.add(SmallClusters.config(leaf, master: false, peers: ["m"]), skewMs: skew[leaf] ?? 0)
        }
        return sim
    }

    let m = 0, a = 1, b = 2, c = 3

    func body(_ sim: Simulation, _ i: Int, _ id: String = "x") -> String? {
        sim.hosts[i].node!.catalogue.instance(service: "web", id: id).map { String(decoding: $0, as: UTF8.self) }
    }

    func register(_ sim: Simulation, _ i: Int, _ body: String, id: String = "x") {
        let r = sim.request(i, .register(service: "web", id: id, body: Array(body.utf8), ttlSeconds: nil))
        XCTAssertEqual(r.map { $0.status == 200 || $0.status == 201 }, true)
    }

    func delete(_ sim: Simulation, _ i: Int, _ id: String = "x") {
        XCTAssertEqual(sim.request(i, .deregister(service: "web", id: id))?.status, 200)
    }
}
