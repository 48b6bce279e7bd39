import RarangiWire

/// The node's part of the status document: a snapshot taken from its machines.
extension Node {
    /// Counters an operator reads from the status document.
    public struct Stats: Sendable {
        /// Registrations created.
        public var registered = 0
        /// Refreshes of existing registrations.
        public var refreshed = 0
        /// Explicit deregistrations.
        public var deregistered = 0
        /// Registrations removed because their liveness ran out.
        public var expired = 0
        /// Lookups answered.
        public var lookups = 0
        /// Peer messages received.
        public var peerIn = 0
        /// Peer messages sent.
        public var peerOut = 0
        /// Peer bytes sent.
        public var peerBytesOut = 0
        /// Origins purged as dead.
        public var originsPurged = 0
        /// Pushes to a slow link replaced by a newer delta of the same key.
        public var coalesced = 0
        /// Tombstones collected.
        public var tombstonesCollected = 0
    }

    /// The counters, gathered from the machines that keep them.
    public var stats: Stats {
        let c = registry.counters
        return Stats(registered: c.registered, refreshed: c.refreshed, deregistered: c.deregistered, expired: c.expired,
                     lookups: c.lookups, peerIn: links.messagesIn, peerOut: links.messagesOut, peerBytesOut: links.bytesOut,
                     originsPurged: liveness.purged, coalesced: links.coalesced, tombstonesCollected: c.tombstonesCollected)
    }

    /// Writes the core's members of `GET /_status` into an object the caller
    /// opened; the shell adds its own members after them.
    public func status(into w: inout JSONWriter) { statusSnapshot.write(into: &w) }

    /// Peer links up, and all links: for a status line read often.
    public var linkCounts: (up: Int, total: Int) { links.counts }

    /// Everything the status document shows of the core, as plain values.
    public var statusSnapshot: NodeStatus {
        let s = stats
        // A master's counts are those its verdict was decided on (every
        // daemon an entry claims); a leaf's, those of the master it follows.
        let counts = membership.verdict.counts
        return NodeStatus(
            identity: .init(environment: config.environment, cluster: config.cluster, name: config.name,
                            livenessSeconds: config.livenessSeconds, generation: config.generation, master: config.master,
                            gossipIntervalMs: config.gossipIntervalMs, originTimeoutMs: config.originTimeoutMs),
            registrations: .init(services: catalogue.serviceCount, instances: catalogue.count, index: catalogue.index,
                                 registered: s.registered, refreshed: s.refreshed, deregistered: s.deregistered,
                                 expired: s.expired, lookups: s.lookups),
            links: links.ordered.map { NodeStatus.Link($0.1) },
            origins: replica.origins.indices.compactMap { i in
                replica.origins[i].map { o in
                    NodeStatus.Origin(name: o.name, generation: o.generation, version: o.watermark, records: o.liveCount,
                                      tombstones: o.records.count - o.liveCount, lastHeardMs: o.lastHeard,
                                      newestChangeWallMs: HybridClock.wallMs(of: o.watermark),
                                      alive: liveness.notAliveSince(Int32(i), o) == nil)
                }
            },
            masters: graph.entries.values.filter { $0.master && $0.isMember }.sorted { $0.name < $1.name }.map { e in
                NodeStatus.Master(name: e.name, cluster: e.cluster, seq: e.seq, component: graph.component[e.name] ?? -1,
                                  reaches: e.masters, leaves: e.leaves.count)
            },
            partition: .init(stale: isStale, catchingUp: catchUp.pending, components: Int(counts.components),
                             largest: Int(counts.largest), mine: Int(counts.mine), knownMasters: graph.masterCount,
                             knownMembers: Int(counts.members), retired: graph.retiredNames),
            replication: .init(peerMessagesIn: s.peerIn, peerMessagesOut: s.peerOut, peerBytesOut: s.peerBytesOut,
                               originsPurged: s.originsPurged, tombstones: replica.tombstoneCount,
                               tombstonesCollected: s.tombstonesCollected, pushesCoalesced: s.coalesced),
            sessions: .init(held: heldCount, released: registry.held.released, watchers: watcherCount,
                            watchesAnswered: registry.watches.answered),
            propagation: propagation)
    }
}

extension NodeStatus.Link {
    init(_ link: RarangiCore.Link) {
        var retry: Int64 = 0
        let state: String
        switch link.state {
        case let .waiting(until): state = "waiting"; retry = until
        case .connecting: state = "connecting"
        case .handshaking: state = "handshaking"
        case .up: state = "up"
        case .disabled: state = "disabled"
        }
        self.init(id: link.id.description, inbound: link.id.isInbound,
                  target: link.id.isInbound ? nil : "\(link.host):\(link.port)", peer: link.peer?.name ?? "",
                  peerMaster: link.peer?.master == true, state: state, slow: link.slow, kept: link.kept.count,
                  attempt: link.attempt, retryAtMs: retry, lastHeardMs: link.lastHeard, messagesIn: link.messagesIn,
                  messagesOut: link.messagesOut, coalesced: link.coalesced, ups: link.ups,
                  upSinceMs: link.isUp ? link.upSince : 0)
    }
}
