import RarangiWire

/// The pure catalogue node: every input comes in with the instant it
/// happened, every action goes out as an effect. It never reads a clock,
/// touches a socket or draws a random number, so the daemon and tests drive
/// the very same code.
///
/// The node is a dispatcher over four machines that own their state:
/// `PeerLinks` (the link table), `Membership` (the masters' graph and the
/// partition verdict), `Liveness` (who is alive, the origin purge) and
/// `Registry` (records, catalogue, held registrations, watches). `handle`
/// routes each input to them and wires what one asks of another:
/// `Node+Requests`, `Node+Peers`, `Node+Replication`, `Node+Round`,
/// `Node+Retire`.
public struct Node {
    /// This node's identity and limits.
    public internal(set) var config: NodeConfig
    /// The peer links.
    var links: PeerLinks
    /// The masters' graph and the partition verdict.
    var membership: Membership
    /// Who is alive, and the dead origin lives kept out.
    var liveness = Liveness()
    /// Records, catalogue and client sessions.
    var registry: Registry
    /// Origins pulled recently, not pulled again until the answer had time to come.
    var pulls = PullsInFlight()
    /// When the next gossip round is due (nil until the first link exists).
    var nextGossipAt: Int64?
    /// While no link exists (a daemon without peers, or cut off from all),
    /// when tombstones are next collected: the round that does it otherwise
    /// does not run, and deleted names would stay in memory for good.
    var nextCollectAt: Int64?
    /// This life raised its generation above one a peer remembered (once only).
    var raisedGeneration = false
    /// A second daemon with this name was reported.
    var reportedDuplicateName = false
    /// Until this daemon has caught up with a peer it answers as stale.
    var catchUp: CatchUp
    /// Every member entry as one frame, for the graph state `hash`, and the
    /// leaf view (masters' and retired entries) for the state `viewHash`.
    var allEntriesFrame: (hash: UInt64, frame: [UInt8])?
    var leafViewFrame: (hash: UInt64, frame: [UInt8])?
    /// The replica's count of names added when a leaf last built its alive set.
    var aliveBuiltForNames = -1
    /// The verdict a master last told its leaves.
    var toldVerdict: MemberVerdict?
    /// A peer said this very life was retired (reported once).
    var reportedOwnRetirement = false
    /// Milliseconds from a change's write at its origin to its arrival
    /// here, for every push that brought something new (wall clocks of two
    /// hosts: skew shows in it, and is why the first bucket is a millisecond).
    public internal(set) var propagation = Histogram(bounds: Histogram.milliseconds)

    /// Creates a node with an empty catalogue; `seed` feeds the jitter of
    /// reconnect back-off (the daemon draws it from the kernel, the
    /// simulation from its scenario seed).
    public init(config: NodeConfig, seed: UInt64 = 0) {
        self.config = config
        self.registry = Registry(name: config.name, generation: config.generation)
        self.links = PeerLinks(peers: config.peers, seed: seed ^ config.generation)
        self.catchUp = CatchUp(hasPeers: !config.peers.isEmpty)
        self.membership = Membership(holdsAll: config.master)
    }

    /// The replicated store; `catalogue` is its visible view.
    public var replica: Replica { registry.replica }
    /// The registrations visible to clients.
    public var catalogue: Catalogue { registry.catalogue }
    /// The masters' reachability graph.
    public var graph: MemberGraph { membership.graph }
    /// Whether this daemon is cut off from the majority (B2), or has not
    /// yet caught up with a peer since it started.
    public var isStale: Bool { membership.verdict.isStale || catchUp.pending }
    /// Whether this daemon has not yet caught up with a peer since it started.
    public var isCatchingUp: Bool { catchUp.pending }
    /// How many registrations are held by open connections.
    public var heldCount: Int { registry.held.count }
    /// How many blocking queries are parked.
    public var watcherCount: Int { registry.watches.count }
    /// The last version this daemon's hybrid clock handed out or observed.
    /// For the simulation: a version a peer sent must never carry it to
    /// `versionLimit`, where the next local write would trap.
    public var lastVersion: UInt64 { registry.lastVersion }
    /// Versions at or above this are refused (see `OriginRecord`).
    public static var versionLimit: UInt64 { OriginRecord.versionLimit }

    /// Sets the address peers are told to reach this daemon on, once the
    /// shell knows the port it bound.
    public mutating func advertise(host: String, port: Int) {
        config.advertiseHost = host
        config.advertisePort = port
        membership.ownEntryChanged()
    }

    /// The instant at which the node next wants a `.deadline` input; the
    /// shell keeps exactly one timer armed for it.
    public var nextDeadline: Instant? {
        var d = registry.nextDeadline
        func consider(_ t: Int64?) { if let t, d == nil || t < d! { d = t } }
        if !links.isEmpty { consider(nextGossipAt ?? 0) } else { consider(nextCollectAt) }
        consider(links.nextDeadline)
        consider(catchUp.nextDeadline)
        return d.map { Instant(ms: $0) }
    }

    /// Handles one input and returns what to do.
    public mutating func handle(_ input: Input, now: Instant) -> [Effect] {
        var effects: [Effect] = []
        handle(input, now: now, into: &effects)
        return effects
    }

    /// Handles one input, appending effects to `effects` (the shell reuses one array).
    public mutating func handle(_ input: Input, now: Instant, into effects: inout [Effect]) {
        let first = effects.count
        defer { if isStale { Node.markStale(&effects, from: first) } }
        catchUp.start(now: now.ms, limitMs: 2 * config.linkTimeoutMs)
        switch input {
        case let .request(conn, request):
            serve(conn, request, now: now, effects: &effects)
        case let .forget(conn, name):
            forget(conn, name, now: now, effects: &effects)
        case let .connectionClosed(conn):
            push(registry.connectionClosed(conn, now: now, effects: &effects), effects: &effects)
        case .deadline:
            catchUp.expire(now: now.ms, peerLinked: links.anyUp, effects: &effects)
            push(registry.expire(now: now, effects: &effects), effects: &effects)
            registry.timeOutWatches(now: now, effects: &effects)
            links.fireDeadlines(now: now.ms, timeoutMs: config.linkTimeoutMs, effects: &effects)
            if let g = nextGossipAt, g <= now.ms, !links.isEmpty { gossipRound(now: now, effects: &effects) }
            if let c = nextCollectAt, c <= now.ms {
                nextCollectAt = nil
                if links.isEmpty {
                    registry.collectTombstones(now: now.ms, ttl: config.tombstoneTTLMs)
                    liveness.forgetBurials(now: now.ms)
                }
            }
        case let .peerConnected(id, host):
            if links.connected(id, host: host, now: now.ms, timeoutMs: config.linkTimeoutMs) {
                links.send(id, .hello(hello), effects: &effects)
            }
        case let .peerMessage(id, message):
            peerMessage(id, message, now: now, effects: &effects)
        case let .peerClosed(id):
            linkDown(id, reason: "closed", now: now, effects: &effects)
        case let .peerBacklog(id, slow):
            links.backlog(id, slow: slow, effects: &effects)
        }
        if !links.isEmpty, nextGossipAt == nil { nextGossipAt = now.ms + config.gossipIntervalMs }
        if links.isEmpty, nextCollectAt == nil, registry.holdsTombstones {
            nextCollectAt = now.ms + config.gossipIntervalMs
        }
        push(registry.writeOwed(now: now), effects: &effects)
        // Watchers hear of a change in the very turn that applied it.
        registry.notifyWatchers(effects: &effects)
    }

    /// A stale daemon says so on every answer it gives (B2): clients can tell
    /// a last-known view from a current one.
    static func markStale(_ effects: inout [Effect], from first: Int) {
        for i in first..<effects.count {
            switch effects[i] {
            case .reply(let conn, var response):
                response.headers.append(Node.staleHeader)
                effects[i] = .reply(conn, response)
            case .stream(let conn, var response):
                response.headers.append(Node.staleHeader)
                effects[i] = .stream(conn, response)
            default:
                break
            }
        }
    }

    /// The header a stale daemon's answers carry.
    public static let staleHeader = ("X-Rarangi-Stale", "true")

    /// Pushes a change of this daemon's own records to every live link (B1).
    mutating func push(_ change: LocalChange?, effects: inout [Effect]) {
        guard let change, links.anyUp else { return }
        let batch = RecordBatch(origin: config.name, generation: config.generation, mode: .push(prev: change.prev),
                                deltas: change.deltas)
        links.pushToAll([batch], effects: &effects)
    }
}
