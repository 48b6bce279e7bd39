import RarangiWire

/// A change of this daemon's own records, to push to the peers: `prev` is
/// the local watermark before its first delta, so a receiver can tell
/// whether the push continues what it holds.
struct LocalChange {
    var prev: UInt64
    var deltas: [Delta]
}

/// The registry: the replicated records, the catalogue clients read, the
/// registrations held by connections and the parked blocking queries. It
/// answers every catalogue request and applies the peers' records; each
/// change of its own records comes back as a `LocalChange` the node pushes.
struct Registry {
    /// Registrations, refreshes, removals and lookups, for the status document.
    struct Counters {
        var registered = 0
        var refreshed = 0
        var deregistered = 0
        var expired = 0
        var lookups = 0
        var tombstonesCollected = 0
    }

    /// The replicated store; `catalogue` is its visible view.
    private(set) var replica: Replica
    /// Versions of this daemon's own writes.
    private var clock = HybridClock()
    private(set) var held = HeldRegistrations()
    private(set) var watches = Watches()
    private(set) var counters = Counters()

    /// An empty registry of the origin `name` in life `generation`.
    init(name: String, generation: UInt64) {
        replica = Replica(name: name, generation: generation)
    }

    /// The registrations visible to clients.
    var catalogue: Catalogue { replica.view }

    /// The earliest local expiry or watch deadline. Held registrations sit
    /// in the expiry heap at `Catalogue.never`: no deadline.
    var nextDeadline: Int64? {
        let expiry = replica.nextExpiry.flatMap { $0 == Catalogue.never ? nil : $0 }
        guard let w = watches.nextDeadline else { return expiry }
        return min(expiry ?? w, w)
    }

    private var watermark: UInt64 { replica.local.watermark }

    /// The last version the hybrid clock handed out or observed.
    var lastVersion: UInt64 { clock.last }

    // MARK: requests

    /// Removes the local registrations past their deadline: anything past
    /// it is gone before it can be read or refreshed, even when the timer
    /// input for it has not yet been handled.
    mutating func expire(now: Instant, effects: inout [Effect]) -> LocalChange? {
        guard let d = replica.nextExpiry, d <= now.ms else { return nil }
        let prev = watermark
        let deltas = replica.expire(atOrBefore: now.ms, version: { clock.next(wallMs: now.wallMs) })
        for d in deltas {
            counters.expired += 1
            effects.append(.log(LogEvent(.info, "expired", [("service", d.service), ("id", d.id)])))
        }
        return deltas.isEmpty ? nil : LocalChange(prev: prev, deltas: deltas)
    }

    /// `PUT /<service>/<id>`: registers or refreshes for `ttl` seconds.
    mutating func register(_ service: String, _ id: String, body: [UInt8], ttl seconds: Int, now: Instant,
                           effects: inout [Effect]) -> (HTTPResponse, LocalChange?) {
        let prev = watermark
        let outcome = replica.putLocal(RecordKey(service: service, id: id), body: body,
                                       version: { clock.next(wallMs: now.wallMs) },
                                       expiresAt: now.ms + Int64(seconds) * 1000, now: now.ms)
        let change = outcome.delta.map { LocalChange(prev: prev, deltas: [$0]) }
        if outcome.created {
            counters.registered += 1
            effects.append(.log(LogEvent(.info, "registered", [("service", service), ("id", id), ("ttl", "\(seconds)")])))
        } else {
            counters.refreshed += 1
        }
        var w = JSONWriter()
        w.object { w in
            w.member("service", service)
            w.member("id", id)
            w.member("ttl", seconds)
            w.member("created", outcome.created)
        }
        return (HTTPResponse(status: outcome.created ? 201 : 200, body: w.document(pretty: false)), change)
    }

    /// `GET /<service>`.
    mutating func lookup(_ service: String, pretty: Bool) -> HTTPResponse {
        counters.lookups += 1
        return Watches.answer(service, pretty: pretty, catalogue)
    }

    /// `GET /<service>/<id>`.
    func instance(_ service: String, _ id: String, pretty: Bool) -> HTTPResponse {
        guard let body = catalogue.instance(service: service, id: id) else { return Registry.notFound(service, id) }
        return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(body) : body + [10])
    }

    /// `DELETE /<service>/<id>`: hides the instance everywhere.
    mutating func deregister(_ service: String, _ id: String, now: Instant,
                             effects: inout [Effect]) -> (HTTPResponse, LocalChange?) {
        guard catalogue.instance(service: service, id: id) != nil else { return (Registry.notFound(service, id), nil) }
        let prev = watermark
        let deltas = replica.killLocal(RecordKey(service: service, id: id), version: { clock.next(wallMs: now.wallMs) },
                                       now: now.ms)
        counters.deregistered += 1
        effects.append(.log(LogEvent(.info, "deregistered", [("service", service), ("id", id)])))
        var w = JSONWriter()
        w.object { w in
            w.member("service", service)
            w.member("id", id)
            w.member("deleted", true)
        }
        return (HTTPResponse(status: 200, body: w.document(pretty: false)), LocalChange(prev: prev, deltas: deltas))
    }

    private static func notFound(_ service: String, _ id: String) -> HTTPResponse {
        .error(404, "not_found", "no instance '\(id)' of service '\(service)'")
    }

    /// `GET /_services`: every service with its number of instances.
    func services(pretty: Bool) -> HTTPResponse {
        var w = JSONWriter()
        w.object { w in for entry in catalogue.serviceCounts() { w.member(entry.name, entry.count) } }
        return HTTPResponse(status: 200, body: w.document(pretty: pretty))
    }

    /// `GET /_deltas?<node>=<ts>&…` (MISSION H5).
    func deltas(since: [(String, UInt64)], pretty: Bool) -> HTTPResponse {
        let body = deltasDocument(since)
        return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(body) : body + [10])
    }

    /// `{"<node>": [["<service>","<id>",{…}|null,<ts>], …]}`; a null body is
    /// a removal. Every origin when `since` is empty.
    func deltasDocument(_ since: [(String, UInt64)]) -> [UInt8] {
        let wanted = since.isEmpty ? replica.originNames.map { ($0, UInt64(0)) } : since
        var w = JSONWriter()
        w.object { w in
            for (name, ts) in wanted {
                w.member(name) { w in
                    w.array(replica.deltas(of: name, since: ts)) { w, d in
                        w.array { w in
                            w.value(d.service)
                            w.value(d.id)
                            w.rawValue(d.kind == .put ? d.body : Registry.null)
                            w.value(d.version)
                        }
                    }
                }
            }
        }
        return w.bytes
    }

    private static let null: [UInt8] = Array("null".utf8)

    // MARK: sessions

    /// `PUT /<service>/<id>?hold`: a registration with no expiry, held by
    /// the connection; the stream's first line says what was held.
    mutating func hold(_ conn: ConnectionID, _ service: String, _ id: String, body: [UInt8], config: NodeConfig,
                       now: Instant, effects: inout [Effect]) -> (HTTPResponse, LocalChange?) {
        let key = RecordKey(service: service, id: id)
        if let other = held.holder(of: key), other != conn, replica.localDeadline(key) == Catalogue.never {
            effects.append(.log(LogEvent(.info, "hold_refused", [("service", service), ("id", id),
                                                               ("connection", conn.description),
                                                               ("holder", other.description)])))
            return (HTTPResponse.error(409, "held_elsewhere",
                                       "this instance is held by another open connection; it is released when that connection closes"), nil)
        }
        let prev = watermark
        let put = replica.putLocal(key, body: body, version: { clock.next(wallMs: now.wallMs) },
                                   expiresAt: Catalogue.never, now: now.ms)
        let change = put.delta.map { LocalChange(prev: prev, deltas: [$0]) }
        held.hold(key, by: conn)
        effects.append(.log(LogEvent(.info, "held", [("service", service), ("id", id), ("connection", conn.description),
                                                   ("created", put.created ? "true" : "false")])))
        var w = JSONWriter()
        w.object { w in
            w.member("environment", config.environment)
            w.member("cluster", config.cluster)
            w.member("node", config.name)
            w.member("service", service)
            w.member("id", id)
            w.member("held", true)
            w.member("created", put.created)
        }
        return (HTTPResponse(status: put.created ? 201 : 200, body: w.document(pretty: false)), change)
    }

    /// `GET /<service>?index=N&wait=D`: answered or parked (see `Watches`).
    mutating func watch(_ conn: ConnectionID, _ service: String, pretty: Bool, index: UInt64, waitMs: Int64, now: Instant,
                        effects: inout [Effect]) {
        watches.watch(conn, service: service, pretty: pretty, index: index, waitMs: waitMs, now: now.ms, catalogue,
                      effects: &effects)
    }

    /// A connection closed: any query parked on it is forgotten, and its
    /// held registration goes at once. Only this daemon's record goes: the
    /// same instance registered at another daemon stays visible (MISSION traps).
    mutating func connectionClosed(_ conn: ConnectionID, now: Instant, effects: inout [Effect]) -> LocalChange? {
        watches.closed(conn)
        guard let key = held.release(conn, in: replica) else { return nil }
        let prev = watermark
        guard let d = replica.removeLocal(key, version: { clock.next(wallMs: now.wallMs) }, now: now.ms) else { return nil }
        effects.append(.log(LogEvent(.info, "released", [("service", key.service), ("id", key.id),
                                                       ("reason", "connection_closed")])))
        return LocalChange(prev: prev, deltas: [d])
    }

    /// Answers the parked queries whose wait ran out.
    mutating func timeOutWatches(now: Instant, effects: inout [Effect]) {
        watches.timeOut(now: now.ms, catalogue, effects: &effects)
    }

    /// Answers every parked query whose service changed in this turn.
    mutating func notifyWatchers(effects: inout [Effect]) {
        guard watches.catalogueMoved(to: catalogue.index) else { return }
        let changed = replica.takeChangedServices()
        watches.answerChanged(changed, catalogue, effects: &effects)
    }

    // MARK: replication

    /// Applies a peer's batch; true when anything in it was new.
    mutating func apply(_ batch: RecordBatch, now: Int64) -> Bool {
        replica.apply(batch, now: now, clock: &clock)
    }

    /// The writes this daemon owes its own stream after peers' records: the
    /// removal of each own record a kill hid, kills taken over from an ended life.
    mutating func writeOwed(now: Instant) -> LocalChange? {
        let prev = watermark
        let deltas = replica.writeOwed(version: { clock.next(wallMs: now.wallMs) }, now: now.ms)
        return deltas.isEmpty ? nil : LocalChange(prev: prev, deltas: deltas)
    }

    /// The state of origin `id`, if held.
    func origin(_ id: Int32) -> OriginState? { replica.origins[Int(id)] }

    /// The id and state of origin `name`, if held.
    func origin(named name: String) -> (id: Int32, state: OriginState)? {
        guard let id = replica.originIDs[name], let o = replica.origins[Int(id)] else { return nil }
        return (id, o)
    }

    /// Forgets a dead origin and every record it holds.
    mutating func purge(_ id: Int32) { replica.purge(id) }

    /// A retired daemon's life will not come back: DELETEs naming it may be collected.
    mutating func forgetPurgedLife(_ name: String) { replica.forgetPurgedLife(name) }

    /// A peer's life was announced: an older life of the name ends at once.
    mutating func noteLife(_ name: String, generation: UInt64) -> Bool {
        replica.noteLife(name, generation: generation)
    }

    /// This daemon's own life takes a higher generation.
    mutating func raiseOwnGeneration(to generation: UInt64) { replica.raiseOwnGeneration(to: generation) }

    /// The hash over every origin's position (cached by the replica).
    mutating func digestHash() -> UInt64 { replica.digestHash() }

    /// Whether any tombstone is held (there is something to collect).
    var holdsTombstones: Bool { replica.tombstoneCount > 0 }

    /// Drops tombstones older than `ttl`.
    mutating func collectTombstones(now: Int64, ttl: Int64) {
        counters.tombstonesCollected += replica.collectTombstones(now: now, ttl: ttl)
    }
}
