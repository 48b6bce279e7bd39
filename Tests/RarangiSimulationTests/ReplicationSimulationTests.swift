import Foundation
@testable import RarangiCore
import RarangiTestKit
import RarangiWire
import XCTest

/// The replication protocol in virtual time: 1,000 daemons (20 clusters ×
/// 2 masters + 48 leaves), seeded loss, delay, clock skew, a partition,
/// crashes and restarts. Replay a failing run with RARANGI_SIM_SEED=<seed>.
final class ReplicationSimulationTests: XCTestCase {
    static let gossipMs: Int64 = 1000
    static let originTimeoutMs: Int64 = 5000

    /// A registration the scenario made and expects to see (or not).
    struct Reg: Hashable {
        var host: Int
        var service: String
        var id: String
        var body: String
    }

    final class Scenario {
        let sim: Simulation
        var masters: [Int] = []
        var leaves: [Int] = []
        var clusterOf: [Int] = []
        /// Registrations whose origin life is still running.
        var regs: [Reg] = []

        init(seed: UInt64, clusters: Int, leavesPerCluster: Int, loss: Double) {
            sim = Simulation(seed: seed, network: .init(loss: loss, minDelayMs: 1, maxDelayMs: 30))
            func config(_ name: String, _ cluster: Int, _ host: String, master: Bool, peers: [String]) -> NodeConfig {
                NodeConfig(environment: "testing", cluster: "c\(cluster)", name: name, livenessSeconds: 86400,
                           master: master, peers: peers.map { NodeConfig.Peer(host: $0, port: 1) },
                           gossipIntervalMs: ReplicationSimulationTests.gossipMs,
                           originTimeoutMs: ReplicationSimulationTests.originTimeoutMs,
                           advertiseHost: host, advertisePort: 1)
            }
            let skew = { Int64(self.sim.random(600_000)) - 300_000 }
            for c in 0..<clusters {
                for m in ["a", "b"] {
                    let name = "m\(String(format: "%02d", c))\(m)"
                    // Naming one master is enough: the rest is learned from the gossip.
                    let peers = name == "m00a" ? [] : ["m00a"]
                    let i = sim.add(config(name, c, name, master: true, peers: peers), skewMs: skew())
                    masters.append(i)
                    clusterOf.append(c)
                }
                let pair = ["m\(String(format: "%02d", c))a", "m\(String(format: "%02d", c))b"]
                for l in 0..<leavesPerCluster {
                    let name = "l\(String(format: "%02d", c))-\(l)"
                    let i = sim.add(config(name, c, name, master: false, peers: pair), skewMs: skew())
                    leaves.append(i)
                    clusterOf.append(c)
                }
            }
        }

        func name(_ i: Int) -> String { sim.hosts[i].config.name }

        func register(_ i: Int, _ service: String, _ id: String, _ body: String) {
            sim.request(i, .register(service: service, id: id, body: Array(body.utf8), ttlSeconds: nil))
            regs.removeAll { $0.service == service && $0.id == id && $0.host == i }
            regs.append(Reg(host: i, service: service, id: id, body: body))
        }

        func crash(_ i: Int) {
            sim.crash(i)
            regs.removeAll { $0.host == i }
        }

        /// The `GET /<service>` document a daemon should serve for `regs`.
        static func documents(_ regs: [Reg]) -> [String: [UInt8]] {
            var byService: [String: [String: String]] = [:]
            for r in regs { byService[r.service, default: [:]][r.id] = r.body }
            var out: [String: [UInt8]] = [:]
            for (service, ids) in byService {
                var doc = "{"
                for (n, id) in ids.keys.sorted().enumerated() { doc += (n > 0 ? "," : "") + "\"\(id)\":" + ids[id]! }
                out[service] = Array((doc + "}").utf8)
            }
            return out
        }

        /// Hosts whose view differs from `expected`, with a sample difference.
        func mismatches(_ hosts: [Int], expected: [Reg]) -> [(Int, String)] {
            let docs = Scenario.documents(expected)
            let total = Set(expected.map { "\($0.service)/\($0.id)" }).count
            var bad: [(Int, String)] = []
            for i in hosts where sim.isUp(i) {
                let cat = sim.hosts[i].node!.catalogue
                if cat.count != total {
                    bad.append((i, "\(name(i)) holds \(cat.count) instances, expected \(total)"))
                    continue
                }
                for (service, doc) in docs where cat.lookup(service, pretty: false) != doc {
                    bad.append((i, "\(name(i)) serves \(String(decoding: cat.lookup(service, pretty: false), as: UTF8.self)) for \(service), expected \(String(decoding: doc, as: UTF8.self))"))
                    break
                }
            }
            return bad
        }
    }

    func testThousandDaemons_partitionCrashRestartHeal_convergeToTheLiveSet() throws {
        let seed = ProcessInfo.processInfo.environment["RARANGI_SIM_SEED"].flatMap { UInt64($0) }
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let started = Date()
        let env = ProcessInfo.processInfo.environment
        let clusters = env["RARANGI_SIM_CLUSTERS"].flatMap { Int($0) } ?? 20
        let leaves = env["RARANGI_SIM_LEAVES"].flatMap { Int($0) } ?? 48
        let s = Scenario(seed: seed, clusters: clusters, leavesPerCluster: leaves, loss: 0.002)
        let sim = s.sim
        let note = "seed=\(seed) (replay: RARANGI_SIM_SEED=\(seed) swift test --filter ReplicationSimulationTests)"
        XCTAssertGreaterThanOrEqual(sim.hosts.count, env["RARANGI_SIM_CLUSTERS"] == nil ? 1000 : 0)
        print("simulation: \(note)")

        // Phase 1: every fourth leaf registers an instance; all converge.
        for (n, leaf) in s.leaves.enumerated() where n % 4 == 0 {
            s.register(leaf, "svc\(s.clusterOf[leaf])", s.name(leaf), #"{"host":"\#(s.name(leaf))","port":80}"#)
        }
        sim.run(until: 15_000)
        var bad = s.mismatches(Array(sim.hosts.indices), expected: s.regs)
        XCTAssertTrue(bad.isEmpty, "not converged 15 s after start: \(bad.count) daemons, e.g. \(bad.first?.1 ?? ""); \(note)")

        // A leaf restarted with empty state: its new life's writes are not
        // ignored by peers that remember the old one.
        let phoenix = s.leaves[4]
        sim.crash(phoenix)
        sim.run(for: 500)
        sim.start(phoenix)
        s.register(phoenix, "svc\(s.clusterOf[phoenix])", s.name(phoenix), #"{"host":"reborn","port":81}"#)
        sim.run(for: 8_000)
        bad = s.mismatches(Array(sim.hosts.indices), expected: s.regs)
        XCTAssertTrue(bad.isEmpty, "restart not propagated: \(bad.count) daemons, e.g. \(bad.first?.1 ?? ""); \(note)")

        // Phase 2: cut clusters 0–10 from 11–19: 22 of the 40 masters are
        // more than half, the majority; 18 are not.
        let majority = Set(sim.hosts.indices.filter { s.clusterOf[$0] <= clusters / 2 })
        sim.partition { majority.contains($0) ? 1 : 2 }
        let beforeCut = s.regs
        // Crash some registered leaves on the majority side; register anew on both sides.
        let victims = s.leaves.enumerated().filter { $0.offset % 4 == 0 && s.clusterOf[$0.element] < clusters / 4 }.map(\.element).prefix(10)
        for v in victims { s.crash(v) }
        for (n, leaf) in s.leaves.enumerated() where n % 4 == 1 && n % 3 == 0 {
            s.register(leaf, "new\(s.clusterOf[leaf])", s.name(leaf), #"{"host":"\#(s.name(leaf))","port":90}"#)
        }
        sim.run(for: 15_000)
        let minorityHosts = sim.hosts.indices.filter { !majority.contains($0) }
        let majorityHosts = sim.hosts.indices.filter { majority.contains($0) }
        let staleMinority = minorityHosts.filter { sim.hosts[$0].node?.isStale == true }.count
        XCTAssertEqual(staleMinority, minorityHosts.count, "every daemon cut off from the majority is stale; \(note)")
        XCTAssertEqual(majorityHosts.filter { sim.hosts[$0].node?.isStale == true }.count, 0, "no majority daemon is stale; \(note)")
        // The majority purged the minority's origins and the crashed leaves.
        bad = s.mismatches(majorityHosts, expected: s.regs.filter { majority.contains($0.host) })
        XCTAssertTrue(bad.isEmpty, "majority did not purge to its live set: \(bad.count), e.g. \(bad.first?.1 ?? ""); \(note)")
        // The minority purged nothing of the rest of the world.
        let keep = beforeCut.filter { majority.contains($0.host) }
        for i in minorityHosts.prefix(50) {
            let cat = sim.hosts[i].node!.catalogue
            let missing = keep.filter { cat.instance(service: $0.service, id: $0.id) == nil }
            XCTAssertTrue(missing.isEmpty, "\(s.name(i)) (stale) lost \(missing.count) records of the majority side; \(note)")
        }

        // Phase 3: heal. Within the bound every daemon serves exactly the live set.
        sim.heal()
        let healedAt = sim.now
        let bound: Int64 = 10_000
        var convergedAt: Int64?
        while sim.now < healedAt + bound {
            sim.run(for: 500)
            if env["RARANGI_SIM_TRACE"] != nil {
                let m = s.mismatches(Array(sim.hosts.indices), expected: s.regs)
                print("traffic: \(sim.traffic.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.count)/\($0.value.bytes / 1024)KB" })")
                if let dbg = env["RARANGI_SIM_DEBUG"], let h = sim.hosts.firstIndex(where: { $0.config.name == dbg }), let n = sim.hosts[h].node {
                    let victimNames = victims.map { s.name($0) }
                    let held = n.replica.origins.indices.compactMap { i in n.replica.origins[i].map { (Int32(i), $0) } }
                        .filter { victimNames.contains($0.1.name) }
                    print("debug \(dbg): stale=\(n.isStale) fresh=\(n.membership.verdict.freshSince) comp=\(String(describing: n.membership.verdict.component)) sizes=\(n.graph.sizes) held=\(held.map { "\($0.1.name):\(n.liveness.notAliveSince($0.0, $0.1).map(String.init) ?? "alive"):\(n.liveness.alive.contains($0.1.name))" }) buried=\(n.liveness.buried.keys.filter { victimNames.contains($0) }.count)")
                }
                print("t+\(sim.now - healedAt): mismatched=\(m.count) stale=\(sim.hosts.filter { $0.node?.isStale == true }.count) e.g. \(m.first?.1 ?? "")")
            }
            if s.mismatches(Array(sim.hosts.indices), expected: s.regs).isEmpty,
               sim.hosts.allSatisfy({ $0.node?.isStale != true }) {
                convergedAt = sim.now
                break
            }
        }
        bad = s.mismatches(Array(sim.hosts.indices), expected: s.regs)
        XCTAssertNotNil(convergedAt, "not converged within \(bound) ms of healing: \(bad.count) daemons, e.g. \(bad.first?.1 ?? ""); \(note)")
        print("simulation: \(sim.hosts.count) daemons, converged \(convergedAt.map { "\($0 - healedAt)" } ?? "never") ms after healing, delivered=\(sim.delivered) dropped=\(sim.dropped), wall \(String(format: "%.1f", Date().timeIntervalSince(started))) s; \(note)")
    }
}
