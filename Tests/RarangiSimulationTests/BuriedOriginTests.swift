import Foundation
@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// A dead origin the majority has buried does not come back through a
/// daemon that missed the burial: a master cut off meanwhile (it kept what
/// it last knew, stale) and a master restarted with empty state (it pulls
/// from whoever still holds the records) are both told the origin is dead
/// by the first fresh master they reach, instead of serving it for another
/// origin timeout of their own.
final class BuriedOriginTests: XCTestCase {
    func test_aBuriedOrigin_isNotServedAgain_byACutOffOrRestartedMaster_afterTheHeal() {
        let sim = SmallClusters.simulation(seed: 3)
        let masters = ["m1", "m2", "m3", "m4", "m5"]
        for (k, m) in masters.enumerated() { _ = sim.add(SmallClusters.config(m, master: true, peers: Array(masters[..<k]))) }
        let x = sim.add(SmallClusters.config("x", master: false, peers: ["m1"]))
        let m4 = 3, m5 = 4
        sim.run(for: 4000)
        _ = sim.request(x, .register(service: "web", id: "i", body: Array(#"{"at":"x"}"#.utf8), ttlSeconds: nil))
        sim.run(for: 3000)
        for i in 0..<5 { XCTAssertNotNil(sim.catalogue(i)!.instance(service: "web", id: "i"), sim.name(i)) }
        // x dies for good; m5 is cut off alone and keeps what it knew.
        sim.crash(x)
        sim.partition { $0 == m5 ? 1 : 0 }
        sim.run(for: 20_000)
        for i in 0..<3 { XCTAssertNil(sim.catalogue(i)!.instance(service: "web", id: "i"), "the majority purged x: \(sim.name(i))") }
        XCTAssertTrue(sim.isStale(m5))
        XCTAssertNotNil(sim.catalogue(m5)!.instance(service: "web", id: "i"), "a stale daemon keeps what it last knew")
        // m4 restarts with empty state just as m5 comes back.
        sim.crash(m4)
        sim.start(m4)
        sim.heal()
        sim.run(for: 5000)
        for i in 0..<5 {
            XCTAssertNil(sim.catalogue(i)!.instance(service: "web", id: "i"), "\(sim.name(i)) serves the buried origin again")
        }
    }
}
