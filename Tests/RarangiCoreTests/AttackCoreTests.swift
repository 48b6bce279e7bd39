@testable import RarangiCore
import RarangiProtocol
import RarangiWire
import XCTest

/// Attacks on the causal DELETE at the Replica level (crafted batches).
final class AttackCoreTests: XCTestCase {
    func key(_ id: String) -> RecordKey { RecordKey(service: "web", id: id) }

    func put(_ origin: String, gen: UInt64 = 1, prev: UInt64 = 0, _ id: String, v: UInt64, body: String = #"{"a":1}"#) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: prev),
                    deltas: [Delta(service: "web", id: id, version: v, kind: .put, body: Array(body.utf8))])
    }

    func kill(_ origin: String, gen: UInt64 = 1, prev: UInt64, _ id: String, v: UInt64, causes: [(String, UInt64)]) -> RecordBatch {
        RecordBatch(origin: origin, generation: gen, mode: .push(prev: prev),
                    deltas: [Delta(service: "web", id: id, version: v, kind: .kill, body: [],
                                   causes: causes.map { DeltaCause(name: $0.0, generation: 1, version: $0.1) })])
    }

    func body(_ r: Replica, _ id: String) -> String? {
        r.view.instance(service: "web", id: id).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Observer x holds a's x@10 and y@20 (a's stream is complete past 10),
    /// then b's kill of x naming a@10. The owner a has NOT heard of the kill.
    /// At x the kill's own hiding of a@10 leaves a tombstone; once that one is
    /// collected, `settled` sees "nothing of the key held, watermark past 10"
    /// and collects the kill, although a never wrote a removal. The owner
    /// then pulls b's stream from x and gets a reset without the kill: the
    /// DELETE is lost at the owner for good.
    func test_attack_killCollectedOnItsOwnHidingTombstone_beforeTheOwnerWroteARemoval() {
        var x = Replica(name: "x", generation: 1)
        var cx = HybridClock()
        x.apply(put("a", "x", v: 10), now: 0, clock: &cx)
        x.apply(put("a", prev: 10, "y", v: 20), now: 0, clock: &cx)
        x.apply(kill("b", prev: 0, "x", v: 30, causes: [("a", 10)]), now: 0, clock: &cx)
        XCTAssertNil(body(x, "x"))
        // Tombstone lifetime 100, several rounds long after.
        for t in stride(from: 1000 as Int64, through: 5000, by: 1000) { _ = x.collectTombstones(now: t, ttl: 100) }
        XCTAssertEqual(x.deltas(of: "b", since: 0).filter { $0.kind == .kill }.count, 1,
                       "the kill is collected at x although a (owner of a@10) never wrote its removal")

        // The owner a: holds its own x@10 live and never saw the kill.
        var a = Replica(name: "a", generation: 1)
        var n: UInt64 = 10
        _ = a.putLocal(key("x"), body: Array(#"{"a":1}"#.utf8), version: { n }, expiresAt: Int64.max, now: 0)
        n = 20
        _ = a.putLocal(key("y"), body: Array(#"{"a":1}"#.utf8), version: { n }, expiresAt: Int64.max, now: 0)
        var ca = HybridClock()
        for batch in x.sync("b", generation: 1, since: 0) { a.apply(batch, now: 6000, clock: &ca) }
        n = 40
        _ = a.writeOwed(version: { n += 1; return n }, now: 6000)
        XCTAssertNil(body(a, "x"), "ghost: the owner still serves the DELETEd instance and never removes it")
    }

    /// Crafted: a's own kill naming a's own record (kill then put of the same
    /// version in one batch), then a duplicate-version remove.
    func test_attack_craftedKillNamingItsOwnOrigin_isRefused_andApplyingItAnywayDoesNotCrash() {
        var r = Replica(name: "me", generation: 1)
        var c = HybridClock()
        let batch = RecordBatch(origin: "a", generation: 1, mode: .push(prev: 0), deltas: [
            Delta(service: "web", id: "x", version: 10, kind: .kill, body: [], causes: [DeltaCause(name: "a", generation: 1, version: 10)]),
            Delta(service: "web", id: "x", version: 10, kind: .put, body: Array(#"{"a":1}"#.utf8)),
            Delta(service: "web", id: "x", version: 10, kind: .remove, body: []),
        ])
        // A deleter never names its own record: such a frame is refused whole.
        XCTAssertEqual(PeerInput.problem(in: .records([batch]), nowWallMs: 1_800_000_000_000), "a DELETE naming its own origin's record")
        r.apply(batch, now: 0, clock: &c)
        XCTAssertNil(body(r, "x"))
        XCTAssertEqual(r.liveCount(of: "a"), 0)
    }

    /// A kill for a key with no records, from an origin with an older
    /// generation than held, and one naming a generation newer than held.
    func test_attack_oddKills_noCrash() {
        var r = Replica(name: "me", generation: 1)
        var c = HybridClock()
        r.apply(put("a", gen: 2, "x", v: 10), now: 0, clock: &c)
        r.apply(kill("b", prev: 0, "nothing", v: 11, causes: [("a", 10)]), now: 0, clock: &c)
        r.apply(kill("a", gen: 1, prev: 0, "x", v: 12, causes: [("a", 10)]), now: 0, clock: &c)
        r.apply(RecordBatch(origin: "b", generation: 1, mode: .push(prev: 11), deltas: [
            Delta(service: "web", id: "x", version: 13, kind: .kill, body: [], causes: [DeltaCause(name: "a", generation: 3, version: 10)]),
            Delta(service: "web", id: "x", version: 14, kind: .kill, body: [], causes: [DeltaCause(name: "me", generation: 1, version: 10)]),
        ]), now: 0, clock: &c)
        XCTAssertNotNil(body(r, "x"), "a kill naming another life hides nothing")
        var v: UInt64 = 100
        _ = r.writeOwed(version: { v += 1; return v }, now: 0)
        _ = r.killLocal(key("x"), version: { v += 1; return v }, now: 0)
        XCTAssertNil(body(r, "x"))
        for t in stride(from: 1000 as Int64, through: 5000, by: 1000) { _ = r.collectTombstones(now: t, ttl: 100) }
        XCTAssertGreaterThanOrEqual(r.liveCount(of: "a"), 0)
    }
}
