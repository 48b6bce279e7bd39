import RarangiCore
import RarangiWire
import XCTest

/// Held registrations and blocking queries in the pure node: integer instants, no sleeps.
final class HoldAndWatchNodeTests: XCTestCase {
    var node = Node(config: NodeConfig(environment: "testing", cluster: "eu", name: "n1", livenessSeconds: 30))
    let holder = ConnectionID(1)
    let watcher = ConnectionID(2)
    let other = ConnectionID(3)

    func replies(_ effects: [Effect], to conn: ConnectionID) -> [HTTPResponse] {
        effects.compactMap { if case let .reply(c, r) = $0, c == conn { return r } else { return nil } }
    }

    func lookup(_ service: String, at ms: Int64) -> String {
        let e = node.handle(.request(other, .lookup(service: service, pretty: false)), now: Instant(ms: ms))
        return String(decoding: replies(e, to: other)[0].body, as: UTF8.self)
    }

    func test_heldRegistration_hasNoDeadline_andIsRemovedWhenItsConnectionCloses() {
        let e = node.handle(.request(holder, .hold(service: "web", id: "a", body: Array("{}".utf8))), now: Instant(ms: 0))
        guard case let .stream(c, r)? = e.first(where: { if case .stream = $0 { return true } else { return false } }) else {
            return XCTFail("no stream effect")
        }
        XCTAssertEqual(c, holder)
        XCTAssertEqual(r.status, 201)
        XCTAssertTrue(String(decoding: r.body, as: UTF8.self).hasPrefix(#"{"environment":"testing","cluster":"eu","node":"n1","service":"web","id":"a""#))
        XCTAssertNil(node.nextDeadline)
        XCTAssertEqual(lookup("web", at: 10_000_000), #"{"a":{}}"#)
        let closed = node.handle(.connectionClosed(holder), now: Instant(ms: 10_000_001))
        XCTAssertTrue(closed.contains { if case let .log(l) = $0 { return l.event == "released" } else { return false } })
        XCTAssertEqual(lookup("web", at: 10_000_001), "{}")
        XCTAssertEqual(node.heldCount, 0)
    }

    func test_aSecondHoldOnAnotherConnection_isRefused_andItsCloseRemovesNothing() {
        _ = node.handle(.request(holder, .hold(service: "web", id: "a", body: Array("{}".utf8))), now: Instant(ms: 0))
        let e = node.handle(.request(other, .hold(service: "web", id: "a", body: Array(#"{"o":1}"#.utf8))), now: Instant(ms: 1))
        XCTAssertEqual(replies(e, to: other).map(\.status), [409])
        _ = node.handle(.connectionClosed(other), now: Instant(ms: 2))
        XCTAssertEqual(lookup("web", at: 3), #"{"a":{}}"#)
        _ = node.handle(.connectionClosed(holder), now: Instant(ms: 4))
        XCTAssertEqual(lookup("web", at: 5), "{}")
    }

    func test_parkedQuery_isAnsweredInTheTurnThatChangesTheService() {
        let idx = node.catalogue.serviceIndex("web")
        let parked = node.handle(.request(watcher, .watch(service: "web", pretty: false, index: idx, waitMs: 30_000)), now: Instant(ms: 0))
        XCTAssertTrue(replies(parked, to: watcher).isEmpty)
        XCTAssertEqual(node.nextDeadline, Instant(ms: 30_000))
        let e = node.handle(.request(holder, .hold(service: "web", id: "a", body: Array("{}".utf8))), now: Instant(ms: 5))
        let answer = replies(e, to: watcher)
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(String(decoding: answer[0].body, as: UTF8.self), #"{"a":{}}"#)
        XCTAssertEqual(node.watcherCount, 0)
        XCTAssertNil(node.nextDeadline)
        // Parked again; the release wakes it too, with the empty document.
        let idx2 = node.catalogue.serviceIndex("web")
        _ = node.handle(.request(watcher, .watch(service: "web", pretty: false, index: idx2, waitMs: 30_000)), now: Instant(ms: 6))
        let gone = node.handle(.connectionClosed(holder), now: Instant(ms: 7))
        XCTAssertEqual(replies(gone, to: watcher).map { String(decoding: $0.body, as: UTF8.self) }, ["{}"])
    }

    func test_parkedQuery_timesOutAtItsDeadline_andAClosedWatcherIsForgotten() {
        _ = node.handle(.request(watcher, .watch(service: "web", pretty: false, index: 0, waitMs: 1_000)), now: Instant(ms: 0))
        _ = node.handle(.request(other, .watch(service: "web", pretty: false, index: 0, waitMs: 500)), now: Instant(ms: 0))
        _ = node.handle(.connectionClosed(other), now: Instant(ms: 1))
        XCTAssertEqual(node.nextDeadline, Instant(ms: 1_000))
        XCTAssertTrue(replies(node.handle(.deadline, now: Instant(ms: 999)), to: watcher).isEmpty)
        let e = node.handle(.deadline, now: Instant(ms: 1_000))
        XCTAssertEqual(replies(e, to: watcher).first?.headers.first?.1, "0")
        XCTAssertNil(node.nextDeadline)
    }
}
