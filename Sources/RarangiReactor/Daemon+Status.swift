import RarangiCore
import RarangiWire

extension Daemon {
    /// `GET /_status`: the node's members plus the shell's connection counters.
    func statusResponse(pretty: Bool) -> HTTPResponse {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.append(contentsOf: JSONWriter.members { node.status(into: &$0) })
        out.append(contentsOf: #","version":"#.utf8)
        JSON.appendString(options.version, to: &out)
        out.append(contentsOf: #","uptime_ms":"#.utf8)
        appendInt(Int(now.ms - startedAt.ms), to: &out)
        out.append(contentsOf: #","connections":{"open":"#.utf8)
        appendInt(table.count, to: &out)
        out.append(contentsOf: #","max":"#.utf8)
        appendInt(maxConnections, to: &out)
        out.append(contentsOf: #","accepted":"#.utf8)
        appendInt(table.accepted, to: &out)
        out.append(contentsOf: #","rejected":"#.utf8)
        appendInt(table.rejected, to: &out)
        out.append(contentsOf: #","accept_pauses":"#.utf8)
        appendInt(acceptPauses, to: &out)
        out.append(contentsOf: #","objects":"#.utf8)
        // Connection objects alive, freed or not: equals "open" when none leak.
        appendInt(Connection.liveObjects, to: &out)
        out.append(contentsOf: "}}".utf8)
        return HTTPResponse(status: 200, body: pretty ? JSONPretty.indent(out) : out + [10],
                            headers: node.isStale ? [Node.staleHeader] : [])
    }
}
