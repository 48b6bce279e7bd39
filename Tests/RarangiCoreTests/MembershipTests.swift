@testable import RarangiCore
import RarangiWire
import XCTest

/// The masters' graph and the partition verdict on their own.
final class MembershipTests: XCTestCase {
    func entry(_ name: String, _ masters: [String], leaves: [String] = []) -> MasterEntry {
        MasterEntry(name: name, generation: 1, seq: 1, cluster: "c", host: "h", port: 1, masters: masters, leaves: leaves)
    }

    func hello(_ name: String) -> PeerHello {
        PeerHello(environment: "testing", cluster: "c", name: name, generation: 1, master: true, host: "", port: 0)
    }

    func graph(_ entries: [MasterEntry]) -> MasterGraph {
        var g = MasterGraph()
        for e in entries { g.merge(e) }
        g.settle()
        return g
    }

    func test_master_outsideTheLargestComponent_isStale_andSaysSoOnce() {
        let g = graph([entry("a", ["b", "c"]), entry("b", ["a", "c"]), entry("c", ["a", "b"]), entry("d", [])])
        var v = PartitionVerdict()
        var effects: [Effect] = []
        v.decide(graph: g, master: true, name: "d", upPeers: [], now: 10, effects: &effects)
        XCTAssertTrue(v.isStale)
        XCTAssertEqual(v.component, 1)
        v.decide(graph: g, master: true, name: "d", upPeers: [], now: 20, effects: &effects)
        XCTAssertEqual(effects.count, 1, "only a change of the verdict is logged")
        v.decide(graph: g, master: true, name: "a", upPeers: [], now: 30, effects: &effects)
        XCTAssertFalse(v.isStale)
        XCTAssertEqual(v.freshSince, 30)
    }

    func test_leaf_followsTheBestComponentOfTheMastersItReaches() {
        let g = graph([entry("a", ["b"]), entry("b", ["a"]), entry("c", [])])
        var v = PartitionVerdict()
        var effects: [Effect] = []
        v.decide(graph: g, master: false, name: "l", upPeers: [hello("c")], now: 1, effects: &effects)
        XCTAssertTrue(v.isStale)
        v.decide(graph: g, master: false, name: "l", upPeers: [hello("c"), hello("b")], now: 2, effects: &effects)
        XCTAssertFalse(v.isStale)
        v.decide(graph: g, master: false, name: "l", upPeers: [], now: 3, effects: &effects)
        XCTAssertTrue(v.isStale, "a leaf with no master link is cut off")
    }

    func test_ownEntry_isPublishedOnlyAfterItsLinksChanged_andGossipedOnce() {
        var m = Membership()
        let config = NodeConfig(environment: "testing", cluster: "c", name: "a", master: true)
        XCTAssertTrue(m.publishOwnEntry(config: config, upPeers: [hello("b")]))
        XCTAssertFalse(m.publishOwnEntry(config: config, upPeers: [hello("b")]))
        XCTAssertEqual(m.graph.entries["a"]?.masters, ["b"])
        XCTAssertEqual(m.takeChanged(master: true).map(\.name), ["a"])
        XCTAssertTrue(m.takeChanged(master: true).isEmpty)
        XCTAssertTrue(m.merge(entry("b", ["a"])))
        XCTAssertTrue(m.needsVerdict)
        XCTAssertFalse(m.merge(entry("b", ["a"])), "an entry that is not newer changes nothing")
    }
}
