import RarangiWire

/// What the daemon answers over DNS (MISSION B5), from its replica of the
/// catalogue: a pure function of the query, the node and a rotation
/// counter the shell advances per query. Names, under the domain D:
/// - `SERVICE.service.D`: A and AAAA, the instances whose `host` is an IP
///   literal (a `host` that is a name is left out of address answers);
///   SRV, every instance with a `port`, its target `HEX.addr.D` for an IP
///   host (with the address in the additional section, as Consul does) or
///   the host name itself.
/// - `_SERVICE._tcp.service.D`: the same SRV records (RFC 2782).
/// - `HEX.addr.D`: the address written in hex (8 digits IPv4, 32 IPv6).
/// - `NAME.node.D`: this daemon's own address.
/// - `status.D`: TXT `fresh` or `stale`; a stale daemon also adds that TXT
///   record to the additional section of every answer.
/// Unknown names under D get NXDOMAIN with the SOA; known names with no
/// record of the type asked, NOERROR and no answers; names outside D,
/// REFUSED.
public struct DNSAnswers: Sendable {
    /// The domain's labels, lower case (`["rarangi"]`).
    public var domain: [String]
    /// TTL of every record (0: answers come from a replica that is current).
    public var ttl: UInt32
    /// This daemon's address for `NAME.node.D`, when it has an IP literal one.
    public var selfAddress: [UInt8]?
    /// A service's records (before rotation), built once per change of it.
    private var cache: [String: (index: UInt64, instances: [Resolved])] = [:]

    /// One instance as DNS sees it.
    struct Resolved {
        var ip: [UInt8]?
        var host: String
        var port: Int?
    }

    public init(domain: String, ttl: UInt32, selfAddress: [UInt8]?) {
        self.domain = domain.lowercased().split(separator: ".").map(String.init)
        self.ttl = ttl
        self.selfAddress = selfAddress
    }

    /// The answer to `q` from `node`; `rotation` turns the order of instances.
    public mutating func answer(_ q: DNS.Query, node: Node, rotation: Int) -> DNS.Answer {
        guard q.opcode == 0 else { return DNS.Answer(rcode: .notImp) }
        guard q.qclass == 1 || q.qclass == 255 else { return DNS.Answer(rcode: .refused) }
        let labels = q.labels
        guard labels.count >= domain.count, Array(labels.suffix(domain.count)) == domain else {
            return DNS.Answer(rcode: .refused)
        }
        let local = Array(labels.dropLast(domain.count))
        var answer = resolve(local, type: q.type, node: node, rotation: rotation)
        if answer.rcode == .nxDomain || (answer.rcode == .noError && answer.answers.isEmpty) {
            answer.authority = [soa(node)]
        }
        if node.isStale {
            answer.additional.append(DNS.Record(name: ["status"] + domain, type: .txt, ttl: 0, data: .txt(["stale"])))
        }
        return answer
    }

    private mutating func resolve(_ local: [String], type: UInt16, node: Node, rotation: Int) -> DNS.Answer {
        let wantsA = type == DNS.RRType.a.rawValue || type == DNS.RRType.any.rawValue
        let wantsAAAA = type == DNS.RRType.aaaa.rawValue || type == DNS.RRType.any.rawValue
        let wantsSRV = type == DNS.RRType.srv.rawValue || type == DNS.RRType.any.rawValue
        switch local.count {
        case 0:
            // The domain's apex: its SOA.
            if type == DNS.RRType.soa.rawValue || type == DNS.RRType.any.rawValue { return DNS.Answer(rcode: .noError, answers: [soa(node)]) }
            return DNS.Answer(rcode: .noError)
        case 1 where local[0] == "status":
            guard type == DNS.RRType.txt.rawValue || type == DNS.RRType.any.rawValue else { return DNS.Answer(rcode: .noError) }
            return DNS.Answer(rcode: .noError, answers: [DNS.Record(name: local + domain, type: .txt, ttl: 0,
                                                                     data: .txt([node.isStale ? "stale" : "fresh"]))])
        case 2 where local[1] == "addr":
            guard let ip = IPAddress.fromHex(local[0]) else { return DNS.Answer(rcode: .nxDomain) }
            return DNS.Answer(rcode: .noError, answers: addressRecords(local + domain, ip, a: wantsA, aaaa: wantsAAAA))
        case 2 where local[1] == "node":
            guard local[0] == node.config.name.lowercased() else { return DNS.Answer(rcode: .nxDomain) }
            guard let ip = selfAddress else { return DNS.Answer(rcode: .noError) }
            return DNS.Answer(rcode: .noError, answers: addressRecords(local + domain, ip, a: wantsA, aaaa: wantsAAAA))
        case 2 where local[1] == "service":
            return service(local[0], name: local + domain, node: node, rotation: rotation, a: wantsA, aaaa: wantsAAAA, srv: wantsSRV)
        case 3 where local[2] == "service" && local[1] == "_tcp" && local[0].hasPrefix("_"):
            let name = String(local[0].dropFirst())
            return service(name, name: local + domain, node: node, rotation: rotation, a: false, aaaa: false, srv: wantsSRV)
        default:
            return DNS.Answer(rcode: .nxDomain)
        }
    }

    /// The instances of `service` with a host, from the cache while the
    /// service has not changed. Services are matched without regard to
    /// case, as DNS names are: the exact name first, then any other case.
    private mutating func resolved(_ service: String, node: Node) -> [Resolved] {
        var names = [service]
        if !node.catalogue.contains(service: service) {
            names = node.catalogue.serviceNames.filter { $0.lowercased() == service }
        }
        let index = names.map { node.catalogue.serviceIndex($0) }.reduce(0, &+)
        if names.count == 1, let hit = cache[names[0]], hit.index == index { return hit.instances }
        var out: [Resolved] = []
        for i in node.instances(of: names) {
            var host: String?
            var port: Int?
            for f in i.fields {
                if f.name == "host", case let .string(h) = f.value { host = h }
                if f.name == "port", case let .raw(p) = f.value { port = Int(String(decoding: p, as: UTF8.self)) }
            }
            guard let host else { continue }
            out.append(Resolved(ip: IPAddress.v4(host) ?? IPAddress.v6(host), host: host, port: port))
        }
        if names.count == 1 {
            if cache.count >= 16_384 { cache.removeAll(keepingCapacity: true) }
            cache[names[0]] = (index, out)
        }
        return out
    }

    private mutating func service(_ service: String, name: [String], node: Node, rotation: Int,
                                  a: Bool, aaaa: Bool, srv: Bool) -> DNS.Answer {
        let instances = resolved(service, node: node)
        guard !instances.isEmpty || node.catalogue.contains(service: service)
                || node.catalogue.serviceNames.contains(where: { $0.lowercased() == service }) else {
            return DNS.Answer(rcode: .nxDomain)
        }
        var out = DNS.Answer(rcode: .noError)
        guard !instances.isEmpty else { return out }
        let turned = rotation % instances.count
        for i in instances[turned...] + instances[..<turned] {
            let host = i.host
            let port = i.port
            let ip = i.ip
            if let ip { out.answers += addressRecords(name, ip, a: a, aaaa: aaaa) }
            if srv, let port, (1...65535).contains(port) {
                let target: [String]
                if let ip {
                    target = [IPAddress.hex(ip), "addr"] + domain
                    if !out.additional.contains(where: { $0.name == target }) {
                        out.additional += addressRecords(target, ip, a: true, aaaa: true)
                    }
                } else {
                    // A host name is the target as it is, if DNS can carry it;
                    // one that it cannot (a label over 63 bytes, a name over
                    // 255) is left out rather than served cut.
                    let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    target = labels.last == "" ? Array(labels.dropLast()) : labels
                    guard DNS.isValidName(target) else { continue }
                }
                out.answers.append(DNS.Record(name: name, type: .srv, ttl: ttl, data: .srv(priority: 1, weight: 1, port: UInt16(port), target: target)))
            }
        }
        return out
    }

    private func addressRecords(_ name: [String], _ ip: [UInt8], a: Bool, aaaa: Bool) -> [DNS.Record] {
        if ip.count == 4, a { return [DNS.Record(name: name, type: .a, ttl: ttl, data: .a(ip))] }
        if ip.count == 16, aaaa { return [DNS.Record(name: name, type: .aaaa, ttl: ttl, data: .aaaa(ip))] }
        return []
    }

    private func soa(_ node: Node) -> DNS.Record {
        DNS.Record(name: domain, type: .soa, ttl: ttl,
                   data: .soa(mname: [node.config.name.lowercased(), "node"] + domain, rname: ["hostmaster"] + domain,
                              serial: UInt32(truncatingIfNeeded: node.catalogue.index), refresh: 3600, retry: 600,
                              expire: 86400, minimum: ttl))
    }
}
