import RarangiWire

/// Blocking queries (MISSION B4): `GET /<service>?index=N&wait=D` parks until
/// the service's index differs from N, and is answered in the same turn that
/// applied the change; or, when the wait runs out, with the unchanged
/// document. The answer to a watch is decided here.
struct Watches {
    private var table = WatchTable()
    /// The catalogue index when watchers were last compared with it.
    private var notifiedIndex: UInt64 = 0
    /// Blocking queries answered (by a change or by their wait running out).
    private(set) var answered = 0

    /// How many queries are parked.
    var count: Int { table.count }

    /// The earliest deadline of a parked query.
    var nextDeadline: Int64? { table.nextDeadline }

    /// The answer to a lookup or a watch of `service`: its document and index.
    static func answer(_ service: String, pretty: Bool, _ catalogue: Catalogue) -> HTTPResponse {
        let (body, headers) = catalogue.answer(service, pretty: pretty)
        return HTTPResponse(status: 200, body: body, headers: headers)
    }

    /// A new blocking query: answered at once when the service already
    /// differs from `index` or there is no wait; parked otherwise.
    mutating func watch(_ conn: ConnectionID, service: String, pretty: Bool, index: UInt64, waitMs: Int64, now: Int64,
                        _ catalogue: Catalogue, effects: inout [Effect]) {
        if catalogue.serviceIndex(service) != index || waitMs <= 0 {
            effects.append(.reply(conn, Watches.answer(service, pretty: pretty, catalogue)))
            answered += 1
            return
        }
        table.park(conn, service: service, index: index, pretty: pretty, deadline: now + waitMs)
        effects.append(.parked(conn))
    }

    /// Whether the catalogue moved since the watchers were last compared
    /// with it (then the changed services are looked at); remembers `index`.
    mutating func catalogueMoved(to index: UInt64) -> Bool {
        guard notifiedIndex != index else { return false }
        assert(index > notifiedIndex, "the catalogue index never goes back")
        notifiedIndex = index
        return true
    }

    /// Answers every parked query of the `changed` services whose index
    /// moved: only those watchers are looked at, not every parked query.
    /// Answered in connection order, whatever the hash seed.
    mutating func answerChanged(_ changed: Set<String>, _ catalogue: Catalogue, effects: inout [Effect]) {
        guard table.count > 0 else { return }
        var due: [ConnectionID] = []
        for service in changed {
            guard let conns = table.byService[service] else { continue }
            let index = catalogue.serviceIndex(service)
            for conn in conns where table.byConnection[conn]!.index != index { due.append(conn) }
        }
        for conn in due.sorted(by: { $0.raw < $1.raw }) {
            guard let w = table.remove(conn) else { continue }
            effects.append(.reply(conn, Watches.answer(w.service, pretty: w.pretty, catalogue)))
            answered += 1
        }
    }

    /// Answers the parked queries whose wait ran out, with the unchanged document.
    mutating func timeOut(now: Int64, _ catalogue: Catalogue, effects: inout [Effect]) {
        for (conn, w) in table.expire(atOrBefore: now) {
            effects.append(.reply(conn, Watches.answer(w.service, pretty: w.pretty, catalogue)))
            answered += 1
        }
    }

    /// The connection closed: a query parked on it is forgotten.
    mutating func closed(_ conn: ConnectionID) { table.remove(conn) }
}
