import RarangiWire

/// Whether this daemon is cut off from the majority (MISSION B2) — the
/// partition verdict. A master is fresh only while its component of the
/// masters' graph holds more than half of every master known: the largest
/// of several small pieces is not a majority, and two sides can never both
/// be one (a 2|2 split leaves both stale, and neither purges). A leaf
/// follows the best component among the masters it has live links to. A
/// stale daemon keeps serving what it last knew, marks its answers stale
/// and purges nothing.
struct PartitionVerdict {
    /// Whether this daemon is outside the majority component.
    private(set) var isStale = false
    /// When the daemon last became fresh (0: never stale since it started);
    /// purges wait two rounds after it, for the graph to settle.
    private(set) var freshSince: Int64 = 0
    /// This daemon's component (0 = the majority), nil while none is known.
    private(set) var component: Int?

    /// Decides the verdict from a settled graph; logs a change of it.
    /// `upPeers` are the peers of the links that are up (a leaf's masters).
    mutating func decide(graph: MasterGraph, master: Bool, name: String, upPeers: [PeerHello], now: Int64,
                         effects: inout [Effect]) {
        var stale = false
        var comp: Int? = nil
        if !graph.entries.isEmpty {
            if master {
                comp = graph.component[name]
            } else {
                comp = upPeers.compactMap { graph.component[$0.name] }.min()
            }
            // Strictly more than half of the masters known.
            stale = comp.map { graph.sizes[$0] * 2 <= graph.entries.count } ?? (master ? false : true)
        }
        component = comp
        guard stale != isStale else { return }
        isStale = stale
        if !stale {
            assert(now >= freshSince, "freshSince never goes back")
            freshSince = now
        }
        effects.append(.log(LogEvent(stale ? .warn : .info, "partition_state",
                                     [("stale", stale ? "true" : "false"), ("components", "\(graph.sizes.count)"),
                                      ("largest", "\(graph.sizes.first ?? 0)"),
                                      ("mine", comp.map { "\(graph.sizes[$0])" } ?? "0")])))
    }
}
