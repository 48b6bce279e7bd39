import RarangiWire

/// What an operator reads about a node at one instant (MISSION B7, B10): a
/// snapshot of plain values taken from the node's machines, written as the
/// core's members of the status document by `write(into:)`.
public struct NodeStatus: Sendable {
    /// Who the daemon is and how it is configured.
    public struct Identity: Sendable {
        /// The environment served.
        public var environment: String
        /// The daemon's cluster.
        public var cluster: String
        /// The daemon's unique name.
        public var name: String
        /// Seconds a registration lives without a refresh.
        public var livenessSeconds: Int
        /// This life of the daemon.
        public var generation: UInt64
        /// Whether the daemon is a master.
        public var master: Bool
        /// Milliseconds between gossip rounds.
        public var gossipIntervalMs: Int64
        /// How long an origin may stay unreachable before it is purged.
        public var originTimeoutMs: Int64
    }

    /// What the catalogue holds and what was done to it.
    public struct Registrations: Sendable {
        /// Services with at least one instance.
        public var services: Int
        /// Live instances.
        public var instances: Int
        /// The catalogue index (grows at every change).
        public var index: UInt64
        /// Registrations created.
        public var registered: Int
        /// Refreshes of existing registrations.
        public var refreshed: Int
        /// Explicit deregistrations.
        public var deregistered: Int
        /// Registrations whose liveness ran out.
        public var expired: Int
        /// Lookups answered.
        public var lookups: Int
    }

    /// One peer link.
    public struct Link: Sendable {
        /// The link's name (`out1`, `in3`).
        public var id: String
        /// Whether the peer connected to us.
        public var inbound: Bool
        /// Where an outbound link connects (`host:port`); nil for inbound links.
        public var target: String?
        /// The peer's name, empty before its hello.
        public var peer: String
        /// Whether the peer is a master.
        public var peerMaster: Bool
        /// `waiting`, `connecting`, `handshaking`, `up` or `disabled`.
        public var state: String
        /// Whether the peer reads slower than we write.
        public var slow: Bool
        /// Pushes kept (coalesced) for a slow peer; written as `held`.
        public var kept: Int
        /// Failed attempts since the link was last healthy.
        public var attempt: Int
        /// When a waiting link retries (0 otherwise).
        public var retryAtMs: Int64
        /// When the peer last sent anything.
        public var lastHeardMs: Int64
        /// Frames received on the link.
        public var messagesIn: Int
        /// Frames sent on the link.
        public var messagesOut: Int
        /// Pushes to it replaced by a newer one of the same key while it was slow.
        public var coalesced: Int
        /// Times it came up; above 1, it reconnected.
        public var ups: Int
        /// When it came up (0 while it is not up).
        public var upSinceMs: Int64
    }

    /// One origin daemon whose records are held (MISSION B10).
    public struct Origin: Sendable {
        /// The origin's name.
        public var name: String
        /// The origin's life (a restart is a new one).
        public var generation: UInt64
        /// Every record of it up to this version is held.
        public var version: UInt64
        /// Live records held.
        public var records: Int
        /// Tombstones held (removals kept for lagging peers).
        public var tombstones: Int
        /// When something of it last arrived.
        public var lastHeardMs: Int64
        /// The wall-clock time its newest change held here was written (0
        /// when none is): this daemon's view of the origin is at least
        /// `now - newestChangeWallMs` old (MISSION B10).
        public var newestChangeWallMs: Int64
        /// Whether it counts as alive (no purge clock runs for it).
        public var alive: Bool
    }

    /// One master of the graph.
    public struct Master: Sendable {
        /// The master's name.
        public var name: String
        /// The master's cluster.
        public var cluster: String
        /// Its entry's sequence number.
        public var seq: UInt64
        /// Its component (0 = the majority; -1 unknown).
        public var component: Int
        /// The masters it claims to reach.
        public var reaches: [String]
        /// How many leaves it reaches.
        public var leaves: Int
    }

    /// The partition verdict (MISSION B2).
    public struct Partition: Sendable {
        /// Whether this daemon is cut off from the majority, or still catching up.
        public var stale: Bool
        /// Whether it has not yet caught up with a peer since it started.
        public var catchingUp: Bool
        /// How many components the members' graph has.
        public var components: Int
        /// The size of the largest (the majority).
        public var largest: Int
        /// The size of ours (0 when none is known).
        public var mine: Int
        /// Masters heard of.
        public var knownMasters: Int
        /// Members heard of, masters and leaves: the verdict needs more
        /// than half of them in `mine`.
        public var knownMembers: Int
        /// Daemons retired for good (forgotten by an operator or after
        /// `--forget-after`), sorted; not counted in `knownMembers`.
        public var retired: [String]
    }

    /// Replication counters.
    public struct Replication: Sendable {
        /// Peer messages received.
        public var peerMessagesIn: Int
        /// Peer messages sent.
        public var peerMessagesOut: Int
        /// Peer bytes sent.
        public var peerBytesOut: Int
        /// Origins purged as dead.
        public var originsPurged: Int
        /// Tombstones held.
        public var tombstones: Int
        /// Tombstones collected after their time.
        public var tombstonesCollected: Int
        /// Pushes to a slow link replaced by a newer delta of the same key.
        public var pushesCoalesced: Int
    }

    /// Client sessions.
    public struct Sessions: Sendable {
        /// Registrations held by open connections.
        public var held: Int
        /// Held registrations released because their connection closed.
        public var released: Int
        /// Blocking queries parked.
        public var watchers: Int
        /// Blocking queries answered (by a change or their wait running out).
        public var watchesAnswered: Int
    }

    /// Who the daemon is.
    public var identity: Identity
    /// The catalogue's counts.
    public var registrations: Registrations
    /// Links in id order.
    public var links: [Link]
    /// Origins in the replica's order.
    public var origins: [Origin]
    /// Masters by name.
    public var masters: [Master]
    /// The partition verdict.
    public var partition: Partition
    /// Replication counters.
    public var replication: Replication
    /// Client sessions.
    public var sessions: Sessions
    /// Propagation delays of changes received, in milliseconds.
    public var propagation: Histogram

    /// Writes the core's members of the status document into an object the
    /// caller opened (the shell adds its own after them). Keys, nesting and
    /// order are what operators and tests read: change them only with the
    /// documentation.
    public func write(into w: inout JSONWriter) {
        w.member("environment", identity.environment)
        w.member("cluster", identity.cluster)
        w.member("name", identity.name)
        w.member("liveness", identity.livenessSeconds)
        w.member("services", registrations.services)
        w.member("instances", registrations.instances)
        w.member("index", registrations.index)
        w.member("registered", registrations.registered)
        w.member("refreshed", registrations.refreshed)
        w.member("deregistered", registrations.deregistered)
        w.member("expired", registrations.expired)
        w.member("lookups", registrations.lookups)
        w.member("generation", identity.generation)
        w.member("master", identity.master)
        w.member("gossip_interval_ms", identity.gossipIntervalMs)
        w.member("origin_timeout_ms", identity.originTimeoutMs)
        w.member("links") { w in w.array(links) { w, l in l.write(into: &w) } }
        w.member("origins") { w in w.array(origins) { w, o in o.write(into: &w) } }
        w.member("masters") { w in w.object { w in for m in masters { w.member(m.name) { w in m.write(into: &w) } } } }
        w.member("partition") { w in
            w.object { w in
                w.member("stale", partition.stale)
                w.member("catching_up", partition.catchingUp)
                w.member("components", partition.components)
                w.member("largest", partition.largest)
                w.member("mine", partition.mine)
                w.member("known_masters", partition.knownMasters)
                w.member("known_members", partition.knownMembers)
                w.member("retired") { w in w.array(partition.retired) { w, m in w.value(m) } }
            }
        }
        w.member("peer_messages_in", replication.peerMessagesIn)
        w.member("peer_messages_out", replication.peerMessagesOut)
        w.member("peer_bytes_out", replication.peerBytesOut)
        w.member("origins_purged", replication.originsPurged)
        w.member("tombstones", replication.tombstones)
        w.member("tombstones_collected", replication.tombstonesCollected)
        w.member("pushes_coalesced", replication.pushesCoalesced)
        w.member("held", sessions.held)
        w.member("released", sessions.released)
        w.member("watchers", sessions.watchers)
        w.member("watches_answered", sessions.watchesAnswered)
    }
}

// Each entry's members, grouped as the documentation lists them.

extension NodeStatus.Link {
    func write(into w: inout JSONWriter) {
        w.object { w in
            w.member("id", id); w.member("direction", inbound ? "inbound" : "outbound")
            if let target { w.member("target", target) }
            w.member("peer", peer); w.member("peer_master", peerMaster)
            w.member("state", state); w.member("slow", slow); w.member("held", kept)
            w.member("attempt", attempt); w.member("retry_at_ms", retryAtMs); w.member("last_heard_ms", lastHeardMs)
            w.member("messages_in", messagesIn); w.member("messages_out", messagesOut)
            w.member("up_since_ms", upSinceMs)
        }
    }
}

extension NodeStatus.Origin {
    func write(into w: inout JSONWriter) {
        w.object { w in
            w.member("name", name); w.member("generation", generation); w.member("version", version)
            w.member("records", records); w.member("tombstones", tombstones)
            w.member("last_heard_ms", lastHeardMs); w.member("newest_change_ms", newestChangeWallMs); w.member("alive", alive)
        }
    }
}

extension NodeStatus.Master {
    func write(into w: inout JSONWriter) {
        w.object { w in
            w.member("cluster", cluster); w.member("seq", seq); w.member("component", component)
            w.member("reaches") { w in w.array(reaches) { w, m in w.value(m) } }
            w.member("leaves", leaves)
        }
    }
}
