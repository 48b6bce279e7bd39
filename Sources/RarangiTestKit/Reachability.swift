/// The oracle's ground truth of who can reach whom (part of `Oracle`):
/// which daemons are up, the partition groups and cut links, and — per
/// peer link of the topology — since when it can carry packets and after
/// how long a gap. Two daemons reach each other when a path of links joins
/// them; a link counts as usable only once it has been able to carry
/// packets for its back-off allowance (`OracleBounds.backoffMs`).
struct Reachability {
    let topology: SimTopology
    let bounds: OracleBounds
    private(set) var up: [Bool]
    private(set) var group: [Int]
    private(set) var cut: Set<Simulation.Pair> = []
    private(set) var slow: [Simulation.Pair: Int64] = [:]

    /// Per topology link: whether it can carry packets now, since when it
    /// cannot (while down), and from when it is usable (while up).
    private var linkUp: [Bool]
    private var downSince: [Int64?]
    private var usableFrom: [Int64]
    /// The longest gap any link has healed from.
    private(set) var longestGapMs: Int64 = 0
    /// When each daemon's side (its component over links that can carry
    /// packets) was last a strict majority of all daemons.
    private(set) var lastMajorityAt: [Int64]
    /// Since when each ordered pair has reached each other over usable links, nil while not.
    private var reachSince: [[Int64?]]
    /// The usable-link component of every daemon at the last `observe`.
    private(set) var usableComponent: [Int] = []
    /// The packet-carrying component of every daemon now.
    private(set) var rawComponent: [Int] = []
    /// The longest extra delay of any slow link now, and when the last slow link ended.
    private(set) var slowUntil: Int64 = -1
    private(set) var slowestMs: Int64 = 0
    private var slowestEverMs: Int64 = 0

    init(topology: SimTopology, bounds: OracleBounds) {
        self.topology = topology
        self.bounds = bounds
        let n = topology.count
        up = Array(repeating: true, count: n)
        group = Array(repeating: 0, count: n)
        linkUp = Array(repeating: true, count: topology.links.count)
        downSince = Array(repeating: nil, count: topology.links.count)
        usableFrom = Array(repeating: 0, count: topology.links.count)
        lastMajorityAt = Array(repeating: 0, count: n)
        reachSince = Array(repeating: Array(repeating: nil, count: n), count: n)
        rawComponent = Array(repeating: 0, count: n)
        recompute(now: 0)
        observe(now: 0)
    }

    // MARK: changes

    mutating func setUp(_ i: Int, _ isUp: Bool, now: Int64) { change(now) { $0.up[i] = isUp } }
    mutating func setGroups(_ g: [Int], now: Int64) { change(now) { $0.group = g } }
    mutating func setCut(_ p: Simulation.Pair, _ isCut: Bool, now: Int64) {
        change(now) { if isCut { $0.cut.insert(p) } else { $0.cut.remove(p) } }
    }
    mutating func setSlow(_ p: Simulation.Pair, _ ms: Int64, now: Int64) {
        if ms > 0 { slow[p] = ms } else if slow.removeValue(forKey: p) != nil, slow.isEmpty { slowUntil = now }
        slowestMs = slow.values.max() ?? 0
        slowestEverMs = max(slowestEverMs, slowestMs)
    }

    private mutating func change(_ now: Int64, _ apply: (inout Reachability) -> Void) {
        noteMajorities(now)
        apply(&self)
        recompute(now: now)
        noteMajorities(now)
    }

    private func carries(_ p: Simulation.Pair) -> Bool {
        up[p.a] && up[p.b] && group[p.a] == group[p.b] && !cut.contains(p)
    }

    private mutating func recompute(now: Int64) {
        for (k, p) in topology.links.enumerated() {
            let c = carries(p)
            if c == linkUp[k] { continue }
            linkUp[k] = c
            if c {
                let gap = downSince[k].map { now - $0 } ?? 0
                longestGapMs = max(longestGapMs, gap)
                usableFrom[k] = now + bounds.backoffMs(afterGap: gap)
                downSince[k] = nil
            } else {
                downSince[k] = now
            }
        }
        rawComponent = components { k in linkUp[k] }
    }

    private mutating func noteMajorities(_ now: Int64) {
        var size: [Int: Int] = [:]
        for i in up.indices where up[i] { size[rawComponent[i], default: 0] += 1 }
        for i in up.indices where up[i] && size[rawComponent[i]]! * 2 > topology.count { lastMajorityAt[i] = now }
    }

    /// Components over the links `usable` admits, among up daemons (-1: down).
    private func components(_ usable: (Int) -> Bool) -> [Int] {
        let n = topology.count
        var parent = Array(0..<n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for (k, p) in topology.links.enumerated() where usable(k) {
            let a = find(p.a), b = find(p.b)
            if a != b { parent[max(a, b)] = min(a, b) }
        }
        return (0..<n).map { up[$0] ? find($0) : -1 }
    }

    // MARK: queries

    /// Updates reach-since at check instant `now`.
    mutating func observe(now: Int64) {
        noteMajorities(now)
        usableComponent = components { k in linkUp[k] && usableFrom[k] <= now }
        let n = topology.count
        for d in 0..<n {
            for o in 0..<n {
                if usableComponent[d] >= 0, usableComponent[d] == usableComponent[o] {
                    if reachSince[d][o] == nil { reachSince[d][o] = now }
                } else {
                    reachSince[d][o] = nil
                }
            }
        }
    }

    /// Since when `d` has reached `o` over usable links (as of the last `observe`).
    func reachedSince(_ d: Int, _ o: Int) -> Int64? { reachSince[d][o] }

    /// Whether `d` can reach `o` over links that carry packets now.
    func canReach(_ d: Int, _ o: Int) -> Bool { rawComponent[d] >= 0 && rawComponent[d] == rawComponent[o] }

    /// Whether `d`'s side was a strict majority of all daemons at some time in `[now − lag, now]`.
    func wasMajority(_ d: Int, now: Int64, lagMs: Int64) -> Bool { lastMajorityAt[d] >= now - lagMs }
    /// Whether daemon `d`'s side (over links that carry packets now) is a
    /// strict majority of all daemons.
    func inMajority(_ d: Int) -> Bool {
        guard up[d] else { return false }
        return up.indices.count { up[$0] && rawComponent[$0] == rawComponent[d] } * 2 > topology.count
    }

    /// The members of `d`'s side now, for reports.
    func side(of d: Int) -> [Int] { up.indices.filter { rawComponent[$0] == rawComponent[d] && rawComponent[d] >= 0 } }

    /// Extra propagation allowance for slow links now or recently.
    func slowAllowance(now: Int64, windowMs: Int64) -> Int64 {
        if slowestMs > 0 { return bounds.slowAllowanceMs(slowestMs) }
        return slowUntil >= 0 && now - slowUntil < windowMs ? bounds.slowAllowanceMs(slowestEverMs) : 0
    }

    /// Whether every daemon that is up can carry packets on every link between up daemons.
    var allHealed: Bool {
        cut.isEmpty && slow.isEmpty && Set(up.indices.filter { up[$0] }.map { group[$0] }).count <= 1
    }
}
