/// The ground truth beside the simulated daemons (MISSION B9): every
/// registration — its instance, its origin daemon and that daemon's life —
/// when it became live and when and why it ended, and (`Reachability`)
/// which daemons are up and who can reach whom.
///
/// The semantics are MISSION's: an expiry or a closed session at one daemon
/// ends only that daemon's registration, never the same instance registered
/// at another; a DELETE at time t ends every registration of the instance
/// last PUT before t that the deleting daemon had seen, and a PUT after it
/// registers it again. A crash ends every registration of that life of the
/// daemon. An instance is live while any of its registrations is. A DELETE
/// and a PUT are concurrent — that registration is uncertain, either outcome
/// accepted so long as every daemon ends up agreeing — when they are closer
/// than the race window, when the deleter could not have seen the
/// registration (it had not reached the registration's daemon over usable
/// links for a race window since the registration's version was written),
/// or when a refresh came before the DELETE could have reached the
/// registration's daemon. A deleted registration is a ghost only at a
/// daemon that has reached the deleter.
public final class Oracle {
    /// An instance: service and id.
    public struct Key: Hashable, Comparable, Sendable, CustomStringConvertible {
        /// The service.
        public var service: String
        /// The instance id.
        public var id: String
        /// Creates a key.
        public init(_ service: String, _ id: String) {
            self.service = service
            self.id = id
        }
        public static func < (a: Key, b: Key) -> Bool { (a.service, a.id) < (b.service, b.id) }
        public var description: String { "\(service)/\(id)" }
    }

    /// Why a registration ended.
    public enum EndReason: String, Sendable {
        /// Not refreshed within its TTL: expired at its origin.
        case expired
        /// The connection holding it closed.
        case closed
        /// Its origin crashed (every registration of that life ends).
        case crashed
        /// An explicit DELETE (at any daemon).
        case deleted
        /// Never live: a record a lying peer sent.
        case neverLive = "never-live"
    }

    /// One registration: an instance at one origin daemon, in one life of it.
    public final class Registration {
        /// The instance.
        public let key: Key
        /// The origin daemon's host index, and its life.
        public let origin: Int, life: Int
        /// That life's generation (as the daemons know it).
        public internal(set) var generation: UInt64 = 0
        /// When it was first PUT, and last PUT.
        public let createdAt: Int64
        public internal(set) var lastPut: Int64
        /// Since when it has been live and certain (nil: uncertain or ended).
        public internal(set) var certainSince: Int64?
        /// TTL deadline at its origin; nil while a connection holds it.
        var deadline: Int64?
        var holder: UInt64?
        /// The latest DELETE of the instance while this registration existed, and where.
        var deletedAt: Int64?
        var deletedBy: Int?
        /// Whether that DELETE's daemon had certainly seen the registration's
        /// version (else the two are concurrent).
        var deleteSaw = false
        /// Whether the last PUT came certainly after that DELETE reached the origin.
        var putAfterKill = true
        /// When the origin last wrote a new version of it (lenient: at every
        /// PUT after a DELETE, which may or may not have written one).
        var versionAt: Int64
        /// An end of its own (expiry is computed from `deadline`).
        var ended: (at: Int64, reason: EndReason)?

        init(key: Key, origin: Int, life: Int, at: Int64) {
            self.key = key
            self.origin = origin
            self.life = life
            createdAt = at
            lastPut = at
            versionAt = at
            certainSince = at
        }

        /// When it ended by itself (expiry, close, crash), if by `t`.
        func naturalEnd(_ t: Int64) -> (at: Int64, reason: EndReason)? {
            if let e = ended, e.at <= t { return e }
            if let d = deadline, d <= t, ended.map({ $0.at > d }) ?? true { return (d, .expired) }
            return nil
        }
    }

    /// What a registration is at an instant.
    public enum Status: Equatable {
        /// Live for certain since this instant.
        case live(since: Int64)
        /// Concurrent with a DELETE: it may or may not be served.
        case uncertain
        /// Ended at this instant.
        case ended(at: Int64, reason: EndReason)
    }

    /// The bounds (the race window is used here).
    public let bounds: OracleBounds
    /// Who is up and who reaches whom.
    var reach: Reachability
    /// Every registration ever made, by instance.
    public private(set) var registrations: [Key: [Registration]] = [:]
    /// Each host's current life (0 while never started).
    public private(set) var life: [Int]
    /// Each host's current generation.
    public private(set) var generation: [UInt64]
    /// The latest DELETE of each instance: a registration made within the
    /// race window after it is concurrent with it.
    private var lastDelete: [Key: Int64] = [:]

    /// A truth for `topology`, every daemon up in its first life at time 0.
    /// `generations` are the daemons' first generations.
    public init(topology: SimTopology, bounds: OracleBounds, generations: [UInt64]) {
        self.bounds = bounds
        reach = Reachability(topology: topology, bounds: bounds)
        life = Array(repeating: 1, count: topology.count)
        generation = generations
    }

    /// Every instance the truth knows of, sorted.
    public var keys: [Key] { registrations.keys.sorted() }

    private func current(_ host: Int, _ key: Key, at t: Int64) -> Registration? {
        guard let r = registrations[key]?.last(where: { $0.origin == host && $0.life == life[host] }),
              r.naturalEnd(t) == nil else { return nil }
        return r
    }

    // MARK: client operations (as the daemon answered them)

    /// A PUT with a TTL at `host` was answered 200/201.
    public func put(_ host: Int, _ key: Key, ttlMs: Int64, at t: Int64) {
        write(host, key, deadline: t + ttlMs, holder: nil, at: t)
    }

    /// A PUT held by connection `conn` at `host` was answered.
    public func hold(_ host: Int, _ key: Key, conn: UInt64, at t: Int64) {
        write(host, key, deadline: nil, holder: conn, at: t)
    }

    private func write(_ host: Int, _ key: Key, deadline: Int64?, holder: UInt64?, at t: Int64) {
        let r: Registration
        if let existing = current(host, key, at: t) {
            r = existing
            r.lastPut = t
            if let td = r.deletedAt, let d = r.deletedBy {
                // The kill reached this daemon before this PUT only if it had
                // reached the deleter for a race window since the DELETE.
                let reached = d == host ? td : reach.reachedSince(host, d)
                r.putAfterKill = reached.map { max($0, td) + bounds.raceWindowMs <= t } ?? false
                r.versionAt = t
            }
        } else {
            r = Registration(key: key, origin: host, life: life[host], at: t)
            r.generation = generation[host]
            if let td = lastDelete[key], t < td + bounds.raceWindowMs { r.deletedAt = td }
            registrations[key, default: []].append(r)
        }
        r.deadline = deadline
        r.holder = holder
        switch status(r, at: t) {
        case .uncertain: r.certainSince = nil
        case .live: if r.certainSince == nil { r.certainSince = t }
        case .ended: break
        }
    }

    /// The client closed connection `conn` to `host`.
    public func closed(_ host: Int, conn: UInt64, at t: Int64) {
        for (_, regs) in registrations {
            for r in regs where r.origin == host && r.life == life[host] && r.holder == conn && r.deadline == nil
                && r.naturalEnd(t) == nil {
                r.ended = (t, .closed)
                r.certainSince = nil
            }
        }
    }

    /// A DELETE at any daemon was answered 200: every registration of the
    /// instance last PUT before `t` ends.
    public func deleted(_ key: Key, at t: Int64, by host: Int) {
        lastDelete[key] = t
        for r in registrations[key] ?? [] where r.naturalEnd(t) == nil {
            r.deletedAt = t
            r.deletedBy = host
            r.putAfterKill = true
            let reached = host == r.origin ? r.versionAt : reach.reachedSince(host, r.origin)
            r.deleteSaw = reached.map { t - max($0, r.versionAt) >= bounds.raceWindowMs } ?? false
            r.certainSince = nil
        }
    }

    /// A record a lying peer sent that is never live.
    public func injected(_ key: Key, at t: Int64) {
        let r = Registration(key: key, origin: -1, life: 0, at: t)
        r.ended = (t, .neverLive)
        r.certainSince = nil
        registrations[key, default: []].append(r)
    }

    // MARK: daemons and the network

    /// Host `i` crashed: every registration of its life ends.
    public func crashed(_ i: Int, at t: Int64) {
        for (_, regs) in registrations {
            for r in regs where r.origin == i && r.life == life[i] && r.naturalEnd(t) == nil {
                r.ended = (t, .crashed)
                r.certainSince = nil
            }
        }
        reach.setUp(i, false, now: t)
    }

    /// Host `i` started again (a new life, state lost) as `generation`.
    public func started(_ i: Int, generation g: UInt64, at t: Int64) {
        life[i] += 1
        generation[i] = g
        reach.setUp(i, true, now: t)
    }

    /// Partition groups changed (one group number per host).
    public func groups(_ g: [Int], at t: Int64) { reach.setGroups(g, now: t) }
    /// A link was cut or healed.
    public func cut(_ a: Int, _ b: Int, _ isCut: Bool, at t: Int64) { reach.setCut(Simulation.Pair(a, b), isCut, now: t) }
    /// A link was slowed (0: back to normal).
    public func slow(_ a: Int, _ b: Int, extraMs: Int64, at t: Int64) { reach.setSlow(Simulation.Pair(a, b), extraMs, now: t) }

    // MARK: truth at an instant

    /// What registration `r` is at `t`.
    public func status(_ r: Registration, at t: Int64) -> Status {
        let natural = r.naturalEnd(t)
        let w = bounds.raceWindowMs
        if let td = r.deletedAt, td <= t, r.lastPut < td {
            if r.lastPut <= td - w, r.deleteSaw { return .ended(at: td, reason: .deleted) }
            if let n = natural { return .ended(at: n.at, reason: n.reason) }
            return .uncertain
        }
        if let n = natural { return .ended(at: n.at, reason: n.reason) }
        if let td = r.deletedAt, r.lastPut < td + w || !r.putAfterKill { return .uncertain }
        return .live(since: r.certainSince ?? r.lastPut)
    }

    /// What an instance is at `t`: its certainly live registrations, whether
    /// any is uncertain, and — when none is live or uncertain — since when
    /// it has been dead.
    public struct KeyTruth {
        /// Registrations live for certain, with since when.
        public var live: [(Registration, Int64)] = []
        /// Whether some registration is uncertain.
        public var uncertain = false
        /// When the last registration ended (nil while live or uncertain).
        public var deadSince: Int64?
        /// Why the last one ended.
        public var reason: EndReason?
        /// The daemons whose DELETE ended a registration of it: a daemon
        /// that has not reached them may still serve it.
        public var deleters: [Int] = []
    }

    /// The truth of `key` at `t`.
    public func truth(_ key: Key, at t: Int64) -> KeyTruth {
        var k = KeyTruth()
        var lastEnd: (Int64, EndReason)?
        for r in registrations[key] ?? [] {
            switch status(r, at: t) {
            case let .live(since): k.live.append((r, since))
            case .uncertain: k.uncertain = true
            case let .ended(at, reason):
                if lastEnd == nil || at > lastEnd!.0 { lastEnd = (at, reason) }
                if reason == .deleted, let d = r.deletedBy, !k.deleters.contains(d) { k.deleters.append(d) }
            }
        }
        if k.live.isEmpty, !k.uncertain, let e = lastEnd {
            k.deadSince = e.0
            k.reason = e.1
        }
        return k
    }

    /// When the truth of `key` last changed (a registration started or ended), by `t`.
    public func lastChange(_ key: Key, by t: Int64) -> Int64 {
        var last: Int64 = 0
        for r in registrations[key] ?? [] {
            last = max(last, r.createdAt)
            if let s = r.certainSince { last = max(last, s) }
            if let td = r.deletedAt, td <= t { last = max(last, td + bounds.raceWindowMs) }
            if let n = r.naturalEnd(t) { last = max(last, n.at) }
        }
        return min(last, t)
    }
}
