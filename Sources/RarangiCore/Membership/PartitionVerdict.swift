import RarangiWire

/// Whether this daemon is cut off from the majority (MISSION B2) — the
/// partition verdict. Every daemon, master or leaf, is a member and counts
/// once: a daemon is fresh only while its own component of the members'
/// graph holds more than half of every member known. The largest of several
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
    /// This daemon's component (0 = the largest), nil while none is known.
    private(set) var component: Int?

    /// Decides the verdict from a settled graph that holds this daemon's
    /// own entry; logs a change of it.
    mutating func decide(graph: MemberGraph, name: String, now: Int64, effects: inout [Effect]) {
        let comp = graph.component[name]
        // Strictly more than half of the members known (retired ones are none).
        let stale = graph.knowsMasters && comp.map { graph.sizes[$0] * 2 <= graph.memberCount } ?? true
        component = comp
        guard stale != isStale else { return }
        isStale = stale
        if !stale {
            assert(now >= freshSince, "freshSince never goes back")
            freshSince = now
        }
        effects.append(.log(LogEvent(stale ? .warn : .info, "partition_state",
                                     [("stale", stale ? "true" : "false"), ("members", "\(graph.memberCount)"),
                                      ("components", "\(graph.sizes.count)"), ("largest", "\(graph.sizes.first ?? 0)"),
                                      ("mine", comp.map { "\(graph.sizes[$0])" } ?? "0")])))
    }
}
