import RarangiCore
import RarangiSeal
import RarangiWire

extension Daemon {
    /// `GET /_status`: the node's document plus the shell's own counters,
    /// written by one writer.
    func statusResponse(pretty: Bool) -> HTTPResponse {
        var w = JSONWriter()
        w.object { w in
            node.status(into: &w)
            w.member("version", options.version)
            w.member("cluster_key") { w in
                w.object { w in
                    if let keyring {
                        w.member("configured", true)
                        w.member("keys", keyring.keys.count)
                        w.member("primary_id", keyring.primary.id.description)
                        w.member("sealed_links", table.links.filter { if case .channel? = $0.seal { return true } else { return false } }.count)
                    } else {
                        w.member("configured", false)
                        w.member("warning", "peer links are neither authenticated nor sealed: any host that reaches this port can join as a peer")
                    }
                }
            }
            if let dns {
                w.member("dns") { w in
                    w.object { w in
                        w.member("port", dns.port)
                        w.member("domain", options.dnsDomain)
                        w.member("ttl", options.dnsTTLSeconds)
                        w.member("answered") { w in w.object { w in for a in dns.answerCounts { w.member(a.transport + "_" + a.rcode.lowercased(), a.count) } } }
                    }
                }
            }
            w.member("uptime_ms", now.ms - startedAt.ms)
            // The clocks the *_ms members are read on: monotonic, and wall (newest_change_ms).
            w.member("now_ms", now.ms)
            w.member("now_wall_ms", now.wallMs)
            w.member("connections") { w in
                w.object { w in
                    w.member("open", table.count)
                    w.member("max", maxConnections)
                    w.member("accepted", table.accepted)
                    w.member("rejected", table.rejected)
                    w.member("max_per_address", options.maxConnectionsPerAddress)
                    w.member("rejected_per_address", table.rejectedPerAddress)
                    w.member("idle_closed_at_cap", table.evictedIdle)
                    w.member("accept_pauses", acceptPauses)
                    // Connection objects alive, freed or not: equals "open" when none leak.
                    w.member("objects", Connection.liveObjects)
                }
            }
        }
        return HTTPResponse(status: 200, body: w.document(pretty: pretty),
                            headers: node.isStale ? [Node.staleHeader] : [])
    }
}
