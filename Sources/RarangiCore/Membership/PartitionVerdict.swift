import RarangiWire

/// Whether this daemon is cut off from the majority (MISSION B2) — the
/// partition verdict. Every daemon, master or leaf, is a member and counts
/// once: a master is fresh only while its own component of the members'
/// graph holds more than half of every member known; a leaf, which holds
/// only the masters' entries, is fresh while a master it links to is. The largest of several
/// small pieces is not a majority, and two sides can never both be one (a
/// 2|2 split leaves both stale, and neither purges); a cluster of two
/// masters and its leaves survives losing either master, because the
/// leaves still link the other to the majority. While no master is known
/// there is no quorum to count and the daemon is fresh (a lone daemon, or
/// the two slots of one host). A stale daemon keeps serving what it last
/// knew, marks its answers stale and purges nothing.
struct PartitionVerdict {
    /// Whether this daemon is outside the majority component.
    private(set) var isStale = false
    /// When the daemon last became fresh (0: never stale since it started);
    /// purges wait two rounds after it, for the graph to settle.
    private(set) var freshSince: Int64 = 0
    /// Whether there is a quorum to count: a master is known (while none
    /// is, every daemon is fresh and judges peers by when it heard them).
    private(set) var quorum = false
    /// This daemon's component of the graph it holds (0 = the largest), nil
    /// while none is known.
    private(set) var component: Int?
    /// The verdict with its counts, as a master tells its leaves (a leaf's
    /// are those of the master it follows).
    private(set) var counts = MemberVerdict(stale: false, members: 0, components: 0, largest: 0, mine: 0)

    /// A master's verdict, from a settled graph that holds its own entry;
    /// logs a change of it.
    mutating func decide(graph: MemberGraph, name: String, now: Int64, effects: inout [Effect]) {
        let comp = graph.component[name]
        // Every daemon an entry claims counts, held or not; one claimed
        // from this component alone counts in it.
        let unentered = graph.unentered()
        let members = graph.memberCount + unentered.count
        let mine = comp.map { graph.sizes[$0] + unentered.claimedOnlyBy[$0, default: 0] } ?? 0
        // Strictly more than half of the members known (retired ones are none).
        let stale = graph.knowsMasters && (comp == nil || mine * 2 <= members)
        component = comp
        quorum = graph.knowsMasters
        counts = MemberVerdict(stale: stale, members: UInt64(members), components: UInt64(graph.sizes.count),
                               largest: UInt64(max(graph.sizes.first ?? 0, mine)), mine: UInt64(mine))
        settle(stale, now: now, effects: &effects)
    }

    /// A leaf's verdict: it follows `master`'s, the verdict of a master it
    /// links to (nil: none linked) — stale without one, while any master
    /// is known. The leaf's component is that of the graph it holds (the
    /// masters' entries and its own), for whom it vouches.
    mutating func follow(_ master: MemberVerdict?, graph: MemberGraph, name: String, now: Int64, effects: inout [Effect]) {
        component = graph.component[name]
        // A master it links to is known even before its entry is held
        // (its verdict comes first): without one, no quorum.
        quorum = graph.knowsMasters || master != nil
        let stale = quorum && master?.stale != false
        counts = master ?? MemberVerdict(stale: stale, members: UInt64(graph.memberCount), components: UInt64(graph.sizes.count),
                                         largest: UInt64(graph.sizes.first ?? 0),
                                         mine: UInt64(component.map { graph.sizes[$0] } ?? 0))
        counts.stale = stale
        settle(stale, now: now, effects: &effects)
    }

    private mutating func settle(_ stale: Bool, now: Int64, effects: inout [Effect]) {
        guard stale != isStale else { return }
        isStale = stale
        if !stale {
            assert(now >= freshSince, "freshSince never goes back")
            freshSince = now
        }
        effects.append(.log(LogEvent(stale ? .warn : .info, "partition_state",
                                     [("stale", stale ? "true" : "false"), ("members", "\(counts.members)"),
                                      ("components", "\(counts.components)"), ("largest", "\(counts.largest)"),
                                      ("mine", "\(counts.mine)")])))
    }
}
