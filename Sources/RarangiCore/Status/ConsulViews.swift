import RarangiWire

/// The catalogue as Consul's clients read it (MISSION B6): a pure view over
/// the node. Mapping (rarangi-protocol(7), CONSUL API): `host` → `Address`
/// and `ServiceAddress`, `port` → `Port`, `tags` → `Tags`, string members
/// → `Meta`, the origin daemon → `Node`, its cluster → `Datacenter`. Every
/// instance served is live, so every check is `passing`.
public enum ConsulViews {
    /// One instance with its Consul fields.
    struct Entry {
        var view: InstanceView
        var host: String
        var port: Int
        var tags: [String]
        var meta: [(String, String)]
        var datacenter: String
    }

    /// Node meta every origin carries (what `node-meta=` filters on).
    static func nodeMeta(_ datacenter: String) -> [(String, String)] { [("rarangi-cluster", datacenter)] }

    static func entries(_ node: Node, _ service: String, _ filter: ConsulRequest.Filter) -> [Entry] {
        node.instances(of: [service]).compactMap { v in
            var e = Entry(view: v, host: "", port: 0, tags: [], meta: [], datacenter: node.cluster(ofOrigin: v.origin))
            for f in v.fields {
                switch (f.name, f.value) {
                case let ("host", .string(h)): e.host = h
                case let ("port", .raw(p)): e.port = Int(String(decoding: p, as: UTF8.self)) ?? 0
                case let ("tags", .raw(t)): e.tags = JSONFields.strings(ofArray: t) ?? []
                case ("check_ttl", _): break
                case let (name, .string(s)): e.meta.append((name, s))
                default: break
                }
            }
            guard filter.tags.allSatisfy({ e.tags.contains($0) }) else { return nil }
            let meta = nodeMeta(e.datacenter)
            guard filter.nodeMeta.allSatisfy({ want in meta.contains { $0 == want } }) else { return nil }
            return e
        }
    }

    /// `GET /v1/health/service/<name>`.
    public static func health(_ node: Node, _ service: String, _ filter: ConsulRequest.Filter) -> [UInt8] {
        var w = JSONWriter()
        w.array(entries(node, service, filter)) { w, e in
            w.object { w in
                w.member("Node") { w in nodeObject(&w, e) }
                w.member("Service") { w in
                    w.object { w in
                        w.member("ID", e.view.id); w.member("Service", e.view.service)
                        w.member("Tags") { w in w.array(e.tags) { w, t in w.value(t) } }
                        w.member("Address", e.host)
                        w.member("Meta") { w in meta(&w, e.meta) }
                        w.member("Port", e.port)
                        w.member("Weights") { w in w.object { w in w.member("Passing", 1); w.member("Warning", 1) } }
                        w.member("EnableTagOverride", false)
                        w.member("Datacenter", e.datacenter)
                    }
                }
                w.member("Checks") { w in
                    w.array { w in
                        check(&w, e, id: "serfHealth", name: "Serf Health Status", service: false)
                        check(&w, e, id: "service:" + e.view.id, name: "Service '\(e.view.service)' check", service: true)
                    }
                }
            }
        }
        return w.document(pretty: false)
    }

    /// `GET /v1/catalog/service/<name>`.
    public static func catalogService(_ node: Node, _ service: String, _ filter: ConsulRequest.Filter, index: UInt64) -> [UInt8] {
        var w = JSONWriter()
        w.array(entries(node, service, filter)) { w, e in
            w.object { w in
                w.member("ID", ""); w.member("Node", e.view.origin); w.member("Address", e.host)
                w.member("Datacenter", e.datacenter)
                w.member("TaggedAddresses") { w in w.object { _ in } }
                w.member("NodeMeta") { w in meta(&w, nodeMeta(e.datacenter)) }
                w.member("ServiceKind", ""); w.member("ServiceID", e.view.id); w.member("ServiceName", e.view.service)
                w.member("ServiceTags") { w in w.array(e.tags) { w, t in w.value(t) } }
                w.member("ServiceAddress", e.host)
                w.member("ServiceWeights") { w in w.object { w in w.member("Passing", 1); w.member("Warning", 1) } }
                w.member("ServiceMeta") { w in meta(&w, e.meta) }
                w.member("ServicePort", e.port)
                w.member("ServiceEnableTagOverride", false)
                w.member("CreateIndex", index); w.member("ModifyIndex", index)
            }
        }
        return w.document(pretty: false)
    }

    /// `GET /v1/catalog/services`: every service and the union of its tags.
    public static func services(_ node: Node) -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            for name in node.catalogue.serviceNames {
                var tags: [String] = []
                for e in entries(node, name, ConsulRequest.Filter()) { for t in e.tags where !tags.contains(t) { tags.append(t) } }
                w.member(name) { w in w.array(tags.sorted()) { w, t in w.value(t) } }
            }
        }
        return w.document(pretty: false)
    }

    /// `GET /v1/agent/self`.
    public static func agentSelf(_ node: Node, version: String) -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.member("Config") { w in
                w.object { w in
                    w.member("Datacenter", node.config.cluster); w.member("NodeName", node.config.name)
                    w.member("NodeID", ""); w.member("Server", node.config.master)
                    w.member("Version", version); w.member("Revision", "rarangid")
                }
            }
            w.member("Member") { w in
                w.object { w in
                    w.member("Name", node.config.name); w.member("Addr", node.config.advertiseHost); w.member("Port", node.config.advertisePort)
                    w.member("Status", 1)
                }
            }
            w.member("Meta") { w in meta(&w, nodeMeta(node.config.cluster)) }
        }
        return w.document(pretty: false)
    }

    /// `GET /v1/catalog/datacenters`: the clusters of the environment this
    /// daemon knows of, its own first.
    public static func datacenters(_ node: Node) -> [UInt8] {
        var names = [node.config.cluster]
        for c in Set(node.graph.entries.values.filter(\.isMember).map(\.cluster)).sorted() where !names.contains(c) { names.append(c) }
        var w = JSONWriter()
        w.array(names) { w, n in w.value(n) }
        return w.document(pretty: false)
    }

    private static func nodeObject(_ w: inout JSONWriter, _ e: Entry) {
        w.object { w in
            w.member("ID", ""); w.member("Node", e.view.origin); w.member("Address", e.host)
            w.member("Datacenter", e.datacenter)
            w.member("TaggedAddresses") { w in w.object { _ in } }
            w.member("Meta") { w in meta(&w, nodeMeta(e.datacenter)) }
        }
    }

    private static func check(_ w: inout JSONWriter, _ e: Entry, id: String, name: String, service: Bool) {
        w.object { w in
            w.member("Node", e.view.origin); w.member("CheckID", id); w.member("Name", name)
            w.member("Status", "passing"); w.member("Notes", ""); w.member("Output", "")
            w.member("ServiceID", service ? e.view.id : ""); w.member("ServiceName", service ? e.view.service : "")
            w.member("ServiceTags") { w in w.array(service ? e.tags : []) { w, t in w.value(t) } }
            w.member("Type", service ? "ttl" : "")
        }
    }

    private static func meta(_ w: inout JSONWriter, _ pairs: [(String, String)]) {
        w.object { w in for (k, v) in pairs { w.member(k, v) } }
    }
}

extension Node {
    /// The cluster of an origin daemon, from the members' graph (a leaf's
    /// from the master linked to it; this daemon's own cluster when the
    /// origin is not known there).
    public func cluster(ofOrigin name: String) -> String {
        if name == config.name { return config.cluster }
        return graph.cluster(of: name) ?? config.cluster
    }

    /// The services holding an instance `id` whose record is this daemon's
    /// own (what Consul's agent endpoints act on), sorted.
    public func ownServices(withInstance id: String) -> [String] {
        catalogue.services(withInstance: id).filter { originName($0.origin) == config.name }.map(\.service).sorted()
    }
}
