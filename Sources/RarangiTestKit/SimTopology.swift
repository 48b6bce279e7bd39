import RarangiCore

/// The daemons of an oracle-checked run and the peer links that may exist
/// between them (MISSION D6): clusters of two masters and some leaves; every
/// master links to every master, every leaf to the two masters of its
/// cluster. The oracle's reachability walks these links only: a leaf cannot
/// reach anything but through its masters.
public struct SimTopology: Sendable {
    /// One daemon.
    public struct Daemon: Sendable {
        /// Its unique name (also its host name in the simulation).
        public var name: String
        /// Its cluster's number.
        public var cluster: Int
        /// Whether it is a master.
        public var master: Bool
    }

    /// The daemons, in simulation host order.
    public private(set) var daemons: [Daemon] = []
    /// Every peer link that may be up, as host pairs.
    public private(set) var links: [Simulation.Pair] = []

    /// `clusters` clusters of two masters and `leaves` leaves each.
    public init(clusters: Int, leaves: Int) {
        for c in 0..<clusters {
            for m in ["a", "b"] { daemons.append(Daemon(name: "m\(c)\(m)", cluster: c, master: true)) }
            for l in 0..<leaves { daemons.append(Daemon(name: "l\(c)-\(l)", cluster: c, master: false)) }
        }
        for i in daemons.indices {
            for j in daemons.indices where j > i {
                let a = daemons[i], b = daemons[j]
                if a.master && b.master || (a.master != b.master && a.cluster == b.cluster) {
                    links.append(Simulation.Pair(i, j))
                }
            }
        }
    }

    /// How many daemons exist.
    public var count: Int { daemons.count }

    /// The masters' host indices.
    public var masters: [Int] { daemons.indices.filter { daemons[$0].master } }
    /// The leaves' host indices.
    public var leaves: [Int] { daemons.indices.filter { !daemons[$0].master } }
    /// The host indices of cluster `c`.
    public func members(of c: Int) -> [Int] { daemons.indices.filter { daemons[$0].cluster == c } }
    /// How many clusters there are.
    public var clusterCount: Int { (daemons.map(\.cluster).max() ?? -1) + 1 }

    /// Whether the link `p` joins two masters (they probe each other at the
    /// first back-off step for ever; a leaf's links back off exponentially).
    public func isMasterLink(_ p: Simulation.Pair) -> Bool { daemons[p.a].master && daemons[p.b].master }

    /// The configuration of host `i`: masters name the first master, leaves
    /// their cluster's two masters (the rest is learned from the gossip).
    public func config(_ i: Int, bounds: OracleBounds) -> NodeConfig {
        let d = daemons[i]
        let peers: [String]
        if d.master {
            peers = i == masters.first ? [] : [daemons[masters.first!].name]
        } else {
            peers = members(of: d.cluster).filter { daemons[$0].master }.map { daemons[$0].name }
        }
        return NodeConfig(environment: "testing", cluster: "c\(d.cluster)", name: d.name, livenessSeconds: 90,
                          master: d.master, peers: peers.map { NodeConfig.Peer(host: $0, port: 1) },
                          gossipIntervalMs: bounds.gossipMs, originTimeoutMs: bounds.originTimeoutMs,
                          advertiseHost: d.name, advertisePort: 1)
    }
}
