import RarangiCore
import RarangiWire

/// One way a daemon's view broke the oracle.
public struct Violation: Sendable, CustomStringConvertible {
    /// Which property broke.
    public enum Kind: String, Sendable {
        /// A live registration not served, beyond the loss bound, by a daemon reaching its origin.
        case loss
        /// An ended registration served, beyond the ghost bound, by a daemon not stale.
        case ghost
        /// A live registration dropped by a daemon whose side was not a strict majority.
        case unsafePurge = "unsafe-purge"
        /// After every fault healed and the bound passed: not exactly the live set, or stale.
        case convergence
        /// A stale daemon's answer that does not say so.
        case unmarkedStale = "unmarked-stale"
        /// A peer's version carried a daemon's clock to the version limit.
        case poisonedClock = "poisoned-clock"
    }
    /// Which property broke.
    public var kind: Kind
    /// When (virtual ms).
    public var at: Int64
    /// The daemon's name.
    public var daemon: String
    /// The instance, if the violation is about one.
    public var key: Oracle.Key?
    /// What was seen, with the times that matter.
    public var detail: String
    /// What the violation amounts to, whichever check saw it first: a live
    /// element missing (loss, convergence), an ended one served (ghost,
    /// convergence), or the kind itself. The shrinker keeps the family.
    public var family: String

    public var description: String {
        "\(kind.rawValue) at t=\(Checker.seconds(at)) on \(daemon)\(key.map { " of \($0)" } ?? ""): \(detail)"
    }
}

/// Checks every up daemon's view against the oracle at every check instant,
/// Jepsen set-full style: per daemon and element, served-and-live (ok),
/// live-not-served beyond the loss bound while the daemon reaches the
/// origin (loss), served-not-live beyond the ghost bound while the daemon
/// is not stale (ghost); a live registration that disappears from a daemon
/// whose side was not a strict majority (unsafe purge); and, once every
/// fault has healed, exactly the live set everywhere (convergence). Views
/// are read from the real core: the catalogue every lookup is served from,
/// the stale flag, and one lookup through `Node.handle` per check, whose
/// answer must carry the stale header exactly when the daemon is stale.
public final class Checker {
    let sim: Simulation
    let oracle: Oracle
    let bounds: OracleBounds
    /// Every violation found, in order.
    public private(set) var violations: [Violation] = []
    /// Per element, the longest time it was served while ended (at a daemon not stale) and not served while required.
    public private(set) var longestGhostMs: [Oracle.Key: Int64] = [:]
    public private(set) var longestLossMs: [Oracle.Key: Int64] = [:]
    /// Check instants done.
    public private(set) var checks = 0
    /// From when convergence is required (nil: faults still running).
    public var convergeFrom: Int64?

    /// The live registrations each daemon held a record of at the last check.
    private var heldBefore: [Int: Set<ObjectIdentifier>] = [:]
    private var lifeBefore: [Int] = []
    private var freshSince: [Int64?]
    private var lossSince: [Int: [Oracle.Key: Int64]] = [:]
    private var roundRobin = 0

    init(sim: Simulation, oracle: Oracle, bounds: OracleBounds) {
        self.sim = sim
        self.oracle = oracle
        self.bounds = bounds
        freshSince = Array(repeating: 0, count: sim.hosts.count)
        lifeBefore = Array(repeating: 0, count: sim.hosts.count)
    }

    static func seconds(_ ms: Int64) -> String {
        let s = ms / 1000, r = abs(ms % 1000)
        return "\(s).\(String(repeating: "0", count: 3 - String(r).count))\(r)s"
    }

    private lazy var names: [String] = sim.hosts.map(\.config.name)
    private func name(_ i: Int) -> String { names[i] }

    private func report(_ kind: Violation.Kind, _ i: Int, _ key: Oracle.Key?, family: String? = nil, _ detail: String) {
        violations.append(Violation(kind: kind, at: sim.now, daemon: name(i), key: key, detail: detail,
                                    family: family ?? kind.rawValue))
    }

    /// Records a poisoned clock (the simulation crashed the host).
    func poisoned(_ i: Int, at t: Int64) {
        violations.append(Violation(kind: .poisonedClock, at: t, daemon: name(i), key: nil,
                                    detail: "a peer's version carried its clock to \(Node.versionLimit - 1): its next local write traps",
                                    family: Violation.Kind.poisonedClock.rawValue))
    }

    /// One check instant.
    func check() {
        let t = sim.now
        checks += 1
        oracle.reach.observe(now: t)
        let keys = oracle.keys
        let truths = keys.map { oracle.truth($0, at: t) }
        let slowAllowance = oracle.reach.slowAllowance(now: t, windowMs: bounds.lossMs)
        // Every fault has healed, but a daemon can stay cut off for good
        // (both masters of its cluster killed for good): it cannot hear of
        // any change, is held to staleness instead, and is not counted.
        let converging = convergeFrom.map { t >= $0 } ?? false
        let joined = converging ? sim.hosts.indices.map { oracle.reach.inMajority($0) } : []
        let settled = converging ? keys.map { t - oracle.lastChange($0, by: t) >= bounds.propagationMs + slowAllowance } : []
        var servedBy = Array(repeating: [Int](), count: keys.count)
        for i in sim.hosts.indices {
            guard sim.isUp(i) else {
                heldBefore[i] = nil
                continue
            }
            let life = sim.life(i)
            if lifeBefore[i] != life {
                lifeBefore[i] = life
                heldBefore[i] = nil
                lossSince[i] = nil
                freshSince[i] = t
            }
            let cat = sim.catalogue(i)!
            let stale = sim.isStale(i)
            if stale { freshSince[i] = nil } else if freshSince[i] == nil { freshSince[i] = t }
            let heldToGhosts = !stale && t - freshSince[i]! >= bounds.freshGraceMs
            let served = keys.map { cat.instance(service: $0.service, id: $0.id) != nil }
            let servedCount = served.reduce(0) { $0 + ($1 ? 1 : 0) }
            if cat.count > servedCount {
                report(.ghost, i, nil, family: "extra", "serves \(cat.count - servedCount) instance(s) no one ever registered")
            }
            for (n, key) in keys.enumerated() {
                let k = truths[n]
                let isServed = served[n]
                if isServed, !converging || joined[i] { servedBy[n].append(i) }
                // Loss: required by some live registration whose origin it reaches.
                var requiredSince: Int64?
                for (r, since) in k.live {
                    let from: Int64?
                    if let reached = oracle.reach.reachedSince(i, r.origin) {
                        from = max(since, reached) + bounds.lossMs + slowAllowance
                    } else {
                        from = nil
                    }
                    if let from, from <= t { requiredSince = min(requiredSince ?? from, from) }
                }
                if let req = requiredSince, !isServed {
                    let began = lossSince[i]?[key] ?? req
                    lossSince[i, default: [:]][key] = began
                    longestLossMs[key] = max(longestLossMs[key] ?? 0, t - began)
                    let origins = k.live.map { name($0.0.origin) }.joined(separator: ",")
                    report(.loss, i, key, family: "missing", "live at \(origins), required here since t=\(Checker.seconds(req)) (loss bound \(bounds.lossMs + slowAllowance) ms after reaching the origin), not served; stale=\(stale)")
                } else if lossSince[i]?[key] != nil {
                    lossSince[i]![key] = nil
                }
                // Ghost: ended, served, not stale — a DELETE's end counts from
                // when this daemon reached the deleter.
                if isServed, let dead = k.deadSince.flatMap({ heldFrom($0, k.deleters, i) }), !stale {
                    longestGhostMs[key] = max(longestGhostMs[key] ?? 0, t - dead)
                    if heldToGhosts, t - dead > bounds.ghostMs {
                        report(.ghost, i, key, family: "extra", "ended at t=\(Checker.seconds(dead)) (\(k.reason!.rawValue)), still served \(t - dead) ms later (ghost bound \(bounds.ghostMs) ms); fresh since t=\(Checker.seconds(freshSince[i]!))")
                    }
                }
                // Convergence: exactly the live set, once the truth has been still for a propagation bound.
                if converging, joined[i], settled[n] {
                    // Live at an origin it reaches (one cut off for good is dead to it).
                    if k.live.contains(where: { oracle.reach.reachedSince(i, $0.0.origin) != nil }), !isServed {
                        report(.convergence, i, key, family: "missing", "live, not served after every fault healed (converge by t=\(Checker.seconds(convergeFrom!)))")
                    } else if k.live.isEmpty, !k.uncertain, isServed {
                        report(.convergence, i, key, family: "extra", "ended (\(k.reason?.rawValue ?? "-")), still served after every fault healed (converge by t=\(Checker.seconds(convergeFrom!)))")
                    }
                }
            }
            if converging, joined[i], stale { report(.convergence, i, nil, family: "stale", "still stale after every fault healed (converge by t=\(Checker.seconds(convergeFrom!)))") }
            if converging, !joined[i], !stale, t >= convergeFrom! + bounds.propagationMs {
                report(.convergence, i, nil, family: "fresh", "fresh, though cut off from the majority for good")
            }
            if checks % Checker.purgeEvery == 0 { checkPurges(i, sim.replica(i)!, keys, truths, stale: stale) }
        }
        if converging {
            let up = sim.hosts.indices.filter { sim.isUp($0) && joined[$0] }
            for (n, key) in keys.enumerated() where truths[n].uncertain && truths[n].live.isEmpty && settled[n]
                && !servedBy[n].isEmpty && servedBy[n].count < up.count {
                report(.convergence, up.first ?? 0, key,
                       "concurrent DELETE and PUT: daemons disagree after every fault healed; served by "
                        + servedBy[n].map(name).joined(separator: ","))
            }
        }
        checkStaleHeader(keys)
    }

    /// From when daemon `i` is held to an end at `dead`: at once, or for a
    /// DELETE's end from when it reached the deleter (nil: not yet).
    private func heldFrom(_ dead: Int64, _ deleters: [Int], _ i: Int) -> Int64? {
        var from = dead
        for d in deleters where d != i {
            guard let reached = oracle.reach.reachedSince(i, d) else { return nil }
            from = max(from, reached)
        }
        return from
    }

    /// The purge check runs at every this many check instants: a purged
    /// record stays gone while its origin is out of reach, so it is seen
    /// all the same, at a fifth of the cost.
    static let purgeEvery = 5

    /// Unsafe purge: a live registration whose record this daemon held at
    /// the last purge check is gone, its origin out of reach, and its side was no
    /// strict majority of all daemons within the purge lag.
    private func checkPurges(_ i: Int, _ replica: Replica, _ keys: [Oracle.Key], _ truths: [Oracle.KeyTruth], stale: Bool) {
        let t = sim.now
        var held: Set<ObjectIdentifier> = []
        let before = heldBefore[i]
        for (key, k) in zip(keys, truths) {
            for (r, since) in k.live where r.origin != i {
                let origin = name(r.origin)
                guard replica.generation(of: origin) == r.generation,
                      replica.holdsLive(origin, service: key.service, id: key.id) else {
                    if let before, before.contains(ObjectIdentifier(r)), since < t - Int64(Checker.purgeEvery) * bounds.checkEveryMs,
                       !oracle.reach.canReach(i, r.origin), !oracle.reach.wasMajority(i, now: t, lagMs: bounds.purgeLagMs) {
                        let side = oracle.reach.side(of: i)
                        report(.unsafePurge, i, key, "dropped its record of the live registration at \(origin) (live since t=\(Checker.seconds(since))) while its side {\(side.map(name).joined(separator: ","))} is \(side.count) of \(sim.hosts.count) daemons; stale=\(stale)")
                    }
                    continue
                }
                held.insert(ObjectIdentifier(r))
            }
        }
        heldBefore[i] = held
    }

    /// One lookup through the core per check, round robin: a stale daemon must say so.
    private func checkStaleHeader(_ keys: [Oracle.Key]) {
        let n = sim.hosts.count
        for step in 0..<n {
            let i = (roundRobin + step) % n
            guard sim.isUp(i) else { continue }
            roundRobin = i + 1
            let stale = sim.isStale(i)
            guard let reply = sim.request(i, conn: ConnectionID(UInt64.max), .lookup(service: keys.first?.service ?? "s0", pretty: false)) else {
                report(.unmarkedStale, i, nil, "no answer to a lookup")
                return
            }
            let marked = reply.headers.contains { $0.0 == Node.staleHeader.0 && $0.1 == Node.staleHeader.1 }
            if marked != stale { report(.unmarkedStale, i, nil, "stale=\(stale) but its answer is \(marked ? "" : "not ")marked stale") }
            return
        }
    }
}
