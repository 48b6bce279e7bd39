import RarangiProtocol

/// What a node needs to know about itself; built by the daemon from flags
/// and the configuration file, or by a test directly.
public struct NodeConfig: Sendable {
    /// A neighbour to keep a link to: its catalogue port (peers share it with HTTP).
    public typealias Peer = Endpoint

    /// The environment served (production, staging, testing, development).
    public var environment: String
    /// The cluster this daemon belongs to.
    public var cluster: String
    /// This daemon's unique name.
    public var name: String
    /// Seconds without a refresh after which a registration expires.
    public var livenessSeconds: Int
    /// The longest TTL a client may set on one registration.
    public var maxTTLSeconds: Int
    /// This life of the daemon (its start wall time in ms): a restarted
    /// daemon is a new origin whose writes are never ignored.
    public var generation: UInt64
    /// Whether this daemon is a master (links to every other master).
    public var master: Bool
    /// Neighbours named on the command line or in the file.
    public var peers: [Peer]
    /// Milliseconds between anti-entropy rounds.
    public var gossipIntervalMs: Int64
    /// An origin not heard of for this long is dead and purged (by the majority side).
    public var originTimeoutMs: Int64
    /// A member out of the majority for this long is retired by a fresh
    /// master of the majority, as if an operator had forgotten it.
    public var forgetAfterMs: Int64
    /// The host and port other daemons reach this one on.
    public var advertiseHost: String
    /// The port other daemons reach this one on.
    public var advertisePort: Int

    /// A link silent for this long is cut (three missed rounds).
    public var linkTimeoutMs: Int64 { max(3 * gossipIntervalMs, 1500) }
    /// Tombstones are kept this long; a peer lagging more gets a snapshot.
    /// A dead origin's life is kept out as long. By default the larger of
    /// 60 s and three origin timeouts.
    public var tombstoneTTLMs: Int64 {
        get { tombstoneTTLSetting ?? max(60_000, 3 * originTimeoutMs) }
        set { tombstoneTTLSetting = newValue }
    }
    private var tombstoneTTLSetting: Int64?

    /// Creates a configuration.
    public init(environment: String, cluster: String = "default", name: String,
                livenessSeconds: Int = 90, maxTTLSeconds: Int = 86400,
                generation: UInt64 = 1, master: Bool = false, peers: [Peer] = [],
                gossipIntervalMs: Int64 = 1000, originTimeoutMs: Int64 = 10_000, tombstoneTTLMs: Int64? = nil,
                forgetAfterMs: Int64 = 259_200_000, advertiseHost: String = "", advertisePort: Int = 0) {
        self.tombstoneTTLSetting = tombstoneTTLMs
        self.environment = environment
        self.cluster = cluster
        self.name = name
        self.livenessSeconds = livenessSeconds
        self.maxTTLSeconds = maxTTLSeconds
        self.generation = generation
        self.master = master
        self.peers = peers
        self.gossipIntervalMs = gossipIntervalMs
        self.originTimeoutMs = originTimeoutMs
        self.forgetAfterMs = forgetAfterMs
        self.advertiseHost = advertiseHost
        self.advertisePort = advertisePort
    }
}
