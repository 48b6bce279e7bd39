import RarangiWire

/// Who the members are and how they reach each other (MISSION D6, B2): the
/// members' graph, this daemon's own entry in it, the entries to gossip,
/// the partition verdict drawn from it, and retirements — a member an
/// operator forgot, or one absent from this daemon's component for too long.
struct Membership {
    /// The members' reachability graph: the whole of it at a master; at a
    /// leaf, the masters' and the retired entries and its own (it follows
    /// its masters' verdict and needs no more).
    private(set) var graph = MemberGraph()
    /// Whether this daemon holds every entry (a master).
    let holdsAll: Bool
    /// At a leaf: the latest verdict of the master on each up link.
    private var masterVerdicts: [LinkID: MemberVerdict] = [:]
    /// Whether this daemon is cut off from the majority.
    private(set) var verdict = PartitionVerdict()
    private var ownSeq: UInt64 = 0
    /// This daemon's links changed since its entry was last published.
    private var ownEntryStale = true
    /// Members whose entry changed since the last round (to gossip).
    private var changed: Set<String> = []
    /// Of those, at a master, the ones whose entry was in the leaf view and
    /// no longer is (a master restarted as a leaf, a retired leaf back): the
    /// leaves hold the old entry and must hear the one that replaces it.
    private var leftLeafView: Set<String> = []
    /// The graph changed since the verdict was last decided.
    private(set) var needsVerdict = false
    /// At a master, a master not known before joined the graph: decide at
    /// once, not at the round. A master that restarted knows only itself
    /// until its peers' entries come in, and would count itself a majority
    /// of the few it holds until the round; the masters' entries claim
    /// every daemon, so the first of them shows how many there are.
    private(set) var needsVerdictNow = false
    /// Since when each member has been outside this daemon's component, by
    /// name (with the life it was absent in); set when the verdict is decided.
    private(set) var absentSince: [String: (generation: UInt64, since: Int64)] = [:]

    /// Creates the membership of a master (`holdsAll`) or of a leaf.
    init(holdsAll: Bool = true) { self.holdsAll = holdsAll }

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

    /// Stores a peer's entry if it is newer; true when the graph changed. A
    /// leaf takes the masters' entries and the retirements, and a leaf's
    /// entry where it replaces one it holds or came from a leaf.
    @discardableResult
    mutating func merge(_ entry: MemberEntry, fromLeaf: Bool = false) -> Bool {
        let held = graph.entries[entry.name]
        // A leaf takes another leaf's entry to replace one it holds (a master
        // back as a leaf, a retired daemon back), and any that a leaf linked
        // to it sends: a daemon that reaches its side of a split only over
        // links between leaves must still be heard by the masters there, or
        // its entry from before the split would join them to the other side.
        // It keeps the entry, so an older one is refused from then on, and
        // passes it on. Masters send a leaf no leaf's entry but its own.
        if !holdsAll, !entry.inLeafView, held == nil, !fromLeaf { return false }
        guard graph.merge(entry) else { return false }
        if held?.inLeafView == true, !entry.inLeafView { leftLeafView.insert(entry.name) }
        if holdsAll, entry.master, entry.isMember, held.map({ !$0.master || $0.retired }) ?? true { needsVerdictNow = true }
        changed.insert(entry.name)
        needsVerdict = true
        return true
    }

    /// The entries changed since the last round, by name, and forgets them.
    /// Every daemon floods them on every link: an entry goes on only while
    /// it is newer than what the receiver holds, so each change crosses each
    /// link about once, and a member's entry reaches every daemon its
    /// component reaches. `forLeaves` is what of them a master tells its
    /// leaves: the entries in the leaf view, and those that replace one
    /// that was (the leaves hold the old one).
    mutating func takeChanged() -> (all: [MemberEntry], forLeaves: [MemberEntry]) {
        defer {
            changed.removeAll()
            leftLeafView.removeAll()
        }
        let all = changed.compactMap { graph.entries[$0] }.sorted { $0.name < $1.name }
        return (all, all.filter { $0.inLeafView || leftLeafView.contains($0.name) })
    }

    /// A leaf heard the verdict of the master on link `id`; true when it
    /// differs from the one held (decide again).
    mutating func heard(_ v: MemberVerdict, on id: LinkID) -> Bool {
        guard masterVerdicts[id] != v else { return false }
        masterVerdicts[id] = v
        return true
    }

    /// Whether the master on link `id` last told this leaf it is fresh.
    func followsFresh(_ id: LinkID) -> Bool { masterVerdicts[id]?.stale == false }

    /// Link `id` is down: its master's verdict no longer counts.
    mutating func linkDown(_ id: LinkID) { masterVerdicts[id] = nil }

    /// The master verdict a leaf follows: a fresh one if any master it
    /// links to is fresh (the first by link), else the first stale one.
    private var followed: MemberVerdict? {
        let ordered = masterVerdicts.sorted { $0.key.raw < $1.key.raw }.map(\.value)
        return ordered.first { !$0.stale } ?? ordered.first
    }

    /// Decides the partition verdict on the settled graph (a leaf: follows
    /// its masters'), and notes who is outside this daemon's component from
    /// now on (and who is back).
    mutating func decide(config: NodeConfig, now: Int64, effects: inout [Effect]) {
        needsVerdict = false
        needsVerdictNow = false
        graph.settle()
        guard holdsAll else {
            verdict.follow(followed, graph: graph, name: config.name, now: now, effects: &effects)
            return
        }
        verdict.decide(graph: graph, name: config.name, now: now, effects: &effects)
        // Only masters forget absent members: a leaf keeps no clocks.
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
