import RarangiCore
import RarangiWire
import XCTest

/// The pure node driven with integer instants: no sleeps, no sockets.
final class NodeTests: XCTestCase {
    let conn = ConnectionID(1)
    var node = Node(config: NodeConfig(environment: "testing", cluster: "eu", name: "n1", livenessSeconds: 30))

    @discardableResult
    func send(_ request: CatalogueRequest, at ms: Int64, wall: Int64? = nil) -> HTTPResponse {
        let effects = node.handle(.request(conn, request), now: Instant(ms: ms, wallMs: wall))
        for case let .reply(_, response) in effects { return response }
        XCTFail("no reply")
        return HTTPResponse(status: 0, body: [])
    }

    func lookup(_ service: String, at ms: Int64) -> String {
        String(decoding: send(.lookup(service: service, pretty: false), at: ms).body, as: UTF8.self)
    }

    func register(_ service: String, _ id: String, _ body: String, at ms: Int64, ttl: Int? = nil, wall: Int64? = nil) -> Int {
        send(.register(service: service, id: id, body: Array(body.utf8), ttlSeconds: ttl), at: ms, wall: wall).status
    }

    func test_registration_expiresAtExactlyLiveness_whenNotRefreshed() {
        XCTAssertEqual(register("web", "a", "{}", at: 1_000), 201)
        XCTAssertEqual(node.nextDeadline, Instant(ms: 31_000))
        _ = node.handle(.deadline, now: Instant(ms: 30_999))
        XCTAssertEqual(lookup("web", at: 30_999), #"{"a":{}}"#)
        let effects = node.handle(.deadline, now: Instant(ms: 31_000))
        XCTAssertTrue(effects.contains { if case let .log(e) = $0 { return e.event == "expired" } else { return false } })
        XCTAssertEqual(lookup("web", at: 31_000), "{}")
        XCTAssertTrue(tombstonesCollected(after: 31_000))
    }

    /// Runs the deadlines a daemon without peers asks for until none is
    /// due: its tombstones are collected after their lifetime, then it
    /// wants nothing (no timer spins on an idle daemon).
    func tombstonesCollected(after start: Int64) -> Bool {
        var t = start
        for _ in 0..<10_000 {
            guard let d = node.nextDeadline else { return true }
            t = max(t, d.ms)
            _ = node.handle(.deadline, now: Instant(ms: t))
        }
        return false
    }

    func test_readAfterTheDeadline_neverSeesTheExpiredRecord_evenBeforeTheTimerInput() {
        _ = register("web", "a", "{}", at: 0)
        XCTAssertEqual(lookup("web", at: 30_000), "{}")
    }

    func test_refresh_movesTheDeadline_andReturns200() {
        XCTAssertEqual(register("web", "a", "{}", at: 0), 201)
        XCTAssertEqual(register("web", "a", "{}", at: 20_000), 200)
        _ = node.handle(.deadline, now: Instant(ms: 30_000))
        XCTAssertEqual(lookup("web", at: 30_000), #"{"a":{}}"#)
        XCTAssertEqual(node.nextDeadline, Instant(ms: 50_000))
        _ = node.handle(.deadline, now: Instant(ms: 50_000))
        XCTAssertEqual(lookup("web", at: 50_000), "{}")
    }

    func test_perRegistrationTTL_setsItsOwnDeadline() {
        _ = register("web", "short", "{}", at: 0, ttl: 5)
        _ = register("web", "long", "{}", at: 0)
        XCTAssertEqual(node.nextDeadline, Instant(ms: 5_000))
        _ = node.handle(.deadline, now: Instant(ms: 5_000))
        XCTAssertEqual(lookup("web", at: 5_000), #"{"long":{}}"#)
    }

    func test_delete_removesAtOnce_andUnknownIs404() {
        _ = register("web", "a", "{}", at: 0)
        XCTAssertEqual(send(.deregister(service: "web", id: "a"), at: 1).status, 200)
        XCTAssertEqual(lookup("web", at: 2), "{}")
        XCTAssertEqual(send(.deregister(service: "web", id: "a"), at: 3).status, 404)
        XCTAssertNotNil(node.nextDeadline, "the removal's tombstone is to be collected")
        XCTAssertTrue(tombstonesCollected(after: 3))
    }

    func test_laterWriteWins_evenWhenTheWallClockStepsBack() {
        _ = register("web", "a", #"{"v":1}"#, at: 0, wall: 1_000_000)
        // The host's clock steps back an hour; the second write still wins.
        _ = register("web", "a", #"{"v":2}"#, at: 10, wall: 1_000_000 - 3_600_000)
        XCTAssertEqual(lookup("web", at: 20), #"{"a":{"v":2}}"#)
    }

    func test_catalogue_ignoresAWriteOlderThanTheStoredOne() {
        var c = Catalogue()
        XCTAssertEqual(c.upsert(service: "s", id: "i", body: Array("{\"v\":2}".utf8), version: 20, expiresAt: 100), .created)
        XCTAssertEqual(c.upsert(service: "s", id: "i", body: Array("{\"v\":1}".utf8), version: 10, expiresAt: 200), .stale)
        XCTAssertEqual(String(decoding: c.lookup("s", pretty: false), as: UTF8.self), #"{"i":{"v":2}}"#)
        XCTAssertEqual(c.deadline(service: "s", id: "i"), 100)
        XCTAssertEqual(c.upsert(service: "s", id: "i", body: Array("{\"v\":3}".utf8), version: 30, expiresAt: 300), .refreshed(changed: true))
    }

    func test_lookupCache_isRebuiltOnlyWhenTheServiceChanges() {
        _ = register("web", "b", "{}", at: 0)
        _ = register("web", "a", "{}", at: 0)
        let first = send(.lookup(service: "web", pretty: false), at: 1)
        XCTAssertEqual(String(decoding: first.body, as: UTF8.self), #"{"a":{},"b":{}}"#)
        let index = first.headers.first { $0.0 == "X-Rarangi-Index" }?.1
        // An identical refresh changes nothing a reader can see: same index.
        _ = register("web", "a", "{}", at: 2)
        XCTAssertEqual(send(.lookup(service: "web", pretty: false), at: 3).headers.first { $0.0 == "X-Rarangi-Index" }?.1, index)
        _ = register("web", "a", #"{"x":1}"#, at: 4)
        XCTAssertNotEqual(send(.lookup(service: "web", pretty: false), at: 5).headers.first { $0.0 == "X-Rarangi-Index" }?.1, index)
    }

    func test_servicesListing_countsInstances() {
        _ = register("web", "a", "{}", at: 0)
        _ = register("web", "b", "{}", at: 0)
        _ = register("db", "a", "{}", at: 0)
        XCTAssertEqual(String(decoding: send(.services(pretty: false), at: 1).body, as: UTF8.self), "{\"db\":1,\"web\":2}\n")
    }

    func test_manyRegistrations_expireInDeadlineOrder() {
        for i in 0..<1000 { _ = register("s", "i\(i)", "{}", at: Int64((i * 7919) % 1000)) }
        var now: Int64 = 0
        var expired = 0
        while let d = node.nextDeadline {
            XCTAssertGreaterThanOrEqual(d.ms, now)
            now = d.ms
            for case let .log(e) in node.handle(.deadline, now: d) where e.event == "expired" { expired += 1 }
        }
        XCTAssertEqual(expired, 1000)
        XCTAssertEqual(node.catalogue.count, 0)
    }
}

final class HybridClockTests: XCTestCase {
    func test_versions_neverGoBackwards() {
        var c = HybridClock()
        let a = c.next(wallMs: 5_000)
        let b = c.next(wallMs: 4_000)
        let d = c.next(wallMs: 5_000)
        XCTAssertLessThan(a, b)
        XCTAssertLessThan(b, d)
        c.observe(UInt64(9_000) << 16)
        XCTAssertGreaterThan(c.next(wallMs: 5_000), UInt64(9_000) << 16)
    }
}
