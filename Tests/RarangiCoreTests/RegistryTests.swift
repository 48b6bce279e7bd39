@testable import RarangiCore
import RarangiWire
import XCTest

/// The registry's sessions on their own: which hold a close removes, and the answer to a watch.
final class RegistryTests: XCTestCase {
    let config = NodeConfig(environment: "testing", cluster: "c", name: "n")

    func test_close_removesTheHoldOnlyWhileThisConnectionStillHoldsIt() {
        var r = Registry(name: "n", generation: 1)
        var effects: [Effect] = []
        let a = ConnectionID(1), b = ConnectionID(2), c = ConnectionID(3)
        _ = r.hold(a, "web", "x", body: Array("{}".utf8), config: config, now: Instant(ms: 0), effects: &effects)
        let (refused, none) = r.hold(b, "web", "x", body: Array(#"{"b":1}"#.utf8), config: config, now: Instant(ms: 1),
                                     effects: &effects)
        XCTAssertEqual(refused.status, 409, "a holds x: b's hold is refused")
        XCTAssertNil(none)
        XCTAssertNil(r.connectionClosed(b, now: Instant(ms: 1), effects: &effects), "b held nothing")
        XCTAssertEqual(r.catalogue.instance(service: "web", id: "x").map { String(decoding: $0, as: UTF8.self) }, "{}")
        // A plain PUT makes x ordinary; then b may hold it, and a's close removes nothing.
        _ = r.register("web", "x", body: Array("{}".utf8), ttl: 30, now: Instant(ms: 1), effects: &effects)
        _ = r.hold(b, "web", "x", body: Array("{}".utf8), config: config, now: Instant(ms: 1), effects: &effects)
        XCTAssertNil(r.connectionClosed(a, now: Instant(ms: 2), effects: &effects), "b holds x now")
        XCTAssertNotNil(r.catalogue.instance(service: "web", id: "x"))
        // A plain PUT turns c's hold into a TTL registration: closing c removes nothing.
        _ = r.hold(c, "web", "y", body: Array("{}".utf8), config: config, now: Instant(ms: 3), effects: &effects)
        _ = r.register("web", "y", body: Array("{}".utf8), ttl: 30, now: Instant(ms: 4), effects: &effects)
        XCTAssertNil(r.connectionClosed(c, now: Instant(ms: 5), effects: &effects))
        XCTAssertNotNil(r.catalogue.instance(service: "web", id: "y"))
        let change = r.connectionClosed(b, now: Instant(ms: 6), effects: &effects)
        XCTAssertEqual(change?.deltas.map(\.kind), [.remove])
        XCTAssertNil(r.catalogue.instance(service: "web", id: "x"))
        XCTAssertEqual(r.held.released, 1)
        XCTAssertEqual(r.held.count, 0)
    }

    func test_watch_isAnsweredAtOnceWhenTheIndexDiffers_elseParkedUntilItsServiceChanges() {
        var r = Registry(name: "n", generation: 1)
        var effects: [Effect] = []
        r.watch(ConnectionID(1), "web", pretty: false, index: 7, waitMs: 1000, now: Instant(ms: 0), effects: &effects)
        guard case let .reply(_, answer)? = effects.last else { return XCTFail("not answered") }
        XCTAssertEqual(answer.headers.first?.1, "0")
        effects = []
        r.watch(ConnectionID(2), "web", pretty: false, index: 0, waitMs: 1000, now: Instant(ms: 0), effects: &effects)
        r.watch(ConnectionID(3), "db", pretty: false, index: 0, waitMs: 1000, now: Instant(ms: 0), effects: &effects)
        XCTAssertEqual(r.watches.count, 2)
        _ = r.register("web", "a", body: Array("{}".utf8), ttl: 30, now: Instant(ms: 1), effects: &effects)
        effects = []
        r.notifyWatchers(effects: &effects)
        XCTAssertEqual(effects.count, 1)
        guard case let .reply(conn, doc)? = effects.first else { return XCTFail("no answer") }
        XCTAssertEqual(conn, ConnectionID(2))
        XCTAssertEqual(String(decoding: doc.body, as: UTF8.self), #"{"a":{}}"#)
        XCTAssertEqual(r.watches.count, 1, "the watcher of db stays parked")
        XCTAssertEqual(r.nextDeadline, 1000)
    }
}
