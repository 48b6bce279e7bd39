@testable import RarangiCore
import RarangiProtocol
import RarangiWire
import XCTest

/// The replication core with integer instants: merge, ordering under clock
/// skew, restart with empty state, tombstones, back-off, partitions.
final class ReplicationCoreTests: XCTestCase {
    func key(_ id: String) -> RecordKey { RecordKey(service: "web", id: id) }

    func put(_ origin: String, gen: UInt64 = 1, prev: UInt64 = 0, _ id: String, v: UInt64, body: String = #"{"a":1}"#) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: prev),
                    deltas: [Delta(service: "web", id: id, version: v, kind: .put, body: Array(body.utf8))])
    }

    func delta(_ origin: String, gen: UInt64 = 1, prev: UInt64, _ id: String, v: UInt64, _ kind: DeltaKind) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: prev),
                    deltas: [Delta(service: "web", id: id, version: v, kind: kind, body: [])])
    }

    func body(_ r: Replica, _ id: String) -> String? {
        r.view.instance(service: "web", id: id).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: merge

    func testMerge_newestRecordOverOriginsIsVisible_andOlderWritesAreIgnored() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        XCTAssertTrue(r.apply(put("a", "i1", v: 10, body: #"{"from":"a"}"#), now: 0, clock: &clock))
        XCTAssertTrue(r.apply(put("b", "i1", v: 20, body: #"{"from":"b"}"#), now: 0, clock: &clock))
        XCTAssertEqual(body(r, "i1"), #"{"from":"b"}"#)
        // An older write of origin b changes nothing (last writer wins within an origin).
        XCTAssertFalse(r.apply(put("b", prev: 10, "i1", v: 15, body: #"{"old":1}"#), now: 0, clock: &clock))
        XCTAssertEqual(body(r, "i1"), #"{"from":"b"}"#)
        XCTAssertGreaterThanOrEqual(clock.last, 20, "the clock moves past versions seen")
    }

    func testOriginRemoval_removesOnlyThatOriginsRecord_neverAnotherOriginsLiveRegistration() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        r.apply(put("a", "i1", v: 10, body: #"{"from":"a"}"#), now: 0, clock: &clock)
        r.apply(put("b", "i1", v: 20, body: #"{"from":"b"}"#), now: 0, clock: &clock)
        // b's session closes / registration expires at b.
        r.apply(delta("b", prev: 20, "i1", v: 30, .remove), now: 0, clock: &clock)
        XCTAssertEqual(body(r, "i1"), #"{"from":"a"}"#, "a's live registration still shows")
        r.apply(delta("a", prev: 10, "i1", v: 31, .remove), now: 0, clock: &clock)
        XCTAssertNil(body(r, "i1"))
    }

    func testExplicitDelete_hidesExactlyTheRecordsTheDeleterSaw_untilANewerRegistration() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        r.apply(put("a", "i1", v: 10), now: 0, clock: &clock)
        r.apply(put("b", "i1", v: 20), now: 0, clock: &clock)
        // c saw a's version 10 and b's version 20 when it was DELETEd there.
        r.apply(kill("c", prev: 0, "i1", v: 25, causes: [("a", 10), ("b", 20)]), now: 0, clock: &clock)
        XCTAssertNil(body(r, "i1"))
        // A late-arriving older record of a named origin stays hidden.
        r.apply(put("b", prev: 0, "i1", v: 15), now: 0, clock: &clock)
        XCTAssertNil(body(r, "i1"))
        // A newer registration at a named origin shows again.
        r.apply(put("a", prev: 10, "i1", v: 40, body: #"{"back":1}"#), now: 0, clock: &clock)
        XCTAssertEqual(body(r, "i1"), #"{"back":1}"#)
    }

    func kill(_ origin: String, gen: UInt64 = 1, prev: UInt64, _ id: String, v: UInt64, causes: [(String, UInt64)]) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: prev),
                    deltas: [Delta(service: "web", id: id, version: v, kind: .kill, body: [],
                                   causes: causes.map { DeltaCause(name: $0.0, generation: 1, version: $0.1) })])
    }

    func testOrdering_survivesASkewedClock_withinAnOrigin() {
        // An origin whose wall clock stepped back an hour still orders its own writes.
        var node = Node(config: NodeConfig(environment: "testing", name: "n"))
        let t0 = Instant(ms: 0, wallMs: 10_000_000)
        _ = node.handle(.request(ConnectionID(1), .register(service: "web", id: "i", body: Array(#"{"v":1}"#.utf8), ttlSeconds: nil)), now: t0)
        let v1 = node.replica.local.watermark
        let back = Instant(ms: 10, wallMs: 10_000_000 - 3_600_000)
        _ = node.handle(.request(ConnectionID(1), .register(service: "web", id: "i", body: Array(#"{"v":2}"#.utf8), ttlSeconds: nil)), now: back)
        XCTAssertGreaterThan(node.replica.local.watermark, v1)
        XCTAssertEqual(node.catalogue.instance(service: "web", id: "i").map { String(decoding: $0, as: UTF8.self) }, #"{"v":2}"#)
    }

    func testRestartWithEmptyState_newGenerationIsNotIgnored_andSupersedesTheOldLife() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        // Old life wrote with large versions (its clock ran ahead).
        r.apply(put("a", gen: 100, "old", v: 9_000_000), now: 0, clock: &clock)
        // New life restarts with small versions.
        XCTAssertTrue(r.apply(put("a", gen: 200, "new", v: 5), now: 0, clock: &clock))
        XCTAssertNotNil(body(r, "new"))
        XCTAssertNil(body(r, "old"), "records of the old life are purged")
        // The old life's late writes are ignored.
        XCTAssertFalse(r.apply(put("a", gen: 100, prev: 9_000_000, "late", v: 9_000_001), now: 0, clock: &clock))
        XCTAssertNil(body(r, "late"))
    }

    func testWatermark_waitsForAGap_andChasesWhenItFills() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        r.apply(put("a", prev: 0, "i1", v: 10), now: 0, clock: &clock)
        r.apply(put("a", prev: 20, "i3", v: 30), now: 0, clock: &clock)  // arrived ahead of v20
        XCTAssertEqual(r.digest.first { $0.name == "a" }?.version, 10)
        r.apply(put("a", prev: 10, "i2", v: 20), now: 0, clock: &clock)
        XCTAssertEqual(r.digest.first { $0.name == "a" }?.version, 30)
    }

    func testSync_fromBelowTheTombstoneFloor_isAFullSnapshotThatResets() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        r.apply(put("a", "i1", v: 10), now: 0, clock: &clock)
        r.apply(put("a", prev: 10, "i2", v: 20), now: 0, clock: &clock)
        r.apply(delta("a", prev: 20, "i1", v: 30, .remove), now: 0, clock: &clock)
        XCTAssertEqual(r.tombstoneCount, 1)
        XCTAssertEqual(r.collectTombstones(now: 100, ttl: 1000), 0, "young tombstones stay")
        XCTAssertEqual(r.collectTombstones(now: 5000, ttl: 1000), 1)
        XCTAssertEqual(r.tombstoneCount, 0)
        let batches = r.sync("a", generation: 1, since: 15)
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(batches[0].mode, .sync(since: 0, upTo: 30, reset: true))
        // A lagging replica that still holds i1 applies the snapshot and loses the ghost.
        var lagging = Replica(name: "lag", generation: 1)
        lagging.apply(put("a", "i1", v: 10), now: 0, clock: &clock)
        lagging.apply(batches[0], now: 0, clock: &clock)
        XCTAssertNil(lagging.view.instance(service: "web", id: "i1"))
        XCTAssertNotNil(lagging.view.instance(service: "web", id: "i2"))
        XCTAssertEqual(lagging.digest.first { $0.name == "a" }?.version, 30)
    }

    func testSync_afterFloor_sendsOnlyNewerDeltas() {
        var r = Replica(name: "me", generation: 1)
        var clock = HybridClock()
        r.apply(put("a", "i1", v: 10), now: 0, clock: &clock)
        r.apply(put("a", prev: 10, "i2", v: 20), now: 0, clock: &clock)
        let b = r.sync("a", generation: 1, since: 10)
        XCTAssertEqual(b[0].deltas.map(\.id), ["i2"])
        XCTAssertEqual(b[0].mode, .sync(since: 10, upTo: 20, reset: false))
    }

    // MARK: back-off

    func testBackoff_firstRetryWithinOneToTwoSeconds_doublingToFiveMinutes() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<100 {
            let d0 = Backoff.delay(attempt: 0, random: rng.next())
            XCTAssertTrue((1000..<2000).contains(d0), "\(d0)")
            let d3 = Backoff.delay(attempt: 3, random: rng.next())
            XCTAssertTrue((8000..<16000).contains(d3), "\(d3)")
            XCTAssertLessThanOrEqual(Backoff.delay(attempt: 40, random: rng.next()), 300_000)
            XCTAssertGreaterThanOrEqual(Backoff.delay(attempt: 40, random: rng.next()), 300_000)
        }
    }

    func testLink_retriesWithBackoff_andResetsOnceHealthy() {
        var node = Node(config: NodeConfig(environment: "testing", name: "n", peers: [.init(host: "h", port: 1)]), seed: 1)
        var effects = node.handle(.deadline, now: Instant(ms: 0))
        guard case let .connect(id, host, port)? = effects.first(where: { if case .connect = $0 { return true }; return false }) else {
            return XCTFail("no connect: \(effects)")
        }
        XCTAssertEqual(host, "h"); XCTAssertEqual(port, 1)
        func retryAt() -> Int64 {
            if case let .waiting(until)? = node.links[id]?.state { return until }
            XCTFail("not waiting: \(String(describing: node.links[id]?.state))")
            return 0
        }
        effects = node.handle(.peerClosed(id), now: Instant(ms: 10))
        let retry1 = retryAt()
        XCTAssertTrue((1010..<2010).contains(retry1), "first retry within 1–2 s: \(retry1)")
        _ = node.handle(.deadline, now: Instant(ms: retry1))
        _ = node.handle(.peerClosed(id), now: Instant(ms: retry1 + 10))
        let retry2 = retryAt() - (retry1 + 10)
        XCTAssertTrue((2000..<4000).contains(retry2), "second retry doubles: \(retry2)")
        // Healthy again: connect, hello, then a break retries within 1–2 s.
        _ = node.handle(.deadline, now: Instant(ms: retry1 + 10 + retry2))
        let t = retry1 + 10 + retry2 + 5
        _ = node.handle(.peerConnected(id, host: "h"), now: Instant(ms: t))
        _ = node.handle(.peerMessage(id, .hello(PeerHello(environment: "testing", cluster: "default", name: "p", generation: 1, master: true, host: "h", port: 1))), now: Instant(ms: t))
        XCTAssertEqual(node.links[id]?.state, .up)
        _ = node.handle(.peerClosed(id), now: Instant(ms: t + 100))
        let retry3 = retryAt() - (t + 100)
        XCTAssertTrue((1000..<2000).contains(retry3), "back-off reset: \(retry3)")
    }

    func testHello_ofAnotherEnvironment_isRefusedAndLogged_andNothingIsSent() {
        var node = Node(config: NodeConfig(environment: "production", name: "n"))
        let id = LinkID(LinkID.inboundBit | 1)
        let first = node.handle(.peerConnected(id, host: "x"), now: Instant(ms: 0))
        XCTAssertEqual(first.filter { if case .sendPeer = $0 { return true }; return false }.count, 1, "only our hello")
        let effects = node.handle(.peerMessage(id, .hello(PeerHello(environment: "staging", cluster: "c", name: "p", generation: 1, master: false, host: "", port: 0))), now: Instant(ms: 1))
        XCTAssertTrue(effects.contains { if case .closePeer(id) = $0 { return true }; return false })
        XCTAssertFalse(effects.contains { if case .sendPeer = $0 { return true }; return false })
        let log = effects.compactMap { if case let .log(e) = $0 { return e }; return nil }.first { $0.event == "peer_refused" }
        XCTAssertNotNil(log)
        XCTAssertTrue(log!.line.contains("environment=production") && log!.line.contains("peer_environment=staging"))
    }

    // MARK: partitions

    func entry(_ name: String, _ masters: [String], seq: UInt64 = 1, leaves: [String] = []) -> MemberEntry {
        MemberEntry(name: name, generation: 1, seq: seq, cluster: "c", host: "h", port: 1, master: true, masters: masters, leaves: leaves)
    }

    func testGraph_componentsUseMutualEdges_andTiesGoToTheSmallestName() {
        var g = MemberGraph()
        g.merge(entry("a", ["b"])); g.merge(entry("b", ["a"]))
        g.merge(entry("c", ["d", "a"])); g.merge(entry("d", ["c"]))
        g.settle()
        // c claims a, but a does not claim c: no edge. Two components of two.
        XCTAssertEqual(g.sizes, [2, 2])
        XCTAssertTrue(g.component["a"] == 0 && g.component["b"] == 0)
        XCTAssertNotEqual(g.component["c"], 0)
        XCTAssertEqual(g.vouched(by: 0), ["a", "b"])
        g.merge(entry("a", ["b", "c"], seq: 2)); g.settle()
        XCTAssertEqual(g.sizes, [4])
    }

    func testGraph_deadMastersLastClaimsDoNotHoldTheMajority() {
        var g = MemberGraph()
        g.merge(entry("a", ["b", "c"], seq: 2)); g.merge(entry("b", ["a", "c"], seq: 2))
        g.merge(entry("c", ["a", "b"], leaves: ["l1"]))
        g.merge(entry("d", ["a", "b", "c"]))  // dead, its old claims unreturned
        g.settle()
        XCTAssertEqual(g.sizes, [3, 1])
        XCTAssertTrue(g.vouched(by: 0).contains("l1"))
    }

    func testMajoritySide_purgesAnUnreachableOrigin_afterTheTimeout_butAStaleSideKeepsIt() {
        // A 3|2 split of five masters: {m1, m2, m5} is more than half.
        func split(_ node: inout Node) {
            node.membership.merge(entry("m1", ["m2", "m5"])); node.membership.merge(entry("m2", ["m1", "m5"]))
            node.membership.merge(entry("m5", ["m1", "m2"]))
            node.membership.merge(entry("m3", ["m4"])); node.membership.merge(entry("m4", ["m3"]))
        }
        var node = Node(config: NodeConfig(environment: "testing", name: "m1", master: true, originTimeoutMs: 5000))
        _ = node.registry.apply(put("far", "i1", v: 10), now: 0)
        split(&node)
        node.recomputePartition(now: Instant(ms: 0), effects: &scratch)
        XCTAssertFalse(node.isStale, "m1 is in 3 of 5 masters")
        node.updateLiveness(now: Instant(ms: 0), effects: &scratch)
        node.updateLiveness(now: Instant(ms: 4999), effects: &scratch)
        XCTAssertEqual(node.catalogue.count, 1)
        node.updateLiveness(now: Instant(ms: 5000), effects: &scratch)
        XCTAssertEqual(node.catalogue.count, 0, "purged after the origin timeout")

        var stale = Node(config: NodeConfig(environment: "testing", name: "m3", master: true, originTimeoutMs: 5000))
        _ = stale.registry.apply(put("far", "i1", v: 10), now: 0)
        split(&stale)
        stale.recomputePartition(now: Instant(ms: 0), effects: &scratch)
        XCTAssertTrue(stale.isStale)
        stale.updateLiveness(now: Instant(ms: 0), effects: &scratch)
        stale.updateLiveness(now: Instant(ms: 60_000), effects: &scratch)
        XCTAssertEqual(stale.catalogue.count, 1, "a stale daemon purges nothing")
        XCTAssertTrue(String(decoding: JSONWriter.members { stale.status(into: &$0) }, as: UTF8.self).contains(#""stale":true"#))
    }

    func testATwoTwoSplit_leavesBothSidesStale_andNeitherPurges() {
        for name in ["m1", "m3"] {
            var node = Node(config: NodeConfig(environment: "testing", name: name, master: true, originTimeoutMs: 5000))
            _ = node.registry.apply(put("far", "i1", v: 10), now: 0)
            node.membership.merge(entry("m1", ["m2"])); node.membership.merge(entry("m2", ["m1"]))
            node.membership.merge(entry("m3", ["m4"])); node.membership.merge(entry("m4", ["m3"]))
            node.recomputePartition(now: Instant(ms: 0), effects: &scratch)
            XCTAssertTrue(node.isStale, "\(name): two of four masters is not more than half, whatever the names")
            node.updateLiveness(now: Instant(ms: 0), effects: &scratch)
            node.updateLiveness(now: Instant(ms: 60_000), effects: &scratch)
            XCTAssertEqual(node.catalogue.count, 1, "\(name) purged while not a majority")
        }
    }

    var scratch: [Effect] = []

    // MARK: push and relay through the node

    func testLocalWrite_isPushedToEveryLink_andARelayStopsAtTheVersionCheck() {
        var a = Node(config: NodeConfig(environment: "testing", name: "a"))
        let l1 = LinkID(LinkID.inboundBit | 1), l2 = LinkID(LinkID.inboundBit | 2)
        for (l, p) in [(l1, "p1"), (l2, "p2")] {
            _ = a.handle(.peerConnected(l, host: ""), now: Instant(ms: 0))
            _ = a.handle(.peerMessage(l, .hello(PeerHello(environment: "testing", cluster: "default", name: p, generation: 1, master: false, host: "", port: 0))), now: Instant(ms: 0))
        }
        let out = a.handle(.request(ConnectionID(1), .register(service: "web", id: "i", body: Array("{}".utf8), ttlSeconds: nil)), now: Instant(ms: 1))
        let sent = out.compactMap { e -> LinkID? in if case let .sendPeer(l, _) = e { return l }; return nil }
        XCTAssertEqual(Set(sent), [l1, l2])
        // A record from p1 is relayed to p2 once; the same record again is not.
        let b = put("z", "j", v: 7)
        let r1 = a.handle(.peerMessage(l1, .records([b])), now: Instant(ms: 2))
        XCTAssertEqual(r1.compactMap { e -> LinkID? in if case let .sendPeer(l, _) = e { return l }; return nil }, [l2])
        let r2 = a.handle(.peerMessage(l2, .records([b])), now: Instant(ms: 3))
        XCTAssertTrue(r2.compactMap { e -> LinkID? in if case let .sendPeer(l, _) = e { return l }; return nil }.isEmpty)
    }

    func testDeltasDocument_hasTheSeedsFormat() {
        var node = Node(config: NodeConfig(environment: "testing", name: "n"))
        _ = node.registry.apply(put("a", "i1", v: 10, body: #"{"h":1}"#), now: 0)
        _ = node.registry.apply(delta("a", prev: 10, "i2", v: 11, .remove), now: 0)
        let doc = String(decoding: node.registry.deltasDocument([("a", 5)]), as: UTF8.self)
        XCTAssertEqual(doc, #"{"a":[["web","i1",{"h":1},10],["web","i2",null,11]]}"#)
        XCTAssertEqual(String(decoding: node.registry.deltasDocument([("a", 10)]), as: UTF8.self), #"{"a":[["web","i2",null,11]]}"#)
    }

    func masterHello(_ name: String) -> PeerHello {
        PeerHello(environment: "testing", cluster: "c", name: name, generation: 1, master: true, host: "h", port: 1)
    }

    /// D7 on master links too: a master nobody reports alive is dialled
    /// ever less often, up to 5 minutes, so a thousand masters do not
    /// hammer one dead address.
    func testMasterLink_toAPeerNobodyReportsAlive_backsOffExponentially_toTheCap() {
        var node = Node(config: NodeConfig(environment: "testing", name: "m1", master: true, peers: [.init(host: "h", port: 1)]), seed: 3)
        let id = node.links.table.keys.first!
        var t: Int64 = 0
        _ = node.handle(.deadline, now: Instant(ms: t))
        _ = node.handle(.peerConnected(id, host: "h"), now: Instant(ms: t))
        _ = node.handle(.peerMessage(id, .hello(masterHello("m2"))), now: Instant(ms: t))
        var delays: [Int64] = []
        for _ in 0..<12 {
            t += 10
            _ = node.handle(.peerClosed(id), now: Instant(ms: t))
            _ = node.handle(.deadline, now: Instant(ms: t + 1))  // a round: the alive set no longer holds m2
            guard case let .waiting(until)? = node.links[id]?.state else { return XCTFail("not waiting") }
            delays.append(until - t)
            t = until
            _ = node.handle(.deadline, now: Instant(ms: t))
        }
        XCTAssertTrue((1000..<2000).contains(delays[0]), "the first retry within 1-2 s: \(delays)")
        XCTAssertTrue(delays[3] >= 8000, "backs off: \(delays)")
        XCTAssertEqual(delays.last, 300_000, "capped at 5 minutes: \(delays)")
    }

    /// A link to a master that another member reports alive (a partial cut)
    /// is probed at the first step, and one that had backed off retries
    /// within a second once the report arrives: the heal is noticed within
    /// a few rounds, not after a grown back-off.
    func testMasterLink_toAPeerOthersReportAlive_isProbed_andABackedOffOneIsPulledIn() {
        var node = Node(config: NodeConfig(environment: "testing", name: "m1", master: true,
                                           peers: [.init(host: "h2", port: 1), .init(host: "h3", port: 1)]), seed: 5)
        let ids = node.links.table.keys.sorted { $0.raw < $1.raw }
        let (l2, l3) = (ids[0], ids[1])
        var t: Int64 = 0
        tick(t)
        for (l, name) in [(l2, "m2"), (l3, "m3")] {
            _ = node.handle(.peerConnected(l, host: "h"), now: Instant(ms: t))
            _ = node.handle(.peerMessage(l, .hello(masterHello(name))), now: Instant(ms: t))
        }
        // m3 stays heard throughout (its digests), so its link never times out.
        func tick(_ at: Int64) {
            _ = node.handle(.peerMessage(l3, .digest(hash: 0, membersHash: 0, entries: nil)), now: Instant(ms: at))
            _ = node.handle(.deadline, now: Instant(ms: at))
        }
        // m2 is cut from m1 for a long while, and nobody reports it: its link backs off.
        for _ in 0..<6 {
            t += 10
            _ = node.handle(.peerClosed(l2), now: Instant(ms: t))
            t += 1000
            tick(t)
            guard case let .waiting(until)? = node.links[l2]?.state else { return XCTFail("not waiting") }
            t = until
            tick(t)
        }
        t += 10
        _ = node.handle(.peerClosed(l2), now: Instant(ms: t))
        guard case let .waiting(far)? = node.links[l2]?.state else { return XCTFail("not waiting") }
        XCTAssertGreaterThan(far - t, 30_000, "backed off")
        // m3 now reports m2 alive, and m2 reports m3: at the next round m2's link is pulled in.
        let e3 = MemberEntry(name: "m3", generation: 1, seq: 9, cluster: "c", host: "h3", port: 1, master: true, masters: ["m1", "m2"], leaves: [])
        let e2 = MemberEntry(name: "m2", generation: 1, seq: 9, cluster: "c", host: "h2", port: 1, master: true, masters: ["m3"], leaves: [])
        _ = node.handle(.peerMessage(l3, .members([e3, e2])), now: Instant(ms: t + 1))
        t += 1000
        tick(t)
        guard case let .waiting(soon)? = node.links[l2]?.state else { return XCTFail("not waiting") }
        XCTAssertLessThanOrEqual(soon - t, 1000, "a report of m2 alive pulls its link in")
        // And while m2 is reported alive, each failure retries at the first step.
        t = soon
        tick(t)
        t += 10
        _ = node.handle(.peerClosed(l2), now: Instant(ms: t))
        guard case let .waiting(probe)? = node.links[l2]?.state else { return XCTFail("not waiting") }
        XCTAssertTrue((1000..<2000).contains(probe - t), "probed at the first step: \(probe - t)")
    }

    func testLeaf_followsItsMastersVerdictOnADeadOrigin_andIgnoresALeafsClaim() {
        var leaf = Node(config: NodeConfig(environment: "testing", name: "l1"))
        let m = LinkID(LinkID.inboundBit | 1), l = LinkID(LinkID.inboundBit | 2)
        for (id, name, master) in [(m, "m1", true), (l, "l2", false)] {
            _ = leaf.handle(.peerConnected(id, host: ""), now: Instant(ms: 0))
            _ = leaf.handle(.peerMessage(id, .hello(PeerHello(environment: "testing", cluster: "c", name: name, generation: 1, master: master, host: "", port: 0))), now: Instant(ms: 0))
        }
        _ = leaf.handle(.peerMessage(m, .records([put("gone", "i1", v: 10)])), now: Instant(ms: 1))
        XCTAssertEqual(leaf.catalogue.count, 1)
        _ = leaf.handle(.peerMessage(l, .records([RecordBatch(origin: "gone", generation: 1, mode: .deathNotice, deltas: [])])), now: Instant(ms: 2))
        XCTAssertEqual(leaf.catalogue.count, 1, "only a master's verdict counts")
        _ = leaf.handle(.peerMessage(m, .records([RecordBatch(origin: "gone", generation: 1, mode: .deathNotice, deltas: [])])), now: Instant(ms: 3))
        XCTAssertEqual(leaf.catalogue.count, 0)
    }

    func testClosedSession_removesOnlyThisDaemonsRecord_andReplicatesAsAnOriginRemoval() {
        var node = Node(config: NodeConfig(environment: "testing", name: "a"))
        let peer = LinkID(LinkID.inboundBit | 9)
        _ = node.handle(.peerConnected(peer, host: ""), now: Instant(ms: 0))
        _ = node.handle(.peerMessage(peer, .hello(PeerHello(environment: "testing", cluster: "c", name: "b", generation: 1, master: false, host: "", port: 0))), now: Instant(ms: 0))
        _ = node.handle(.request(ConnectionID(5), .hold(service: "web", id: "i1", body: Array(#"{"at":"a"}"#.utf8))), now: Instant(ms: 1))
        _ = node.handle(.peerMessage(peer, .records([put("b", "i1", v: 1, body: #"{"at":"b"}"#)])), now: Instant(ms: 2))
        let effects = node.handle(.connectionClosed(ConnectionID(5)), now: Instant(ms: 3))
        XCTAssertEqual(node.catalogue.instance(service: "web", id: "i1").map { String(decoding: $0, as: UTF8.self) }, #"{"at":"b"}"#,
                       "b's live registration of the same instance stays")
        let frames = effects.compactMap { e -> [UInt8]? in if case let .sendPeer(_, f) = e { return f }; return nil }
        guard let frame = frames.first, case let .records(batches)? = try? PeerCodec.decode(frame: frame) else { return XCTFail("no push") }
        XCTAssertEqual(batches.first?.deltas.first?.kind, .remove)
    }
}
