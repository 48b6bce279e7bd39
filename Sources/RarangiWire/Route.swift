import RarangiProtocol

/// A catalogue operation decoded from an HTTP request; what the core acts on.
public enum CatalogueRequest: Sendable {
    /// `PUT /<service>/<id>`: register or refresh (a heartbeat).
    case register(service: String, id: String, body: [UInt8], ttlSeconds: Int?)
    /// `GET /<service>`: every live instance.
    case lookup(service: String, pretty: Bool)
    /// `GET /<service>/<id>`: one instance.
    case instance(service: String, id: String, pretty: Bool)
    /// `DELETE /<service>/<id>`: deregister.
    case deregister(service: String, id: String)
    /// `GET /`: every service with its number of live instances.
    case services(pretty: Bool)
    /// `GET /_deltas?<node>=<ts>&…`: each named origin's records written
    /// after `ts` (MISSION H5); no names: every origin from the start.
    case deltas(since: [(String, UInt64)], pretty: Bool)
    /// `PUT /<service>/<id>?hold`: register for exactly as long as this
    /// connection stays open (MISSION D8, B3); answered with a stream.
    case hold(service: String, id: String, body: [UInt8])
    /// `GET /<service>?index=N&wait=D`: a blocking query, answered as soon as
    /// the service's index differs from `index`, or after `waitMs` (MISSION B4).
    case watch(service: String, pretty: Bool, index: UInt64, waitMs: Int64)
}

/// Where a request goes: the one decision of what a request is, made here
/// and nowhere else (the shell and the core switch on it).
public enum Route: Sendable {
    /// A catalogue operation for the core.
    case catalogue(CatalogueRequest)
    /// `GET /_status`: the daemon's own state, for operators.
    case status(pretty: Bool)
    /// `DELETE /_members/<name>`: an operator retires a stopped daemon for
    /// good (its records are purged and it no longer counts as a member).
    case forget(name: String)
    /// `GET /_peer` with `Upgrade: rarangi-peer/1` (or, between daemons with
    /// a cluster key, `rarangi-peer-sealed/1`) and this daemon's environment
    /// in `X-Rarangi-Env`: the connection becomes a peer link.
    case peerUpgrade(sealed: Bool)
    /// `GET /metrics`: Prometheus's text exposition of the daemon's figures.
    case metrics
    /// `GET /_sd/prometheus[?service=NAME…]`: Prometheus HTTP service
    /// discovery; nil services: every one.
    case targets(services: [String]?)
    /// `GET /_ui`: the status page.
    case statusPage
    /// `/v1/…`: the Consul API subset.
    case consul(ConsulRequest)
}

/// Turns HTTP requests into routes, refusing bad input with a status and a
/// JSON error before anything reaches the catalogue.
public struct Router: Sendable {
    /// The environment this daemon serves; a request declaring another is refused.
    public var environment: String
    /// The longest per-registration TTL a client may ask for, in seconds.
    public var maxTTLSeconds: Int

    /// Creates a router for one daemon.
    public init(environment: String, maxTTLSeconds: Int) {
        self.environment = environment
        self.maxTTLSeconds = maxTTLSeconds
    }

    /// Decodes `request`, or returns the error response to send instead.
    public func route(_ request: HTTPRequest) -> Result<Route, HTTPResponse> {
        if request.path == "/_peer" { return peerUpgrade(request) }
        if request.path == "/_status", request.declaredEnvironment.map({ $0 == environment }) ?? true {
            guard isRead(request.method) else { return .failure(methodNotAllowed(request.method, allow: "GET, HEAD")) }
            return .success(.status(pretty: Query(request.query).has("pretty")))
        }
        if request.path.hasPrefix("/_members/"), request.declaredEnvironment.map({ $0 == environment }) ?? true {
            return forgetRequest(request)
        }
        if let view = operatorView(request) { return view }
        if request.path.hasPrefix("/v1/") {
            if let declared = request.declaredEnvironment, declared != environment {
                return .failure(.error(421, "wrong_environment",
                                       "this daemon serves environment '\(environment)', the request declares '\(declared)'"))
            }
            return consulRequest(request).map(Route.consul)
        }
        return catalogueRequest(request).map(Route.catalogue)
    }

    /// The operators' views: metrics, discovery and the status page; nil
    /// for any other path.
    private func operatorView(_ request: HTTPRequest) -> Result<Route, HTTPResponse>? {
        let route: Route
        switch request.path {
        case "/metrics":
            route = .metrics
        case "/_ui", "/_ui/":
            route = .statusPage
        case "/_sd/prometheus":
            var services: [String] = []
            for part in (request.query ?? "").split(separator: "&") {
                let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard kv[0] == "service" else { continue }
                let name = kv.count == 2 ? kv[1] : ""
                if let problem = Names.serviceProblem(name) { return .failure(.error(400, "invalid_service", problem)) }
                services.append(String(name))
            }
            route = .targets(services: services.isEmpty ? nil : services)
        default:
            return nil
        }
        if let declared = request.declaredEnvironment, declared != environment {
            return .failure(.error(421, "wrong_environment",
                                   "this daemon serves environment '\(environment)', the request declares '\(declared)'"))
        }
        guard isRead(request.method) else { return .failure(methodNotAllowed(request.method, allow: "GET, HEAD")) }
        return .success(route)
    }

    /// The upgrade asks for a protocol this daemon speaks, from a daemon
    /// that declares this environment; anything else is answered, not upgraded.
    private func peerUpgrade(_ request: HTTPRequest) -> Result<Route, HTTPResponse> {
        guard request.method == .get else { return .failure(methodNotAllowed(request.method, allow: "GET")) }
        let sealed: Bool
        switch request.upgrade {
        case PeerUpgrade.token?: sealed = false
        case PeerUpgrade.sealedToken?: sealed = true
        default:
            return .failure(.error(426, "upgrade_required",
                                   "/_peer is the daemons' link: it needs Upgrade: \(PeerUpgrade.token) or \(PeerUpgrade.sealedToken)",
                                   headers: [("Upgrade", PeerUpgrade.sealedToken)], close: true))
        }
        guard let declared = request.declaredEnvironment else {
            return .failure(.error(421, "wrong_environment", "a peer link must declare its environment in X-Rarangi-Env", close: true))
        }
        guard declared == environment else {
            return .failure(.error(421, "wrong_environment",
                                   "this daemon serves environment '\(environment)', the peer declares another", close: true))
        }
        return .success(.peerUpgrade(sealed: sealed))
    }

    private func catalogueRequest(_ request: HTTPRequest) -> Result<CatalogueRequest, HTTPResponse> {
        if let declared = request.declaredEnvironment, declared != environment {
            return .failure(.error(421, "wrong_environment",
                                   "this daemon serves environment '\(environment)', the request declares '\(declared)'"))
        }
        let query = Query(request.query)
        let pretty = query.has("pretty")
        let segments = PathSegments(request.path)
        // "/" has one empty segment; a trailing slash leaves an empty last one.
        if segments.count == 1, segments.first.isEmpty {
            guard isRead(request.method) else { return .failure(methodNotAllowed(request.method, allow: "GET, HEAD")) }
            return .success(.services(pretty: pretty))
        }
        if segments.first.utf8.first == UInt8(ascii: "_") {
            if segments.count == 1, segments.first == "_deltas" {
                guard isRead(request.method) else { return .failure(methodNotAllowed(request.method, allow: "GET, HEAD")) }
                var since: [(String, UInt64)] = []
                for part in (request.query ?? "").split(separator: "&") {
                    let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if kv[0] == "pretty" { continue }
                    guard kv.count == 2, let ts = UInt64(kv[1]), !kv[0].isEmpty else {
                        return .failure(.error(400, "invalid_query", "use /_deltas?<node>=<timestamp>&…, timestamps as whole numbers"))
                    }
                    since.append((String(kv[0]), ts))
                }
                return .success(.deltas(since: since, pretty: pretty))
            }
            return .failure(.error(404, "not_found", "no such endpoint: \(request.path)"))
        }
        if segments.hasEmpty || !(1...2).contains(segments.count) {
            return .failure(.error(404, "not_found", "paths are /<service> or /<service>/<id>"))
        }
        let service = segments.first
        if let problem = Names.serviceProblem(service[...]) {
            return .failure(.error(400, "invalid_service", problem))
        }
        guard let id = segments.second else {
            guard isRead(request.method) else { return .failure(methodNotAllowed(request.method, allow: "GET, HEAD")) }
            if let watch = watchRequest(service: service, query: query, pretty: pretty) { return watch }
            return .success(.lookup(service: service, pretty: pretty))
        }
        if let problem = Names.instanceProblem(id[...]) {
            return .failure(.error(400, "invalid_id", problem))
        }
        switch request.method {
        case .get, .head:
            return .success(.instance(service: service, id: id, pretty: pretty))
        case .delete:
            return .success(.deregister(service: service, id: id))
        case .put:
            var ttl: Int? = nil
            if let raw = query.value("ttl") {
                guard let t = Int(raw), t >= 1, t <= maxTTLSeconds else {
                    return .failure(.error(400, "invalid_ttl", "ttl must be a whole number of seconds from 1 to \(maxTTLSeconds)"))
                }
                ttl = t
            }
            let object: JSON.Object
            do {
                object = try JSON.parseObject(request.body)
            } catch {
                let code = error == .notAnObject ? "not_an_object" : "invalid_json"
                return .failure(.error(400, code, error.description))
            }
            switch object.host {
            case .absent: break
            case let .string(h) where !h.isEmpty && h.utf8.count <= 255: break
            default: return .failure(.error(400, "invalid_host", "host must be a non-empty string of at most 255 bytes"))
            }
            switch object.port {
            case .absent: break
            case let .integer(p) where (1...65535).contains(p): break
            default: return .failure(.error(400, "invalid_port", "port must be an integer from 1 to 65535"))
            }
            if query.has("hold") {
                guard ttl == nil else {
                    return .failure(.error(400, "invalid_hold", "a held registration lives as long as its connection; it takes no ttl"))
                }
                return .success(.hold(service: service, id: id, body: object.compact))
            }
            return .success(.register(service: service, id: id, body: object.compact, ttlSeconds: ttl))
        default:
            return .failure(methodNotAllowed(request.method, allow: "GET, HEAD, PUT, DELETE"))
        }
    }

    /// `/_members/<name>`: only DELETE, of one valid daemon name.
    private func forgetRequest(_ request: HTTPRequest) -> Result<Route, HTTPResponse> {
        guard request.method == .delete else { return .failure(methodNotAllowed(request.method, allow: "DELETE")) }
        let name = String(request.path.dropFirst("/_members/".count))
        guard Names.isNodeName(name) else {
            return .failure(.error(400, "invalid_name",
                                   "a daemon name is 1 to 63 letters, digits, '-', '_' or '.'; got '\(name.prefix(64))'"))
        }
        return .success(.forget(name: name))
    }

    func isRead(_ m: HTTPMethod) -> Bool { m == .get || m == .head }

    func methodNotAllowed(_ m: HTTPMethod, allow: String) -> HTTPResponse {
        .error(405, "method_not_allowed", "\(m.name) is not allowed here; allowed: \(allow)", headers: [("Allow", allow)])
    }
}

/// A parsed query string: `a&b=1&c=x`.
public struct Query: Sendable {
    var items: [(String, String?)] = []

    /// Parses `raw` (the part after `?`); nil gives an empty query.
    public init(_ raw: String?) {
        guard let raw, !raw.isEmpty else { return }
        for part in raw.split(separator: "&") {
            if let eq = part.firstIndex(of: "=") {
                items.append((String(part[..<eq]), String(part[part.index(after: eq)...])))
            } else {
                items.append((String(part), nil))
            }
        }
    }

    /// True when the query holds no item (most lookups send none).
    public var isEmpty: Bool { items.isEmpty }

    /// True when the key is present, with or without a value (except `=0`/`=false`).
    public func has(_ key: String) -> Bool {
        for (k, v) in items where k == key { return v != "0" && v != "false" }
        return false
    }

    /// The value of the key's first occurrence.
    public func value(_ key: String) -> String? {
        for (k, v) in items where k == key { return v ?? "" }
        return nil
    }
}
