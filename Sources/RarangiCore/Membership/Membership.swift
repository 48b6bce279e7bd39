import RarangiWire

/// Who the masters are and how they reach each other (MISSION D6, B2): the
/// masters' graph, this master's own entry in it, the entries to gossip,
/// and the partition verdict drawn from it.
struct Membership {
    /// The masters' reachability graph.
    private(set) var graph = MasterGraph()
    /// Whether this daemon is cut off from the majority.
    private(set) var verdict = PartitionVerdict()
    private var ownSeq: UInt64 = 0
    /// This master's links changed since its entry was last published.
    private var ownEntryStale = true
    /// Masters whose entry changed since the last round (to gossip).
    private var changed: Set<String> = []
    /// The graph changed since the verdict was last decided.
    private(set) var needsVerdict = false

    /// This master's links changed: publish its entry again.
    mutating func ownEntryChanged() { ownEntryStale = true }

    /// Rebuilds this master's entry when its links changed; true when it
    /// did (who is alive may have changed with it).
    mutating func publishOwnEntry(config: NodeConfig, upPeers: [PeerHello]) -> Bool {
        guard ownEntryStale else { return false }
        ownEntryStale = false
        ownSeq += 1
        let masters = Set(upPeers.filter(\.master).map(\.name)).sorted()
        let leaves = Set(upPeers.filter { !$0.master }.map(\.name)).sorted()
        let entry = MasterEntry(name: config.name, generation: config.generation, seq: ownSeq, cluster: config.cluster,
                                host: config.advertiseHost, port: UInt16(clamping: config.advertisePort),
                                masters: masters, leaves: leaves)
        graph.merge(entry)
        graph.settle()
        changed.insert(config.name)
        return true
    }

    /// Stores a peer's master entry if it is newer; true when the graph changed.
    @discardableResult
    mutating func merge(_ entry: MasterEntry) -> Bool {
        guard graph.merge(entry) else { return false }
        changed.insert(entry.name)
        needsVerdict = true
        return true
    }

    /// The entries changed since the last round, by name, and forgets them.
    /// Only masters gossip entries; a leaf forgets them all the same.
    mutating func takeChanged(master: Bool) -> [MasterEntry] {
        defer { changed.removeAll() }
        return master ? changed.compactMap { graph.entries[$0] }.sorted { $0.name < $1.name } : []
    }

    /// Decides the partition verdict on the settled graph.
    mutating func decide(config: NodeConfig, upPeers: [PeerHello], now: Int64, effects: inout [Effect]) {
        needsVerdict = false
        graph.settle()
        verdict.decide(graph: graph, master: config.master, name: config.name, upPeers: upPeers, now: now, effects: &effects)
    }
}
