import RarangiWire

/// Catalogue requests: each goes to the registry; what changed of this
/// daemon's own records is pushed before the answer is given.
extension Node {
    mutating func serve(_ conn: ConnectionID, _ request: CatalogueRequest, now: Instant, effects: inout [Effect]) {
        // Anything past its deadline is gone before it can be read or refreshed.
        push(registry.expire(now: now, effects: &effects), effects: &effects)
        switch request {
        case let .register(service, id, body, ttl):
            let (reply, change) = registry.register(service, id, body: body, ttl: ttl ?? config.livenessSeconds, now: now,
                                                    effects: &effects)
            push(change, effects: &effects)
            effects.append(.reply(conn, reply))
        case let .lookup(service, pretty):
            effects.append(.reply(conn, registry.lookup(service, pretty: pretty)))
        case let .instance(service, id, pretty):
            effects.append(.reply(conn, registry.instance(service, id, pretty: pretty)))
        case let .deregister(service, id):
            let (reply, change) = registry.deregister(service, id, now: now, effects: &effects)
            push(change, effects: &effects)
            effects.append(.reply(conn, reply))
        case let .services(pretty):
            effects.append(.reply(conn, registry.services(pretty: pretty)))
        case let .deltas(since, pretty):
            effects.append(.reply(conn, registry.deltas(since: since, pretty: pretty)))
        case let .hold(service, id, body):
            let (stream, change) = registry.hold(conn, service, id, body: body, config: config, now: now, effects: &effects)
            push(change, effects: &effects)
            effects.append(stream.status < 300 ? .stream(conn, stream) : .reply(conn, stream))
        case let .watch(service, pretty, index, waitMs):
            registry.watch(conn, service, pretty: pretty, index: index, waitMs: waitMs, now: now, effects: &effects)
        }
    }
}
