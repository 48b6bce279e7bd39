@testable import RarangiCore
import RarangiWire
import XCTest

/// The link table on its own: transitions, timeouts, the silent link cut and
/// slow links' coalesced pushes, with integer instants.
final class PeerLinksTests: XCTestCase {
    let me = PeerHello(environment: "testing", cluster: "c", name: "me", generation: 1, master: false, host: "", port: 0)
    func peer(_ name: String, master: Bool = false) -> PeerHello {
        PeerHello(environment: "testing", cluster: "c", name: name, generation: 1, master: master, host: "", port: 0)
    }

    func up(_ links: inout PeerLinks, _ id: LinkID, _ name: String, at now: Int64) {
        var effects: [Effect] = []
        XCTAssertTrue(links.connected(id, host: "h", now: now, timeoutMs: 1500))
        XCTAssertEqual(links.hello(peer(name), on: id, me: me, now: now, effects: &effects), .up)
    }

    func test_configuredPeer_connectsAtOnce_andAConnectThatTakesTooLong_backsOff() {
        var links = PeerLinks(peers: [.init(host: "h", port: 1)], seed: 1)
        let id = links.table.keys.first!
        XCTAssertEqual(links.nextDeadline, 0)
        var effects: [Effect] = []
        links.fireDeadlines(now: 0, timeoutMs: 1500, effects: &effects)
        guard case .connect(id, "h", 1)? = effects.first else { return XCTFail("no connect: \(effects)") }
        XCTAssertEqual(links[id]?.state, .connecting(deadline: 1500))
        effects = []
        links.fireDeadlines(now: 1500, timeoutMs: 1500, effects: &effects)
        XCTAssertTrue(effects.contains { if case .closePeer(id) = $0 { return true }; return false })
        guard case let .waiting(until)? = links[id]?.state else { return XCTFail("not waiting") }
        XCTAssertTrue((2500..<3500).contains(until), "first retry within 1–2 s: \(until)")
    }

    func test_hello_ofAnotherEnvironment_asksForACut_andOurOwnHelloDisablesTheLink() {
        var links = PeerLinks(peers: [.init(host: "h", port: 1)], seed: 1)
        let out = links.table.keys.first!
        let inbound = LinkID(LinkID.inboundBit | 1)
        var effects: [Effect] = []
        _ = links.connected(inbound, host: "x", now: 0, timeoutMs: 1500)
        var other = peer("p")
        other.environment = "production"
        XCTAssertEqual(links.hello(other, on: inbound, me: me, now: 1, effects: &effects), .cut(reason: "environment_mismatch"))
        _ = links.connected(out, host: "h", now: 0, timeoutMs: 1500)
        XCTAssertEqual(links.hello(me, on: out, me: me, now: 1, effects: &effects), .closedSelf)
        XCTAssertEqual(links[out]?.state, .disabled)
        XCTAssertFalse(links.canGoDown(out), "a disabled link is never retried")
    }

    func test_silentLink_isReportedOnlyOnceItsSilenceExceedsTheLimit() {
        var links = PeerLinks(peers: [], seed: 0)
        let a = LinkID(LinkID.inboundBit | 1), b = LinkID(LinkID.inboundBit | 2)
        up(&links, a, "a", at: 0)
        up(&links, b, "b", at: 0)
        _ = links.heard(b, now: 2000)
        XCTAssertTrue(links.silentLinks(now: 3000, limitMs: 3000).isEmpty)
        let silent = links.silentLinks(now: 3001, limitMs: 3000)
        XCTAssertEqual(silent.map(\.id), [a])
        XCTAssertEqual(silent.first?.silentMs, 3001)
        XCTAssertEqual(silent.first?.peer, "a")
    }

    func test_slowLink_keepsTheNewestDeltaOfEachKey_andDrainsThemAsOneCoalescedPush() throws {
        var links = PeerLinks(peers: [], seed: 0)
        let id = LinkID(LinkID.inboundBit | 1)
        up(&links, id, "p", at: 0)
        var effects: [Effect] = []
        links.backlog(id, slow: true, effects: &effects)
        for v in UInt64(1)...5 {
            let d = Delta(service: "web", id: "x", version: v, kind: .put, body: Array("{\"v\":\(v)}".utf8))
            links.pushToAll([RecordBatch(origin: "o", generation: 1, mode: .push(prev: v - 1), deltas: [d])], effects: &effects)
        }
        XCTAssertFalse(effects.contains { if case .sendPeer = $0 { return true }; return false })
        XCTAssertEqual(links[id]?.kept.count, 1)
        XCTAssertEqual(links.coalesced, 4)
        effects = []
        links.backlog(id, slow: false, effects: &effects)
        let frames = effects.compactMap { e -> [UInt8]? in if case let .sendPeer(_, f) = e { return f }; return nil }
        guard case let .records(batches) = try PeerCodec.decode(frame: XCTUnwrap(frames.first)) else { return XCTFail("no records") }
        XCTAssertEqual(batches.map(\.mode), [.coalescedPush])
        XCTAssertEqual(batches.first?.deltas.map(\.version), [5])
    }
}
