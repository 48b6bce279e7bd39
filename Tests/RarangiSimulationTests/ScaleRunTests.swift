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

        // Every master links to every master, every leaf to its two masters.
        XCTAssertEqual(f.connections, 20 * 19 / 2 + 10 * 28 * 2)
        XCTAssertNotNil(f.settledMs, "the start-up never settled")
        XCTAssertEqual(f.probesReachingAll, 4, "a change did not reach every daemon within 5 s")
        // Leaf → its master → every master → their leaves.
        XCTAssertEqual(f.hops?.p100, 3)
        XCTAssertLessThan(f.servedMs?.p100 ?? .max, 1000)
        // Pushes go at once: three hops of 1 ms plus each sender's queue,
        // no gossip round on the way.
        XCTAssertLessThanOrEqual(f.servedMs?.p100 ?? .max, 3 * 3)
        // A master sends a change once per link: to the other masters and to its own leaves.
        XCTAssertLessThanOrEqual(f.busiestMasterFrames, Double(19 + 28))
        XCTAssertGreaterThanOrEqual(f.busiestMasterFrames, 28 - 1)
        XCTAssertLessThanOrEqual(f.idleBytesPerLinkPerSecond, 1024)
        XCTAssertLessThanOrEqual(f.idleBusiestLinkBytesPerSecond, 1024)
        // Noticed within a link timeout, purged an origin timeout later at
        // a round boundary; nothing is lost on this network, so no digest
        // round has to repair a push.
        XCTAssertTrue(f.silentLeafMeasured, "the silent leaf's registration never reached every daemon")
        let silentBound = bounds.originTimeoutMs + bounds.linkTimeoutMs + 2 * bounds.gossipMs
        XCTAssertLessThanOrEqual(f.silentLeafGoneMs ?? .max, silentBound)
        XCTAssertGreaterThanOrEqual(f.silentLeafGoneMs ?? 0, bounds.originTimeoutMs, "purged before the origin timeout")
        XCTAssertEqual(f.partitionedDaemons, 30)
        // rarangi-protocol(7): a healed partition is noticed within a few
        // gossip intervals (links whose peer another member reports alive
        // are probed every 1 to 2 s); well inside the oracle's bound.
        if let heal = f.healIntervals {
            XCTAssertLessThanOrEqual(heal, 8)
            XCTAssertLessThanOrEqual(Int64(heal) * bounds.gossipMs, bounds.convergenceMs(longestGapMs: f.partitionMs))
        } else {
            XCTFail("the partition never healed")
        }
    }

    /// A sender's frames queue behind each other in proportion to their
    /// bytes, whatever connection they leave on: a large registration a
    /// slow leaf pushes to its two masters reaches one after the time its
    /// bytes take and the other only after twice that.
    func testSenderQueueDelaysFramesByTheirBytes() {
        let sim = Simulation(seed: 1, network: .init(minDelayMs: 1, maxDelayMs: 1, bytesPerMs: 10))
        func master(_ name: String, peers: [String]) -> NodeConfig {
            NodeConfig(environment: "testing", cluster: "c", name: name, master: true,
                       peers: peers.map { NodeConfig.Peer(host: $0, port: 1) }, advertiseHost: name, advertisePort: 1)
        }
        let a = sim.add(master("ma", peers: [])), b = sim.add(master("mb", peers: ["ma"]))
        let l = sim.add(NodeConfig(environment: "testing", cluster: "c", name: "leaf", master: false,
                                   peers: [NodeConfig.Peer(host: "ma", port: 1), NodeConfig.Peer(host: "mb", port: 1)],
                                   advertiseHost: "leaf", advertisePort: 1))
        sim.run(until: 20_000)
        XCTAssertEqual(sim.connectionCount, 3)
        var arrived: [Int: Int64] = [:]
        sim.onDeliver = { to, from in
            if from == l, arrived[to] == nil, sim.catalogue(to)?.instance(service: "s", id: "big") != nil { arrived[to] = sim.now }
        }
        let start = sim.now
        let big = #"{"pad":""# + String(repeating: "x", count: 2000) + #""}"#
        sim.request(l, .register(service: "s", id: "big", body: Array(big.utf8), ttlSeconds: nil))
        sim.run(for: 2_000)
        let times = [a, b].compactMap { arrived[$0].map { $0 - start } }.sorted()
        XCTAssertEqual(times.count, 2, "the leaf's push did not reach both masters from the leaf")
        guard times.count == 2 else { return }
        // 2,000 bytes at 10 bytes per ms: 200 ms each on the leaf's queue.
        XCTAssertGreaterThanOrEqual(times[0], 200)
        XCTAssertLessThan(times[0], 300)
        XCTAssertGreaterThanOrEqual(times[1], 400)
        XCTAssertLessThan(times[1], 500)
    }
}
