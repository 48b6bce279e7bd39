/// The well-known environments and their ports: the one table of ports
/// (MISSION D3, D5). Each environment has two slots, `a` and `b`, so one
/// daemon of a host can restart while the other serves. Clients need only
/// the environment's name to find the daemons of their own host.
public enum WellKnown {
    /// An environment and the ports of its two slots.
    public struct Entry: Sendable, Equatable {
        /// The environment's name.
        public let environment: String
        /// The port of slot `a`.
        public let portA: Int
        /// The port of slot `b`.
        public let portB: Int

        /// The DNS port (UDP and TCP) of slot `a`: two above its HTTP port.
        public var dnsPortA: Int { portA + 2 }
        /// The DNS port of slot `b`.
        public var dnsPortB: Int { portB + 2 }
    }

    /// The table. Environments never share a port, so a daemon of one can
    /// never be mistaken for a daemon of another on the same host.
    public static let table: [Entry] = [
        Entry(environment: "production", portA: 4710, portB: 4711),
        Entry(environment: "staging", portA: 4720, portB: 4721),
        Entry(environment: "testing", portA: 4730, portB: 4731),
        Entry(environment: "development", portA: 4740, portB: 4741),
    ]

    /// The DNS port of `slot` of `environment` (`--dns-listen ADDR`), or
    /// nil when either is unknown.
    public static func dnsPort(environment: String, slot: String) -> Int? {
        port(environment: environment, slot: slot).map { $0 + 2 }
    }

    /// The names of the environments, in table order.
    public static var environments: [String] { table.map(\.environment) }

    /// The port of `slot` ("a" or "b") of `environment`, or nil when either is unknown.
    public static func port(environment: String, slot: String) -> Int? {
        guard let e = table.first(where: { $0.environment == environment }) else { return nil }
        switch slot {
        case "a": return e.portA
        case "b": return e.portB
        default: return nil
        }
    }
}
