import RarangiCore
import RarangiWire

/// The Consul API subset (MISSION B6) on the daemon's HTTP port. Reads are
/// rendered from the node by `ConsulViews`; writes become the catalogue's
/// own requests, whose answers are reshaped as Consul's. Blocking queries
/// are parked here, in the shell: after every turn that changed the
/// catalogue each parked query's answer is rendered again, and it is
/// answered once its index moved (or its wait ran out).
extension Daemon {
    /// A Consul blocking query waiting for its answer to change.
    struct ParkedConsul {
        var conn: Connection
        var request: ConsulRequest
        var key: String
        var index: UInt64
        var deadline: Int64
        /// The service's catalogue index when last rendered (0: the list of
        /// services, rendered at every change).
        var serviceIndex: UInt64
    }

    /// X-Consul-Index per answer: the index moves when the answer's bytes
    /// change and only then, and never goes back.
    struct ConsulIndexes {
        /// The last body of each answer (kept, so that the same cached
        /// buffer is recognised without hashing it again), its hash, its index.
        private var table: [String: (body: [UInt8], hash: Int, index: UInt64)] = [:]
        private var last: UInt64 = 0

        mutating func index(_ key: String, _ body: [UInt8], catalogueIndex: UInt64) -> UInt64 {
            if let known = table[key] {
                if known.body.count == body.count,
                   known.body.withUnsafeBufferPointer({ k in body.withUnsafeBufferPointer { $0.baseAddress == k.baseAddress } }) {
                    return known.index
                }
                let hash = body.hashValue
                if known.hash == hash, known.body == body {
                    table[key] = (body, hash, known.index)
                    return known.index
                }
            }
            if table.count >= ConsulIndexes.limit { evict() }
            last = max(last + 1, catalogueIndex, 1)
            table[key] = (body, body.hashValue, last)
            return last
        }

        /// Keys of parked queries, never evicted while they wait.
        var pinned: Set<String> = []
        static let limit = 65_536

        /// Past the limit a quarter of the keys that no query waits on are
        /// forgotten (one seen again gets a new index, once). Bounded so
        /// that many distinct filters cannot grow the daemon.
        private mutating func evict() {
            var dropped = 0
            for key in table.keys where !pinned.contains(key) {
                table[key] = nil
                dropped += 1
                if dropped >= ConsulIndexes.limit / 4 { break }
            }
        }
    }

    func consul(_ request: ConsulRequest, on conn: Connection) {
        switch request {
        case .agentSelf:
            sendConsul(ConsulViews.agentSelf(node, version: options.version), key: "agent/self", on: conn)
        case .datacenters:
            sendConsul(ConsulViews.datacenters(node), key: "catalog/datacenters", on: conn)
        case .services(let blocking), .catalogService(_, _, let blocking), .healthService(_, _, let blocking):
            let (key, body) = renderConsul(request)
            let index = consulIndexes.index(key, body, catalogueIndex: node.catalogue.index)
            if let blocking, blocking.index == index, blocking.waitMs > 0 {
                // Consul's jitter: up to a sixteenth of the wait more, so
                // watchers that started together do not return together.
                let jitter = Int64.random(in: 0...max(0, blocking.waitMs / 16))
                consulIndexes.pinned.insert(key)
                consulParked[conn.id] = ParkedConsul(conn: conn, request: request, key: key, index: index,
                                                     deadline: now.ms + blocking.waitMs + jitter,
                                                     serviceIndex: service(of: request).map { node.catalogue.serviceIndex($0) } ?? 0)
                park(conn)
                return
            }
            send(consulAnswer(body, index: index), on: conn)
        case let .register(service, id, body, ttl):
            // An agent's service IDs are unique: the same ID under another
            // name replaces that registration, as Consul's agent does (the
            // removal answers no one: connection 0 is never a client's).
            for other in node.ownServices(withInstance: id) where other != service {
                if let refusal = access.refusal(of: .catalogue(.deregister(service: other, id: id)), token: conn.consulToken) {
                    send(refusal, on: conn)
                    return
                }
                apply(.request(ConnectionID(0), .deregister(service: other, id: id)))
            }
            conn.consulWrite = true
            apply(.request(ConnectionID(conn.id), .register(service: service, id: id, body: body,
                                                           ttlSeconds: ttl ?? node.config.maxTTLSeconds)))
        case let .deregister(id):
            guard let service = node.ownServices(withInstance: id).first else {
                send(.error(404, "not_found", "no service with ID '\(id)' is registered at this daemon"), on: conn)
                return
            }
            if let refusal = access.refusal(of: .catalogue(.deregister(service: service, id: id)), token: conn.consulToken) {
                send(refusal, on: conn)
                return
            }
            conn.consulWrite = true
            apply(.request(ConnectionID(conn.id), .deregister(service: service, id: id)))
        case let .checkPass(check):
            // `service:ID`, or `service:ID:N` for one of several checks; an
            // ID may itself hold ':', so the whole of it is tried first.
            var candidates = [check]
            if let colon = check.lastIndex(of: ":"), check[check.index(after: colon)...].allSatisfy(\.isNumber),
               colon != check.startIndex, check.index(after: colon) != check.endIndex {
                candidates.append(String(check[..<colon]))
            }
            guard let id = candidates.first(where: { !node.ownServices(withInstance: $0).isEmpty }),
                  let service = node.ownServices(withInstance: id).first,
                  let body = node.catalogue.instance(service: service, id: id) else {
                send(.error(404, "not_found", "no check 'service:\(check)' of a service registered at this daemon"), on: conn)
                return
            }
            // The TTL kept in the body was bounded when it was registered
            // through Consul's API; one written through ours is checked here.
            guard case let .raw(t)? = JSONFields.members(of: body).first(where: { $0.name == "check_ttl" })?.value,
                  let ttl = Int(String(decoding: t, as: UTF8.self)), (1...node.config.maxTTLSeconds).contains(ttl) else {
                send(.error(400, "no_ttl_check",
                            "the service '\(id)' has no TTL check of 1 to \(node.config.maxTTLSeconds) seconds (check_ttl)"), on: conn)
                return
            }
            if let refusal = access.refusal(of: .catalogue(.register(service: service, id: id, body: body, ttlSeconds: ttl)),
                                            token: conn.consulToken) {
                send(refusal, on: conn)
                return
            }
            conn.consulWrite = true
            apply(.request(ConnectionID(conn.id), .register(service: service, id: id, body: body, ttlSeconds: ttl)))
        }
    }

    private func service(of request: ConsulRequest) -> String? {
        switch request {
        case let .catalogService(s, _, _), let .healthService(s, _, _): return s
        default: return nil
        }
    }

    /// The key and body of a read's answer, as of now.
    private func renderConsul(_ request: ConsulRequest) -> (String, [UInt8]) {
        switch request {
        case .services:
            if let cached = consulServicesCache, cached.index == node.catalogue.index { return ("catalog/services", cached.body) }
            let body = ConsulViews.services(node)
            consulServicesCache = (node.catalogue.index, body)
            return ("catalog/services", body)
        case let .catalogService(s, f, _):
            let key = consulKey("catalog/service", s, f)
            return (key, cachedConsul(key, s) { ConsulViews.catalogService(node, s, f, index: max(1, node.catalogue.serviceIndex(s))) })
        case let .healthService(s, f, _):
            let key = consulKey("health/service", s, f)
            return (key, cachedConsul(key, s) { ConsulViews.health(node, s, f) })
        default:
            return ("", [])
        }
    }

    /// One key per distinct query: the filters as JSON, so no two differ
    /// only by where a separator falls.
    private func consulKey(_ endpoint: String, _ service: String, _ f: ConsulRequest.Filter) -> String {
        var w = JSONWriter()
        w.array { w in
            w.value(endpoint); w.value(service)
            w.array(f.tags) { w, t in w.value(t) }
            w.array(f.nodeMeta) { w, kv in w.array { w in w.value(kv.0); w.value(kv.1) } }
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// A service's answer is rendered once per change of the service (and
    /// of the daemon's cluster view, which names datacenters), then served
    /// from here, as lookups are served from the catalogue's cache.
    private func cachedConsul(_ key: String, _ service: String, _ render: () -> [UInt8]) -> [UInt8] {
        let stamp = (node.catalogue.serviceIndex(service), node.graph.entries.count)
        if let hit = consulAnswerCache[key], hit.serviceIndex == stamp.0, hit.members == stamp.1 { return hit.body }
        let body = render()
        if consulAnswerCache.count >= 4096 { consulAnswerCache.removeAll(keepingCapacity: true) }
        consulAnswerCache[key] = (stamp.0, stamp.1, body)
        return body
    }

    private func sendConsul(_ body: [UInt8], key: String, on conn: Connection) {
        send(consulAnswer(body, index: consulIndexes.index(key, body, catalogueIndex: node.catalogue.index)), on: conn)
    }

    /// An answer with Consul's headers: its index, and this daemon's view
    /// of the majority as the leader's (known while fresh; the last contact
    /// is how long since a peer was heard, when stale).
    private func consulAnswer(_ body: [UInt8], index: UInt64) -> HTTPResponse {
        let stale = node.isStale
        var lastContact: Int64 = 0
        if stale {
            let heard = node.statusSnapshot.links.map(\.lastHeardMs).max() ?? 0
            lastContact = heard > 0 ? now.ms - heard : now.ms - startedAt.ms
        }
        var headers = [("X-Consul-Index", String(index)), ("X-Consul-KnownLeader", stale ? "false" : "true"),
                       ("X-Consul-LastContact", String(lastContact))]
        if stale { headers.append(Node.staleHeader) }
        return HTTPResponse(status: 200, body: body, headers: headers)
    }

    /// Consul's agent endpoints answer a write with 200 and no body; an
    /// error keeps our JSON body and its status.
    func consulShaped(_ response: HTTPResponse) -> HTTPResponse {
        guard response.status < 300 else { return response }
        return HTTPResponse(status: 200, body: [], headers: [("X-Consul-Index", String(max(1, node.catalogue.index)))])
    }

    /// Forgets a parked query; its key is no longer pinned unless another waits on it.
    func unparkConsul(_ id: UInt64) {
        guard let p = consulParked.removeValue(forKey: id) else { return }
        if !consulParked.values.contains(where: { $0.key == p.key }) { consulIndexes.pinned.remove(p.key) }
    }

    /// After a turn: answers the parked Consul queries whose answer moved.
    func answerParkedConsul() {
        guard !consulParked.isEmpty, node.catalogue.index != consulCheckedIndex else { return }
        consulCheckedIndex = node.catalogue.index
        for (id, p) in consulParked {
            if let s = service(of: p.request) {
                let si = node.catalogue.serviceIndex(s)
                if si == p.serviceIndex { continue }
                consulParked[id]?.serviceIndex = si
            }
            let (key, body) = renderConsul(p.request)
            let index = consulIndexes.index(key, body, catalogueIndex: node.catalogue.index)
            guard index != p.index else { continue }
            unparkConsul(id)
            send(consulAnswer(body, index: index), on: p.conn)
        }
    }

    /// From housekeeping: answers the parked Consul queries whose wait ran out.
    func expireParkedConsul(now t: Int64) {
        for (id, p) in consulParked where t >= p.deadline {
            unparkConsul(id)
            let (key, body) = renderConsul(p.request)
            send(consulAnswer(body, index: consulIndexes.index(key, body, catalogueIndex: node.catalogue.index)), on: p.conn)
        }
    }
}
