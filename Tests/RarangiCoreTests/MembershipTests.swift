@testable import RarangiCore
import RarangiWire
import XCTest

/// The masters' graph and the partition verdict on their own.
final class MembershipTests: XCTestCase {
    func entry(_ name: String, _ masters: [String], leaves: [String] = []) -> MemberEntry {
        MemberEntry(name: name, generation: 1, seq: 1, cluster: "c", host: "h", port: 1, master: true, masters: masters, leaves: leaves)
    }

    func hello(_ name: String) -> PeerHello {
        PeerHello(environment: "testing", cluster: "c", name: name, generation: 1, master: true, host: "", port: 0)
    }

    func graph(_ entries: [MemberEntry]) -> MemberGraph {
        var g = MemberGraph()
        for e in entries { g.merge(e) }
        g.settle()
        return g
    }

    func leaf(_ name: String, _ masters: [String], leaves: [String] = []) -> MemberEntry {
        MemberEntry(name: name, generation: 1, seq: 1, cluster: "c", host: "h", port: 1, master: false, masters: masters, leaves: leaves)
    }

    func verdict(_ g: MemberGraph, _ name: String, now: Int64 = 1) -> PartitionVerdict {
        var v = PartitionVerdict()
        var effects: [Effect] = []
        v.decide(graph: g, name: name, now: now, effects: &effects)
        return v
    }

    func test_master_outsideTheMajority_isStale_andSaysSoOnce() {
        let g = graph([entry("a", ["b", "c"]), entry("b", ["a", "c"]), entry("c", ["a", "b"]), entry("d", [])])
        var v = PartitionVerdict()
        var effects: [Effect] = []
        v.decide(graph: g, name: "d", now: 10, effects: &effects)
        XCTAssertTrue(v.isStale)
        XCTAssertEqual(v.component, 1)
        v.decide(graph: g, name: "d", now: 20, effects: &effects)
        XCTAssertEqual(effects.count, 1, "only a change of the verdict is logged")
        v.decide(graph: g, name: "a", now: 30, effects: &effects)
        XCTAssertFalse(v.isStale)
        XCTAssertEqual(v.freshSince, 30)
    }

    /// The seed's smallest topology: one cluster, two masters, leaves linked
    /// to both. Losing either master is survived: the leaves still link the
    /// other one to more than half of the members. A leaf lost afterwards
    /// leaves the survivor a majority still, so it can be purged.
    func test_twoMasterCluster_losesAMaster_leavesKeepTheSurvivorAMajority() {
        let leaves = ["l1", "l2", "l3"]
        // a is dead: its last entry claims everyone, nobody claims it.
        var g = graph([entry("a", ["b"], leaves: leaves), entry("b", [], leaves: leaves)]
            + leaves.map { leaf($0, ["b"]) })
        XCTAssertEqual(g.sizes, [4, 1])
        XCTAssertFalse(verdict(g, "b").isStale)
        XCTAssertFalse(verdict(g, "l1").isStale)
        XCTAssertTrue(verdict(g, "a").isStale)
        // l1 dies too: b drops it; 3 of 5 members are still more than half.
        g.merge(MemberEntry(name: "b", generation: 1, seq: 2, cluster: "c", host: "h", port: 1, master: true,
                            masters: [], leaves: ["l2", "l3"]))
        g.settle()
        XCTAssertFalse(verdict(g, "b").isStale)
        XCTAssertEqual(g.vouched(by: g.component["b"]!), ["b", "l2", "l3"])
    }

    /// Counting masters only, a 2|2 split of the masters left both sides
    /// stale, and the side with more daemons could not purge; counting
    /// members, the side with more daemons is the majority — and only it.
    func test_members_countOnce_leavesIncluded_neverTwoMajorities() {
        let g = graph([entry("a", ["b"], leaves: ["l1"]), entry("b", ["a"]), leaf("l1", ["a"]),
                       entry("c", ["d"]), entry("d", ["c"])])
        XCTAssertFalse(verdict(g, "a").isStale)
        XCTAssertFalse(verdict(g, "l1").isStale)
        XCTAssertTrue(verdict(g, "c").isStale)
        let even = graph([entry("a", ["b"]), entry("b", ["a"]), entry("c", ["d"]), entry("d", ["c"])])
        XCTAssertTrue(verdict(even, "a").isStale && verdict(even, "c").isStale, "2|2: neither side is more than half")
    }

    func test_withoutMasters_thereIsNoQuorum_andEveryDaemonIsFresh() {
        let g = graph([leaf("slot-a", [], leaves: ["slot-b"]), leaf("slot-b", [], leaves: [])])
        XCTAssertFalse(verdict(g, "slot-a").isStale)
        XCTAssertFalse(verdict(g, "slot-b").isStale)
    }

    func test_ownEntry_isPublishedOnlyAfterItsLinksChanged_andGossipedOnce() {
        var m = Membership()
        let config = NodeConfig(environment: "testing", cluster: "c", name: "a", master: true)
        XCTAssertTrue(m.publishOwnEntry(config: config, upPeers: [hello("b")]))
        XCTAssertFalse(m.publishOwnEntry(config: config, upPeers: [hello("b")]))
        XCTAssertEqual(m.graph.entries["a"]?.masters, ["b"])
        XCTAssertEqual(m.takeChanged().map(\.name), ["a"])
        XCTAssertTrue(m.takeChanged().isEmpty)
        XCTAssertTrue(m.merge(entry("b", ["a"])))
        XCTAssertTrue(m.needsVerdict)
        XCTAssertFalse(m.merge(entry("b", ["a"])), "an entry that is not newer changes nothing")
    }
}
