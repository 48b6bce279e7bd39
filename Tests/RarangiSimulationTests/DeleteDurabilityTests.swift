import Foundation
@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// An explicit DELETE hides exactly what the deleter was showing, and it
/// stays durable (scenarios 7 and 8 of the replication issue): a daemon
/// that missed the kill — cut off past the tombstone lifetime, the kill
/// overwritten at its origin by a re-registration, or its deleter dead and
/// purged — still ends up without the deleted registration; and a DELETE
/// at a daemon whose clock runs minutes ahead hides nothing registered after it.
final class DeleteDurabilityTests: StarClusterTestCase {
    func test_aDeleteMissedByADaemonCutOffPastTheTombstoneLifetime_isNotServedThereAfterTheHeal() {
        let sim = star()
        sim.run(for: 3000)
        register(sim, a, #"{"at":"a"}"#)
        sim.run(for: 2000)
        XCTAssertEqual(body(sim, c), #"{"at":"a"}"#)
        sim.cut(c, m)
        sim.run(for: 500)
        delete(sim, b)
        sim.run(for: 3000)
        XCTAssertNil(body(sim, a), "the owner hid its record and wrote its own removal")
        XCTAssertEqual(sim.replica(a)!.holdsLive("a", service: "web", id: "x"), false)
        // Far past the tombstone lifetime: every tombstone of the DELETE is collected.
        let ttl = sim.hosts[m].node!.config.tombstoneTTLMs
        sim.run(for: ttl + 20_000)
        XCTAssertEqual(sim.replica(m)!.tombstoneCount, 0, "the kill and the removal are collected")
        XCTAssertEqual(body(sim, c), #"{"at":"a"}"#, "c, cut off alone and stale, keeps what it last knew")
        sim.cut(c, m, false)
        sim.run(for: 15_000)
        XCTAssertNil(body(sim, c), "the collected DELETE still reached c: a ghost")
        XCTAssertFalse(sim.isStale(c))
    }

    func test_aDeleteOverwrittenAtItsDaemonByANewRegistration_stillHidesTheOldRecordAtADaemonThatMissedIt() {
        let sim = star()
        sim.run(for: 3000)
        register(sim, a, #"{"at":"a"}"#)
        sim.run(for: 2000)
        // a misses the kill and c misses everything for a while: only records
        // frames are dropped, so both stay linked and alive.
        var dropTo: Set<Int> = [a, c]
        sim.dropFrame = { _, to, frame in dropTo.contains(to) && frame.count > 4 && frame[4] == 3 }
        delete(sim, b)
        register(sim, b, #"{"at":"b"}"#)
        sim.run(for: 4000)
        XCTAssertEqual(body(sim, m), #"{"at":"b"}"#)
        XCTAssertEqual(body(sim, c), #"{"at":"a"}"#)
        dropTo = [a]
        sim.run(for: 6000)
        XCTAssertEqual(body(sim, c), #"{"at":"b"}"#, "c got b's kill although b registered the instance again since")
        dropTo = []
        sim.run(for: 6000)
        for i in [m, a, b, c] { XCTAssertEqual(body(sim, i), #"{"at":"b"}"#, sim.name(i)) }
        XCTAssertEqual(sim.replica(m)!.holdsLive("a", service: "web", id: "x"), false, "a wrote its own removal")
    }

    func test_aDeleteWhoseDaemonDiesBeforeTheOwnerHearsOfIt_isTakenOverByTheDaemonsThatPurgeIt() {
        let sim = star()
        sim.run(for: 3000)
        register(sim, a, #"{"at":"a"}"#)
        sim.run(for: 2000)
        var drop = true
        sim.dropFrame = { _, to, frame in drop && to == 1 && frame.count > 4 && frame[4] == 3 }
        delete(sim, b)
        sim.run(for: 1000)
        sim.crash(b)
        // b is dead for far longer than the origin timeout: purged, its kill
        // with it, unless the purgers take the kill over.
        sim.run(for: 25_000)
        XCTAssertNil(sim.replica(m)!.generation(of: "b"), "b is purged")
        XCTAssertEqual(body(sim, a), #"{"at":"a"}"#, "a never heard of the DELETE")
        drop = false
        sim.run(for: 6000)
        for i in [m, a, c] { XCTAssertNil(body(sim, i), sim.name(i)) }
    }

    func test_aDeleteAtADaemonFiveMinutesAhead_hidesNothingRegisteredAfterIt() {
        let sim = star(skew: ["b": 5 * 60_000])
        sim.run(for: 3000)
        register(sim, a, #"{"at":"a"}"#)
        sim.run(for: 2000)
        delete(sim, b)
        sim.run(for: 4000)
        for i in [m, a, b, c] { XCTAssertNil(body(sim, i), sim.name(i)) }
        // Four seconds later (not minutes): a new registration at c, a held one at a.
        register(sim, c, #"{"at":"c"}"#)
        let held = sim.request(a, conn: ConnectionID(7), .hold(service: "web", id: "y", body: Array(#"{"h":1}"#.utf8)))
        XCTAssertEqual(held?.status, 201)
        sim.run(for: 4000)
        for i in [m, a, b, c] {
            XCTAssertEqual(body(sim, i), #"{"at":"c"}"#, sim.name(i))
            XCTAssertEqual(body(sim, i, "y"), #"{"h":1}"#, sim.name(i))
        }
        // A DELETE of y at the fast daemon, then y held again at c: the new hold shows everywhere.
        delete(sim, b, "y")
        sim.run(for: 3000)
        XCTAssertEqual(sim.request(c, conn: ConnectionID(8), .hold(service: "web", id: "y", body: Array(#"{"h":2}"#.utf8)))?.status, 201)
        sim.run(for: 4000)
        for i in [m, a, b, c] { XCTAssertEqual(body(sim, i, "y"), #"{"h":2}"#, sim.name(i)) }
    }
}
