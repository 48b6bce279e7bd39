import RarangiCore
import RarangiWire

/// Runs a `FaultSchedule` against real cores in a `Simulation`, telling the
/// `Oracle` what happened (as the daemons answered it) and calling the
/// `Checker` at every check instant and after every fault.
public struct ScheduleRunner {
    /// What a run found.
    public struct Outcome {
        /// Every violation (the first only, when the run stops at it).
        public var violations: [Violation]
        /// Check instants done.
        public var checks: Int
        /// Virtual time run, ms.
        public var virtualMs: Int64
        /// When convergence was required from, and the run's end.
        public var convergeFrom: Int64?
        /// The longest ghost and loss durations per element.
        public var longestGhostMs: [Oracle.Key: Int64]
        public var longestLossMs: [Oracle.Key: Int64]
        /// Messages delivered and dropped.
        public var delivered: Int, dropped: Int
        /// The first violation.
        public var first: Violation? { violations.first }
    }

    /// The bounds the run is checked against.
    public var bounds = OracleBounds()
    /// Stop at the first violation (the shrinker and CI do).
    public var stopAtFirst = true
    /// How long the live set must stay converged.
    public var stayMs: Int64 = 10_000
    /// A test hook run before the first step with the simulation and the oracle.
    public var prepare: ((Simulation, Oracle) -> Void)?
    /// A test hook run before every check instant (to plant a failure).
    public var atCheck: ((Simulation, Oracle, Int64) -> Void)?

    /// Creates a runner.
    public init() {}

    enum Prim {
        case groups([Int]), cut(Int, Int, Bool), slow(Int, Int, Int64)
        case crash(Int), restart(Int, stepMs: Int64), skew(Int, Int64), lie(Int, Lie)
        case put(Int, Oracle.Key, ttlMs: Int64), hold(Int, Oracle.Key, id: Int), close(id: Int), delete(Int, Oracle.Key)
        var isFault: Bool {
            switch self {
            case .put, .hold, .close, .delete: return false
            default: return true
            }
        }
    }

    static func timeline(_ schedule: FaultSchedule) -> [(Int64, Prim)] {
        var out: [(Int64, Prim)] = []
        var holds = 0
        let n = schedule.topology.count
        for s in schedule.steps {
            let t = s.at
            switch s.action {
            case let .partition(groups, forMs):
                out.append((t, .groups(groups)))
                out.append((t + forMs, .groups(Array(repeating: 0, count: n))))
            case let .cutLink(a, b, forMs):
                out.append((t, .cut(a, b, true)))
                out.append((t + forMs, .cut(a, b, false)))
            case let .flap(a, b, period, times):
                for k in 0..<Int64(max(0, times)) {
                    out.append((t + k * period, .cut(a, b, true)))
                    out.append((t + k * period + period / 2, .cut(a, b, false)))
                }
            case let .slow(a, b, extra, forMs):
                out.append((t, .slow(a, b, extra)))
                out.append((t + forMs, .slow(a, b, 0)))
            case let .kill(i, forMs, step):
                out.append((t, .crash(i)))
                if let forMs { out.append((t + forMs, .restart(i, stepMs: step))) }
            case let .skew(i, ms): out.append((t, .skew(i, ms)))
            case let .lie(i, lie): out.append((t, .lie(i, lie)))
            case let .heartbeat(i, k, ttl, every, forMs):
                var u = t
                while u <= t + forMs {
                    out.append((u, .put(i, k, ttlMs: ttl)))
                    u += max(100, every)
                }
            case let .put(i, k, ttl): out.append((t, .put(i, k, ttlMs: ttl)))
            case let .hold(i, k, forMs):
                holds += 1
                out.append((t, .hold(i, k, id: holds)))
                if let forMs { out.append((t + forMs, .close(id: holds))) }
            case let .delete(i, k): out.append((t, .delete(i, k)))
            }
        }
        // Stable by time: a step's own order is kept for equal instants.
        return out.enumerated().sorted { $0.element.0 != $1.element.0 ? $0.element.0 < $1.element.0 : $0.offset < $1.offset }
            .map(\.element)
    }

    /// Runs `schedule` and checks it.
    public func run(_ schedule: FaultSchedule) -> Outcome {
        let topo = schedule.topology
        let sim = Simulation(seed: schedule.seed,
                             network: .init(loss: schedule.loss, minDelayMs: 1, maxDelayMs: bounds.maxDelayMs))
        var initialSkew: [Int: Int64] = [:]
        for s in schedule.steps where s.at == 0 { if case let .skew(i, ms) = s.action { initialSkew[i] = ms } }
        for i in topo.daemons.indices { sim.add(topo.config(i, bounds: bounds), skewMs: initialSkew[i] ?? 0) }
        let oracle = Oracle(topology: topo, bounds: bounds, generations: sim.hosts.map(\.config.generation))
        let checker = Checker(sim: sim, oracle: oracle, bounds: bounds)
        prepare?(sim, oracle)
        let events = ScheduleRunner.timeline(schedule)
        let lastFault = events.filter { $0.1.isFault }.map(\.0).max() ?? 0
        let lastEvent = events.map(\.0).max() ?? 0
        var held: [Int: (host: Int, life: Int, conn: UInt64)] = [:]
        var nextConn: UInt64 = 100
        var poisonsSeen = 0
        var e = 0
        var nextCheck: Int64 = 0
        var end: Int64 = .max

        func body(_ i: Int) -> [UInt8] { Array(#"{"host":"\#(topo.daemons[i].name)","port":80}"#.utf8) }
        func takePoisonings() {
            while poisonsSeen < sim.poisonings.count {
                let p = sim.poisonings[poisonsSeen]
                poisonsSeen += 1
                oracle.crashed(p.host, at: p.at)
                checker.poisoned(p.host, at: p.at)
            }
        }
        func apply(_ p: Prim) {
            let t = sim.now
            switch p {
            case let .groups(g):
                sim.partition { g[$0] }
                oracle.groups(g, at: t)
            case let .cut(a, b, c):
                sim.cut(a, b, c)
                oracle.cut(a, b, c, at: t)
            case let .slow(a, b, ms):
                sim.slow(a, b, extraMs: ms)
                oracle.slow(a, b, extraMs: ms, at: t)
            case let .crash(i):
                guard sim.isUp(i) else { return }
                sim.crash(i)
                oracle.crashed(i, at: t)
            case let .restart(i, step):
                guard !sim.isUp(i) else { return }
                sim.start(i, skewMs: sim.hosts[i].skewMs + step)
                oracle.started(i, generation: sim.hosts[i].config.generation, at: t)
            case let .skew(i, ms):
                sim.setSkew(i, ms)
            case let .lie(i, lie):
                guard sim.isUp(i) else { return }
                oracle.injected(CraftedFrames.key, at: t)
                sim.craft(into: i, frames: CraftedFrames.frames(lie, cluster: sim.hosts[i].config.cluster,
                                                                origins: topo.daemons.map(\.name)))
            case let .put(i, k, ttl):
                guard sim.isUp(i) else { return }
                let r = sim.request(i, conn: ConnectionID(1),
                                    .register(service: k.service, id: k.id, body: body(i), ttlSeconds: Int(ttl / 1000)))
                if let r, r.status == 200 || r.status == 201 { oracle.put(i, k, ttlMs: ttl / 1000 * 1000, at: t) }
            case let .hold(i, k, id):
                guard sim.isUp(i) else { return }
                nextConn += 1
                let r = sim.request(i, conn: ConnectionID(nextConn), .hold(service: k.service, id: k.id, body: body(i)))
                if let r, r.status == 200 || r.status == 201 {
                    oracle.hold(i, k, conn: nextConn, at: t)
                    held[id] = (i, sim.hosts[i].life, nextConn)
                }
            case let .close(id):
                guard let h = held.removeValue(forKey: id), sim.isUp(h.host), sim.hosts[h.host].life == h.life else { return }
                sim.closeClient(h.host, ConnectionID(h.conn))
                oracle.closed(h.host, conn: h.conn, at: t)
            case let .delete(i, k):
                guard sim.isUp(i) else { return }
                let r = sim.request(i, conn: ConnectionID(1), .deregister(service: k.service, id: k.id))
                if r?.status == 200 { oracle.deleted(k, at: t, by: i) }
            }
        }

        while true {
            let te = e < events.count ? events[e].0 : Int64.max
            if end == .max, te > lastFault {
                // Every fault has happened and healed: converge within the bound, and stay so.
                let from = max(lastFault, sim.now) + bounds.convergenceMs(longestGapMs: oracle.reach.longestGapMs)
                checker.convergeFrom = from
                end = max(from + stayMs, lastEvent + bounds.ghostMs)
            }
            let next = min(te, nextCheck)
            if next > end { break }
            sim.run(until: next)
            takePoisonings()
            if te <= nextCheck {
                var fault = false
                while e < events.count, events[e].0 == te {
                    apply(events[e].1)
                    fault = fault || events[e].1.isFault
                    e += 1
                }
                takePoisonings()
                if fault { checker.check() }
            } else {
                atCheck?(sim, oracle, sim.now)
                checker.check()
                nextCheck += bounds.checkEveryMs
            }
            if stopAtFirst, !checker.violations.isEmpty { break }
        }
        return Outcome(violations: checker.violations, checks: checker.checks, virtualMs: sim.now,
                       convergeFrom: checker.convergeFrom, longestGhostMs: checker.longestGhostMs,
                       longestLossMs: checker.longestLossMs, delivered: sim.delivered, dropped: sim.dropped)
    }
}
