@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// A leaf holds the masters' entries only and follows its masters' verdict
/// (rarangi-protocol(7), "Membership and the verdict"): what it holds,
/// that it turns stale with its masters and fresh again with them, at once
/// when its own master links go, and that no leaf can tell a master a verdict.
final class LeafVerdictTests: LeafClusterTestCase {
    /// 5 clusters of 2 masters and 4 leaves: 30 daemons, defaults' timings.
    let shape = ScaleRun.Shape(clusters: 5, leaves: 4)

    func started() -> (Simulation, SimTopology) { started(shape) }

    func testALeafHoldsOnlyTheMastersEntries_aMasterHoldsAll_andEveryLeafShowsItsMastersCounts() {
        let (sim, topo) = started()
        let masters = Set(topo.daemons.filter(\.master).map(\.name))
        for (i, d) in topo.daemons.enumerated() {
            let n = node(sim, i)
            XCTAssertFalse(n.isStale, "\(d.name) is stale on a healthy network")
            let held = Set(n.graph.entries.keys)
            if d.master {
                XCTAssertEqual(held.count, shape.daemons, "master \(d.name) holds every entry")
            } else {
                XCTAssertEqual(held, masters.union([d.name]), "leaf \(d.name) holds the masters' entries and its own")
            }
            let p = n.statusSnapshot.partition
            XCTAssertEqual(p.knownMembers, shape.daemons, "\(d.name)'s known_members")
            XCTAssertEqual(p.largest, shape.daemons, "\(d.name)'s largest component")
            XCTAssertEqual(p.mine, shape.daemons, "\(d.name)'s own component")
            XCTAssertEqual(p.knownMasters, masters.count, "\(d.name)'s known_masters")
        }
    }

    /// A minority cluster cut off: its masters turn stale, and its leaves
    /// within a few milliseconds of them (told at once, not at the next
    /// round); the rest stays fresh. Healed, all are fresh again.
    func testLeavesTurnStaleWithTheirMasters_withinMilliseconds_andFreshAgainAfterTheHeal() {
        let (sim, topo) = started()
        let cut = topo.members(of: 0)
        sim.partition { cut.contains($0) ? 1 : 0 }
        var mastersStaleAt: Int64?, leavesStaleAt: Int64?
        let start = sim.now
        while sim.now - start < 20_000, leavesStaleAt == nil || mastersStaleAt == nil {
            sim.run(for: 1)
            if mastersStaleAt == nil, cut.filter({ topo.daemons[$0].master }).allSatisfy({ sim.isStale($0) }) { mastersStaleAt = sim.now }
            if leavesStaleAt == nil, cut.filter({ !topo.daemons[$0].master }).allSatisfy({ sim.isStale($0) }) { leavesStaleAt = sim.now }
        }
        guard let m = mastersStaleAt, let l = leavesStaleAt else { return XCTFail("the cut-off cluster never turned stale") }
        XCTAssertLessThanOrEqual(l - m, 5, "the leaves follow their masters within a few hops' time")
        for i in topo.daemons.indices where !cut.contains(i) { XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) on the majority side") }
        sim.run(for: 10_000)
        XCTAssertEqual(node(sim, cut.first { !topo.daemons[$0].master }!).statusSnapshot.partition.mine, cut.count,
                       "a stale leaf shows its master's own component")
        sim.heal()
        sim.run(for: 15_000)
        for i in topo.daemons.indices { XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the heal") }
    }

    /// A leaf whose two master links are cut is stale at once: no master
    /// vouches for it any more. The masters stay fresh (one leaf is a minority).
    func testALeafCutFromBothMasters_isStaleAtOnce() {
        let (sim, topo) = started()
        let leaf = topo.members(of: 2).first { !topo.daemons[$0].master }!
        let masters = topo.members(of: 2).filter { topo.daemons[$0].master }
        for m in masters { sim.cut(leaf, m) }
        let limit = node(sim, leaf).config.linkTimeoutMs + node(sim, leaf).config.gossipIntervalMs
        sim.run(for: limit)
        XCTAssertTrue(sim.isStale(leaf), "no fresh master linked")
        for m in masters { XCTAssertFalse(sim.isStale(m)) }
        for m in masters { sim.cut(leaf, m, false) }
        sim.run(for: 15_000)
        XCTAssertFalse(sim.isStale(leaf), "linked again")
    }

    /// Only a master tells a verdict: a peer that said it is a leaf and
    /// sends one to a master is cut, and the master's verdict is unchanged.
    func testAVerdictFromALeaf_isRefusedAndItsLinkCut() {
        let (sim, _) = started()
        let master = 0
        let hello = PeerCodec.encode(.hello(PeerHello(environment: "testing", cluster: "c0", name: "liar", generation: 1,
                                                      master: false, host: "", port: 0)))
        let lie = PeerCodec.encode(.verdict(MemberVerdict(stale: true, members: 1, components: 1, largest: 1, mine: 1)))
        sim.craft(into: master, frames: [hello, lie])
        sim.run(for: 1000)
        XCTAssertTrue(sim.warnings.contains { $0.0 == master && $0.1.event == "peer_invalid" && $0.1.fields.contains { $0.1.contains("verdict") } },
                      "the lie is logged")
        XCTAssertFalse(sim.isStale(master))
    }

    /// A master restarted while its twin is down and its cluster is cut off
    /// hears only its own leaves, which hold only the masters' entries: it
    /// must still count every daemon those entries claim, stay stale, and
    /// purge nothing — for three origin timeouts. Healed, it turns fresh and
    /// nothing was lost anywhere.
    /// Three clusters of two masters and eight leaves: a cluster's leaves
    /// outnumber all the masters.
    func testARestartedMaster_whoseTwinIsDown_hearingOnlyItsLeaves_staysStaleAndPurgesNothing() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 8))
        registerAtEveryLeaf(sim, topo)
        sim.run(for: 5_000)
        let everyone = Set(topo.leaves.map { sim.name($0) })
        for i in topo.daemons.indices { XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) before the cut") }
        let cut = topo.members(of: 2)
        let masters = cut.filter { topo.daemons[$0].master }, leaves = cut.filter { !topo.daemons[$0].master }
        sim.partition { cut.contains($0) ? 1 : 0 }
        sim.crash(masters[1])
        sim.crash(masters[0])
        sim.run(for: 2_000)
        sim.start(masters[0])
        let restarted = masters[0], start = sim.now
        let timeout = node(sim, restarted).config.originTimeoutMs
        var freshAfterStart: [Int64] = []
        while sim.now - start < 3 * timeout {
            sim.run(for: 100)
            if sim.now - start >= 1_000, !sim.isStale(restarted) { freshAfterStart.append(sim.now - start) }
        }
        XCTAssertEqual(freshAfterStart, [], "the restarted master is a minority of every daemon the masters' entries claim")
        XCTAssertGreaterThan(node(sim, restarted).statusSnapshot.partition.knownMembers, cut.count,
                             "it counts the daemons it holds no entry of")
        for i in leaves + [restarted] {
            XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) purged nothing while cut off")
        }
        sim.heal()
        sim.start(masters[1])
        sim.run(for: 20_000)
        for i in topo.daemons.indices {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the heal")
            XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) after the heal")
        }
    }

    /// A master restarted as a leaf (an operator demoted it): its old master
    /// entry leaves every leaf's view — also that of a leaf cut off from its
    /// masters while it happened — and once settled no members frame
    /// crosses any link in ten idle seconds.
    func testAMasterBackAsALeaf_leavesEveryLeafsView_evenOfALeafAwayMeanwhile() {
        let (sim, topo) = started()
        let demoted = topo.members(of: 3).filter { topo.daemons[$0].master }[1]
        let twin = topo.members(of: 3).filter { topo.daemons[$0].master }[0]
        let away = topo.members(of: 0).first { !topo.daemons[$0].master }!
        let awayMasters = topo.members(of: 0).filter { topo.daemons[$0].master }
        for m in awayMasters { sim.cut(away, m) }
        sim.run(for: node(sim, away).config.linkTimeoutMs + 2 * node(sim, away).config.gossipIntervalMs)
        XCTAssertTrue(sim.isStale(away), "cut from its masters")
        sim.crash(demoted)
        let twinName = sim.name(twin)
        sim.reconfigure(demoted) {
            $0.master = false
            $0.peers = [NodeConfig.Peer(host: twinName, port: 1)]
        }
        sim.start(demoted)
        sim.run(for: 10_000)
        for m in awayMasters { sim.cut(away, m, false) }
        sim.run(for: 15_000)
        let masters = Set(topo.masters.filter { $0 != demoted }.map { sim.name($0) })
        for i in topo.daemons.indices {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) settled")
            // Every daemon holds the new life's entry (a leaf in place of the
            // master entry it held), and a leaf's view is the masters' entries.
            XCTAssertEqual(node(sim, i).graph.entries[sim.name(demoted)]?.master, false, "\(sim.name(i)) holds the new life's entry")
            if !topo.daemons[i].master || i == demoted {
                XCTAssertEqual(Set(node(sim, i).graph.leafView.map(\.name)), masters, "\(sim.name(i))'s view")
            }
        }
        assertViewsAgree(sim, topo, "settled")
        let before = sim.traffic
        sim.run(for: 10_000)
        for kind in ["members"] {
            XCTAssertEqual(sim.traffic[kind]?.count ?? 0, before[kind]?.count ?? 0, "\(kind) frames sent while idle")
        }
    }

    /// Two leaves linked to each other besides their master each hold the
    /// other's entry too (it may reach its side of a split only through the
    /// other): they compare the view, agree, and send each other no members
    /// frame while idle.
    func testTwoLinkedLeaves_agreeOnTheView_andExchangeNoEntriesWhenIdle() {
        let sim = SmallClusters.simulation(seed: 3)
        let m = sim.add(SmallClusters.config("m", master: true, peers: []))
        let a = sim.add(SmallClusters.config("a", master: false, peers: ["m"]))
        let b = sim.add(SmallClusters.config("b", master: false, peers: ["m", "a"]))
        sim.run(for: 10_000)
        XCTAssertEqual(Set(node(sim, a).graph.entries.keys), ["m", "a", "b"])
        XCTAssertEqual(Set(node(sim, b).graph.entries.keys), ["m", "a", "b"])
        XCTAssertEqual(node(sim, a).graph.leafView.map(\.name), ["m"])
        XCTAssertEqual(node(sim, m).graph.memberCount, 3)
        let before = sim.traffic
        sim.run(for: 10_000)
        for kind in ["members", "digest-full"] {
            XCTAssertEqual(sim.traffic[kind]?.count ?? 0, before[kind]?.count ?? 0, "\(kind) frames sent while idle")
        }
        for i in [m, a, b] { XCTAssertFalse(sim.isStale(i)) }
    }
}
