import Foundation
import RarangiProtocol
/// `Endpoint` is part of the library's API: callers need not import RarangiProtocol.
@_exported import struct RarangiProtocol.Endpoint

/// How a client finds its daemons: by environment name alone (MISSION D3,
/// D5, H8), with optional fallbacks, or pointed at explicit daemons.
public struct Configuration: Sendable {
    /// The environment this client belongs to; every daemon it talks to must serve it.
    public var environment: String
    /// Daemons tried after the two local well-known slots.
    public var fallbackServers: [Endpoint]
    /// When non-empty, the only daemons used: discovery is skipped.
    public var servers: [Endpoint]
    /// Where log lines go (default: one `key=value` line on stderr each).
    public var log: @Sendable (String) -> Void
    /// How long a connection attempt may take before the next daemon is tried.
    public var connectTimeoutMs: Int64
    /// A held stream silent for this long means its daemon is gone (it pings every 2 s).
    public var silenceTimeoutMs: Int64
    /// The token sent with every request (`Authorization: Bearer`), for
    /// daemons run with --token-file; nil sends none.
    public var token: String?

    /// Creates a configuration. `servers` overrides discovery; `fallbackServers`
    /// are tried after the local slots a and b.
    public init(environment: String, servers: [Endpoint] = [], fallbackServers: [Endpoint] = [],
                log: @escaping @Sendable (String) -> Void = Configuration.stderrLog) {
        self.environment = environment
        self.servers = servers
        self.fallbackServers = fallbackServers
        self.log = log
        self.connectTimeoutMs = 1000
        self.silenceTimeoutMs = 6000
    }

    /// Writes a line to stderr.
    public static let stderrLog: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The daemons to try, in order: the explicit servers; or slot a and slot b
    /// of the environment on 127.0.0.1, then the fallbacks.
    public func candidates() throws -> [Endpoint] {
        if !servers.isEmpty { return servers }
        guard let (a, b) = Configuration.wellKnownPorts(environment) else {
            throw RarangiError.unknownEnvironment(environment)
        }
        var list = [Endpoint(host: "127.0.0.1", port: a), Endpoint(host: "127.0.0.1", port: b)]
        for s in fallbackServers where !list.contains(s) { list.append(s) }
        return list
    }

    /// The ports of slots a and b of `environment`. A testing aid overrides
    /// them: `RARANGI_PORTS_<ENV>=PORT_A,PORT_B` (e.g. `RARANGI_PORTS_TESTING=5730,5731`).
    public static func wellKnownPorts(_ environment: String) -> (Int, Int)? {
        guard let a = WellKnown.port(environment: environment, slot: "a"),
              let b = WellKnown.port(environment: environment, slot: "b") else { return nil }
        let key = "RARANGI_PORTS_" + environment.uppercased()
        if let value = getenv(key) {
            let raw = String(cString: value)
            let parts = raw.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if parts.count == 2 { return (parts[0], parts[1]) }
        }
        return (a, b)
    }

    func logLine(_ level: String, _ event: String, _ fields: [(String, String)]) {
        var s = "level=\(level) event=\(event)"
        for (k, v) in fields {
            s += " \(k)=" + (v.isEmpty || v.contains(" ") || v.contains("=") ? "\"\(v)\"" : v)
        }
        log(s)
    }
}
