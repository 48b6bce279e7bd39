/// What a node needs to know about itself; built by the daemon from flags
/// and the configuration file, or by a test directly.
public struct NodeConfig: Sendable {
    /// The environment served (production, staging, testing, development).
    public var environment: String
    /// The cluster this daemon belongs to.
    public var cluster: String
    /// This daemon's unique name.
    public var name: String
    /// Seconds without a refresh after which a registration expires.
    public var livenessSeconds: Int
    /// The longest TTL a client may set on one registration.
    public var maxTTLSeconds: Int

    /// Creates a configuration.
    public init(environment: String, cluster: String = "default", name: String,
                livenessSeconds: Int = 90, maxTTLSeconds: Int = 86400) {
        self.environment = environment
        self.cluster = cluster
        self.name = name
        self.livenessSeconds = livenessSeconds
        self.maxTTLSeconds = maxTTLSeconds
    }
}
