import RarangiCore
import RarangiWire
import XCTest

/// Everything a peer sends is checked whole before it touches state: a bad
/// frame is refused, its link cut, nothing of it applied, and the daemon's
/// own writes go on as before.
final class PeerInputTests: XCTestCase {
    let link = LinkID(LinkID.inboundBit | 1)
    let wall: Int64 = 1_800_000_000_000

    func connected() -> Node {
        var node = Node(config: NodeConfig(environment: "testing", name: "a"))
        _ = node.handle(.peerConnected(link, host: ""), now: Instant(ms: 0, wallMs: wall))
        _ = node.handle(.peerMessage(link, .hello(PeerHello(environment: "testing", cluster: "default", name: "p", generation: 1,
                                                            master: false, host: "", port: 0))), now: Instant(ms: 0, wallMs: wall))
        return node
    }

    func push(_ deltas: [Delta]) -> PeerMessage {
        .records([RecordBatch(origin: "p", generation: 1, mode: .push(prev: 0), deltas: deltas)])
    }

    func put(_ service: String, _ id: String, _ body: String, version: UInt64) -> Delta {
        Delta(service: service, id: id, version: version, kind: .put, body: Array(body.utf8))
    }

    func kill(version: UInt64, _ causes: [(String, UInt64, UInt64)]) -> Delta {
        Delta(service: "web", id: "i", version: version, kind: .kill, body: [],
              causes: causes.map { DeltaCause(name: $0.0, generation: $0.1, version: $0.2) })
    }

    func test_badFrames_areRefused_cutTheLink_andChangeNothing() {
        let sane = UInt64(wall) << 16
        let bad: [(String, PeerMessage)] = [
            ("version 2^64-1", push([put("web", "i", "{}", version: .max)])),
            ("version 2^62", push([put("web", "i", "{}", version: 1 << 62)])),
            ("a day ahead", push([put("web", "i", "{}", version: UInt64(wall + 86_400_000) << 16)])),
            ("a quote in a service name", push([put(#"a"b"#, "i", "{}", version: sane)])),
            ("a body that is not JSON", push([put("web", "i", "]", version: sane)])),
            ("a body that is not an object", push([put("web", "i", "[1]", version: sane)])),
            ("a good delta before a bad one", push([put("web", "ok", "{}", version: sane), put("web", "x", "]", version: sane + 1)])),
            ("this daemon's own name at generation 2^64-1 (it could not be outlived)",
             .digest(hash: 1, membersHash: 0, entries: [DigestEntry(name: "a", generation: .max, version: 1)])),
            ("a batch of generation 2^62", .records([RecordBatch(origin: "p", generation: 1 << 62, mode: .push(prev: 0),
                                                                 deltas: [put("web", "i", "{}", version: sane)])])),
            ("an origin name with a space", .records([RecordBatch(origin: "p q", generation: 1, mode: .push(prev: 0),
                                                                  deltas: [put("web", "i", "{}", version: sane)])])),
            ("a DELETE naming no record", push([kill(version: sane, [])])),
            ("a DELETE naming a record twice", push([kill(version: sane, [("x", 1, 5), ("x", 1, 6)])])),
            ("a DELETE's records out of order", push([kill(version: sane, [("y", 1, 5), ("x", 1, 6)])])),
            ("a DELETE naming a record a day ahead", push([kill(version: sane, [("x", 1, UInt64(wall + 86_400_000) << 16)])])),
            ("a DELETE naming a bad origin", push([kill(version: sane, [("x y", 1, 5)])])),
            ("a DELETE naming 1,025 records", push([kill(version: sane, (0..<1025).map { ("o\(10_000 + $0)", 1, 5) })])),
            ("a pull naming an origin twice", .pull([PullEntry(name: "p", generation: 1, since: 0), PullEntry(name: "p", generation: 1, since: 0)])),
            ("a pull of 65,537 origins", .pull((0..<65_537).map { PullEntry(name: "o\($0)", generation: 1, since: 0) })),
            ("causes on a registration", push([Delta(service: "web", id: "i", version: sane, kind: .put, body: Array("{}".utf8),
                                                     causes: [DeltaCause(name: "x", generation: 1, version: 5)])])),
            ("a verdict whose counts do not add up", .verdict(MemberVerdict(stale: false, members: 2, components: 1, largest: 3, mine: 1))),
            ("a verdict from a leaf", .verdict(MemberVerdict(stale: true, members: 3, components: 1, largest: 3, mine: 3))),
        ]
        for (what, message) in bad {
            var node = connected()
            let effects = node.handle(.peerMessage(link, message), now: Instant(ms: 1, wallMs: wall))
            XCTAssertTrue(effects.contains { if case .closePeer(link) = $0 { return true } else { return false } }, what)
            XCTAssertTrue(effects.contains { if case let .log(e) = $0 { return e.event == "peer_invalid" } else { return false } }, what)
            XCTAssertEqual(node.catalogue.count, 0, what)
            // The daemon's own writes still work, with versions from its own clock.
            let reply = node.handle(.request(ConnectionID(1), .register(service: "web", id: "own", body: Array("{}".utf8), ttlSeconds: nil)),
                                    now: Instant(ms: 2, wallMs: wall))
            guard case let .reply(_, r)? = reply.first(where: { if case .reply = $0 { return true } else { return false } }) else {
                return XCTFail("no reply: \(what)")
            }
            XCTAssertEqual(r.status, 201, what)
            XCTAssertEqual(node.catalogue.count, 1, what)
        }
    }

    /// A peer that pulls and does not read gets nothing more while its
    /// link is slow; once it has read, it is answered again.
    func test_aPull_onASlowLink_isNotAnswered_untilTheLinkDrains() {
        var node = connected()
        let now = Instant(ms: 1, wallMs: wall)
        _ = node.handle(.request(ConnectionID(1), .register(service: "web", id: "own", body: Array("{}".utf8), ttlSeconds: nil)), now: now)
        let pull = PeerMessage.pull([PullEntry(name: "a", generation: 0, since: 0)])
        func sends(_ effects: [Effect]) -> Int { effects.filter { if case .sendPeer(link, _) = $0 { return true } else { return false } }.count }
        XCTAssertGreaterThan(sends(node.handle(.peerMessage(link, pull), now: now)), 0, "a pull on a link that reads is answered")
        _ = node.handle(.peerBacklog(link, slow: true), now: now)
        XCTAssertEqual(sends(node.handle(.peerMessage(link, pull), now: now)), 0, "a pull on a slow link was answered")
        _ = node.handle(.peerBacklog(link, slow: false), now: now)
        XCTAssertGreaterThan(sends(node.handle(.peerMessage(link, pull), now: now)), 0)
    }

    func test_aGoodFrame_fromAPeerWhoseClockIsTenMinutesAhead_isTaken() {
        var node = connected()
        let ahead = UInt64(wall + 600_000) << 16
        let effects = node.handle(.peerMessage(link, push([put("web", "i", #"{"host":"h"}"#, version: ahead)])),
                                  now: Instant(ms: 1, wallMs: wall))
        XCTAssertFalse(effects.contains { if case .closePeer = $0 { return true } else { return false } })
        XCTAssertEqual(node.catalogue.count, 1)
    }
}
