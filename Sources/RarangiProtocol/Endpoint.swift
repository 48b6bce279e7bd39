/// A daemon's address, `HOST:PORT`: where a daemon listens, a peer it
/// dials, a server a client is pointed at.
public struct Endpoint: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The host name or address (may be empty for "every interface").
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[V6]:PORT` or `:PORT`. Port 0 parses (a listener
    /// may ask the kernel for a free port); peers are checked for 1–65535.
    public init?(parsing text: String) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard let p = Int(portPart), (0...65535).contains(p) else { return nil }
        if hostPart.contains(where: { $0 == " " || $0 == "/" }) { return nil }
        self.host = String(hostPart)
        self.port = p
    }

    /// Whether a connection can be made to it (a host, and a port other than 0).
    public var isDialable: Bool { !host.isEmpty && port > 0 }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
