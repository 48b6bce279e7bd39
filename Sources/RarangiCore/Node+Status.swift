import RarangiWire

/// The replication part of the status document, and the seed's `/_deltas`.
extension Node {
    /// `"generation":…,"master":…,"links":[…],"origins":[…],"masters":{…},"partition":{…}`.
    func replicationStatus(now: Int64? = nil) -> [UInt8] {
        var out: [UInt8] = []
        func key(_ k: String) {
            JSON.appendString(k, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func str(_ s: String) { JSON.appendString(s, to: &out) }
        func num<T: BinaryInteger>(_ n: T) { out.append(contentsOf: String(n).utf8) }
        func comma() { out.append(UInt8(ascii: ",")) }
        key("generation"); num(config.generation); comma()
        key("master"); out.append(contentsOf: (config.master ? "true" : "false").utf8); comma()
        key("gossip_interval_ms"); num(config.gossipIntervalMs); comma()
        key("origin_timeout_ms"); num(config.originTimeoutMs); comma()
        key("links"); out.append(UInt8(ascii: "["))
        for (i, link) in links.values.sorted(by: { $0.id.raw < $1.id.raw }).enumerated() {
            if i > 0 { comma() }
            out.append(UInt8(ascii: "{"))
            key("id"); str(link.id.description); comma()
            key("direction"); str(link.id.isInbound ? "inbound" : "outbound"); comma()
            if !link.id.isInbound { key("target"); str("\(link.host):\(link.port)"); comma() }
            key("peer"); str(link.peer?.name ?? ""); comma()
            key("peer_master"); out.append(contentsOf: (link.peer?.master == true ? "true" : "false").utf8); comma()
            let state: String
            var retry: Int64 = 0
            switch link.state {
            case let .waiting(until): state = "waiting"; retry = until
            case .connecting: state = "connecting"
            case .handshaking: state = "handshaking"
            case .up: state = "up"
            case .disabled: state = "disabled"
            }
            key("state"); str(state); comma()
            key("slow"); out.append(contentsOf: (link.slow ? "true" : "false").utf8); comma()
            key("held"); num(link.held.values.reduce(0) { $0 + $1.deltas.count }); comma()
            key("attempt"); num(link.attempt); comma()
            key("retry_at_ms"); num(retry); comma()
            key("last_heard_ms"); num(link.lastHeard); comma()
            key("messages_in"); num(link.messagesIn); comma()
            key("messages_out"); num(link.messagesOut)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]")); comma()
        key("origins"); out.append(UInt8(ascii: "["))
        var first = true
        for case let o? in replica.origins {
            if !first { comma() }
            first = false
            out.append(UInt8(ascii: "{"))
            key("name"); str(o.name); comma()
            key("generation"); num(o.generation); comma()
            key("version"); num(o.watermark); comma()
            key("records"); num(o.liveCount); comma()
            key("tombstones"); num(o.records.count - o.liveCount); comma()
            key("last_heard_ms"); num(o.lastHeard); comma()
            key("alive"); out.append(contentsOf: (o.notAliveSince == nil ? "true" : "false").utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]")); comma()
        key("masters"); out.append(UInt8(ascii: "{"))
        for (i, e) in graph.entries.values.sorted(by: { $0.name < $1.name }).enumerated() {
            if i > 0 { comma() }
            key(e.name); out.append(UInt8(ascii: "{"))
            key("cluster"); str(e.cluster); comma()
            key("seq"); num(e.seq); comma()
            key("component"); num(graph.component[e.name] ?? -1); comma()
            key("reaches"); out.append(UInt8(ascii: "["))
            for (j, m) in e.masters.enumerated() { if j > 0 { comma() }; str(m) }
            out.append(UInt8(ascii: "]")); comma()
            key("leaves"); num(e.leaves.count)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}")); comma()
        key("partition"); out.append(UInt8(ascii: "{"))
        key("stale"); out.append(contentsOf: (isStale ? "true" : "false").utf8); comma()
        key("components"); num(graph.sizes.count); comma()
        key("largest"); num(graph.sizes.first ?? 0); comma()
        key("mine"); num(myComponent.map { graph.sizes[$0] } ?? 0); comma()
        key("known_masters"); num(graph.entries.count)
        out.append(UInt8(ascii: "}")); comma()
        key("peer_messages_in"); num(stats.peerIn); comma()
        key("peer_messages_out"); num(stats.peerOut); comma()
        key("peer_bytes_out"); num(stats.peerBytesOut); comma()
        key("origins_purged"); num(stats.originsPurged); comma()
        key("tombstones"); num(replica.tombstoneCount); comma()
        key("tombstones_collected"); num(stats.tombstonesCollected); comma()
        key("pushes_coalesced"); num(stats.coalesced)
        return out
    }

    /// `{"<node>": [["<service>","<id>",{…}|null,<ts>], …]}` (MISSION H5);
    /// a null body is a removal.
    func deltasDocument(_ since: [(String, UInt64)]) -> [UInt8] {
        let wanted = since.isEmpty ? replica.originNames.map { ($0, UInt64(0)) } : since
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (i, (name, ts)) in wanted.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSON.appendString(name, to: &out)
            out.append(contentsOf: ":[".utf8)
            for (j, d) in replica.deltas(of: name, since: ts).enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                JSON.appendString(d.service, to: &out)
                out.append(UInt8(ascii: ","))
                JSON.appendString(d.id, to: &out)
                out.append(UInt8(ascii: ","))
                if d.kind == .put { out.append(contentsOf: d.body) } else { out.append(contentsOf: "null".utf8) }
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: String(d.version).utf8)
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
