import RarangiCore

/// A `HOST:PORT` pair as given on the command line or in the file.
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

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Everything the daemon runs with, after defaults, the file and flags are merged.
public struct DaemonConfig: Sendable {
    /// The environment served.
    public var environment: String
    /// `a` or `b`.
    public var slot: String
    /// The cluster's name.
    public var cluster: String
    /// This daemon's unique name.
    public var name: String
    /// Where to listen.
    public var listen: Endpoint
    /// Neighbours to replicate with.
    public var peers: [Endpoint]
    /// Whether this daemon is a master.
    public var master: Bool
    /// Seconds without refresh before expiry.
    public var livenessSeconds: Int
    /// Longest per-registration TTL.
    public var maxTTLSeconds: Int
    /// Milliseconds between anti-entropy rounds.
    public var gossipIntervalMs: Int
    /// Milliseconds after which an unreachable origin is dead.
    public var originTimeoutMs: Int = 10_000
    /// Client connections served at once.
    public var maxConnections: Int
    /// Largest body accepted.
    public var maxBodyBytes: Int
    /// Seconds an idle connection stays open.
    public var idleTimeoutSeconds: Int
    /// Seconds to finish a started request.
    public var requestTimeoutSeconds: Int
    /// Least severe level logged.
    public var logLevel: LogEvent.Level
    /// The configuration file read, if any.
    public var configFile: String?

    /// The core's part of the configuration.
    public var nodeConfig: NodeConfig {
        NodeConfig(environment: environment, cluster: cluster, name: name,
                   livenessSeconds: livenessSeconds, maxTTLSeconds: maxTTLSeconds,
                   master: master, peers: peers.map { NodeConfig.Peer(host: $0.host, port: $0.port) },
                   gossipIntervalMs: Int64(gossipIntervalMs), originTimeoutMs: Int64(originTimeoutMs),
                   advertiseHost: listen.host == "0.0.0.0" || listen.host == "::" ? "" : listen.host,
                   advertisePort: listen.port)
    }
}

/// A configuration problem; `message` is the one line printed on stderr.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The sentence for the operator.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
