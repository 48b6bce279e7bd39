@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// The scale run of `rarangi-sim` on a shape small enough for every test
/// run (bench/simulate.sh runs the large ones): its figures held to the
/// goals of MISSION B9, and its network model checked on its own.
final class ScaleRunTests: XCTestCase {
    func testSmallShape_meetsTheScaleGoals() {
        let shape = ScaleRun.Shape(clusters: 10, leaves: 28)
        let run = ScaleRun(shape: shape, seed: 2027)
        let f = run.run(probes: 4, registeringEvery: 10, partitionMs: 20_000)
        let defaults = NodeConfig(environment: "testing", name: "x")
        var bounds = OracleBounds()
        bounds.originTimeoutMs = defaults.originTimeoutMs
        bounds.gossipMs = defaults.gossipIntervalMs
        bounds.maxDelayMs = 1
        print("scale run \(shape): \(f)")

        XCTAssertEqual(f.daemons, 300)
        // Every master links to every master, every leaf to its two masters.
        XCTAssertEqual(f.connections, 20 * 19 / 2 + 10 * 28 * 2)
        XCTAssertNotNil(f.settledMs, "the start-up never settled")
        XCTAssertEqual(f.probesReachingAll, 4, "a change did not reach every daemon within 5 s")
        // Leaf → its master → every master → their leaves.
        XCTAssertEqual(f.hops?.p100, 3)
        XCTAssertLessThan(f.servedMs?.p100 ?? .max, 1000)
        // A master sends a change once per link: to the other masters and to its own leaves.
        XCTAssertLessThanOrEqual(f.busiestMasterFrames, Double(19 + 28))
        XCTAssertGreaterThanOrEqual(f.busiestMasterFrames, 28 - 1)
        XCTAssertLessThanOrEqual(f.idleBytesPerLinkPerSecond, 1024)
        XCTAssertLessThanOrEqual(f.idleBusiestLinkBytesPerSecond, 1024)
        // Noticed within a link timeout, purged an origin timeout later at
        // a round boundary; nothing is lost on this network, so no digest
        // round has to repair a push.
        let silentBound = bounds.originTimeoutMs + bounds.linkTimeoutMs + 2 * bounds.gossipMs
        XCTAssertLessThanOrEqual(f.silentLeafGoneMs ?? .max, silentBound)
        XCTAssertGreaterThanOrEqual(f.silentLeafGoneMs ?? 0, bounds.originTimeoutMs, "purged before the origin timeout")
        XCTAssertNotNil(f.healIntervals, "the partition never healed")
        XCTAssertLessThanOrEqual(Int64(f.healIntervals ?? .max) * bounds.gossipMs, bounds.convergenceMs(longestGapMs: f.partitionMs))
    }

    /// A sender's frames queue behind each other in proportion to their
    /// bytes: a large registration over a slow sender arrives late, and a
    /// small one sent right after it arrives after it.
    func testSenderQueueDelaysFramesByTheirBytes() {
        let sim = Simulation(seed: 1, network: .init(minDelayMs: 1, maxDelayMs: 1, bytesPerMs: 10))
        let leaf = NodeConfig(environment: "testing", cluster: "c", name: "leaf", master: false,
                              peers: [NodeConfig.Peer(host: "m", port: 1)], advertiseHost: "leaf", advertisePort: 1)
        let master = NodeConfig(environment: "testing", cluster: "c", name: "m", master: true, advertiseHost: "m", advertisePort: 1)
        let m = sim.add(master), l = sim.add(leaf)
        sim.run(until: 10_000)
        XCTAssertEqual(sim.connectionCount, 1)
        var arrived: [String: Int64] = [:]
        sim.onDeliver = { to, _ in
            guard to == m else { return }
            for id in ["big", "small"] where arrived[id] == nil && sim.catalogue(to)?.instance(service: "s", id: id) != nil {
                arrived[id] = sim.now
            }
        }
        let start = sim.now
        let big = #"{"pad":""# + String(repeating: "x", count: 2000) + #""}"#
        sim.request(l, .register(service: "s", id: "big", body: Array(big.utf8), ttlSeconds: nil))
        sim.request(l, .register(service: "s", id: "small", body: Array(#"{"a":1}"#.utf8), ttlSeconds: nil))
        sim.run(for: 2_000)
        // 2,000 bytes at 10 bytes per ms: 200 ms on the sender's queue.
        let bigAt = arrived["big"].map { $0 - start }, smallAt = arrived["small"].map { $0 - start }
        XCTAssertGreaterThanOrEqual(bigAt ?? 0, 200)
        XCTAssertLessThan(bigAt ?? .max, 400)
        XCTAssertGreaterThanOrEqual(smallAt ?? 0, bigAt ?? .max)
    }
}
