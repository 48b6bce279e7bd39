/// The origin purge (MISSION H7, B2): an origin daemon not alive for longer
/// than the origin timeout is dead, and its records are purged — only by a
/// daemon that may judge it. Every condition of that decision is a named
/// predicate below; `scan` applies them to every origin.
///
/// Each origin not alive has a purge clock: when it was first seen not
/// alive, and, once it looks alive again, since when. The clock is forgiven
/// only after the origin stayed alive for two rounds: right after a heal the
/// graph may still hold entries older than the deaths they hide.
struct OriginPurge {
    /// One origin life's purge clock.
    struct Clock: Equatable {
        /// The origin life the clock runs for: a new life starts without one.
        let name: String
        let generation: UInt64
        /// When the origin was first seen not alive.
        let since: Int64
        /// When it was first seen alive again while the clock ran.
        var aliveSeenAt: Int64?
    }

    /// What this daemon knows of itself that the purge depends on.
    struct Judge {
        /// The partition verdict: a stale daemon purges nothing.
        var stale: Bool
        /// When the daemon last became fresh (0: never stale).
        var freshSince: Int64
        /// Masters judge; leaves follow their masters' death notices.
        var master: Bool
        /// Whether any master is known (without masters every daemon judges).
        var knowsMasters: Bool
        /// The origin timeout, and the round that paces forgiving and healing.
        var originTimeoutMs: Int64, gossipIntervalMs: Int64
    }

    /// Purge clocks by origin id (the replica's slot).
    private var clocks: [Int32: Clock] = [:]

    // MARK: the named conditions

    /// Whether an origin counts as alive: vouched for (linked to us, or to
    /// a member of our component), or — while no master is known —
    /// heard from within the origin timeout.
    static func isAlive(_ o: OriginState, vouched: Set<String>, judge: Judge, now: Int64) -> Bool {
        vouched.contains(o.name) || (!judge.knowsMasters && now - o.lastHeard < judge.originTimeoutMs)
    }

    /// Whether this daemon may purge anyone: it is on the majority side, it
    /// is a master (or no master is known), and it has been fresh for two
    /// rounds (or never stale).
    static func mayPurge(_ judge: Judge, now: Int64) -> Bool {
        !judge.stale && (judge.master || !judge.knowsMasters)
            && (now - judge.freshSince >= 2 * judge.gossipIntervalMs || judge.freshSince == 0)
    }

    /// Whether a clock started at `since` has run out.
    static func timedOut(since: Int64, _ judge: Judge, now: Int64) -> Bool {
        now - since >= judge.originTimeoutMs
    }

    /// Whether an origin seen alive again at `aliveSeenAt` has stayed alive long enough to be forgiven.
    static func forgiven(aliveSeenAt: Int64, _ judge: Judge, now: Int64) -> Bool {
        now - aliveSeenAt >= 2 * judge.gossipIntervalMs
    }

    // MARK: clocks

    /// The running clock of origin `id` in the life `o`, if any.
    func clock(_ id: Int32, _ o: OriginState) -> Clock? {
        guard let c = clocks[id], c.name == o.name, c.generation == o.generation else { return nil }
        return c
    }

    /// Forgets the clock of a purged origin.
    mutating func forget(_ id: Int32) { clocks[id] = nil }

    /// Runs, forgives and checks every origin's clock (in slot order, all
    /// but our own). Returns the origins to purge now, and whether any clock
    /// still runs (then the next round scans again).
    mutating func scan(_ origins: [OriginState?], selfID: Int32, vouched: Set<String>, judge: Judge,
                       now: Int64) -> (dead: [Int32], running: Bool) {
        var dead: [Int32] = []
        var running = false
        let judges = OriginPurge.mayPurge(judge, now: now)
        for i in origins.indices where i != Int(selfID) {
            guard let o = origins[i] else { continue }
            let id = Int32(i)
            // Most origins are alive with no clock: no table access for them.
            let before = clocks.isEmpty ? nil : clocks[id]
            var c = before.flatMap { $0.name == o.name && $0.generation == o.generation ? $0 : nil }
            defer {
                if c != before { clocks[id] = c }
                if c != nil { running = true }
            }
            if OriginPurge.isAlive(o, vouched: vouched, judge: judge, now: now) {
                guard let clock = c else { continue }
                if let seen = clock.aliveSeenAt {
                    if OriginPurge.forgiven(aliveSeenAt: seen, judge, now: now) { c = nil }
                } else {
                    c!.aliveSeenAt = now
                }
                continue
            }
            if c == nil { c = Clock(name: o.name, generation: o.generation, since: now) }
            c!.aliveSeenAt = nil
            if judges, OriginPurge.timedOut(since: c!.since, judge, now: now) { dead.append(id) }
        }
        return (dead, running)
    }
}
