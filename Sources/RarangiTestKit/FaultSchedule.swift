/// What a lying or broken peer sends (MISSION: everything a peer sends is
/// input like a client's, validated before it touches state).
public enum Lie: String, Sendable, CaseIterable {
    /// A record whose version is at or above 2^62 (beyond `Node.versionLimit`).
    case versionOutOfRange = "version-out-of-range"
    /// A record whose version is UInt64.max − 1.
    case versionNearMax = "version-near-max"
    /// A frame whose length prefix is far beyond the frame limit.
    case oversizedFrame = "oversized-frame"
    /// A pull naming 100,000 origins, then the same pull of everything 20 times.
    case oversizedPull = "oversized-pull"
}

/// One thing that happens in a run: a fault or a client operation. Steps
/// with a duration undo themselves (a partition heals, a killed daemon
/// restarts, a heartbeat stops), so the shrinker can shorten them.
public enum Action: Sendable {
    /// Hosts in different groups (one number per host) cannot talk, for `forMs`.
    case partition(groups: [Int], forMs: Int64)
    /// The link between two hosts is cut for `forMs`.
    case cutLink(Int, Int, forMs: Int64)
    /// The link between two hosts goes down for half of every period, `times` times.
    case flap(Int, Int, periodMs: Int64, times: Int)
    /// Messages between two hosts take `extraMs` longer, for `forMs`.
    case slow(Int, Int, extraMs: Int64, forMs: Int64)
    /// A host is killed (state lost); it restarts after `forMs` (never when nil)
    /// with its wall clock stepped by `clockStepMs` (negative: back).
    case kill(Int, forMs: Int64?, clockStepMs: Int64)
    /// A host's wall clock is set to `ms` off true time (±10 min).
    case skew(Int, ms: Int64)
    /// A crafted peer connects to a host and sends a lie.
    case lie(into: Int, Lie)
    /// A client registers at a host with a TTL and refreshes it every `everyMs` for `forMs`.
    case heartbeat(Int, Oracle.Key, ttlMs: Int64, everyMs: Int64, forMs: Int64)
    /// A client registers at a host once with a TTL.
    case put(Int, Oracle.Key, ttlMs: Int64)
    /// A client holds a registration on a connection to a host, closing it after `forMs` (never when nil).
    case hold(Int, Oracle.Key, forMs: Int64?)
    /// A client deletes an instance at a host.
    case delete(Int, Oracle.Key)

    /// Whether this is a fault (not a client operation).
    public var isFault: Bool {
        switch self {
        case .partition, .cutLink, .flap, .slow, .kill, .skew, .lie: return true
        case .heartbeat, .put, .hold, .delete: return false
        }
    }
}

/// One timed step.
public struct Step: Sendable {
    /// When it starts (virtual ms).
    public var at: Int64
    /// What happens.
    public var action: Action
    /// Creates a step.
    public init(at: Int64, _ action: Action) {
        self.at = at
        self.action = action
    }
}

/// A named, seeded run: a topology, timed steps, and how long the faults
/// last. Drawn by `Scenarios`, executed by `ScheduleRunner`, shrunk by `Shrinker`.
public struct FaultSchedule: Sendable {
    /// The scenario's name.
    public var scenario: String
    /// The seed it was drawn from (the simulation runs on it too).
    public var seed: UInt64
    /// The daemons and their links.
    public var topology: SimTopology
    /// The steps, by start time.
    public var steps: [Step]
    /// The network's message loss.
    public var loss: Double = 0.005

    /// Creates a schedule.
    public init(scenario: String, seed: UInt64, topology: SimTopology, steps: [Step]) {
        self.scenario = scenario
        self.seed = seed
        self.topology = topology
        self.steps = steps.sorted { $0.at < $1.at }
    }

    /// One step as a line, with daemon names.
    public func describe(_ s: Step) -> String {
        let n = { (i: Int) in self.topology.daemons[i].name }
        let sec = { (ms: Int64) in Checker.seconds(ms) }
        let what: String
        switch s.action {
        case let .partition(groups, forMs):
            var sides: [Int: [String]] = [:]
            for (i, g) in groups.enumerated() { sides[g, default: []].append(n(i)) }
            what = "partition " + sides.keys.sorted().map { "{" + sides[$0]!.joined(separator: ",") + "}" }.joined(separator: " | ")
                + " for \(sec(forMs))"
        case let .cutLink(a, b, forMs): what = "cut link \(n(a))–\(n(b)) for \(sec(forMs))"
        case let .flap(a, b, periodMs, times): what = "flap link \(n(a))–\(n(b)) \(times)× every \(sec(periodMs))"
        case let .slow(a, b, extraMs, forMs): what = "slow link \(n(a))–\(n(b)) +\(extraMs) ms for \(sec(forMs))"
        case let .kill(i, forMs, step):
            what = "kill \(n(i))" + (forMs.map { ", restart after \(sec($0)) with state lost" } ?? " for good")
                + (step != 0 ? ", wall clock stepped \(step > 0 ? "+" : "")\(step / 1000) s" : "")
        case let .skew(i, ms): what = "skew \(n(i))'s wall clock \(ms >= 0 ? "+" : "")\(ms / 1000) s"
        case let .lie(i, lie): what = "a crafted peer sends \(n(i)) \(lie.rawValue)"
        case let .heartbeat(i, k, ttl, every, forMs): what = "PUT \(k) at \(n(i)) ttl \(sec(ttl)), refreshed every \(sec(every)) for \(sec(forMs))"
        case let .put(i, k, ttl): what = "PUT \(k) at \(n(i)) ttl \(sec(ttl)) once"
        case let .hold(i, k, forMs): what = "hold \(k) at \(n(i))" + (forMs.map { ", close after \(sec($0))" } ?? " for good")
        case let .delete(i, k): what = "DELETE \(k) at \(n(i))"
        }
        return "t=\(sec(s.at)) \(what)"
    }

    /// Every step, one a line.
    public var description: String { steps.map { "  " + describe($0) }.joined(separator: "\n") }
}
