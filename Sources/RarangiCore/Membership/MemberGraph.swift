import RarangiWire

/// The members' reachability graph (MISSION D6, B2). Every daemon, master
/// or leaf, publishes which daemons it has live links to; entries flood
/// with the gossip. An edge counts only when both ends claim it, so a dead
/// daemon's last claims make it a component of one, and a daemon's own
/// entry decides every edge at it. Components are numbered largest first
/// (ties: the one holding the smallest name); whether one is a majority is
/// the verdict's business (`PartitionVerdict`: more than half of every
/// member known). A retired entry is kept (and flooded, so every daemon
/// learns of it) but is no member: it is in no component, no count and no
/// edge.
public struct MemberGraph: Sendable {
    /// The newest entry of every daemon heard of.
    public private(set) var entries: [String: MemberEntry] = [:]
    /// Component number of each member, 0 = the largest.
    public private(set) var component: [String: Int] = [:]
    /// The size of each component, largest first.
    public private(set) var sizes: [Int] = []
    private var cachedHash: UInt64 = 0
    /// The hash over the masters' and the retired entries only: what a leaf holds besides its own entry.
    public private(set) var viewHash: UInt64 = 0
    private var dirty = false
    /// The members sorted, their indexes, and each one's claims as sorted
    /// indexes: kept between recomputes, rebuilt whole only when the set of
    /// members changes, and per entry when only its claims do (a master of
    /// a large network recomputes at every link change).
    private var names: [String] = []
    private var index: [String: Int32] = [:]
    private var adjacency: [[Int32]] = []
    private var namesDirty = true
    private var claimsChanged: Set<String> = []
    /// How many of the members are masters (retired ones are not members).
    public private(set) var masterCount = 0
    /// How many of the entries are retirements.
    private var retiredCount = 0

    /// Creates an empty graph.
    public init() {}

    /// Stores `entry` if it is newer; true when it changed the graph.
    @discardableResult
    public mutating func merge(_ entry: MemberEntry) -> Bool {
        if let held = entries[entry.name], !entry.isNewer(than: held) { return false }
        let held = entries[entry.name]
        if let held {
            cachedHash ^= Self.hash(held)
            if held.inLeafView { viewHash ^= Self.hash(held) }
            if held.isMember, held.master { masterCount -= 1 }
            if held.retired { retiredCount -= 1 }
        }
        // A retired daemon claims no edge: it is no longer in the graph.
        // The claims are the entry's own sorted lists, not copied: a leaf
        // shares them with the frame they came in.
        if held == nil || held?.retired != entry.retired {
            namesDirty = true
            dirty = true
        } else if held?.masters != entry.masters || held?.leaves != entry.leaves {
            claimsChanged.insert(entry.name)
            dirty = true
        } else if held?.master != entry.master {
            dirty = true
        }
        if entry.isMember, entry.master { masterCount += 1 }
        if entry.retired { retiredCount += 1 }
        entries[entry.name] = entry
        cachedHash ^= Self.hash(entry)
        if entry.inLeafView { viewHash ^= Self.hash(entry) }
        return true
    }

    /// The entries a leaf holds besides its own — the masters' and the
    /// retired ones — sorted by name.
    public var leafView: [MemberEntry] { entries.values.filter(\.inLeafView).sorted { $0.name < $1.name } }

    /// The hash of what leaf `name` holds when it holds what this graph does:
    /// the leaf view and the leaf's own entry.
    public func leafViewHash(for name: String) -> UInt64 {
        guard let own = entries[name], !own.inLeafView else { return viewHash }
        return viewHash ^ Self.hash(own)
    }

    /// The cluster of daemon `name`: its entry's, or — for a leaf whose
    /// entry this daemon does not hold — that of a master linked to it.
    public func cluster(of name: String) -> String? {
        if let e = entries[name] { return e.cluster }
        return entries.values.filter { $0.master && $0.isMember && Self.sortedContains($0.leaves, name) }.map(\.cluster).min()
    }

    /// Whether sorted `names` holds `name`.
    static func sortedContains(_ names: [String], _ name: String) -> Bool {
        var lo = 0, hi = names.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if names[mid] < name { lo = mid + 1 } else { hi = mid }
        }
        return lo < names.count && names[lo] == name
    }

    /// How many daemons are members (every entry but the retired ones): the
    /// verdict needs more than half of them.
    public var memberCount: Int { entries.count - retiredCount }

    /// Whether `name` is retired in its life `generation` or a later one:
    /// that life is over, its hellos are refused and its records kept out.
    public func isRetired(_ name: String, generation: UInt64) -> Bool {
        entries[name].map { $0.retired && generation <= $0.generation } ?? false
    }

    /// The retired daemons' names, sorted.
    public var retiredNames: [String] { entries.values.filter(\.retired).map(\.name).sorted() }

    /// Recomputes the components after a batch of merges.
    public mutating func settle() {
        if dirty { recompute() }
    }

    /// The XOR over entries of (name, generation, seq, retired): equal hashes, equal graphs.
    public var hash: UInt64 { cachedHash }

    private static func hash(_ e: MemberEntry) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in e.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h ^ mix(e.generation) ^ mix(e.seq &* 31 &+ (e.retired ? 8 : 7)))
    }

    /// Whether any master is known (without one there is no quorum to count).
    public var knowsMasters: Bool { masterCount > 0 }

    /// `e`'s claims as sorted indexes of members.
    private func claimedIndexes(_ e: MemberEntry) -> [Int32] {
        guard !e.retired else { return [] }
        var out: [Int32] = []
        out.reserveCapacity(e.masters.count + e.leaves.count)
        for m in e.masters { if let j = index[m] { out.append(j) } }
        for m in e.leaves { if let j = index[m] { out.append(j) } }
        out.sort()
        return out
    }

    /// Whether sorted `list` holds `x`.
    private static func sortedContains(_ list: [Int32], _ x: Int32) -> Bool {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < list.count && list[lo] == x
    }

    /// Recomputes the components (union of mutually claimed edges).
    private mutating func recompute() {
        dirty = false
        if namesDirty {
            namesDirty = false
            names = entries.values.filter(\.isMember).map(\.name).sorted()
            index = [:]
            index.reserveCapacity(names.count)
            for (i, n) in names.enumerated() { index[n] = Int32(i) }
            adjacency = names.map { claimedIndexes(entries[$0]!) }
        } else {
            for n in claimsChanged { if let i = index[n] { adjacency[Int(i)] = claimedIndexes(entries[n]!) } }
        }
        claimsChanged.removeAll()
        var parent = Array(0..<names.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        for i in names.indices {
            for j in adjacency[i] where Int(j) != i && Self.sortedContains(adjacency[Int(j)], Int32(i)) {
                let a = find(i), b = find(Int(j))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        // Roots are the smallest index (= smallest name) of each component.
        var members: [Int: Int] = [:]
        for i in names.indices { members[find(i), default: 0] += 1 }
        let order = members.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var rank: [Int: Int] = [:]
        for (r, (root, _)) in order.enumerated() { rank[root] = r }
        sizes = order.map(\.value)
        component = [:]
        for (i, n) in names.enumerated() { component[n] = rank[find(i)]! }
    }

    /// The daemons a member's entry claims a link to but of which no entry
    /// is held — at a master that restarted and heard only leaves, every
    /// leaf of another cluster — as how many there are and how many of
    /// them each component alone claims. The verdict counts them: a master
    /// that held only the masters' entries and its own leaves' would
    /// otherwise count itself a majority of the few it holds.
    public func unentered() -> (count: Int, claimedOnlyBy: [Int: Int]) {
        var claimers: [String: Int] = [:]   // component, or -1 when several claim it
        for e in entries.values where e.isMember {
            guard let c = component[e.name] else { continue }
            for list in [e.masters, e.leaves] {
                for n in list where entries[n] == nil {
                    if let held = claimers[n] { if held != c { claimers[n] = -1 } } else { claimers[n] = c }
                }
            }
        }
        var by: [Int: Int] = [:]
        for c in claimers.values where c >= 0 { by[c, default: 0] += 1 }
        return (claimers.count, by)
    }

    /// The members of component `c`, sorted.
    public func members(of c: Int) -> [String] {
        component.filter { $0.value == c }.map(\.key).sorted()
    }

    /// Every origin component `c` vouches for: its members, and every
    /// daemon they have a live link to (a daemon just linked, whose own
    /// entry has not arrived yet, is vouched for by the one it linked to).
    /// A retired daemon is vouched for by no one.
    public func vouched(by c: Int) -> Set<String> {
        var out = Set<String>()
        for (name, comp) in component where comp == c {
            out.insert(name)
            if let e = entries[name], !e.retired {
                out.formUnion(e.masters)
                out.formUnion(e.leaves)
            }
        }
        return retiredCount == 0 ? out : out.filter { entries[$0]?.retired != true }
    }
}

extension MemberGraph {
    /// Which of `names` (sorted) component `c` vouches for, as
    /// `vouched(by:)` would say, without building the set of every name:
    /// each member's sorted lists are walked beside `names` once.
    public func vouched(by c: Int, among names: [String]) -> Set<String> {
        var out = Set<String>()
        func join(_ list: [String]) {
            var i = 0, j = 0
            while i < list.count, j < names.count {
                if list[i] < names[j] { i += 1 } else if names[j] < list[i] { j += 1 } else {
                    out.insert(names[j])
                    i += 1
                    j += 1
                }
            }
        }
        for (name, comp) in component where comp == c {
            if Self.sortedContains(names, name) { out.insert(name) }
            guard let e = entries[name], !e.retired else { continue }
            join(e.masters)
            join(e.leaves)
        }
        return retiredCount == 0 ? out : out.filter { entries[$0]?.retired != true }
    }
}

extension MemberEntry {
    /// Whether the entry counts as a member (it is not retired).
    public var isMember: Bool { !retired }
    /// Whether a leaf holds the entry: a master's, or a retirement.
    public var inLeafView: Bool { master || retired }
}
