import RarangiWire

/// The pure catalogue node: every input comes in with the instant it
/// happened, every action goes out as an effect. It never reads a clock,
/// touches a socket or draws a random number, so the daemon and tests drive
/// the very same code.
public struct Node {
    /// This node's identity and limits.
    public let config: NodeConfig
    /// The registrations.
    public internal(set) var catalogue = Catalogue()
    var clock = HybridClock()
    /// Held registrations and parked blocking queries, keyed by connection.
    var sessions = ClientSessions()
    /// Counters for the status document.
    public private(set) var stats = Stats()

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
    }

    /// Creates a node with an empty catalogue.
    public init(config: NodeConfig) {
        self.config = config
    }

    /// The instant at which the node next wants a `.deadline` input; the
    /// shell keeps exactly one timer armed for it.
    public var nextDeadline: Instant? {
        // Held registrations sit in the expiry heap at `Catalogue.never`: no deadline.
        let expiry = catalogue.nextDeadline.flatMap { $0 == Catalogue.never ? nil : $0 }
        let soonest = [expiry, sessions.watches.nextDeadline].compactMap { $0 }.min()
        return soonest.map { Instant(ms: $0) }
    }

    /// Handles one input and returns what to do.
    public mutating func handle(_ input: Input, now: Instant) -> [Effect] {
        var effects: [Effect] = []
        handle(input, now: now, into: &effects)
        return effects
    }

    /// Handles one input, appending effects to `effects` (the shell reuses one array).
    public mutating func handle(_ input: Input, now: Instant, into effects: inout [Effect]) {
        switch input {
        case let .request(conn, request):
            if handleSession(conn, request, now: now, effects: &effects) { break }
            effects.append(.reply(conn, answer(request, now: now, effects: &effects)))
        case let .connectionClosed(conn):
            endSessions(of: conn, now: now, effects: &effects)
        case .deadline:
            expire(now: now, effects: &effects)
            timeOutWatches(now: now, effects: &effects)
        }
        // Watchers hear of a change in the very turn that applied it.
        notifyWatchers(effects: &effects)
    }

    mutating func expire(now: Instant, effects: inout [Effect]) {
        for (service, id) in catalogue.expire(atOrBefore: now.ms) {
            stats.expired += 1
            effects.append(.log(LogEvent(.info, "expired", [("service", service), ("id", id)])))
        }
    }

    private mutating func answer(_ request: CatalogueRequest, now: Instant, effects: inout [Effect]) -> HTTPResponse {
        // Anything past its deadline is gone before it can be read or refreshed,
        // even when the timer input for it has not yet been handled.
        if let d = catalogue.nextDeadline, d <= now.ms { expire(now: now, effects: &effects) }
        switch request {
        case let .register(service, id, body, ttl):
            let seconds = ttl ?? config.livenessSeconds
            let version = clock.next(wallMs: now.wallMs)
            let outcome = catalogue.upsert(service: service, id: id, body: body, version: version,
                                           expiresAt: now.ms + Int64(seconds) * 1000)
            var reply: [UInt8] = Array(#"{"service":"#.utf8)
            JSON.appendString(service, to: &reply)
            reply.append(contentsOf: #","id":"#.utf8)
            JSON.appendString(id, to: &reply)
            reply.append(contentsOf: #","ttl":"#.utf8)
            appendInt(seconds, to: &reply)
            switch outcome {
            case .created:
                stats.registered += 1
                effects.append(.log(LogEvent(.info, "registered", [("service", service), ("id", id), ("ttl", "\(seconds)")])))
                reply.append(contentsOf: #","created":true}"#.utf8)
                reply.append(10)
                return HTTPResponse(status: 201, body: reply)
            case .refreshed, .stale:
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
            guard catalogue.remove(service: service, id: id) else {
                return .error(404, "not_found", "no instance '\(id)' of service '\(service)'")
            }
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
        case .hold, .watch:
            // Answered by `handleSession` before `answer` is reached.
            return .error(500, "internal", "sessions are answered by handleSession")
        case .status:
            // The shell answers status itself, adding its own counters to `statusMembers`.
            return .error(500, "internal", "status is answered by the shell")
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
        return out
    }
}
