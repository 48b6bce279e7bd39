import RarangiWire

/// The masters' reachability graph (MISSION D6, B2). Every master publishes
/// which masters and leaves it has live links to; entries travel with the
/// gossip. An edge counts only when both ends claim it, so a dead master's
/// last claims make it a component of one. The largest component (ties:
/// the one holding the smallest master name) is the majority; a daemon
/// outside it is stale.
public struct MasterGraph: Sendable {
    /// The newest entry of every master heard of.
    public private(set) var entries: [String: MasterEntry] = [:]
    /// Component number of each master, 0 = the largest.
    public private(set) var component: [String: Int] = [:]
    /// The size of each component, largest first.
    public private(set) var sizes: [Int] = []
    private var cachedHash: UInt64 = 0
    private var dirty = false
    private var claims: [String: Set<String>] = [:]

    /// Creates an empty graph.
    public init() {}

    /// Stores `entry` if it is newer; true when it changed the graph.
    @discardableResult
    public mutating func merge(_ entry: MasterEntry) -> Bool {
        if let held = entries[entry.name], !entry.isNewer(than: held) { return false }
        if let held = entries[entry.name] { cachedHash ^= Self.hash(held) }
        if entries[entry.name]?.masters != entry.masters { claims[entry.name] = Set(entry.masters) ; dirty = true }
        if entries[entry.name] == nil { dirty = true }
        entries[entry.name] = entry
        cachedHash ^= Self.hash(entry)
        return true
    }

    /// Recomputes the components after a batch of merges.
    public mutating func settle() {
        if dirty { recompute() }
    }

    /// The XOR over entries of (name, generation, seq): equal hashes, equal graphs.
    public var hash: UInt64 { cachedHash }

    private static func hash(_ e: MasterEntry) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in e.name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h ^ mix(e.generation) ^ mix(e.seq &* 31 &+ 7))
    }

    /// Recomputes the components (union of mutually claimed edges).
    private mutating func recompute() {
        dirty = false
        let names = entries.keys.sorted()
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
            for m in entries[n]!.masters {
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

    /// Whether master `name` is in the largest component.
    public func inMajority(_ name: String) -> Bool { component[name] == 0 }

    /// The masters in component `c`, sorted.
    public func members(of c: Int) -> [String] {
        component.filter { $0.value == c }.map(\.key).sorted()
    }

    /// Every origin the masters of component `c` vouch for: the masters and their leaves.
    public func vouched(by c: Int) -> Set<String> {
        var out = Set<String>()
        for (name, comp) in component where comp == c {
            out.insert(name)
            for leaf in entries[name]!.leaves { out.insert(leaf) }
        }
        return out
    }
}
