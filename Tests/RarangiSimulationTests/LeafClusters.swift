@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// Tests on `ScaleRun` shapes of clusters of two masters and their leaves,
/// registering instances of service "web" (rarangi-protocol(7),
/// "Membership and the verdict"): the helpers the leaf tests share.
class LeafClusterTestCase: XCTestCase {
    /// The TTL of the registrations the tests make (nil: the daemon's default).
    var ttlSeconds: Int? { nil }

    /// `shape` started and settled for 15 s.
    func started(_ shape: ScaleRun.Shape, seed: UInt64 = 11) -> (Simulation, SimTopology) {
        let run = ScaleRun(shape: shape, seed: seed)
        run.sim.run(for: 15_000)
        return (run.sim, SimTopology(clusters: shape.clusters, leaves: shape.leaves))
    }

    func node(_ sim: Simulation, _ i: Int) -> Node { sim.hosts[i].node! }

    /// Registers instance `id` of "web" at daemon `i`.
    func register(_ sim: Simulation, at i: Int, id: String, file: StaticString = #filePath, line: UInt = #line) {
        let r = sim.request(i, .register(service: "web", id: id, body: Array(#"{"at":"\#(sim.name(i))"}"#.utf8), ttlSeconds: ttlSeconds))
        XCTAssertEqual(r?.status, 201, "register \(id) at \(sim.name(i))", file: file, line: line)
    }

    /// Every leaf registers one instance of "web", under its own name.
    func registerAtEveryLeaf(_ sim: Simulation, _ topo: SimTopology, file: StaticString = #filePath, line: UInt = #line) {
        for i in topo.leaves { register(sim, at: i, id: sim.name(i), file: file, line: line) }
    }

    /// The names of the instances of "web" daemon `i` serves.
    func served(_ sim: Simulation, _ i: Int) -> Set<String> {
        Set(sim.catalogue(i)?.instances(of: "web").map(\.id) ?? [])
    }

    func masters(_ topo: SimTopology, of c: Int) -> [Int] { topo.members(of: c).filter { topo.daemons[$0].master } }
    func leaves(_ topo: SimTopology, of c: Int) -> [Int] { topo.members(of: c).filter { !topo.daemons[$0].master } }

    /// Whether daemon `i` has an up link to the daemon named `peer`.
    func linked(_ sim: Simulation, _ i: Int, to peer: String) -> Bool {
        guard sim.isUp(i) else { return false }
        return node(sim, i).links.ordered.contains { $0.1.isUp && $0.1.peer?.name == peer }
    }

    /// Runs in 1 ms steps until `done` holds or `boundMs` passed; whether it held.
    @discardableResult
    func runUntil(_ sim: Simulation, boundMs: Int64, _ done: () -> Bool) -> Bool {
        let start = sim.now
        while sim.now - start < boundMs {
            sim.run(for: 1)
            if done() { return true }
        }
        return false
    }

    /// The two ends of every up link agree on the members hash they compare.
    func assertViewsAgree(_ sim: Simulation, _ topo: SimTopology, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for i in topo.daemons.indices where sim.isUp(i) {
            let n = node(sim, i)
            for (_, link) in n.links.ordered where link.isUp {
                guard let peer = link.peer, let j = topo.daemons.firstIndex(where: { $0.name == peer.name }), sim.isUp(j),
                      let back = node(sim, j).links.ordered.first(where: { $0.1.isUp && $0.1.peer?.name == n.config.name })?.1.peer else { continue }
                XCTAssertEqual(n.membersHash(for: peer), node(sim, j).membersHash(for: back),
                               "\(what): \(n.config.name) and \(peer.name) disagree on the members they compare", file: file, line: line)
            }
        }
    }

    /// No members frame crosses any link for `ms` of idle time.
    func assertNoMembershipTraffic(_ sim: Simulation, forMs ms: Int64, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let before = sim.traffic
        sim.run(for: ms)
        XCTAssertEqual(sim.traffic["members"]?.count ?? 0, before["members"]?.count ?? 0, "\(what): members frames sent while idle",
                       file: file, line: line)
    }

    /// Every up daemon fresh, serving `expected`, views agreeing, quiet.
    func assertSettled(_ sim: Simulation, _ topo: SimTopology, _ expected: Set<String>, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        for i in topo.daemons.indices where sim.isUp(i) {
            XCTAssertFalse(sim.isStale(i), "\(what): \(sim.name(i)) stale", file: file, line: line)
            XCTAssertFalse(node(sim, i).catchUp.pending, "\(what): \(sim.name(i)) still catching up", file: file, line: line)
            XCTAssertEqual(served(sim, i), expected, "\(what): \(sim.name(i)) serves", file: file, line: line)
        }
        assertViewsAgree(sim, topo, what, file: file, line: line)
        assertNoMembershipTraffic(sim, forMs: 10_000, what, file: file, line: line)
    }
}
