import Foundation
@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// Lives, not names: a daemon restarted with empty state ends its previous
/// life everywhere, even if it writes nothing; one restarted with its clock
/// stepped back still has its new writes served.
final class LifeTests: XCTestCase {
    /// a — b — c in a line (a and c never talk directly), one cluster.
    func line(seed: UInt64 = 1) -> Simulation {
        let sim = SmallClusters.simulation(seed: seed)
        sim.add(SmallClusters.config("b", master: true, peers: []))
        sim.add(SmallClusters.config("a", master: false, peers: ["b"]))
        sim.add(SmallClusters.config("c", master: false, peers: ["b"]))
        return sim
    }

    func ids(_ sim: Simulation, _ i: Int, _ service: String) -> [String] {
        let body = sim.hosts[i].node!.catalogue.lookup(service, pretty: false)
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        return object.keys.sorted()
    }

    func register(_ sim: Simulation, _ i: Int, _ service: String, _ id: String) {
        _ = sim.request(i, .register(service: service, id: id, body: Array(#"{"host":"h","port":1}"#.utf8), ttlSeconds: nil))
    }

    func test_aDaemonRestartedWithEmptyState_endsItsOldLifeEverywhere_evenBeforeItWritesAnything() {
        let sim = line()
        sim.run(for: 3000)
        register(sim, 1, "web", "old")
        sim.run(for: 1000)
        XCTAssertEqual(ids(sim, 2, "web"), ["old"], "replicated a → b → c")
        sim.crash(1)
        sim.run(for: 500)
        sim.start(1)
        // Well within the origin timeout (10 s): the new life's hello ends
        // the old one at b, and b's digest carries that on to c.
        sim.run(for: 4000)
        XCTAssertEqual(ids(sim, 0, "web"), [], "b still serves the previous life's registration")
        XCTAssertEqual(ids(sim, 2, "web"), [], "c still serves the previous life's registration")
        XCTAssertEqual(ids(sim, 1, "web"), [])
    }

    func test_aDaemonRestartedWithItsClockSteppedBack_outlivesItsOldLife_andItsNewWritesAreServed() {
        let sim = line()
        sim.run(for: 3000)
        register(sim, 1, "web", "old")
        sim.run(for: 1000)
        XCTAssertEqual(ids(sim, 2, "web"), ["old"])
        sim.crash(1)
        sim.stepClock(1, byMs: -10 * 60_000)
        sim.start(1)
        let steppedBack = sim.hosts[1].config.generation
        sim.run(for: 3000)
        register(sim, 1, "web", "new")
        sim.run(for: 3000)
        XCTAssertGreaterThan(sim.hosts[1].node!.config.generation, steppedBack, "the life took a generation above the old one")
        XCTAssertEqual(ids(sim, 0, "web"), ["new"])
        XCTAssertEqual(ids(sim, 2, "web"), ["new"])
    }
}
