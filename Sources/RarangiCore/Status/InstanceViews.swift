import RarangiWire

/// One registration as the views that reshape the catalogue see it
/// (Prometheus discovery, the status page, the Consul API): where it is
/// from and its body's members.
public struct InstanceView: Sendable {
    /// The service.
    public var service: String
    /// The instance id.
    public var id: String
    /// The daemon whose record is served.
    public var origin: String
    /// The stored body (compact JSON object).
    public var body: [UInt8]

    /// The body's top-level members.
    public var fields: [(name: String, value: JSONFields.Value)] { JSONFields.members(of: body) }
}

extension Node {
    /// The name of the daemon whose record the view shows, from the
    /// replica's origin slot (this daemon's own when the slot is unused).
    func originName(_ slot: Int32) -> String {
        (replica.origins.indices.contains(Int(slot)) ? replica.origins[Int(slot)]?.name : nil) ?? config.name
    }

    /// The instances of `services` (every service when nil), by service
    /// then id. Unknown names contribute nothing.
    public func instances(of services: [String]?) -> [InstanceView] {
        let cat = catalogue
        let names = services.map { Array(Set($0)).sorted() } ?? cat.serviceNames
        var out: [InstanceView] = []
        for service in names {
            for i in cat.instances(of: service) {
                out.append(InstanceView(service: service, id: i.id, origin: originName(i.origin), body: i.body))
            }
        }
        return out
    }
}

/// Prometheus's HTTP service discovery document (`GET /_sd/prometheus`):
/// one target group per instance, its target `host:port` and its labels
/// `__meta_rarangi_service`, `_id`, `_origin`, `_stale`, and one per body
/// member (`__meta_rarangi_<member>`; a name's characters outside
/// `[A-Za-z0-9_]` become `_`; strings as they are, arrays of strings joined
/// as `,a,b,` like Consul's tags, other values as their JSON). An instance
/// without a string `host` is no target and is left out.
public enum PrometheusTargets {
    /// The document for `instances`.
    public static func document(_ instances: [InstanceView], stale: Bool) -> [UInt8] {
        var w = JSONWriter()
        w.array { w in
            for i in instances {
                var host: String?
                var port: String?
                let fields = i.fields
                for f in fields {
                    if f.name == "host", case let .string(h) = f.value { host = h }
                    if f.name == "port", case let .raw(p) = f.value { port = String(decoding: p, as: UTF8.self) }
                }
                guard let host, !host.isEmpty else { continue }
                let target = port.map { "\(hostForTarget(host)):\($0)" } ?? hostForTarget(host)
                w.object { w in
                    w.member("targets") { w in w.array { w in w.value(target) } }
                    w.member("labels") { w in
                        w.object { w in
                            w.member("__meta_rarangi_service", i.service)
                            w.member("__meta_rarangi_id", i.id)
                            w.member("__meta_rarangi_origin", i.origin)
                            w.member("__meta_rarangi_stale", stale ? "true" : "false")
                            var seen: Set<String> = ["service", "id", "origin", "stale"]
                            for f in fields {
                                let name = labelName(f.name)
                                guard seen.insert(name).inserted, let value = labelValue(f.value) else { continue }
                                w.member("__meta_rarangi_" + name, value)
                            }
                        }
                    }
                }
            }
        }
        return w.document(pretty: false)
    }

    /// An IPv6 literal is bracketed in a target.
    static func hostForTarget(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// A member name as a label name's tail: `[A-Za-z0-9_]`, others `_`.
    static func labelName(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { s in
            (s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s))) || s == "_" ? s : "_"
        }))
    }

    /// A member's value as a label value; nil for objects.
    static func labelValue(_ v: JSONFields.Value) -> String? {
        switch v {
        case let .string(s): return s
        case let .raw(r):
            if r.first == UInt8(ascii: "{") { return nil }
            if r.first == UInt8(ascii: "["), let strings = JSONFields.strings(ofArray: r) {
                return strings.isEmpty ? "" : "," + strings.joined(separator: ",") + ","
            }
            return String(decoding: r, as: UTF8.self)
        }
    }
}
