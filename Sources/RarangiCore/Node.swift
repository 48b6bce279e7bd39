import RarangiWire

/// The pure catalogue node: every input comes in with the instant it
/// happened, every action goes out as an effect. It never reads a clock,
/// touches a socket or draws a random number, so the daemon and tests drive
/// the very same code.
public struct Node {
    /// This node's identity and limits.
    public internal(set) var config: NodeConfig
    /// The replicated store; `catalogue` is its visible view.
    public internal(set) var replica: Replica
    /// The registrations visible to clients.
    public var catalogue: Catalogue { replica.view }
    var clock = HybridClock()
    /// Peer links by id.
    var links: [LinkID: Link] = [:]
    var nextOutbound: UInt64 = 1
    /// The masters' reachability graph.
    public internal(set) var graph = MasterGraph()
    var mySeq: UInt64 = 0
    var myEntryDirty = true
    var changedMasters: Set<String> = []
    var rng: SplitMix64
    var nextGossipAt: Int64?
    /// Whether this daemon is cut off from the majority (B2).
    public internal(set) var isStale = false
    var freshSince: Int64 = 0
    var myComponent: Int?
    var aliveDirty = true
    var graphDirty = false
    /// Some origin is not alive (its purge clock runs), or the origins changed: scan them.
    var aliveScanNeeded = true
    var aliveDirtyScan = true
    var aliveSet: Set<String> = []
    var pullsInFlight: [String: Int64] = [:]
    /// Dead origin lives, kept out until their records could no longer circulate.
    var buried: [String: (generation: UInt64, until: Int64)] = [:]
    var started = false
    /// Held registrations and parked blocking queries, keyed by connection.
    var sessions = ClientSessions()
    /// Counters for the status document.
    public internal(set) var stats = Stats()

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
        /// Peer messages received and sent.
        public var peerIn = 0
        public var peerOut = 0
        /// Peer bytes sent.
        public var peerBytesOut = 0
        /// Origins purged as dead.
        public var originsPurged = 0
        /// Tombstones collected.
        /// Pushes to a slow link replaced by a newer delta of the same key.
        public var coalesced = 0
        public var tombstonesCollected = 0
    }

    /// Creates a node with an empty catalogue; `seed` feeds the jitter of
    /// reconnect back-off (the daemon draws it from the kernel, the
    /// simulation from its scenario seed).
    public init(config: NodeConfig, seed: UInt64 = 0) {
        self.config = config
        self.replica = Replica(name: config.name, generation: config.generation)
        self.rng = SplitMix64(seed: seed ^ config.generation)
        for p in config.peers {
            let id = LinkID(nextOutbound)
            nextOutbound += 1
            links[id] = Link(id: id, host: p.host, port: p.port, state: .waiting(until: 0))
        }
    }

    /// Sets the address peers are told to reach this daemon on, once the
    /// shell knows the port it bound.
    public mutating func advertise(host: String, port: Int) {
        config.advertiseHost = host
        config.advertisePort = port
        myEntryDirty = true
    }

    /// The instant at which the node next wants a `.deadline` input; the
    /// shell keeps exactly one timer armed for it.
    public var nextDeadline: Instant? {
        // Held registrations sit in the expiry heap at `Catalogue.never`: no deadline.
        var d = replica.nextExpiry.flatMap { $0 == Catalogue.never ? nil : $0 }
        func consider(_ t: Int64?) { if let t, d == nil || t < d! { d = t } }
        consider(sessions.watches.nextDeadline)
        if !links.isEmpty { consider(nextGossipAt ?? 0) }
        for link in links.values {
            switch link.state {
            case let .waiting(until): consider(until)
            case let .connecting(deadline), let .handshaking(deadline): consider(deadline)
            case .up, .disabled: break
            }
        }
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
        switch input {
        case let .request(conn, request):
            if handleSession(conn, request, now: now, effects: &effects) { break }
            effects.append(.reply(conn, answer(request, now: now, effects: &effects)))
        case let .connectionClosed(conn):
            endSessions(of: conn, now: now, effects: &effects)
        case .deadline:
            expire(now: now, effects: &effects)
            timeOutWatches(now: now, effects: &effects)
            linkDeadlines(now: now, effects: &effects)
            if let g = nextGossipAt, g <= now.ms, !links.isEmpty { gossipRound(now: now, effects: &effects) }
        case let .peerConnected(id, host):
            peerConnected(id, host: host, now: now, effects: &effects)
        case let .peerMessage(id, message):
            peerMessage(id, message, now: now, effects: &effects)
        case let .peerClosed(id):
            linkDown(id, reason: "closed", now: now, effects: &effects)
        case let .peerBacklog(id, slow):
            backlog(id, slow: slow, effects: &effects)
        }
        if !links.isEmpty, nextGossipAt == nil { nextGossipAt = now.ms + config.gossipIntervalMs }
        // Watchers hear of a change in the very turn that applied it.
        notifyWatchers(effects: &effects)
    }

    /// A stale daemon says so on every answer it gives (B2): clients can tell
    /// a last-known view from a current one.
    static func markStale(_ effects: inout [Effect], from first: Int) {
        for i in first..<effects.count {
            switch effects[i] {
            case var .reply(conn, response):
                response.headers.append(Node.staleHeader)
                effects[i] = .reply(conn, response)
            case var .stream(conn, response):
                response.headers.append(Node.staleHeader)
                effects[i] = .stream(conn, response)
            default:
                break
            }
        }
    }

    /// The header a stale daemon's answers carry.
    public static let staleHeader = ("X-Rarangi-Stale", "true")

    mutating func expire(now: Instant, effects: inout [Effect]) {
        guard let d = replica.nextExpiry, d <= now.ms else { return }
        let prev = replica.local.watermark
        let deltas = replica.expire(atOrBefore: now.ms, version: { clock.next(wallMs: now.wallMs) })
        for d in deltas {
            stats.expired += 1
            effects.append(.log(LogEvent(.info, "expired", [("service", d.service), ("id", d.id)])))
        }
        if !deltas.isEmpty { pushLocal(deltas, prev: prev, effects: &effects) }
    }

    private mutating func answer(_ request: CatalogueRequest, now: Instant, effects: inout [Effect]) -> HTTPResponse {
        // Anything past its deadline is gone before it can be read or refreshed,
        // even when the timer input for it has not yet been handled.
        expire(now: now, effects: &effects)
        switch request {
        case let .register(service, id, body, ttl):
            let seconds = ttl ?? config.livenessSeconds
            let prev = replica.local.watermark
            let outcome = replica.putLocal(RecordKey(service: service, id: id), body: body,
                                           version: { clock.next(wallMs: now.wallMs) },
                                           expiresAt: now.ms + Int64(seconds) * 1000, now: now.ms)
            if let d = outcome.delta { pushLocal([d], prev: prev, effects: &effects) }
            var reply: [UInt8] = Array(#"{"service":"#.utf8)
            JSON.appendString(service, to: &reply)
            reply.append(contentsOf: #","id":"#.utf8)
            JSON.appendString(id, to: &reply)
            reply.append(contentsOf: #","ttl":"#.utf8)
            appendInt(seconds, to: &reply)
            switch outcome.created {
            case true:
                stats.registered += 1
                effects.append(.log(LogEvent(.info, "registered", [("service", service), ("id", id), ("ttl", "\(seconds)")])))
                reply.append(contentsOf: #","created":true}"#.utf8)
                reply.append(10)
                return HTTPResponse(status: 201, body: reply)
            case false:
                stats.refreshed += 1
                reply.append(contentsOf: #","created":false}"#.utf8)
                reply.append(10)
                return HTTPResponse(status: 200, body: reply)
            }
        case let .lookup(service, pretty):
            stats.lookups += 1
            return HTTPResponse(status: 200, body: catalogue.lookup(service, pretty: pretty),
                                headers: [("X-Rarangi-Index", String(catalogue.serviceIndex(service)))])
        case let .instance(service, id, pretty):
            guard let body = catalogue.instance(service: service, id: id) else {
                return .error(404, "not_found", "no instance '\(id)' of service '\(service)'")
            }
            return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(body) : body + [10])
        case let .deregister(service, id):
            guard catalogue.instance(service: service, id: id) != nil else {
                return .error(404, "not_found", "no instance '\(id)' of service '\(service)'")
            }
            let prev = replica.local.watermark
            let d = replica.killLocal(RecordKey(service: service, id: id), version: clock.next(wallMs: now.wallMs), now: now.ms)
            pushLocal([d], prev: prev, effects: &effects)
            stats.deregistered += 1
            effects.append(.log(LogEvent(.info, "deregistered", [("service", service), ("id", id)])))
            var reply: [UInt8] = Array(#"{"service":"#.utf8)
            JSON.appendString(service, to: &reply)
            reply.append(contentsOf: #","id":"#.utf8)
            JSON.appendString(id, to: &reply)
            reply.append(contentsOf: #","deleted":true}"#.utf8)
            reply.append(10)
            return HTTPResponse(status: 200, body: reply)
        case let .services(pretty):
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (i, entry) in catalogue.serviceCounts().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.appendString(entry.name, to: &out)
                out.append(UInt8(ascii: ":"))
                appendInt(entry.count, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(out) : out + [10])
        case let .deltas(since, pretty):
            let body = deltasDocument(since)
            return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(body) : body + [10])
        case .hold, .watch:
            // Answered by `handleSession` before `answer` is reached.
            return .error(500, "internal", "sessions are answered by handleSession")
        }
    }

    /// The core's part of the status document, as JSON object members
    /// (`"key":value` pairs without the surrounding braces).
    public func statusMembers() -> [UInt8] {
        var out: [UInt8] = []
        func member(_ key: String, _ value: String, quoted: Bool) {
            if !out.isEmpty { out.append(UInt8(ascii: ",")) }
            JSON.appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            if quoted { JSON.appendString(value, to: &out) } else { out.append(contentsOf: value.utf8) }
        }
        member("environment", config.environment, quoted: true)
        member("cluster", config.cluster, quoted: true)
        member("name", config.name, quoted: true)
        member("liveness", String(config.livenessSeconds), quoted: false)
        member("services", String(catalogue.serviceCount), quoted: false)
        member("instances", String(catalogue.count), quoted: false)
        member("index", String(catalogue.index), quoted: false)
        member("registered", String(stats.registered), quoted: false)
        member("refreshed", String(stats.refreshed), quoted: false)
        member("deregistered", String(stats.deregistered), quoted: false)
        member("expired", String(stats.expired), quoted: false)
        member("lookups", String(stats.lookups), quoted: false)
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: replicationStatus())
        return out
    }
}
