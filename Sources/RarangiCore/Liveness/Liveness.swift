/// Which origin daemons are alive, and which lives are dead and kept out
/// (MISSION H7, B2). The alive set is a snapshot taken at a gossip round:
/// this daemon, the peers it has live links to, and every daemon its
/// component of the members' graph vouches for. The origin purge itself is `OriginPurge`.
struct Liveness {
    /// What must be looked at again at the next round: the one mechanism
    /// that says when the (costly) alive set and origin scan are redone.
    struct Recheck: OptionSet {
        let rawValue: UInt8
        /// The links, the own entry or the verdict changed: rebuild the alive set.
        static let aliveSet = Recheck(rawValue: 1)
        /// Records arrived or the alive set changed: scan the origins.
        static let origins = Recheck(rawValue: 2)
    }

    /// A dead origin life, kept out until its records could no longer circulate.
    struct Burial {
        var generation: UInt64
        var until: Int64
    }

    /// The origins alive at the last round.
    private(set) var alive: Set<String> = []
    /// Dead origin lives, by name.
    private(set) var buried: [String: Burial] = [:]
    /// Origins purged as dead.
    private(set) var purged = 0
    private var recheck: Recheck = [.aliveSet, .origins]
    /// A purge clock was left running by the last scan: scan every round.
    private var clocksRunning = true
    private var purge = OriginPurge()

    /// Links, this master's entry or the partition verdict changed.
    mutating func linksChanged() { recheck.insert(.aliveSet) }

    /// Records of some origin arrived.
    mutating func originsChanged() { recheck.insert(.origins) }

    /// Whether the next round rebuilds the alive set (then it needs the up peers).
    var needsAliveSet: Bool { recheck.contains(.aliveSet) }

    /// Whether a life of `name` up to `generation` is buried and not alive
    /// again: its records and digest entries are refused.
    func keepsOut(_ name: String, generation: UInt64) -> Bool {
        guard let dead = buried[name] else { return false }
        return generation <= dead.generation && !alive.contains(name)
    }

    /// Records of `name` were accepted: it is no longer kept out.
    mutating func unbury(_ name: String) { buried[name] = nil }

    /// When origin `id`'s purge clock started, nil while it is alive.
    func notAliveSince(_ id: Int32, _ o: OriginState) -> Int64? { purge.clock(id, o)?.since }

    /// The round's step: rebuilds the alive set if needed (`upPeers`: peers
    /// of the up links; `vouched`: the daemons our component vouches
    /// for), then scans the origins if needed. Returns the origins to
    /// purge; the node buries them.
    mutating func round(name: String, upPeers: [String], vouched: () -> Set<String>, origins: [OriginState?],
                        selfID: Int32, judge: OriginPurge.Judge, now: Int64) -> [Int32] {
        if recheck.contains(.aliveSet) {
            recheck.remove(.aliveSet)
            recheck.insert(.origins)
            var set: Set<String> = [name]
            set.formUnion(upPeers)
            set.formUnion(vouched())
            alive = set
        }
        guard clocksRunning || recheck.contains(.origins) else { return [] }
        recheck.remove(.origins)
        let (dead, running) = purge.scan(origins, selfID: selfID, vouched: alive, judge: judge, now: now)
        clocksRunning = running
        return dead
    }

    /// Origin `id` is dead: counts it, logs it and keeps its life out for
    /// `keepOutMs`. The node then purges its records.
    mutating func bury(_ id: Int32, _ o: OriginState, now: Int64, keepOutMs: Int64, effects: inout [Effect]) {
        purged += 1
        effects.append(.log(LogEvent(.info, "origin_dead", [("origin", o.name), ("generation", "\(o.generation)"),
                                                            ("records", "\(o.liveCount)"),
                                                            ("silent_ms", "\(now - (notAliveSince(id, o) ?? now))")])))
        buried[o.name] = Burial(generation: o.generation, until: now + keepOutMs)
        purge.forget(id)
    }

    /// Forgets burials whose time is over.
    mutating func forgetBurials(now: Int64) { buried = buried.filter { $0.value.until > now } }
}
