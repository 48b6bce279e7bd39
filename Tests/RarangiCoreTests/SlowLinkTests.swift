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
