import RarangiCore
import RarangiWire

/// The scale run (MISSION B9): thousands of real cores in clusters of two
/// masters and some leaves, on a network of 1 ms per hop plus queueing at
/// each sender in proportion to the bytes it sends, with the daemon's
/// default gossip interval and origin timeout. It measures what an operator
/// of a large deployment asks: how far and how fast one change travels,
/// what it costs a master, what an idle link carries, how long a silent
/// leaf's registrations outlive it, and how a partition of a tenth of the
/// daemons heals. `rarangi-sim` prints the figures; a test holds a small
/// shape to the goals.
public final class ScaleRun {
    /// Clusters of two masters and `leaves` leaves each.
    public struct Shape: Sendable, CustomStringConvertible {
        /// How many clusters.
        public var clusters: Int
        /// Leaves per cluster.
        public var leaves: Int
        /// Creates a shape.
        public init(clusters: Int, leaves: Int) {
            self.clusters = clusters
            self.leaves = leaves
        }
        /// How many daemons.
        public var daemons: Int { clusters * (2 + leaves) }
        /// "50 × (2 + 198)".
        public var description: String { "\(clusters) × (2 + \(leaves))" }
    }

    /// The 50th, 99th and 100th percentile of a figure over the daemons.
    public struct Spread: Sendable {
        /// Reached by half the daemons.
        public var p50: Int64
        /// Reached by 99 % of them.
        public var p99: Int64
        /// Reached by all.
        public var p100: Int64
    }

    /// What the run measured.
    public struct Figures: Sendable {
        /// Daemons and peer connections once started.
        public var daemons = 0
        public var connections = 0
        /// Registrations every daemon held once the start-up settled, and when (ms of virtual time; nil: never).
        public var registrations = 0
        public var settledMs: Int64?
        /// Over the probe changes (each at a leaf of another cluster), the
        /// worst of each percentile: hops from the origin, and ms until
        /// the daemon served the change. Nil when a probe did not reach every daemon.
        public var hops: Spread?
        public var servedMs: Spread?
        /// How many probes were made, and how many reached every daemon within the window.
        public var probes = 0
        public var probesReachingAll = 0
        /// Per change, averaged over the probes: record frames and bytes
        /// sent by the master that sent the most, and by an average master.
        public var busiestMasterFrames = 0.0
        public var busiestMasterBytes = 0.0
        public var averageMasterFrames = 0.0
        public var averageMasterBytes = 0.0
        /// Idle traffic: bytes per connection per second (both directions), on average and on the busiest connection.
        public var idleBytesPerLinkPerSecond = 0.0
        public var idleBusiestLinkBytesPerSecond = 0.0
        public var idleFramesPerLinkPerSecond = 0.0
        /// A leaf cut off silently (no FIN), once every daemon served its
        /// registration: ms until no other daemon serves it (nil: never
        /// within the bound, or not measured: see `silentLeafMeasured`).
        public var silentLeafGoneMs: Int64?
        public var silentLeafMeasured = false
        /// A tenth of the clusters (`partitionedDaemons` daemons) cut off for
        /// `partitionMs`, then healed: gossip intervals until every daemon is
        /// fresh and serves exactly the live set (nil: never within the bound).
        public var partitionMs: Int64 = 0
        public var partitionedDaemons = 0
        public var healIntervals: Int?
        /// Virtual time the whole run covered, ms.
        public var virtualMs: Int64 = 0
    }

    /// The simulation, for a caller that wants to look further.
    public let sim: Simulation
    /// The shape.
    public let shape: Shape
    private let topology: SimTopology
    private let gossipMs: Int64
    private let log: (String) -> Void
    /// Every registration that should be served: (service, id) → its origin host.
    private var expected: [RecordKey: Int] = [:]
    /// Hosts the run crashed on purpose; any other host down is a failure.
    private var crashed: Set<Int> = []
    private var figures = Figures()

    /// Sets up `shape` (nothing runs yet). `bytesPerMs` is each daemon's
    /// outgoing bandwidth (125,000: 1 Gbit/s); `log` hears progress.
    public init(shape: Shape, seed: UInt64, bytesPerMs: Int64 = 125_000, log: @escaping (String) -> Void = { _ in }) {
        self.shape = shape
        self.log = log
        topology = SimTopology(clusters: shape.clusters, leaves: shape.leaves)
        sim = Simulation(seed: seed, network: .init(loss: 0, minDelayMs: 1, maxDelayMs: 1, bytesPerMs: bytesPerMs))
        let defaults = NodeConfig(environment: "testing", name: "defaults")
        gossipMs = defaults.gossipIntervalMs
        let firstMaster = topology.daemons[topology.masters[0]].name
        for (i, d) in topology.daemons.enumerated() {
            let peers = d.master ? (i == topology.masters[0] ? [] : [firstMaster])
                : topology.members(of: d.cluster).filter { topology.daemons[$0].master }.map { topology.daemons[$0].name }
            sim.add(NodeConfig(environment: "testing", cluster: "c\(d.cluster)", name: d.name, master: d.master,
                               peers: peers.map { NodeConfig.Peer(host: $0, port: 1) },
                               gossipIntervalMs: defaults.gossipIntervalMs, originTimeoutMs: defaults.originTimeoutMs,
                               advertiseHost: d.name, advertisePort: 1))
        }
    }

    /// Runs every phase and returns the figures.
    public func run(probes: Int = 5, registeringEvery: Int = 20, partitionMs: Int64 = 30_000) -> Figures {
        figures.daemons = sim.hosts.count
        startUp(registeringEvery: registeringEvery)
        idle(ms: 10_000)
        for k in 0..<probes { probe(k, of: probes) }
        silentLeaf()
        partition(ms: partitionMs)
        figures.virtualMs = sim.now
        return figures
    }

    // MARK: phases

    private func register(_ host: Int, _ service: String, _ id: String) {
        let body = #"{"host":"\#(topology.daemons[host].name).example","port":8080}"#
        sim.request(host, .register(service: service, id: id, body: Array(body.utf8), ttlSeconds: 86_400))
        expected[RecordKey(service: service, id: id)] = host
    }

    /// How many daemons are stale, down without the run having crashed
    /// them, or do not serve exactly `expected`.
    private func unsettled() -> Int {
        var bad = 0
        for i in sim.hosts.indices where !crashed.contains(i) {
            guard sim.isUp(i), !sim.isStale(i), let cat = sim.catalogue(i), cat.count == expected.count,
                  expected.keys.allSatisfy({ cat.instance(service: $0.service, id: $0.id) != nil }) else {
                bad += 1
                continue
            }
        }
        return bad
    }

    /// Runs in steps of `stepMs` until `done` holds or `boundMs` passed; the time it took.
    private func runUntil(stepMs: Int64, boundMs: Int64, _ done: () -> Bool) -> Int64? {
        let start = sim.now
        while sim.now - start < boundMs {
            sim.run(for: stepMs)
            if done() { return sim.now - start }
        }
        return nil
    }

    private func startUp(registeringEvery: Int) {
        for (n, leaf) in topology.leaves.enumerated() where n % registeringEvery == 0 {
            register(leaf, "svc\(topology.daemons[leaf].cluster)", topology.daemons[leaf].name)
        }
        figures.registrations = expected.count
        figures.settledMs = runUntil(stepMs: gossipMs, boundMs: 120_000) {
            let left = unsettled()
            log("start-up: t=\(sim.now) ms, \(left) daemons not yet holding all \(expected.count) registrations")
            return left == 0
        }
        figures.connections = sim.connectionCount
    }

    private func idle(ms: Int64) {
        sim.run(for: 2 * gossipMs)  // let the last start-up frames drain
        var bytes = 0, frames = 0
        var perLink: [Simulation.Pair: Int] = [:]
        sim.onSend = { from, to, frame in
            bytes += frame.count
            frames += 1
            perLink[Simulation.Pair(from, to), default: 0] += frame.count
        }
        sim.run(for: ms)
        sim.onSend = nil
        let links = Double(max(1, sim.connectionCount)), seconds = Double(ms) / 1000
        figures.idleBytesPerLinkPerSecond = Double(bytes) / links / seconds
        figures.idleFramesPerLinkPerSecond = Double(frames) / links / seconds
        figures.idleBusiestLinkBytesPerSecond = Double(perLink.values.max() ?? 0) / seconds
        log("idle: \(bytes) bytes in \(frames) frames on \(sim.connectionCount) connections over \(ms) ms")
    }

    private func probe(_ k: Int, of count: Int) {
        let cluster = (k * max(1, shape.clusters / max(1, count))) % shape.clusters
        let leaves = topology.members(of: cluster).filter { !topology.daemons[$0].master }
        let origin = leaves[sim.random(leaves.count)]
        let id = "p\(k)"
        var servedAt = [Int64](repeating: -1, count: sim.hosts.count)
        var hops = [Int64](repeating: -1, count: sim.hosts.count)
        var reached = 1
        var sentFrames = [Int](repeating: 0, count: sim.hosts.count), sentBytes = sentFrames
        let start = sim.now
        sim.onDeliver = { [sim] to, from in
            guard servedAt[to] < 0, from >= 0, hops[from] >= 0,
                  sim.catalogue(to)?.instance(service: "probe", id: id) != nil else { return }
            servedAt[to] = sim.now - start
            hops[to] = hops[from] + 1
            reached += 1
        }
        sim.onSend = { from, _, frame in
            guard frame.count > 4, frame[4] == 3 else { return }  // records
            sentFrames[from] += 1
            sentBytes[from] += frame.count
        }
        servedAt[origin] = 0
        hops[origin] = 0
        register(origin, "probe", id)
        let up = sim.hosts.indices.filter { sim.isUp($0) }.count
        _ = runUntil(stepMs: 10, boundMs: 5_000) { reached >= up }
        sim.run(for: 100)  // frames still queued for this change are counted too
        sim.onDeliver = nil
        sim.onSend = nil
        figures.probes += 1
        let masters = topology.masters
        let busiest = masters.max { sentBytes[$0] < sentBytes[$1] }!
        let n = Double(count)
        figures.busiestMasterFrames += Double(sentFrames[busiest]) / n
        figures.busiestMasterBytes += Double(sentBytes[busiest]) / n
        figures.averageMasterFrames += Double(masters.map { sentFrames[$0] }.reduce(0, +)) / Double(masters.count) / n
        figures.averageMasterBytes += Double(masters.map { sentBytes[$0] }.reduce(0, +)) / Double(masters.count) / n
        log("probe \(k) at \(topology.daemons[origin].name): served by \(reached) of \(up) daemons")
        guard reached >= up else {
            figures.hops = nil
            figures.servedMs = nil
            return
        }
        figures.probesReachingAll += 1
        func spread(_ values: [Int64]) -> Spread {
            let v = values.sorted()
            func at(_ q: Double) -> Int64 { v[min(v.count - 1, Int((q * Double(v.count)).rounded(.up)) - 1)] }
            return Spread(p50: at(0.5), p99: at(0.99), p100: v.last!)
        }
        let h = spread(hops.filter { $0 >= 0 }), t = spread(servedAt.filter { $0 >= 0 })
        // Void as soon as one probe missed a daemon: the worst is unknown.
        if figures.probes == 1 {
            figures.hops = h
            figures.servedMs = t
        } else if figures.probesReachingAll == figures.probes, let oh = figures.hops, let ot = figures.servedMs {
            figures.hops = Spread(p50: max(oh.p50, h.p50), p99: max(oh.p99, h.p99), p100: max(oh.p100, h.p100))
            figures.servedMs = Spread(p50: max(ot.p50, t.p50), p99: max(ot.p99, t.p99), p100: max(ot.p100, t.p100))
        }
    }

    private func silentLeaf() {
        // A registration of its own at a fixed leaf, served everywhere
        // before the cut; the same leaf in every run of a seed.
        let cluster = min(1, shape.clusters - 1)
        let leaf = topology.members(of: cluster).first { !topology.daemons[$0].master }!
        let key = RecordKey(service: "silent", id: topology.daemons[leaf].name)
        register(leaf, key.service, key.id)
        let served = runUntil(stepMs: 100, boundMs: 10_000) {
            sim.hosts.indices.allSatisfy { sim.catalogue($0)?.instance(service: key.service, id: key.id) != nil }
        }
        for k in expected.keys where expected[k] == leaf { expected[k] = nil }
        for m in topology.members(of: cluster) where topology.daemons[m].master { sim.cut(leaf, m) }
        guard served != nil else {
            log("silent leaf \(topology.daemons[leaf].name): its registration never reached every daemon; not measured")
            crash(leaf)
            return
        }
        figures.silentLeafMeasured = true
        figures.silentLeafGoneMs = runUntil(stepMs: 100, boundMs: 120_000) {
            sim.hosts.indices.allSatisfy { i in
                i == leaf || (sim.isUp(i) && sim.catalogue(i)?.instance(service: key.service, id: key.id) == nil)
            }
        }
        log("silent leaf \(topology.daemons[leaf].name): gone everywhere after \(figures.silentLeafGoneMs.map(String.init) ?? "never") ms")
        crash(leaf)  // it stays dead
    }

    private func crash(_ host: Int) {
        crashed.insert(host)
        sim.crash(host)
    }

    private func partition(ms: Int64) {
        figures.partitionMs = ms
        let cutClusters = max(1, shape.clusters / 10)
        sim.partition { self.topology.daemons[$0].cluster < cutClusters ? 1 : 0 }
        figures.partitionedDaemons = topology.daemons.count { $0.cluster < cutClusters }
        // A registration on each side while they are apart.
        let minorityLeaf = topology.members(of: 0).first { !topology.daemons[$0].master && sim.isUp($0) }!
        let majorityLeaf = topology.members(of: shape.clusters - 1).first { !topology.daemons[$0].master && sim.isUp($0) }!
        sim.run(for: ms / 2)
        register(minorityLeaf, "during", "minority")
        register(majorityLeaf, "during", "majority")
        sim.run(for: ms - ms / 2)
        sim.heal()
        let healedAt = sim.now
        let healed = runUntil(stepMs: gossipMs, boundMs: 60_000) {
            let left = unsettled()
            log("heal: \(sim.now - healedAt) ms after, \(left) daemons not serving exactly the live set")
            return left == 0
        }
        figures.healIntervals = healed.map { Int(($0 + gossipMs - 1) / gossipMs) }
    }
}
