import RarangiCore

/// Seeded draws for schedules (the scenario's own stream, apart from the simulation's).
struct Draw {
    private var rng: SplitMix64
    init(_ seed: UInt64, _ salt: UInt64) { rng = SplitMix64(seed: seed ^ (salt &* 0x9E37_79B9_7F4A_7C15)) }
    mutating func int(_ r: ClosedRange<Int64>) -> Int64 { r.lowerBound + Int64(rng.next() % UInt64(r.upperBound - r.lowerBound + 1)) }
    mutating func int(_ r: Range<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
    mutating func pick<T>(_ a: [T]) -> T { a[int(0..<a.count)] }
    mutating func shuffled<T>(_ a: [T]) -> [T] {
        var a = a
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(0..<(i + 1))) }
        return a
    }
}

/// The named scenario generators (the ones operators live through) and a
/// random mix; each draws its details — which daemons, when, how long, the
/// client operations — from the seed.
public enum Scenarios {
    /// A generator: a seed to a schedule.
    public typealias Generator = @Sendable (UInt64) -> FaultSchedule

    /// Every scenario by name, in the order they are reported.
    public static let all: [(name: String, make: Generator)] = [
        ("no-faults", noFaults),
        ("two-master-cluster-loses-a-master", twoMasterClusterLosesAMaster),
        ("split-2-2", split22),
        ("split-2-2-1", split221),
        ("master-restarted-alone", masterRestartedAlone),
        ("partition-longer-than-tombstones", partitionLongerThanTombstones),
        ("kill-restart-same-name", killRestartSameName),
        ("clock-stepped-back-at-restart", clockSteppedBackAtRestart),
        ("delete-races-reregistration", deleteRacesReregistration),
        ("lying-peer-versions", lyingPeerVersions),
        ("lying-peer-oversized", lyingPeerOversized),
        ("flapping-and-slow-links", flappingAndSlowLinks),
        ("random-mix", randomMix),
    ]

    /// The generator named `name`.
    public static func named(_ name: String) -> Generator? { all.first { $0.name == name }?.make }

    static let keyPool: [Oracle.Key] = ["s0", "s1", "s2"].flatMap { s in ["a", "b", "c"].map { Oracle.Key(s, $0) } }

    /// Client operations over `[from, until)`: heartbeats (some of the same
    /// instance at two daemons), one-shot PUTs, held registrations and DELETEs.
    static func workload(_ topo: SimTopology, _ d: inout Draw, from: Int64, until: Int64, ops: Int,
                         hosts: [Int]? = nil) -> [Step] {
        let hosts = hosts ?? Array(0..<topo.count)
        var steps: [Step] = []
        var used: [Oracle.Key] = []
        for _ in 0..<ops {
            let at = d.int(from...max(from, until - 3000))
            let host = d.pick(hosts)
            let key = !used.isEmpty && d.chance(0.35) ? d.pick(used) : d.pick(keyPool)
            used.append(key)
            let kind = d.int(0..<10)
            switch kind {
            case 0..<5:
                let ttl = d.int(3...6) * 1000
                let forMs = d.chance(0.5) ? until - at : d.int(2000...max(2000, until - at))
                steps.append(Step(at: at, .heartbeat(host, key, ttlMs: ttl, everyMs: ttl / 3, forMs: forMs)))
            case 5..<7:
                steps.append(Step(at: at, .put(host, key, ttlMs: d.int(2...8) * 1000)))
            case 7..<9:
                steps.append(Step(at: at, .hold(host, key, forMs: d.chance(0.5) ? d.int(1000...max(1000, until - at)) : nil)))
            default:
                steps.append(Step(at: d.int(at...until), .delete(d.pick(hosts), d.pick(used))))
            }
        }
        return steps
    }

    /// Wall clocks skewed by up to ±10 minutes, each with probability `p`.
    static func skews(_ topo: SimTopology, _ d: inout Draw, p: Double = 0.5) -> [Step] {
        (0..<topo.count).compactMap { i in d.chance(p) ? Step(at: 0, .skew(i, ms: d.int(-600_000...600_000))) : nil }
    }

    static func groups(_ topo: SimTopology, _ side: (Int) -> Int) -> [Int] { (0..<topo.count).map(side) }

    /// No fault at all: the oracle's baseline (a checker that flags this is wrong).
    public static let noFaults: Generator = { seed in
        var d = Draw(seed, 1)
        let topo = SimTopology(clusters: 2, leaves: 3)
        return FaultSchedule(scenario: "no-faults", seed: seed, topology: topo,
                             steps: skews(topo, &d) + workload(topo, &d, from: 0, until: 40_000, ops: 14))
    }

    /// One master of a two-master cluster dies (for good, or for a long
    /// while): a single cluster (its two masters are all the masters there
    /// are) or two. One failed daemon is survived (MISSION D6).
    public static let twoMasterClusterLosesAMaster: Generator = { seed in
        var d = Draw(seed, 2)
        let topo = d.chance(0.5) ? SimTopology(clusters: 1, leaves: 5) : SimTopology(clusters: 2, leaves: 3)
        let victim = d.pick(topo.masters)
        let at = d.int(8_000...15_000)
        let steps = skews(topo, &d) + workload(topo, &d, from: 0, until: 50_000, ops: 14)
            + [Step(at: at, .kill(victim, forMs: d.chance(0.5) ? nil : d.int(20_000...40_000), clockStepMs: 0))]
        return FaultSchedule(scenario: "two-master-cluster-loses-a-master", seed: seed, topology: topo, steps: steps)
    }

    /// Four masters split 2|2 by cluster, a master link down before the split.
    public static let split22: Generator = { seed in
        var d = Draw(seed, 3)
        let topo = SimTopology(clusters: 2, leaves: 2)
        let m = topo.masters
        let a = d.pick(m), b = d.pick(m.filter { $0 != a })
        let cutAt = d.int(3_000...8_000), splitAt = cutAt + d.int(2_000...6_000), len = d.int(15_000...40_000)
        let steps = skews(topo, &d) + workload(topo, &d, from: 0, until: splitAt + len + 10_000, ops: 14) + [
            Step(at: cutAt, .cutLink(a, b, forMs: splitAt + len - cutAt + d.int(0...5_000))),
            Step(at: splitAt, .partition(groups: groups(topo) { topo.daemons[$0].cluster }, forMs: len)),
        ]
        return FaultSchedule(scenario: "split-2-2", seed: seed, topology: topo, steps: steps)
    }

    /// Three clusters, one master of the third dead: the masters split 2|2|1.
    public static let split221: Generator = { seed in
        var d = Draw(seed, 4)
        let topo = SimTopology(clusters: 3, leaves: 2)
        let dead = d.pick(topo.members(of: 2).filter { topo.daemons[$0].master })
        let splitAt = d.int(8_000...12_000), len = d.int(15_000...40_000)
        let steps = skews(topo, &d) + workload(topo, &d, from: 0, until: splitAt + len + 10_000, ops: 16) + [
            Step(at: d.int(2_000...5_000), .kill(dead, forMs: nil, clockStepMs: 0)),
            Step(at: splitAt, .partition(groups: groups(topo) { topo.daemons[$0].cluster }, forMs: len)),
        ]
        return FaultSchedule(scenario: "split-2-2-1", seed: seed, topology: topo, steps: steps)
    }

    /// A master is cut off alone, killed and restarted (state lost) while
    /// still alone, takes registrations, then the cut heals.
    public static let masterRestartedAlone: Generator = { seed in
        var d = Draw(seed, 5)
        let topo = SimTopology(clusters: 2, leaves: 3)
        let m = d.pick(topo.masters)
        let cutAt = d.int(6_000...10_000), len = d.int(15_000...35_000)
        let killAt = cutAt + d.int(1_000...4_000), down = d.int(500...3_000)
        var steps = skews(topo, &d) + workload(topo, &d, from: 0, until: cutAt + len + 10_000, ops: 12) + [
            Step(at: cutAt, .partition(groups: groups(topo) { $0 == m ? 1 : 0 }, forMs: len)),
            Step(at: killAt, .kill(m, forMs: down, clockStepMs: 0)),
        ]
        steps.append(Step(at: killAt + down + 500, .heartbeat(m, d.pick(keyPool), ttlMs: 4000, everyMs: 1500, forMs: 20_000)))
        return FaultSchedule(scenario: "master-restarted-alone", seed: seed, topology: topo, steps: steps)
    }

    /// A partition longer than the tombstone lifetime (60 s) between a
    /// strict majority (two clusters) and a minority (the third), with
    /// DELETEs, expiries and closed holds on both sides during it.
    public static let partitionLongerThanTombstones: Generator = { seed in
        var d = Draw(seed, 6)
        let topo = SimTopology(clusters: 3, leaves: 2)
        let cutAt = d.int(8_000...12_000), len = OracleBounds().tombstoneMs + d.int(5_000...30_000)
        let minority = d.int(0..<3)
        let g = groups(topo) { topo.daemons[$0].cluster == minority ? 1 : 0 }
        let steps = skews(topo, &d) + workload(topo, &d, from: 0, until: cutAt + 5_000, ops: 10)
            + workload(topo, &d, from: cutAt + 5_000, until: cutAt + len, ops: 10) + [
                Step(at: cutAt, .partition(groups: g, forMs: len)),
            ]
        return FaultSchedule(scenario: "partition-longer-than-tombstones", seed: seed, topology: topo, steps: steps)
    }

    /// A daemon holding registrations is killed and restarted under the
    /// same name with its state lost; its clients register again, or not.
    public static let killRestartSameName: Generator = { seed in
        var d = Draw(seed, 7)
        let topo = SimTopology(clusters: 2, leaves: 3)
        let victim = d.chance(0.7) ? d.pick(topo.leaves) : d.pick(topo.masters)
        let at = d.int(10_000...15_000)
        var steps = skews(topo, &d) + workload(topo, &d, from: 0, until: 45_000, ops: 12)
        // Its client comes back after the restart, or not (then the new life writes nothing).
        let comesBack = d.chance(0.5)
        steps = steps.filter { s in
            switch s.action {
            case let .heartbeat(i, _, _, _, _), let .put(i, _, _), let .hold(i, _, _): return i != victim || comesBack || s.at < at
            default: return true
            }
        }
        steps.append(Step(at: 1_000, .heartbeat(victim, d.pick(keyPool), ttlMs: 5000, everyMs: 1500,
                                                forMs: comesBack ? 40_000 : at - 1_000 - 200)))
        steps.append(Step(at: 2_000, .hold(victim, d.pick(keyPool), forMs: nil)))
        steps.append(Step(at: at, .kill(victim, forMs: d.int(300...5_000), clockStepMs: 0)))
        return FaultSchedule(scenario: "kill-restart-same-name", seed: seed, topology: topo, steps: steps)
    }

    /// A daemon restarts with its wall clock stepped back (up to 10 minutes).
    public static let clockSteppedBackAtRestart: Generator = { seed in
        var d = Draw(seed, 8)
        let topo = SimTopology(clusters: 2, leaves: 3)
        let victim = d.pick(Array(0..<topo.count))
        let at = d.int(10_000...15_000)
        var steps = skews(topo, &d, p: 0.3).filter { if case let .skew(i, _) = $0.action { return i != victim }; return true }
        steps += workload(topo, &d, from: 0, until: 45_000, ops: 12)
        steps.append(Step(at: 0, .skew(victim, ms: d.int(60_000...300_000))))
        steps.append(Step(at: 1_000, .heartbeat(victim, d.pick(keyPool), ttlMs: 5000, everyMs: 1500, forMs: 40_000)))
        steps.append(Step(at: at, .kill(victim, forMs: d.int(500...3_000), clockStepMs: -d.int(120_000...600_000))))
        return FaultSchedule(scenario: "clock-stepped-back-at-restart", seed: seed, topology: topo, steps: steps)
    }

    /// Under ±10 min skews, a DELETE at one daemon and a re-registration of
    /// the same instance at another, clearly before or after it (beyond the
    /// race window), sometimes while the re-registering daemon's cluster is
    /// cut off (a minority: three clusters).
    public static let deleteRacesReregistration: Generator = { seed in
        var d = Draw(seed, 9)
        let topo = SimTopology(clusters: 3, leaves: 2)
        let w = OracleBounds().raceWindowMs
        var steps = skews(topo, &d, p: 1.0)
        steps += workload(topo, &d, from: 0, until: 50_000, ops: 8)
        let key = d.pick(keyPool)
        let x = d.pick(Array(0..<topo.count)), y = d.pick(Array(0..<topo.count).filter { topo.daemons[$0].cluster != topo.daemons[x].cluster })
        steps.append(Step(at: 1_000, .heartbeat(d.pick(Array(0..<topo.count)), key, ttlMs: 4000, everyMs: 1300, forMs: 12_000)))
        let td = d.int(26_000...30_000)  // the re-registration before it starts after every link is up
        steps.append(Step(at: td, .delete(x, key)))
        let gap = w + d.int(1_000...8_000)
        let tp = d.chance(0.5) ? td + gap : td - gap
        steps.append(Step(at: tp, .heartbeat(y, key, ttlMs: 4000, everyMs: 1300, forMs: 30_000)))
        if d.chance(0.5) {
            let cutAt = min(td, tp) - 2_000
            steps.append(Step(at: cutAt, .partition(groups: groups(topo) { topo.daemons[$0].cluster == topo.daemons[y].cluster ? 1 : 0 },
                                                    forMs: abs(td - tp) + d.int(4_000...15_000))))
        }
        return FaultSchedule(scenario: "delete-races-reregistration", seed: seed, topology: topo, steps: steps)
    }

    /// A peer that sends versions out of range (≥ 2^62); the victim keeps
    /// serving and writing afterwards.
    public static let lyingPeerVersions: Generator = { seed in
        lyingPeer(seed, "lying-peer-versions", [.versionOutOfRange, .versionNearMax])
    }

    /// A peer that sends an oversized frame or an oversized pull; the victim
    /// keeps serving and writing afterwards.
    public static let lyingPeerOversized: Generator = { seed in
        lyingPeer(seed, "lying-peer-oversized", [.oversizedFrame, .oversizedPull])
    }

    static func lyingPeer(_ seed: UInt64, _ name: String, _ lies: [Lie]) -> FaultSchedule {
        var d = Draw(seed, 10)
        let topo = SimTopology(clusters: 2, leaves: 3)
        let victim = d.pick(Array(0..<topo.count))
        let at = d.int(5_000...10_000)
        var steps = skews(topo, &d) + workload(topo, &d, from: 0, until: 35_000, ops: 10)
        steps.append(Step(at: at, .lie(into: victim, d.pick(lies))))
        steps.append(Step(at: at + 2_000, .heartbeat(victim, d.pick(keyPool), ttlMs: 4000, everyMs: 1300, forMs: 20_000)))
        return FaultSchedule(scenario: name, seed: seed, topology: topo, steps: steps)
    }

    /// Links that flap and links that are slow.
    public static let flappingAndSlowLinks: Generator = { seed in
        var d = Draw(seed, 11)
        let topo = SimTopology(clusters: 2, leaves: 3)
        var steps = skews(topo, &d) + workload(topo, &d, from: 0, until: 45_000, ops: 14)
        var pairs = d.shuffled(topo.links)
        for _ in 0..<d.int(1..<4) {
            let p = pairs.removeFirst()
            steps.append(Step(at: d.int(3_000...20_000), .flap(p.a, p.b, periodMs: d.int(1_000...8_000), times: d.int(2..<8))))
        }
        for _ in 0..<d.int(1..<3) {
            let p = pairs.removeFirst()
            steps.append(Step(at: d.int(3_000...20_000), .slow(p.a, p.b, extraMs: d.int(100...1_000), forMs: d.int(5_000...20_000))))
        }
        return FaultSchedule(scenario: "flapping-and-slow-links", seed: seed, topology: topo, steps: steps)
    }

    /// Everything at random: partitions of any shape, cut links, flaps, slow
    /// links, kills with and without restart (clock stepped), lies.
    public static let randomMix: Generator = { seed in
        var d = Draw(seed, 12)
        let topo = d.chance(0.5) ? SimTopology(clusters: 2, leaves: 3) : SimTopology(clusters: 3, leaves: 2)
        let horizon: Int64 = 60_000
        var steps = skews(topo, &d) + workload(topo, &d, from: 0, until: horizon, ops: 18)
        var busyPairs = Set<Simulation.Pair>()
        var partitionFree: Int64 = 0
        for _ in 0..<d.int(2..<7) {
            let at = d.int(2_000...horizon - 10_000)
            switch d.int(0..<7) {
            case 0:
                guard at >= partitionFree else { continue }
                let sides = d.int(2..<4)
                let len = d.chance(0.2) ? OracleBounds().tombstoneMs + d.int(1_000...20_000) : d.int(2_000...30_000)
                steps.append(Step(at: at, .partition(groups: (0..<topo.count).map { _ in d.int(0..<sides) }, forMs: len)))
                partitionFree = at + len
            case 1, 2:
                let p = d.pick(topo.links)
                guard busyPairs.insert(p).inserted else { continue }
                if d.chance(0.5) {
                    steps.append(Step(at: at, .cutLink(p.a, p.b, forMs: d.int(2_000...40_000))))
                } else {
                    steps.append(Step(at: at, .flap(p.a, p.b, periodMs: d.int(1_000...8_000), times: d.int(2..<6))))
                }
            case 3:
                let p = d.pick(topo.links)
                guard busyPairs.insert(p).inserted else { continue }
                steps.append(Step(at: at, .slow(p.a, p.b, extraMs: d.int(100...1_000), forMs: d.int(3_000...20_000))))
            case 4, 5:
                let i = d.pick(Array(0..<topo.count))
                let step: Int64 = d.chance(0.2) ? -d.int(1_000...600_000) : 0
                steps.append(Step(at: at, .kill(i, forMs: d.chance(0.8) ? d.int(300...20_000) : nil, clockStepMs: step)))
            default:
                steps.append(Step(at: at, .lie(into: d.pick(Array(0..<topo.count)), d.pick(Lie.allCases))))
            }
        }
        return FaultSchedule(scenario: "random-mix", seed: seed, topology: topo, steps: steps)
    }
}
