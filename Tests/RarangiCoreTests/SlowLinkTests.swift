import RarangiCore
import RarangiWire
import XCTest

/// A link whose peer reads slowly gets the newest state of each key, not
/// every intermediate write (issue: "coalesced per key when a link is slow").
final class SlowLinkTests: XCTestCase {
    let fast = LinkID(LinkID.inboundBit | 1)
    let slow = LinkID(LinkID.inboundBit | 2)

    func node() -> Node {
        var a = Node(config: NodeConfig(environment: "testing", name: "a"))
        for (l, p) in [(fast, "p1"), (slow, "p2")] {
            _ = a.handle(.peerConnected(l, host: ""), now: Instant(ms: 0))
            _ = a.handle(.peerMessage(l, .hello(PeerHello(environment: "testing", cluster: "default", name: p, generation: 1,
                                                          master: false, host: "", port: 0))), now: Instant(ms: 0))
        }
        return a
    }

    func frames(_ effects: [Effect], to link: LinkID) -> [PeerMessage] {
        effects.compactMap { e -> PeerMessage? in
            guard case let .sendPeer(l, bytes) = e, l == link else { return nil }
            return try? PeerCodec.decode(frame: bytes)
        }
    }

    func register(_ node: inout Node, _ id: String, _ n: Int, at ms: Int64) -> [Effect] {
        node.handle(.request(ConnectionID(1), .register(service: "web", id: id, body: Array(#"{"n":\#(n)}"#.utf8), ttlSeconds: nil)),
                    now: Instant(ms: ms))
    }

    func test_slowLink_getsOnlyTheNewestDeltaOfEachKey_whenItDrains() throws {
        var a = node()
        _ = a.handle(.peerBacklog(slow, slow: true), now: Instant(ms: 1))
        var toFast = 0
        for n in 0..<100 {
            let effects = register(&a, n % 2 == 0 ? "x" : "y", n, at: 2 + Int64(n))
            toFast += frames(effects, to: fast).count
            XCTAssertTrue(frames(effects, to: slow).isEmpty, "a push reached the slow link")
        }
        XCTAssertEqual(toFast, 100, "the fast link still gets every push at once")
        let drained = a.handle(.peerBacklog(slow, slow: false), now: Instant(ms: 200))
        let sent = frames(drained, to: slow)
        XCTAssertEqual(sent.count, 1)
        guard case let .records(batches)? = sent.first else { return XCTFail("no records") }
        let deltas = batches.flatMap(\.deltas)
        XCTAssertEqual(deltas.map(\.id).sorted(), ["x", "y"])
        XCTAssertEqual(deltas.first { $0.id == "x" }.map { String(decoding: $0.body, as: UTF8.self) }, #"{"n":98}"#)
        XCTAssertEqual(deltas.first { $0.id == "y" }.map { String(decoding: $0.body, as: UTF8.self) }, #"{"n":99}"#)

        // The receiver applies the coalesced push and shows the newest state.
        var b = Node(config: NodeConfig(environment: "testing", name: "p2"))
        let l = LinkID(1 | LinkID.inboundBit)
        _ = b.handle(.peerConnected(l, host: ""), now: Instant(ms: 0))
        _ = b.handle(.peerMessage(l, .hello(PeerHello(environment: "testing", cluster: "default", name: "a", generation: 1,
                                                      master: false, host: "", port: 0))), now: Instant(ms: 0))
        _ = b.handle(.peerMessage(l, sent[0]), now: Instant(ms: 201))
        XCTAssertEqual(String(decoding: b.catalogue.lookup("web", pretty: false), as: UTF8.self), #"{"x":{"n":98},"y":{"n":99}}"#)
    }

    func test_aSlowLinkThatDrops_forgetsWhatItHeld() {
        var a = node()
        _ = a.handle(.peerBacklog(slow, slow: true), now: Instant(ms: 1))
        _ = register(&a, "x", 1, at: 2)
        _ = a.handle(.peerClosed(slow), now: Instant(ms: 3))
        XCTAssertTrue(frames(a.handle(.peerBacklog(slow, slow: false), now: Instant(ms: 4)), to: slow).isEmpty)
    }
}

/// Records always go out in frames far below the frame limit, however many
/// there are: a drained slow link, a big expiry batch, a sync.
extension SlowLinkTests {
    func test_aSlowLinkDrainingMegabytes_sendsFramesBelowTheLimit_andTheReceiverTakesThemAll() throws {
        let tests = self
        var a = tests.node()
        _ = a.handle(.peerBacklog(tests.slow, slow: true), now: Instant(ms: 1))
        let filler = String(repeating: "x", count: 4000)
        for n in 0..<2_600 {
            _ = a.handle(.request(ConnectionID(1), .register(service: "web", id: "i\(n)", body: Array(#"{"f":"\#(filler)"}"#.utf8),
                                                            ttlSeconds: nil)), now: Instant(ms: 2))
        }
        let drained = a.handle(.peerBacklog(tests.slow, slow: false), now: Instant(ms: 3))
        let frames = drained.compactMap { e -> [UInt8]? in
            guard case let .sendPeer(l, bytes) = e, l == tests.slow else { return nil }
            return bytes
        }
        XCTAssertGreaterThan(frames.reduce(0) { $0 + $1.count }, PeerCodec.maxFrameBytes, "the backlog is over the frame limit")
        XCTAssertGreaterThan(frames.count, 1)
        for f in frames { XCTAssertLessThanOrEqual(f.count, 2 * PeerCodec.chunkBytes) }
        var b = Node(config: NodeConfig(environment: "testing", name: "p2"))
        let l = LinkID(1 | LinkID.inboundBit)
        _ = b.handle(.peerConnected(l, host: ""), now: Instant(ms: 0))
        _ = b.handle(.peerMessage(l, .hello(PeerHello(environment: "testing", cluster: "default", name: "a", generation: 1,
                                                      master: false, host: "", port: 0))), now: Instant(ms: 0))
        for f in frames { _ = b.handle(.peerMessage(l, try PeerCodec.decode(frame: f)), now: Instant(ms: 4)) }
        XCTAssertEqual(b.catalogue.count, 2_600)
    }
}

final class RecordFramingTests: XCTestCase {
    func test_aSplitPush_continuesItsChain_andASplitSync_resetsOnceAndEndsOnce() {
        let deltas = (1...3000).map { Delta(service: "web", id: "i\($0)", version: UInt64($0) * 10, kind: .put,
                                            body: Array(String(repeating: "b", count: 200).utf8)) }
        let push = PeerCodec.chunks([RecordBatch(origin: "o", generation: 1, mode: .push(prev: 5), deltas: deltas)])
        XCTAssertGreaterThan(push.count, 1)
        var prev: UInt64 = 5
        for part in push.flatMap({ $0 }) {
            XCTAssertEqual(part.mode, .push(prev: prev))
            prev = part.deltas.last!.version
        }
        XCTAssertEqual(push.flatMap { $0 }.flatMap(\.deltas).map(\.version), deltas.map(\.version))
        let sync = PeerCodec.chunks([RecordBatch(origin: "o", generation: 1, mode: .sync(since: 0, upTo: 30000, reset: true),
                                                 deltas: deltas)]).flatMap { $0 }
        XCTAssertEqual(sync.first?.mode, .sync(since: 0, upTo: 0, reset: true))
        XCTAssertEqual(sync.last?.mode, .sync(since: 0, upTo: 30000, reset: false))
        XCTAssertEqual(sync.filter { $0.mode == .sync(since: 0, upTo: 0, reset: false) }.count, sync.count - 2)
        let notices = PeerCodec.chunks((0..<100_000).map { RecordBatch(origin: "dead-origin-\($0)", generation: 1, mode: .deathNotice, deltas: []) })
        XCTAssertGreaterThan(notices.count, 1, "many death notices are split too")
    }
}
