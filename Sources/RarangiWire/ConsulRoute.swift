import RarangiProtocol

/// The subset of Consul's HTTP API that existing clients use to discover
/// and register (MISSION B6), decoded here like every other request: bad
/// input is refused before anything reaches the catalogue. The mapping of
/// bodies is in rarangi-protocol(7), CONSUL API.
public enum ConsulRequest: Sendable, Equatable {
    /// `GET /v1/agent/self`.
    case agentSelf
    /// `GET /v1/catalog/datacenters`.
    case datacenters
    /// `GET /v1/catalog/services`: name → tags.
    case services(Blocking?)
    /// `GET /v1/catalog/service/<name>`.
    case catalogService(String, Filter, Blocking?)
    /// `GET /v1/health/service/<name>`.
    case healthService(String, Filter, Blocking?)
    /// `PUT /v1/agent/service/register`: our body for the instance, and
    /// the TTL of its check (nil: none; it lives for --max-ttl).
    case register(service: String, id: String, body: [UInt8], ttlSeconds: Int?)
    /// `PUT /v1/agent/service/deregister/<id>`.
    case deregister(id: String)
    /// `PUT /v1/agent/check/pass/<check>` (and `update` with a passing
    /// status): the TTL check of the instance `id` passed.
    case checkPass(id: String)

    /// Which instances an answer keeps.
    public struct Filter: Sendable, Equatable {
        /// Every tag listed must be on the instance (`?tag=`, repeatable).
        public var tags: [String] = []
        /// Node meta pairs the origin must carry (`?node-meta=k:v`).
        public var nodeMeta: [(String, String)] = []
        public init() {}
        public static func == (a: Filter, b: Filter) -> Bool {
            a.tags == b.tags && a.nodeMeta.map { "\($0.0):\($0.1)" } == b.nodeMeta.map { "\($0.0):\($0.1)" }
        }
    }

    /// `?index=N&wait=D`: answer when the answer's index differs from N, or
    /// when D (default 5 minutes, at most 10) has passed.
    public struct Blocking: Sendable, Equatable {
        public var index: UInt64
        public var waitMs: Int64
    }
}

extension Router {
    /// The default and the longest wait of a Consul blocking query.
    public static let consulDefaultWaitMs: Int64 = 300_000
    public static let consulMaxWaitMs: Int64 = 600_000

    /// Decodes a request under `/v1/`.
    func consulRequest(_ request: HTTPRequest) -> Result<ConsulRequest, HTTPResponse> {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).map(String.init)
        let query = Query(request.query)
        func read(_ r: ConsulRequest) -> Result<ConsulRequest, HTTPResponse> {
            isRead(request.method) ? .success(r) : .failure(methodNotAllowed(request.method, allow: "GET, HEAD"))
        }
        func write(_ r: () -> Result<ConsulRequest, HTTPResponse>) -> Result<ConsulRequest, HTTPResponse> {
            request.method == .put ? r() : .failure(methodNotAllowed(request.method, allow: "PUT"))
        }
        // Consul before 1.0 took GET for these two, and clients of that age
        // (python-consul 0.7) still send it.
        func oldWrite(_ r: () -> Result<ConsulRequest, HTTPResponse>) -> Result<ConsulRequest, HTTPResponse> {
            request.method == .put || request.method == .get ? r() : .failure(methodNotAllowed(request.method, allow: "PUT"))
        }
        func named(_ name: String, _ make: (Filter, ConsulRequest.Blocking?) -> ConsulRequest) -> Result<ConsulRequest, HTTPResponse> {
            if let problem = Names.serviceProblem(Substring(name)) { return .failure(.error(400, "invalid_service", problem)) }
            switch (filter(query), blocking(query)) {
            case let (.failure(e), _), let (_, .failure(e)): return .failure(e)
            case let (.success(f), .success(b)): return read(make(f, b))
            }
        }
        typealias Filter = ConsulRequest.Filter
        switch parts.count {
        case 2 where parts == ["agent", "self"]: return read(.agentSelf)
        case 2 where parts == ["catalog", "datacenters"]: return read(.datacenters)
        case 2 where parts == ["catalog", "services"]:
            return blocking(query).flatMap { read(.services($0)) }
        case 3 where parts[0] == "catalog" && parts[1] == "service":
            return named(parts[2]) { .catalogService(parts[2], $0, $1) }
        case 3 where parts[0] == "health" && parts[1] == "service":
            return named(parts[2]) { .healthService(parts[2], $0, $1) }
        case 3 where parts == ["agent", "service", "register"]:
            return write { ConsulRegistration.decode(request.body, maxTTLSeconds: maxTTLSeconds) }
        case 4 where parts[0] == "agent" && parts[1] == "service" && parts[2] == "deregister":
            return oldWrite { instanceID(parts[3]).map { .deregister(id: $0) } }
        case 4 where parts[0] == "agent" && parts[1] == "check" && (parts[2] == "pass" || parts[2] == "update"):
            return oldWrite {
                if parts[2] == "update" {
                    let status = JSONFields.members(of: (try? JSON.parseObject(request.body))?.compact ?? [])
                        .first { $0.name.lowercased() == "status" }?.value.text
                    guard status == "passing" else {
                        return .failure(.error(400, "unsupported_status",
                                               "a TTL check here is passing or expired: update it with {\"Status\":\"passing\"}"))
                    }
                }
                // `service:ID` or `service:ID:N`: which instance is decided
                // where the IDs are known (an ID may itself hold ':').
                let check = parts[3]
                let id = check.hasPrefix("service:") ? String(check.dropFirst(8)) : check
                return instanceID(id).map { .checkPass(id: $0) }
            }
        default:
            return .failure(.error(404, "not_found", "no such endpoint of the Consul API subset: \(request.path)"))
        }
    }

    private func instanceID(_ id: String) -> Result<String, HTTPResponse> {
        if let problem = Names.instanceProblem(Substring(id)) { return .failure(.error(400, "invalid_id", problem)) }
        return .success(id)
    }

    private func filter(_ query: Query) -> Result<ConsulRequest.Filter, HTTPResponse> {
        var f = ConsulRequest.Filter()
        for (k, v) in query.all {
            switch k {
            case "tag": f.tags.append(v ?? "")
            case "node-meta":
                let kv = (v ?? "").split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard kv.count == 2, !kv[0].isEmpty else {
                    return .failure(.error(400, "invalid_node_meta", "node-meta is KEY:VALUE"))
                }
                f.nodeMeta.append((String(kv[0]), String(kv[1])))
            case "filter":
                return .failure(.error(400, "unsupported_filter", "filter expressions are not supported; use tag= and node-meta="))
            default: break  // passing, dc, stale, consistent, near, index, wait, token: accepted
            }
        }
        return .success(f)
    }

    private func blocking(_ query: Query) -> Result<ConsulRequest.Blocking?, HTTPResponse> {
        guard let raw = query.value("index") else { return .success(nil) }
        guard let index = UInt64(raw) else {
            return .failure(.error(400, "invalid_index", "index must be a whole number, as sent in X-Consul-Index"))
        }
        var waitMs = Router.consulDefaultWaitMs
        if let w = query.value("wait") {
            guard let ms = Router.parseGoDuration(w) else {
                return .failure(.error(400, "invalid_wait", "wait is a duration such as 30s, 5m or 1m30s"))
            }
            waitMs = min(ms, Router.consulMaxWaitMs)
        }
        return .success(ConsulRequest.Blocking(index: index, waitMs: waitMs))
    }

    /// A Go duration (`300ms`, `15s`, `5m`, `1h`, `1m30s`), or bare seconds,
    /// in milliseconds.
    public static func parseGoDuration(_ text: String) -> Int64? {
        if let seconds = Int64(text), seconds >= 0, seconds < 1 << 40 { return seconds * 1000 }
        var total: Double = 0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ns": total += value / 1e6
            case "us", "µs": total += value / 1e3
            case "ms": total += value
            case "s": total += value * 1000
            case "m": total += value * 60_000
            case "h": total += value * 3_600_000
            default: return nil
            }
        }
        guard total < 1e12 else { return nil }
        return Int64(total.rounded(.up))
    }
}

extension Query {
    /// Every key and value, in order (repeated keys included).
    var all: [(String, String?)] { items }
}

/// Consul's service definition (`Name`, `ID`, `Address`, `Port`, `Tags`,
/// `Meta`, `Check` or `Checks`; keys of any case, as py-consul sends lower
/// case ones) as our registration body: `host`, `port`, `tags`, the meta
/// pairs as string members, and `check_ttl` (seconds) when a TTL check
/// gives the instance its liveness.
public enum ConsulRegistration {
    /// Members of our body that meta keys may not take.
    public static let reserved: Set<String> = ["host", "port", "tags", "check_ttl"]

    static func decode(_ raw: [UInt8], maxTTLSeconds: Int) -> Result<ConsulRequest, HTTPResponse> {
        let object: JSON.Object
        do { object = try JSON.parseObject(raw) } catch {
            return .failure(.error(400, error == .notAnObject ? "not_an_object" : "invalid_json", error.description))
        }
        var fields: [String: JSONFields.Value] = [:]
        for m in JSONFields.members(of: object.compact) { fields[m.name.lowercased()] = m.value }
        guard case let .string(name)? = fields["name"] else {
            return .failure(.error(400, "invalid_service", "the service definition needs a Name"))
        }
        if let problem = Names.serviceProblem(Substring(name)) { return .failure(.error(400, "invalid_service", problem)) }
        var id = name
        if let v = fields["id"] {
            guard case let .string(s) = v else { return .failure(.error(400, "invalid_id", "ID must be a string")) }
            if !s.isEmpty { id = s }
        }
        if let problem = Names.instanceProblem(Substring(id)) { return .failure(.error(400, "invalid_id", problem)) }
        var w = JSONWriter()
        var ttl: Int?
        var failure: HTTPResponse?
        w.object { w in
            switch fields["address"] {
            case let .string(a)? where !a.isEmpty:
                guard a.utf8.count <= 255 else { failure = .error(400, "invalid_host", "Address is at most 255 bytes"); return }
                w.member("host", a)
            case .string?, nil: break
            default: failure = .error(400, "invalid_host", "Address must be a string"); return
            }
            if let p = fields["port"] {
                guard case let .raw(r) = p, let port = Int(String(decoding: r, as: UTF8.self)), (0...65535).contains(port) else {
                    failure = .error(400, "invalid_port", "Port must be an integer from 0 to 65535"); return
                }
                if port > 0 { w.member("port", port) }
            }
            if let t = fields["tags"] {
                guard case let .raw(r) = t, let tags = r == Array("null".utf8) ? [] : JSONFields.strings(ofArray: r) else {
                    failure = .error(400, "invalid_tags", "Tags must be an array of strings"); return
                }
                if !tags.isEmpty { w.member("tags") { w in w.array(tags) { w, t in w.value(t) } } }
            }
            if let m = fields["meta"], m != .raw(Array("null".utf8)) {
                guard case let .raw(r) = m, r.first == UInt8(ascii: "{") else {
                    failure = .error(400, "invalid_meta", "Meta must be an object of strings"); return
                }
                // A key given twice keeps its last value, as Consul's decoder does.
                var pairs: [(String, String)] = []
                for pair in JSONFields.members(of: r) {
                    guard case let .string(v) = pair.value else {
                        failure = .error(400, "invalid_meta", "Meta values must be strings (\(pair.name))"); return
                    }
                    guard !ConsulRegistration.reserved.contains(pair.name) else {
                        failure = .error(400, "invalid_meta", "Meta key '\(pair.name)' is reserved here: host, port, tags and check_ttl are the registration's own"); return
                    }
                    if let at = pairs.firstIndex(where: { $0.0 == pair.name }) { pairs[at].1 = v } else { pairs.append((pair.name, v)) }
                }
                for (k, v) in pairs { w.member(k, v) }
            }
            var checks: [[UInt8]] = []
            if let c = fields["check"], case let .raw(r) = c, r.first == UInt8(ascii: "{") { checks.append(r) }
            if let cs = fields["checks"], case let .raw(r) = cs, r.first == UInt8(ascii: "[") {
                checks += objects(ofArray: r)
            }
            for check in checks {
                var c: [String: JSONFields.Value] = [:]
                for m in JSONFields.members(of: check) { c[m.name.lowercased()] = m.value }
                for kind in ["http", "tcp", "grpc", "args", "script", "docker", "h2ping", "udp", "os_service", "aliasservice"] where c[kind] != nil {
                    failure = .error(400, "unsupported_check",
                                     "only TTL checks are mapped (to the registration's liveness); this one has \(kind)"); return
                }
                guard case let .string(t)? = c["ttl"], let ms = Router.parseGoDuration(t), ms > 0 else {
                    failure = .error(400, "unsupported_check", "a check needs a TTL such as \"15s\""); return
                }
                let seconds = Int((ms + 999) / 1000)
                guard seconds <= maxTTLSeconds else {
                    failure = .error(400, "invalid_ttl", "the check's TTL is longer than this daemon's --max-ttl (\(maxTTLSeconds) s)"); return
                }
                ttl = min(ttl ?? seconds, seconds)
            }
            if let ttl { w.member("check_ttl", ttl) }
        }
        if let failure { return .failure(failure) }
        // Compact, no trailing newline: stored and relayed as every body is.
        return .success(.register(service: name, id: id, body: w.bytes, ttlSeconds: ttl))
    }

    /// The objects of a compact JSON array.
    static func objects(ofArray r: [UInt8]) -> [[UInt8]] {
        r.withUnsafeBufferPointer { b in
            var out: [[UInt8]] = []
            var i = 1
            while i < b.count, b[i] == UInt8(ascii: "{") {
                let end = JSONFields.skipValue(b, from: i)
                out.append(Array(b[i..<end]))
                i = end
                guard i < b.count, b[i] == UInt8(ascii: ",") else { break }
                i += 1
            }
            return out
        }
    }
}
