@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// Attacks on "Leaves follow their masters' verdict" (49e2f92): scenarios
/// where a leaf that holds only the masters' entries, follows the verdict
/// its masters send it and drops what a master's leaf view lacks, could
/// break the safety rules of rarangi-protocol(7): two sides never both
/// fresh, a minority purges nothing live, a healed daemon turns fresh, no
/// endless membership traffic when idle, no ghosts on the majority side.
final class LeafAttackTests: LeafClusterTestCase {
    // MARK: attack 1: a master crashing again within a round of its restart, cut off

    /// Cluster 0 (its two masters and its one leaf: 3 of 9 daemons) is cut
    /// off and both its masters crash. m0a starts again; its first link is
    /// to its leaf, to which it sends the leaf view it holds — its own entry
    /// alone — and the leaf drops every other master's entry. m0a learned
    /// them from the leaf, but crashes again before its first round tells
    /// the leaf them back. Then both masters start: the only daemon on
    /// their side that knew of the other clusters has forgotten them.
    /// The cut-off side must stay stale and purge nothing.
    func testAMasterCrashingAgainBeforeItsFirstRound_whileCutOff_staysStaleAndPurgesNothing() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 1))
        registerAtEveryLeaf(sim, topo)
        sim.run(for: 5_000)
        let everyone = Set(topo.leaves.map { sim.name($0) })
        for i in topo.daemons.indices { XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) before the cut") }
        let cut = topo.members(of: 0)
        let ms = masters(topo, of: 0), leaf = leaves(topo, of: 0)[0]
        sim.partition { cut.contains($0) ? 1 : 0 }
        sim.crash(ms[1])
        sim.crash(ms[0])
        sim.run(for: 2_000)
        XCTAssertEqual(node(sim, leaf).graph.entries.count, 7, "the leaf holds the six masters' entries and its own")
        sim.start(ms[0])
        let m0a = sim.name(ms[0])
        XCTAssertTrue(runUntil(sim, boundMs: 10_000) { linked(sim, leaf, to: m0a) }, "the leaf links to the restarted master")
        let upAt = sim.now
        sim.run(for: 5)
        // A crash loop: it goes down again a few milliseconds after the link came up.
        sim.crash(ms[0])
        XCTAssertLessThan(sim.now - upAt, node(sim, leaf).config.gossipIntervalMs, "within a round")
        sim.run(for: 500)
        let heldAfter = node(sim, leaf).graph.entries.count
        sim.start(ms[0])
        sim.start(ms[1])
        let start = sim.now, timeout = node(sim, leaf).config.originTimeoutMs
        // Counted from when the leaf links to both restarted masters: before,
        // a new life that has not heard the leaf knows only its twin's new
        // life (both masters restarted at once: a window of its own).
        XCTAssertTrue(runUntil(sim, boundMs: 10_000) { ms.allSatisfy { linked(sim, leaf, to: sim.name($0)) } }, "the leaf links again")
        sim.run(for: 10)
        var fresh: [String: Int64] = [:]
        while sim.now - start < 3 * timeout {
            sim.run(for: 100)
            for i in cut where sim.isUp(i) && !sim.isStale(i) && fresh[sim.name(i)] == nil { fresh[sim.name(i)] = sim.now - start }
        }
        XCTAssertEqual(fresh, [:], "a daemon of the cut-off third is fresh (the leaf held \(heldAfter) entries after the crash loop)")
        for i in cut { XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) purged live records while cut off") }
        for i in topo.daemons.indices where !cut.contains(i) { XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) on the majority side") }
        sim.heal()
        sim.run(for: 20_000)
        for i in topo.daemons.indices {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the heal")
            XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) after the heal")
        }
    }

    // MARK: attack 2: a master that reaches the others only through its leaves, and a master demoted

    /// m0b's links to every other master are cut (a firewall on the masters'
    /// network), its leaf links work: it hears the masters' entries through
    /// its leaves and stays fresh. Then m1b is restarted as a leaf. Its new
    /// entry is no master's: the masters that hear it tell their leaves, and
    /// the leaves drop the old master entry — but relay nothing, so m0b keeps
    /// m1b's old master entry in its leaf view, and m0a does not. The leaves
    /// of cluster 0, linked to both, must not be sent the two views in turn
    /// for ever: once settled no membership frame crosses any link.
    func testAMasterCutFromTheMasters_andAMasterDemoted_noEndlessLeafViews() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 2))
        let m0b = masters(topo, of: 0)[1]
        for m in topo.masters where m != m0b { sim.cut(m0b, m) }
        sim.run(for: 15_000)
        for i in topo.daemons.indices { XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) with m0b's master links cut") }
        assertViewsAgree(sim, topo, "before the demotion")
        assertNoMembershipTraffic(sim, forMs: 10_000, "before the demotion (the cut alone)")
        let demoted = masters(topo, of: 1)[1], twin = masters(topo, of: 1)[0]
        let twinName = sim.name(twin)
        sim.crash(demoted)
        sim.reconfigure(demoted) {
            $0.master = false
            $0.peers = [NodeConfig.Peer(host: twinName, port: 1)]
        }
        sim.start(demoted)
        sim.run(for: 20_000)
        for i in topo.daemons.indices { XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the demotion") }
        XCTAssertEqual(node(sim, m0b).graph.entries[sim.name(demoted)]?.master, false,
                       "m0b holds the demoted daemon's new life (it holds: master=\(String(describing: node(sim, m0b).graph.entries[sim.name(demoted)]?.master)))")
        assertViewsAgree(sim, topo, "after the demotion")
        assertNoMembershipTraffic(sim, forMs: 10_000, "after the demotion")
        sim.run(for: 120_000)
        assertNoMembershipTraffic(sim, forMs: 10_000, "two minutes later")
    }

    // MARK: attack 4: a leaf away while a daemon dies (ghosts)

    /// A leaf of cluster 0 is cut from both its masters (stale, it buries
    /// nothing); meanwhile a leaf of cluster 1 dies for good and the
    /// majority's masters bury it. The away leaf comes back: it must drop
    /// the dead leaf's record (no ghost), and the dead one's record must be
    /// gone everywhere; no membership traffic once settled.
    func testALeafAwayWhileADaemonDies_dropsItsRecordOnReturn() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 3))
        registerAtEveryLeaf(sim, topo)
        sim.run(for: 5_000)
        let away = leaves(topo, of: 0)[0], dead = leaves(topo, of: 1)[0]
        for m in masters(topo, of: 0) { sim.cut(away, m) }
        sim.run(for: 6_000)
        XCTAssertTrue(sim.isStale(away), "cut from its masters")
        sim.crash(dead)
        let timeout = node(sim, away).config.originTimeoutMs
        sim.run(for: 2 * timeout)
        let alive = Set(topo.leaves.filter { $0 != dead }.map { sim.name($0) })
        // The away leaf, alone and cut off that long, is dead to the majority too (its record comes back with it).
        let majority = alive.subtracting([sim.name(away)])
        for i in topo.daemons.indices where i != dead && i != away { XCTAssertEqual(served(sim, i), majority, "\(sim.name(i)) buried the dead leaf") }
        XCTAssertTrue(served(sim, away).contains(sim.name(dead)), "the away leaf, stale, purged nothing")
        for m in masters(topo, of: 0) { sim.cut(away, m, false) }
        sim.run(for: 20_000)
        for i in topo.daemons.indices where i != dead {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) settled")
            XCTAssertEqual(served(sim, i), alive, "\(sim.name(i)) after the away leaf came back")
        }
        assertViewsAgree(sim, topo, "settled")
        assertNoMembershipTraffic(sim, forMs: 10_000, "settled")
    }

    // MARK: attack 5: a leaf flapping between its two masters during a partition

    /// Cluster 0 is cut off; inside it, one leaf's links to its two masters
    /// flap in turn (one cut, the other restored, every 700 ms) for three
    /// origin timeouts. The leaf must stay stale throughout (never fresh by
    /// a verdict kept from a link), nothing is purged on the cut-off side,
    /// and once healed every daemon is fresh, serves everything, and the
    /// membership traffic stops.
    func testALeafFlappingBetweenItsMasters_duringAPartition_staysStale() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 3))
        registerAtEveryLeaf(sim, topo)
        sim.run(for: 5_000)
        let everyone = Set(topo.leaves.map { sim.name($0) })
        let cut = topo.members(of: 0), ms = masters(topo, of: 0), flapper = leaves(topo, of: 0)[0]
        sim.partition { cut.contains($0) ? 1 : 0 }
        sim.run(for: 6_000)
        for i in cut { XCTAssertTrue(sim.isStale(i), "\(sim.name(i)) cut off") }
        let start = sim.now, timeout = node(sim, flapper).config.originTimeoutMs
        var fresh: [String: Int] = [:]
        var k = 0
        while sim.now - start < 3 * timeout {
            sim.cut(flapper, ms[k % 2])
            sim.cut(flapper, ms[(k + 1) % 2], false)
            k += 1
            for _ in 0..<70 {
                sim.run(for: 10)
                for i in cut where !sim.isStale(i) { fresh[sim.name(i), default: 0] += 1 }
            }
        }
        sim.cut(flapper, ms[0], false)
        sim.cut(flapper, ms[1], false)
        XCTAssertEqual(fresh, [:], "cut-off daemons fresh (samples of 10 ms)")
        for i in cut { XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) purged nothing while cut off") }
        sim.heal()
        sim.run(for: 20_000)
        for i in topo.daemons.indices {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the heal")
            XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) after the heal")
        }
        assertViewsAgree(sim, topo, "after the heal")
        assertNoMembershipTraffic(sim, forMs: 10_000, "after the heal")
    }

    // MARK: attack 6: a master restarted cut off, twin down, its clock an hour behind

    /// As in LeafVerdictTests' restarted master, but its clock is an hour
    /// behind: its new life's generation is below the one its leaves hold
    /// (a master entry they keep in their view). It must raise its
    /// generation, stay stale and purge nothing while cut off; healed, all
    /// are fresh, agree on the views and go quiet.
    func testARestartedMaster_clockAnHourBehind_twinDown_cutOff_staysStale() {
        let (sim, topo) = started(ScaleRun.Shape(clusters: 3, leaves: 8))
        registerAtEveryLeaf(sim, topo)
        sim.run(for: 5_000)
        let everyone = Set(topo.leaves.map { sim.name($0) })
        let cut = topo.members(of: 2), ms = masters(topo, of: 2)
        sim.partition { cut.contains($0) ? 1 : 0 }
        sim.crash(ms[1])
        sim.crash(ms[0])
        sim.run(for: 2_000)
        sim.start(ms[0], skewMs: -3_600_000)
        let start = sim.now, timeout = node(sim, ms[0]).config.originTimeoutMs
        var fresh: [String: Int64] = [:]
        while sim.now - start < 3 * timeout {
            sim.run(for: 100)
            guard sim.now - start >= 1_000 else { continue }
            for i in cut where sim.isUp(i) && !sim.isStale(i) && fresh[sim.name(i)] == nil { fresh[sim.name(i)] = sim.now - start }
        }
        XCTAssertEqual(fresh, [:], "cut-off daemons fresh (first ms after the restart)")
        for i in cut where sim.isUp(i) { XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) purged nothing while cut off") }
        sim.heal()
        sim.start(ms[1])
        sim.run(for: 20_000)
        for i in topo.daemons.indices {
            XCTAssertFalse(sim.isStale(i), "\(sim.name(i)) after the heal")
            XCTAssertEqual(served(sim, i), everyone, "\(sim.name(i)) after the heal")
        }
        assertViewsAgree(sim, topo, "after the heal")
        assertNoMembershipTraffic(sim, forMs: 10_000, "after the heal")
    }
}
