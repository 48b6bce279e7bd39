import RarangiWire

extension Catalogue {
    /// The expiry of a held registration: it has none while its connection lives.
    public static let never = Int64.max
}

/// Registrations held by a connection (MISSION D8, B3): no expiry while the
/// connection lives, removed the moment it closes.
extension Node {
    /// Answers the requests that open a session on their connection (a hold
    /// or a blocking query); false for every other request.
    mutating func handleSession(_ conn: ConnectionID, _ request: CatalogueRequest, now: Instant,
                                effects: inout [Effect]) -> Bool {
        switch request {
        case let .hold(service, id, body):
            hold(conn, service: service, id: id, body: body, now: now, effects: &effects)
            return true
        case let .watch(service, pretty, index, waitMs):
            watch(conn, service: service, pretty: pretty, index: index, waitMs: waitMs, now: now, effects: &effects)
            return true
        default:
            return false
        }
    }

    /// How many registrations are held by open connections.
    public var heldCount: Int { sessions.heldBy.count }

    private mutating func hold(_ conn: ConnectionID, service: String, id: String, body: [UInt8], now: Instant,
                               effects: inout [Effect]) {
        expire(now: now, effects: &effects)
        let prev = replica.local.watermark
        let put = replica.putLocal(RecordKey(service: service, id: id), body: body,
                                   version: { clock.next(wallMs: now.wallMs) }, expiresAt: Catalogue.never, now: now.ms)
        if let d = put.delta { pushLocal([d], prev: prev, effects: &effects) }
        let outcome: Catalogue.Upsert = put.created ? .created : .refreshed(changed: put.delta != nil)
        let key = ClientSessions.Key(service: service, id: id)
        if let previous = sessions.heldBy[conn], previous != key, sessions.holder[previous] == conn {
            sessions.holder[previous] = nil
        }
        sessions.heldBy[conn] = key
        sessions.holder[key] = conn
        effects.append(.log(LogEvent(.info, "held", [("service", service), ("id", id), ("connection", conn.description),
                                                   ("created", outcome == .created ? "true" : "false")])))
        var line: [UInt8] = Array(#"{"environment":"#.utf8)
        JSON.appendString(config.environment, to: &line)
        line.append(contentsOf: #","cluster":"#.utf8)
        JSON.appendString(config.cluster, to: &line)
        line.append(contentsOf: #","node":"#.utf8)
        JSON.appendString(config.name, to: &line)
        line.append(contentsOf: #","service":"#.utf8)
        JSON.appendString(service, to: &line)
        line.append(contentsOf: #","id":"#.utf8)
        JSON.appendString(id, to: &line)
        line.append(contentsOf: #","held":true,"created":"#.utf8)
        line.append(contentsOf: (outcome == .created ? "true" : "false").utf8)
        line.append(contentsOf: "}\n".utf8)
        effects.append(.stream(conn, HTTPResponse(status: outcome == .created ? 201 : 200, body: line)))
    }

    /// A connection closed: its held registration goes at once, and any
    /// blocking query parked on it is forgotten.
    mutating func endSessions(of conn: ConnectionID, now: Instant, effects: inout [Effect]) {
        sessions.watches.remove(conn)
        guard let key = sessions.heldBy.removeValue(forKey: conn), sessions.holder[key] == conn else { return }
        sessions.holder[key] = nil
        // A plain PUT since the hold turned it into a TTL registration, and a
        // DELETE removed it already: either way it is no longer this hold's.
        guard replica.localDeadline(RecordKey(service: key.service, id: key.id)) == Catalogue.never else { return }
        removeRegistration(service: key.service, id: key.id, reason: "connection_closed", now: now, effects: &effects)
        sessions.released += 1
    }

    /// The one place a registration leaves the catalogue because its holder
    /// went away (replication propagates removals from here).
    mutating func removeRegistration(service: String, id: String, reason: String, now: Instant,
                                     effects: inout [Effect]) {
        // Only this daemon's record goes: the same instance registered at
        // another daemon stays visible (MISSION traps).
        let prev = replica.local.watermark
        guard let d = replica.removeLocal(RecordKey(service: service, id: id),
                                          version: { clock.next(wallMs: now.wallMs) }, now: now.ms) else { return }
        pushLocal([d], prev: prev, effects: &effects)
        effects.append(.log(LogEvent(.info, "released", [("service", service), ("id", id), ("reason", reason)])))
    }
}
