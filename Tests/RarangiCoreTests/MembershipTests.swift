@testable import RarangiCore
import RarangiWire
import XCTest

/// The masters' graph and the partition verdict on their own.
final class MembershipTests: XCTestCase {
    func entry(_ name: String, _ masters: [String], leaves: [String] = [], seq: UInt64 = 1) -> MemberEntry {
        MemberEntry(name: name, generation: 1, seq: seq, cluster: "c", host: "h", port: 1, master: true, masters: masters, leaves: leaves)
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

    /// A leaf's alive set looks only the names it needs up in the graph;
    /// it must say what the whole vouched set says of them, on random graphs
    /// with dead claims, one-sided claims and retirements.
    func test_vouchedAmongNames_agreesWithTheWholeVouchedSet() {
        var rng = SplitMix64(seed: 99)
        for round in 0..<200 {
            let names = (0..<12).map { "n\($0)" }
            var g = MemberGraph()
            for n in names {
                let claims = names.filter { $0 != n && rng.next() % 3 == 0 }.sorted()
                let masters = claims.filter { _ in rng.next() % 2 == 0 }
                let leaves = claims.filter { !masters.contains($0) }
                var e = MemberEntry(name: n, generation: 1, seq: 1, cluster: "c", host: "h", port: 1, master: rng.next() % 2 == 0,
                                    masters: masters, leaves: leaves)
                if rng.next() % 7 == 0 { e.retired = true; e.masters = []; e.leaves = [] }
                if rng.next() % 5 != 0 { g.merge(e) }
            }
            g.settle()
            let asked = (names + ["x", "n99"]).filter { _ in rng.next() % 2 == 0 }.sorted()
            for c in g.sizes.indices {
                XCTAssertEqual(g.vouched(by: c, among: asked), g.vouched(by: c).intersection(asked), "round \(round), component \(c)")
            }
        }
    }

    /// The graph keeps its members' indexes and claims between recomputes;
    /// after any sequence of merges it must find the same
    /// components as a graph built afresh from the entries it ends with.
    func test_componentsKeptBetweenRecomputes_equalAFreshGraphs() {
        var rng = SplitMix64(seed: 7)
        let names = (0..<10).map { "d\($0)" }
        var g = MemberGraph()
        var seq: [String: UInt64] = [:]
        for step in 0..<3000 {
            let n = names[Int(rng.next() % 10)]
            let claims = names.filter { $0 != n && rng.next() % 3 == 0 }.sorted()
            let masters = claims.filter { _ in rng.next() % 2 == 0 }
            seq[n, default: 0] += 1
            var e = MemberEntry(name: n, generation: 1, seq: seq[n]!, cluster: "c", host: "h", port: 1, master: rng.next() % 2 == 0,
                                masters: masters, leaves: claims.filter { !masters.contains($0) })
            if rng.next() % 25 == 0 { e.retired = true; e.masters = []; e.leaves = [] }
            g.merge(e)
            if rng.next() % 3 == 0 { g.settle() }
            if step % 50 == 0 {
                g.settle()
                var fresh = MemberGraph()
                for e in g.entries.values { fresh.merge(e) }
                fresh.settle()
                XCTAssertEqual(g.component, fresh.component, "step \(step)")
                XCTAssertEqual(g.sizes, fresh.sizes, "step \(step)")
            }
        }
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
        XCTAssertEqual(m.takeChanged().all.map(\.name), ["a"])
        XCTAssertTrue(m.takeChanged().all.isEmpty)
        XCTAssertTrue(m.merge(entry("b", ["a"])))
        XCTAssertTrue(m.needsVerdict)
        XCTAssertFalse(m.merge(entry("b", ["a"])), "an entry that is not newer changes nothing")
    }

    // MARK: retiring a daemon

    func retired(_ e: MemberEntry, seq: UInt64? = nil) -> MemberEntry {
        var r = e
        r.retired = true
        r.seq = seq ?? e.seq + 1
        r.masters = []
        r.leaves = []
        return r
    }

    func put(_ origin: String, gen: UInt64 = 1, _ id: String, v: UInt64) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: 0),
                    deltas: [Delta(service: "web", id: id, version: v, kind: .put, body: Array(#"{"a":1}"#.utf8))])
    }

    /// A daemon dead for good still counted in the denominator forever:
    /// losing three of five left everyone stale. Forgetting two of the dead
    /// ones leaves 2 alive of 3 members, a majority again.
    func test_retiredMembers_areNotCounted_soForgettingTheDeadRestoresAMajority() {
        var m = Membership()
        var effects: [Effect] = []
        let config = NodeConfig(environment: "testing", cluster: "c", name: "a", master: true)
        XCTAssertTrue(m.publishOwnEntry(config: config, upPeers: [hello("b")]))
        m.merge(entry("b", ["a"]))
        for dead in ["c", "d", "e"] { m.merge(entry(dead, ["a", "b"])) }
        m.decide(config: config, now: 1, effects: &effects)
        XCTAssertTrue(m.verdict.isStale, "2 of 5 is not more than half")
        _ = m.takeChanged()
        XCTAssertEqual(m.forget("zz", config: config, linked: ["b"]), .failure(.unknown))
        XCTAssertEqual(m.forget("a", config: config, linked: ["b"]), .failure(.alive), "this daemon itself")
        XCTAssertEqual(m.forget("b", config: config, linked: ["b"]), .failure(.alive), "linked to this daemon")
        XCTAssertEqual(m.forget("b", config: config, linked: []), .failure(.alive), "in this daemon's component")
        for dead in ["d", "e"] {
            guard case let .success(r) = m.forget(dead, config: config, linked: ["b"]) else { return XCTFail(dead) }
            XCTAssertTrue(r.retired)
            XCTAssertEqual(r.seq, 2, "the retirement follows the last entry heard")
            XCTAssertEqual(r.masters, [], "a retired daemon claims no link")
        }
        XCTAssertEqual(m.takeChanged().all.map(\.name), ["d", "e"], "retirements are flooded like any entry")
        m.decide(config: config, now: 2, effects: &effects)
        XCTAssertFalse(m.verdict.isStale, "2 alive of 3 members")
        XCTAssertEqual(m.graph.memberCount, 3)
        XCTAssertEqual(m.graph.masterCount, 3)
        XCTAssertEqual(m.graph.sizes, [2, 1])
        XCTAssertNil(m.graph.component["d"])
        XCTAssertEqual(m.graph.retiredNames, ["d", "e"])
        XCTAssertFalse(m.graph.vouched(by: 0).contains("d"), "d's claims on a and b vouch for nothing")
        XCTAssertEqual(m.forget("d", config: config, linked: []).map(\.seq), .success(2), "forgetting twice changes nothing")
    }

    func test_retiredEntry_beatsEveryEntryOfItsLife_andOnlyANewLifeReplacesIt() {
        var g = graph([entry("a", ["b"]), entry("b", ["a"])])
        let retiredB = retired(entry("b", ["a"]))
        XCTAssertTrue(g.merge(retiredB))
        var later = entry("b", ["a"])
        later.seq = 9
        XCTAssertFalse(g.merge(later), "a higher seq of the retired life does not bring it back")
        XCTAssertTrue(retiredB.isNewer(than: later))
        XCTAssertTrue(g.isRetired("b", generation: 1))
        var restarted = entry("b", ["a"])
        restarted.generation = 2
        XCTAssertFalse(g.isRetired("b", generation: 2))
        XCTAssertTrue(g.merge(restarted), "a new life replaces the retirement")
        g.settle()
        XCTAssertFalse(g.isRetired("b", generation: 1))
        XCTAssertEqual(g.sizes, [2])
        XCTAssertNotEqual(graph([entry("b", ["a"], seq: 2)]).hash, graph([retired(entry("b", ["a"]))]).hash,
                          "a retirement and an entry of the same seq differ in the members hash")
    }

    func test_learn_neverDialsARetiredMaster() {
        let config = NodeConfig(environment: "testing", cluster: "c", name: "a", master: true)
        var links = PeerLinks(peers: [], seed: 1)
        links.learn(from: graph([retired(entry("b", []))]), config: config, now: 0)
        XCTAssertTrue(links.isEmpty)
        links.learn(from: graph([entry("b", [])]), config: config, now: 0)
        XCTAssertFalse(links.isEmpty, "the same master not retired is dialled")
    }

    /// Three masters: m1 and m2 linked, m3 gone. Its records are m3's.
    func threeMasters(_ name: String, forgetAfterMs: Int64 = 60_000) -> Node {
        var node = Node(config: NodeConfig(environment: "testing", cluster: "c", name: name, master: true,
                                           originTimeoutMs: 5000, forgetAfterMs: forgetAfterMs))
        _ = node.registry.apply(put("m3", "i1", v: 10), now: 0)
        return node
    }

    func test_autoForget_afterForgetAfter_onlyByAMasterFreshForTwoRounds() {
        var scratch: [Effect] = []
        var fresh = threeMasters("m1")
        fresh.membership.merge(entry("m1", ["m2"])); fresh.membership.merge(entry("m2", ["m1"]))
        fresh.membership.merge(entry("m3", []))
        fresh.recomputePartition(now: Instant(ms: 0), effects: &scratch)
        XCTAssertFalse(fresh.isStale)
        fresh.forgetAbsent(now: Instant(ms: 59_999), effects: &scratch)
        XCTAssertFalse(fresh.graph.isRetired("m3", generation: 1))
        fresh.forgetAbsent(now: Instant(ms: 60_000), effects: &scratch)
        XCTAssertTrue(fresh.graph.isRetired("m3", generation: 1), "absent for --forget-after")
        XCTAssertEqual(fresh.catalogue.count, 0, "its records are purged at once")
        XCTAssertEqual(fresh.graph.memberCount, 2)

        // The minority side never forgets: m3 alone is stale.
        var stale = threeMasters("m3")
        stale.membership.merge(entry("m1", ["m2"])); stale.membership.merge(entry("m2", ["m1"]))
        stale.membership.merge(entry("m3", []))
        stale.recomputePartition(now: Instant(ms: 0), effects: &scratch)
        XCTAssertTrue(stale.isStale)
        stale.forgetAbsent(now: Instant(ms: 10_000_000), effects: &scratch)
        XCTAssertEqual(stale.graph.retiredNames, [])

        // A master that just turned fresh waits two rounds; a member back in
        // its component starts afresh.
        var healed = threeMasters("m1")
        healed.membership.merge(entry("m1", [])); healed.membership.merge(entry("m2", []))
        healed.membership.merge(entry("m3", []))
        healed.recomputePartition(now: Instant(ms: 0), effects: &scratch)
        XCTAssertTrue(healed.isStale)
        healed.membership.merge(entry("m1", ["m2"], seq: 2)); healed.membership.merge(entry("m2", ["m1"], seq: 2))
        healed.recomputePartition(now: Instant(ms: 100_000), effects: &scratch)
        XCTAssertTrue(healed.isCatchingUp, "a daemon that rejoins the majority catches up before it answers as current")
        healed.catchUp.end("in_sync", effects: &scratch)
        XCTAssertFalse(healed.isStale)
        healed.forgetAbsent(now: Instant(ms: 100_001), effects: &scratch)
        XCTAssertEqual(healed.graph.retiredNames, [], "fresh for less than two rounds")
        healed.forgetAbsent(now: Instant(ms: 102_000), effects: &scratch)
        XCTAssertEqual(healed.graph.retiredNames, ["m3"], "m3 was absent since 0; m2 came back")
    }

    /// What a daemon does when a peer floods a retirement: purge, keep out,
    /// refuse the life's hello; its own retirement is only reported.
    func test_learnedRetirement_purgesAtOnce_keepsTheLifeOut_andRefusesItsHello() {
        var node = Node(config: NodeConfig(environment: "testing", cluster: "c", name: "l1"))
        let m = LinkID(LinkID.inboundBit | 1)
        _ = node.handle(.peerConnected(m, host: ""), now: Instant(ms: 0))
        _ = node.handle(.peerMessage(m, .hello(hello("m1"))), now: Instant(ms: 0))
        _ = node.handle(.peerMessage(m, .records([put("gone", "i1", v: 10)])), now: Instant(ms: 1))
        XCTAssertEqual(node.catalogue.count, 1)
        _ = node.handle(.peerMessage(m, .members([entry("gone", [])])), now: Instant(ms: 2))
        let effects = node.handle(.peerMessage(m, .members([retired(entry("gone", []))])), now: Instant(ms: 3))
        XCTAssertEqual(node.catalogue.count, 0, "no majority is needed: the operator decided")
        XCTAssertTrue(effects.contains { if case let .log(l) = $0 { return l.event == "member_retired" }; return false })
        _ = node.handle(.peerMessage(m, .records([put("gone", "i2", v: 20)])), now: Instant(ms: 4))
        XCTAssertEqual(node.catalogue.count, 0, "the retired life is kept out")

        let g = LinkID(LinkID.inboundBit | 2)
        _ = node.handle(.peerConnected(g, host: ""), now: Instant(ms: 5))
        let refused = node.handle(.peerMessage(g, .hello(hello("gone"))), now: Instant(ms: 5))
        XCTAssertTrue(refused.contains { if case .closePeer(g) = $0 { return true }; return false })
        XCTAssertTrue(refused.contains { if case let .log(l) = $0 { return l.event == "peer_retired" }; return false })
        XCTAssertNil(node.links[g], "the inbound link is gone")
        var newLife = hello("gone")
        newLife.generation = 2
        let g2 = LinkID(LinkID.inboundBit | 3)
        _ = node.handle(.peerConnected(g2, host: ""), now: Instant(ms: 6))
        _ = node.handle(.peerMessage(g2, .hello(newLife)), now: Instant(ms: 6))
        XCTAssertEqual(node.links[g2]?.isUp, true, "a new life is welcome")

        // Its own retirement: reported once at error level, nothing else.
        let own = retired(entry("l1", []))
        let first = node.handle(.peerMessage(m, .members([own])), now: Instant(ms: 7))
        let second = node.handle(.peerMessage(m, .members([own])), now: Instant(ms: 8))
        let reports = (first + second).compactMap { e -> LogEvent? in if case let .log(l) = e, l.event == "retired" { return l }; return nil }
        XCTAssertEqual(reports.map(\.level), [.error])
        XCTAssertFalse(node.graph.isRetired("l1", generation: 1), "it does not fight the operator, nor take the retirement in")
        XCTAssertEqual(node.links[m]?.isUp, true)
    }
}
