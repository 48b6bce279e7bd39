import RarangiCore
import RarangiProtocol

/// One daemon setting: its flag, default, bounds and help. The flag parser,
/// the configuration file reader, `--help` and the man page all follow this
/// table, and a test checks the man page against it.
public struct Setting: Sendable {
    /// What values the setting takes, with its bounds.
    public enum Kind: Sendable {
        /// Free text (validated by `check`).
        case text
        /// A whole number within bounds.
        case integer(ClosedRange<Int>)
        /// One of a fixed list.
        case choice([String])
        /// `HOST:PORT`.
        case endpoint
        /// A switch: present or absent on the command line, true/false in the file.
        case flag
        /// An action such as --help that takes no value.
        case action
    }

    /// The long flag's name, without `--`.
    public let name: String
    /// The placeholder for the value in help (`SECONDS`).
    public let metavar: String
    /// What values it takes.
    public let kind: Kind
    /// The default, as text; nil when there is none or it is computed.
    public let defaultValue: String?
    /// How the default is described when it is computed (e.g. from the environment).
    public let defaultText: String?
    /// Whether the flag may be given more than once.
    public let repeatable: Bool
    /// Whether the configuration file may set it.
    public let inFile: Bool
    /// One sentence of help.
    public let help: String
}

/// The table of every `rarangid` setting.
public enum Settings {
    /// The table, in the order `--help` and the man page list them.
    public static let all: [Setting] = [
        Setting(name: "env", metavar: "ENV", kind: .choice(WellKnown.environments), defaultValue: nil,
                defaultText: "required", repeatable: false, inFile: true,
                help: "Environment to serve: production, staging, testing or development."),
        Setting(name: "slot", metavar: "SLOT", kind: .choice(["a", "b"]), defaultValue: "a", defaultText: nil,
                repeatable: false, inFile: true,
                help: "Which of the environment's two daemons on this host this is; picks the well-known port."),
        Setting(name: "cluster", metavar: "NAME", kind: .text, defaultValue: "default", defaultText: nil,
                repeatable: false, inFile: true, help: "Name of the cluster this daemon belongs to."),
        Setting(name: "name", metavar: "NAME", kind: .text, defaultValue: nil, defaultText: "HOSTNAME-ENV-SLOT",
                repeatable: false, inFile: true, help: "Unique name of this daemon among its peers."),
        Setting(name: "listen", metavar: "ADDR:PORT", kind: .endpoint, defaultValue: nil,
                defaultText: "0.0.0.0 and the well-known port of ENV and SLOT", repeatable: false, inFile: true,
                help: "Address and port to bind; an empty address binds every interface."),
        Setting(name: "peer", metavar: "HOST:PORT", kind: .endpoint, defaultValue: nil, defaultText: "none",
                repeatable: true, inFile: true, help: "A neighbour daemon to replicate with; repeat for more."),
        Setting(name: "master", metavar: "", kind: .flag, defaultValue: "false", defaultText: nil,
                repeatable: false, inFile: true, help: "Act as a master: link to every other master."),
        Setting(name: "liveness", metavar: "SECONDS", kind: .integer(1...86400), defaultValue: "90", defaultText: nil,
                repeatable: false, inFile: true,
                help: "Seconds without a refresh after which a registration expires."),
        Setting(name: "max-ttl", metavar: "SECONDS", kind: .integer(1...604800), defaultValue: "86400", defaultText: nil,
                repeatable: false, inFile: true, help: "Longest TTL a client may ask for with ?ttl= on a registration."),
        Setting(name: "gossip-interval", metavar: "MS", kind: .integer(50...600000), defaultValue: "1000",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Milliseconds between anti-entropy rounds with each peer."),
        Setting(name: "origin-timeout", metavar: "MS", kind: .integer(500...3_600_000), defaultValue: "10000",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Milliseconds after which an origin daemon nobody can reach is dead and its records are purged (by the majority side only)."),
        Setting(name: "tombstone-ttl", metavar: "MS", kind: .integer(1000...604_800_000), defaultValue: nil,
                defaultText: "the larger of 60000 and three origin timeouts", repeatable: false, inFile: true,
                help: "Milliseconds removals and DELETEs are kept for peers that missed them; at least the origin timeout. A peer cut off for longer gets a whole snapshot instead."),
        Setting(name: "forget-after", metavar: "MS", kind: .integer(60_000...31_536_000_000), defaultValue: "259200000",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Milliseconds a member may stay out of the majority before a master of the majority retires it for good (as rarangi forget does); at least the origin timeout."),
        Setting(name: "max-connections", metavar: "N", kind: .integer(16...1000000), defaultValue: "10000",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Client connections served at once; more are answered 503 and closed."),
        Setting(name: "max-connections-per-address", metavar: "N", kind: .integer(1...1000000), defaultValue: nil,
                defaultText: "half of --max-connections", repeatable: false, inFile: true,
                help: "Client connections served at once from one address; more are answered 503 and closed, so one host cannot take every slot."),
        Setting(name: "max-body", metavar: "BYTES", kind: .integer(256...16777216), defaultValue: "65536",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Largest request body accepted; larger ones are answered 413."),
        Setting(name: "idle-timeout", metavar: "SECONDS", kind: .integer(1...86400), defaultValue: "60",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Seconds an idle keep-alive connection, or a client that reads none of its answers, is kept open."),
        Setting(name: "request-timeout", metavar: "SECONDS", kind: .integer(1...3600), defaultValue: "10",
                defaultText: nil, repeatable: false, inFile: true,
                help: "Seconds a client has to finish sending a request it has started."),
        Setting(name: "resolv-conf", metavar: "FILE", kind: .text, defaultValue: "/etc/resolv.conf", defaultText: nil,
                repeatable: false, inFile: true,
                help: "Resolver configuration for peers named by host name; names are looked up without blocking, afresh at every connect, the hosts file first."),
        Setting(name: "cluster-key-file", metavar: "FILE", kind: .text, defaultValue: nil, defaultText: "none",
                repeatable: false, inFile: true,
                help: "Cluster keys, one a line as rarangi keygen prints them: peer links prove the first and accept any, and are sealed. Without it any host that reaches the port can join as a peer."),
        Setting(name: "token-file", metavar: "FILE", kind: .text, defaultValue: nil, defaultText: "none",
                repeatable: false, inFile: true,
                help: "Write tokens, one a line as TOKEN SERVICE-PATTERN... (web-*, *): PUT, hold and DELETE of a service then need a token covering it."),
        Setting(name: "read-token-required", metavar: "", kind: .flag, defaultValue: "false", defaultText: nil,
                repeatable: false, inFile: true,
                help: "Reads need a token too: lookups and watches one covering the service, other reads any token of the file."),
        Setting(name: "dns-listen", metavar: "ADDR[:PORT]", kind: .text, defaultValue: nil, defaultText: "off",
                repeatable: false, inFile: true,
                help: "Answer DNS (UDP and TCP) on this address; without a port, the well-known DNS port of ENV and SLOT (two above the HTTP port)."),
        Setting(name: "dns-domain", metavar: "DOMAIN", kind: .text, defaultValue: "rarangi.", defaultText: nil,
                repeatable: false, inFile: true,
                help: "The DNS domain answered for: SERVICE.service.DOMAIN, _SERVICE._tcp.service.DOMAIN, NAME.node.DOMAIN."),
        Setting(name: "dns-ttl", metavar: "SECONDS", kind: .integer(0...86400), defaultValue: "0", defaultText: nil,
                repeatable: false, inFile: true,
                help: "TTL of DNS answers; 0 keeps resolvers from caching what the replica already keeps current."),
        Setting(name: "log-level", metavar: "LEVEL", kind: .choice(LogEvent.Level.allCases.map(\.name)),
                defaultValue: "info", defaultText: nil, repeatable: false, inFile: true,
                help: "Least severe log level written to stderr: debug, info, warn or error."),
        Setting(name: "config", metavar: "FILE", kind: .text, defaultValue: nil, defaultText: "none",
                repeatable: false, inFile: false, help: "YAML configuration file; flags override its values."),
        Setting(name: "check-config", metavar: "", kind: .action, defaultValue: nil, defaultText: nil,
                repeatable: false, inFile: false, help: "Validate the configuration and flags, print the result, and exit."),
        Setting(name: "help", metavar: "", kind: .action, defaultValue: nil, defaultText: nil,
                repeatable: false, inFile: false, help: "Print this help and exit."),
        Setting(name: "version", metavar: "", kind: .action, defaultValue: nil, defaultText: nil,
                repeatable: false, inFile: false, help: "Print the version and exit."),
    ]

    /// The setting called `name`.
    public static func named(_ name: String) -> Setting? { all.first { $0.name == name } }

    /// The text of `rarangid --help`, generated from the table.
    public static var helpText: String {
        var s = """
        Usage: rarangid --env ENV [options]

        The RarangiRatonga catalogue daemon: services register with it over HTTP,
        clients look them up, and daemons replicate the catalogue among themselves.

        Options:

        """
        for setting in all {
            var flag = "--\(setting.name)"
            if !setting.metavar.isEmpty { flag += " \(setting.metavar)" }
            var help = setting.help
            if let d = setting.defaultText ?? setting.defaultValue, setting.kind.takesValue {
                help += " (default: \(d))"
            }
            s += "  " + flag.padding(26) + help + "\n"
        }
        s += "\nWell-known ports (slot a / slot b):\n"
        for e in WellKnown.table {
            s += "  " + e.environment.padding(14) + "\(e.portA) / \(e.portB)\n"
        }
        s += "\nSee rarangid(8).\n"
        return s
    }
}

extension Setting.Kind {
    /// Whether the flag is followed by a value.
    public var takesValue: Bool {
        switch self {
        case .flag, .action: return false
        default: return true
        }
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
