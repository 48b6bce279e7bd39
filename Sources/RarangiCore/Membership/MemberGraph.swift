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
    private var dirty = false
    private var claims: [String: Set<String>] = [:]
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
            if held.isMember, held.master { masterCount -= 1 }
            if held.retired { retiredCount -= 1 }
        }
        // A retired daemon claims no edge: it is no longer in the graph.
        let claimed = entry.retired ? [] : Set(entry.masters).union(entry.leaves)
        if claims[entry.name] != claimed {
            claims[entry.name] = claimed
            dirty = true
        }
        if held == nil || held?.master != entry.master || held?.retired != entry.retired { dirty = true }
        if entry.isMember, entry.master { masterCount += 1 }
        if entry.retired { retiredCount += 1 }
        entries[entry.name] = entry
        cachedHash ^= Self.hash(entry)
        return true
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

    /// Recomputes the components (union of mutually claimed edges).
    private mutating func recompute() {
        dirty = false
        let names = entries.values.filter(\.isMember).map(\.name).sorted()
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() { index[n] = i }
        var parent = Array(0..<names.count)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        for (i, n) in names.enumerated() {
            for m in claims[n] ?? [] {
                guard let j = index[m], claims[m]?.contains(n) == true else { continue }
                let a = find(i), b = find(j)
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
            out.formUnion(claims[name] ?? [])
        }
        return retiredCount == 0 ? out : out.filter { entries[$0]?.retired != true }
    }
}

extension MemberEntry {
    /// Whether the entry counts as a member (it is not retired).
    public var isMember: Bool { !retired }
}
