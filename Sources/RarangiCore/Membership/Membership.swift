import RarangiWire

/// Who the members are and how they reach each other (MISSION D6, B2): the
/// members' graph, this daemon's own entry in it, the entries to gossip,
/// the partition verdict drawn from it, and retirements — a member an
/// operator forgot, or one absent from this daemon's component for too long.
struct Membership {
    /// The members' reachability graph.
    private(set) var graph = MemberGraph()
    /// Whether this daemon is cut off from the majority.
    private(set) var verdict = PartitionVerdict()
    private var ownSeq: UInt64 = 0
    /// This daemon's links changed since its entry was last published.
    private var ownEntryStale = true
    /// Members whose entry changed since the last round (to gossip).
    private var changed: Set<String> = []
    /// The graph changed since the verdict was last decided.
    private(set) var needsVerdict = false
    /// Since when each member has been outside this daemon's component, by
    /// name (with the life it was absent in); set when the verdict is decided.
    private(set) var absentSince: [String: (generation: UInt64, since: Int64)] = [:]

    /// This daemon's links changed: publish its entry again.
    mutating func ownEntryChanged() { ownEntryStale = true }

    /// A link went up or down: this daemon's entry is published again at once.
    mutating func linksChanged(config: NodeConfig, upPeers: [PeerHello]) {
        ownEntryStale = true
        _ = publishOwnEntry(config: config, upPeers: upPeers)
    }

    /// Rebuilds this master's entry when its links changed; true when it
    /// did (who is alive may have changed with it).
    mutating func publishOwnEntry(config: NodeConfig, upPeers: [PeerHello]) -> Bool {
        guard ownEntryStale else { return false }
        ownEntryStale = false
        ownSeq += 1
        let masters = Set(upPeers.filter(\.master).map(\.name)).sorted()
        let leaves = Set(upPeers.filter { !$0.master }.map(\.name)).sorted()
        let entry = MemberEntry(name: config.name, generation: config.generation, seq: ownSeq, cluster: config.cluster,
                                host: config.advertiseHost, port: UInt16(clamping: config.advertisePort),
                                master: config.master, masters: masters, leaves: leaves)
        graph.merge(entry)
        graph.settle()
        changed.insert(config.name)
        needsVerdict = true
        return true
    }

    /// Stores a peer's master entry if it is newer; true when the graph changed.
    @discardableResult
    mutating func merge(_ entry: MemberEntry) -> Bool {
        guard graph.merge(entry) else { return false }
        changed.insert(entry.name)
        needsVerdict = true
        return true
    }

    /// The entries changed since the last round, by name, and forgets them.
    /// Every daemon floods them on every link: an entry goes on only while
    /// it is newer than what the receiver holds, so each change crosses each
    /// link about once, and a member's entry reaches every daemon its
    /// component reaches.
    mutating func takeChanged() -> [MemberEntry] {
        defer { changed.removeAll() }
        return changed.compactMap { graph.entries[$0] }.sorted { $0.name < $1.name }
    }

    /// Decides the partition verdict on the settled graph, and notes who is
    /// outside this daemon's component from now on (and who is back).
    mutating func decide(config: NodeConfig, now: Int64, effects: inout [Effect]) {
        needsVerdict = false
        graph.settle()
        verdict.decide(graph: graph, name: config.name, now: now, effects: &effects)
        // Only masters forget absent members: a leaf keeps no clocks (a walk
        // over every member at every verdict would cost a thousand-daemon
        // network dearly).
        guard config.master else { return }
        let mine = verdict.component
        var absent: [String: (generation: UInt64, since: Int64)] = [:]
        for (name, e) in graph.entries where e.isMember && name != config.name && graph.component[name] != mine {
            let held = absentSince[name]
            absent[name] = held.map { $0.generation == e.generation ? $0 : (e.generation, now) } ?? (e.generation, now)
        }
        absentSince = absent
    }

    /// The members outside this daemon's component for at least `ms`, sorted.
    func absent(forAtLeast ms: Int64, now: Int64) -> [String] {
        absentSince.filter { now - $0.value.since >= ms }.map(\.key).sorted()
    }

    /// Why a member cannot be forgotten.
    enum ForgetRefusal: Error, Equatable {
        /// No member of that name is known.
        case unknown
        /// It is this daemon, linked to it, or in its component: alive.
        case alive
    }

    /// Retires member `name`'s current life (`linked`: the peers of this
    /// daemon's up links): publishes its entry marked retired, with no
    /// links, so that every daemon floods it, stops counting it and purges
    /// its records. A member already retired gives its retirement again,
    /// unchanged. A live member is refused: an operator stops it first.
    mutating func forget(_ name: String, config: NodeConfig, linked: Set<String>) -> Result<MemberEntry, ForgetRefusal> {
        guard let held = graph.entries[name] else { return .failure(.unknown) }
        if held.retired { return .success(held) }
        graph.settle()
        guard name != config.name, !linked.contains(name),
              graph.component[name] != graph.component[config.name] else { return .failure(.alive) }
        var retired = held
        retired.seq += 1
        retired.retired = true
        retired.masters = []
        retired.leaves = []
        merge(retired)
        absentSince[name] = nil
        return .success(retired)
    }
}
