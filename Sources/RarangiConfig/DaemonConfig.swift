import RarangiCore
import RarangiProtocol
import RarangiSeal

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
    /// Milliseconds tombstones are kept (nil: derived from the origin timeout).
    public var tombstoneTTLMs: Int?
    /// Milliseconds a member may stay out of the majority before it is retired.
    public var forgetAfterMs: Int = 259_200_000
    /// Client connections served at once.
    public var maxConnections: Int
    /// Client connections served at once from one address.
    public var maxConnectionsPerAddress = 5000
    /// Largest body accepted.
    public var maxBodyBytes: Int
    /// Seconds an idle connection stays open.
    public var idleTimeoutSeconds: Int
    /// Seconds to finish a started request.
    public var requestTimeoutSeconds: Int
    /// The resolver configuration peer names are looked up with.
    public var resolvConf = "/etc/resolv.conf"
    /// The cluster key file, if any.
    public var clusterKeyFile: String?
    /// Its keys, read when the configuration is resolved (at start and on SIGHUP).
    public var keyring: ClusterKeyring?
    /// The token file, if any.
    public var tokenFile: String?
    /// Its tokens, read when the configuration is resolved.
    public var tokens: AccessTokens?
    /// Whether reads need a token too.
    public var readTokenRequired = false
    /// Where DNS is answered (UDP and TCP), nil when it is off.
    public var dnsListen: Endpoint?
    /// The DNS domain, lower case, with its trailing dot.
    public var dnsDomain = "rarangi."
    /// TTL of DNS answers, in seconds.
    public var dnsTTLSeconds = 0
    /// Least severe level logged.
    public var logLevel: LogEvent.Level
    /// The configuration file read, if any.
    public var configFile: String?

    /// The core's part of the configuration.
    public var nodeConfig: NodeConfig {
        NodeConfig(environment: environment, cluster: cluster, name: name,
                   livenessSeconds: livenessSeconds, maxTTLSeconds: maxTTLSeconds,
                   master: master, peers: peers,
                   gossipIntervalMs: Int64(gossipIntervalMs), originTimeoutMs: Int64(originTimeoutMs),
                   tombstoneTTLMs: tombstoneTTLMs.map(Int64.init), forgetAfterMs: Int64(forgetAfterMs),
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
