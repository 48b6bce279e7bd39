import RarangiWire

/// Blocking queries (MISSION B4): `GET /<service>?index=N&wait=D` parks until
/// the service's index differs from N, then is answered in the same turn
/// that applied the change; or, when the wait runs out, with the unchanged
/// document.
extension Node {
    /// How many blocking queries are parked.
    public var watcherCount: Int { sessions.watches.count }

    mutating func watch(_ conn: ConnectionID, service: String, pretty: Bool, index: UInt64, waitMs: Int64,
                        now: Instant, effects: inout [Effect]) {
        expire(now: now, effects: &effects)
        if catalogue.serviceIndex(service) != index || waitMs <= 0 {
            effects.append(.reply(conn, watchReply(service, pretty: pretty)))
            sessions.watchesAnswered += 1
            return
        }
        sessions.watches.park(conn, service: service, index: index, pretty: pretty, deadline: now.ms + waitMs)
        effects.append(.parked(conn))
    }

    /// Answers every parked query whose service changed since it parked.
    mutating func notifyWatchers(effects: inout [Effect]) {
        guard sessions.notifiedIndex != catalogue.index else { return }
        sessions.notifiedIndex = catalogue.index
        let changed = replica.takeChangedServices()
        guard sessions.watches.count > 0 else { return }
        // Only the watchers of services that changed: not every parked query
        // per change. Answered in connection order, whatever the hash seed.
        var due: [ConnectionID] = []
        for service in changed {
            guard let conns = sessions.watches.byService[service] else { continue }
            let index = catalogue.serviceIndex(service)
            for conn in conns where sessions.watches.byConnection[conn]!.index != index { due.append(conn) }
        }
        for conn in due.sorted(by: { $0.raw < $1.raw }) {
            guard let w = sessions.watches.remove(conn) else { continue }
            effects.append(.reply(conn, watchReply(w.service, pretty: w.pretty)))
            sessions.watchesAnswered += 1
        }
    }

    /// Answers the parked queries whose wait ran out, with the unchanged document.
    mutating func timeOutWatches(now: Instant, effects: inout [Effect]) {
        for (conn, w) in sessions.watches.expire(atOrBefore: now.ms) {
            effects.append(.reply(conn, watchReply(w.service, pretty: w.pretty)))
            sessions.watchesAnswered += 1
        }
    }

    private func watchReply(_ service: String, pretty: Bool) -> HTTPResponse {
        HTTPResponse(status: 200, body: catalogue.lookup(service, pretty: pretty),
                     headers: [("X-Rarangi-Index", String(catalogue.serviceIndex(service)))])
    }

    /// The sessions' part of the status document, as JSON object members.
    public func sessionStatusMembers() -> [UInt8] {
        var out: [UInt8] = Array(#""held":"#.utf8)
        appendInt(heldCount, to: &out)
        out.append(contentsOf: #","released":"#.utf8)
        appendInt(sessions.released, to: &out)
        out.append(contentsOf: #","watchers":"#.utf8)
        appendInt(watcherCount, to: &out)
        out.append(contentsOf: #","watches_answered":"#.utf8)
        appendInt(sessions.watchesAnswered, to: &out)
        return out
    }
}
