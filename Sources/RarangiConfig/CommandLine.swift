import RarangiCore
import RarangiProtocol
import RarangiSeal
import RarangiWire

/// What the command line asks for.
public enum Command: Equatable {
    /// Run the daemon with this configuration.
    case run
    /// Print help.
    case help
    /// Print the version.
    case version
    /// Validate the configuration and exit.
    case checkConfig
}

/// Raw setting values by setting name, before validation; the file and the
/// flags both produce one, and the flags' values win.
public typealias RawSettings = [String: [String]]

/// Parses `rarangid`'s arguments against the settings table.
public enum FlagParser {
    /// Splits `arguments` (without the program name) into an action and raw values.
    public static func parse(_ arguments: [String]) throws(ConfigError) -> (Command, RawSettings) {
        var raw: RawSettings = [:]
        var command = Command.run
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard arg.hasPrefix("--"), arg.count > 2 else {
                throw ConfigError("unexpected argument '\(arg)'; see rarangid --help")
            }
            var name = String(arg.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let setting = Settings.named(name) else {
                throw ConfigError("unknown option '--\(name)'; see rarangid --help")
            }
            switch setting.kind {
            case .action:
                if inline != nil { throw ConfigError("--\(name) takes no value") }
                switch name {
                case "help": command = .help
                case "version": if command != .help { command = .version }
                default: if command == .run { command = .checkConfig }
                }
                continue
            case .flag:
                let value = inline ?? "true"
                raw[name] = [value]
                continue
            default:
                break
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard i < arguments.count else { throw ConfigError("--\(name) needs a value (\(setting.metavar))") }
                value = arguments[i]
                i += 1
            }
            if setting.repeatable {
                raw[name, default: []].append(value)
            } else {
                if raw[name] != nil { throw ConfigError("--\(name) is given more than once") }
                raw[name] = [value]
            }
        }
        return (command, raw)
    }

    /// Merges file and flag values over the defaults and validates every one.
    public static func resolve(flags: RawSettings, file: RawSettings, hostname: String) throws(ConfigError) -> DaemonConfig {
        var merged = file
        for (k, v) in flags { merged[k] = v }

        func one(_ name: String) -> String? { merged[name]?.last ?? Settings.named(name)?.defaultValue }
        func checked(_ name: String) throws(ConfigError) -> String? {
            guard let value = one(name) else { return nil }
            try validate(name, value)
            return value
        }
        func int(_ name: String) throws(ConfigError) -> Int { Int(try checked(name)!)! }

        // A file value overridden by a flag must still be valid: the file is used alone later.
        for (name, values) in file where Settings.named(name) != nil {
            for value in values where name != "peer" { try validate(name, value) }
        }
        guard let environment = try checked("env") else {
            throw ConfigError("no environment given: use --env with one of \(WellKnown.environments.joined(separator: ", "))")
        }
        let slot = try checked("slot")!
        let cluster = try checked("cluster")!
        guard Names.isNodeName(cluster) else {
            throw ConfigError("invalid --cluster '\(cluster)': use 1 to 63 letters, digits, '-', '_' or '.'")
        }
        let name = try checked("name") ?? "\(hostname)-\(environment)-\(slot)"
        guard Names.isNodeName(name) else {
            throw ConfigError("invalid --name '\(name)': use 1 to 63 letters, digits, '-', '_' or '.'")
        }
        var listen: Endpoint
        if let l = try checked("listen") {
            listen = Endpoint(parsing: l)!
        } else {
            listen = Endpoint(host: "0.0.0.0", port: WellKnown.port(environment: environment, slot: slot)!)
        }
        if listen.host.isEmpty { listen.host = "0.0.0.0" }
        var peers: [Endpoint] = []
        for p in merged["peer"] ?? [] {
            guard let e = Endpoint(parsing: p), !e.host.isEmpty, e.port > 0 else {
                throw ConfigError("invalid --peer '\(p)': expected HOST:PORT with a port from 1 to 65535")
            }
            peers.append(e)
        }
        if peers.isEmpty, let sibling = siblingSlot(environment: environment, slot: slot, listen: listen) {
            // With no peers configured, the two slots of an environment on a
            // host replicate with each other (D5): either answers for everything.
            peers = [sibling]
        }
        var config = DaemonConfig(
            environment: environment, slot: slot, cluster: cluster, name: name, listen: listen, peers: peers,
            master: try checked("master") == "true",
            livenessSeconds: try int("liveness"), maxTTLSeconds: try int("max-ttl"),
            gossipIntervalMs: try int("gossip-interval"), maxConnections: try int("max-connections"),
            maxBodyBytes: try int("max-body"), idleTimeoutSeconds: try int("idle-timeout"),
            requestTimeoutSeconds: try int("request-timeout"),
            logLevel: LogEvent.Level.allCases.first { $0.name == (try? checked("log-level")) } ?? .info,
            configFile: merged["config"]?.last)
        config.maxConnectionsPerAddress = merged["max-connections-per-address"] != nil
            ? try int("max-connections-per-address") : max(1, config.maxConnections / 2)
        config.originTimeoutMs = try int("origin-timeout")
        if merged["tombstone-ttl"] != nil {
            let ttl = try int("tombstone-ttl")
            guard ttl >= config.originTimeoutMs else {
                throw ConfigError("--tombstone-ttl \(ttl) is shorter than --origin-timeout \(config.originTimeoutMs): a dead daemon's life must be kept out at least as long as it took to find it dead")
            }
            config.tombstoneTTLMs = ttl
        }
        config.forgetAfterMs = try int("forget-after")
        guard config.forgetAfterMs >= config.originTimeoutMs else {
            throw ConfigError("--forget-after \(config.forgetAfterMs) is shorter than --origin-timeout \(config.originTimeoutMs): a member is retired only after it could have been found dead")
        }
        config.resolvConf = try checked("resolv-conf")!
        /// Reads a secret file a setting names, its errors under the flag's name.
        func secret<T>(_ flag: String, _ load: (String) throws(KeyFileError) -> T) throws(ConfigError) -> (String, T)? {
            guard let path = merged[flag]?.last else { return nil }
            do {
                return (path, try load(path))
            } catch {
                throw ConfigError("--\(flag): \(error.message)")
            }
        }
        if let (path, ring) = try secret("cluster-key-file", { (p: String) throws(KeyFileError) in try ClusterKeyring.load(path: p) }) {
            (config.clusterKeyFile, config.keyring) = (path, ring)
        }
        if let (path, tokens) = try secret("token-file", { (p: String) throws(KeyFileError) in try AccessTokens.load(path: p) }) {
            (config.tokenFile, config.tokens) = (path, tokens)
        }
        config.readTokenRequired = try checked("read-token-required") == "true"
        if let raw = try checked("dns-listen") {
            let dnsPort = WellKnown.dnsPort(environment: environment, slot: slot)!
            let endpoint: Endpoint?
            if let e = Endpoint(parsing: raw) {
                // Port 0 picks a free one (tests); /_status shows which.
                endpoint = Endpoint(host: e.host.isEmpty ? "0.0.0.0" : e.host, port: e.port)
            } else if !raw.isEmpty, !raw.contains(":") || (raw.hasPrefix("[") && raw.hasSuffix("]")) {
                endpoint = Endpoint(host: raw.hasPrefix("[") ? String(raw.dropFirst().dropLast()) : raw, port: dnsPort)
            } else {
                endpoint = nil
            }
            guard let endpoint else {
                throw ConfigError("invalid --dns-listen '\(raw)': expected ADDR, ADDR:PORT or [IPV6]:PORT")
            }
            config.dnsListen = endpoint
        }
        let domain = try checked("dns-domain")!.lowercased()
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let bare = labels.last == "" ? labels.dropLast() : labels[...]
        guard !bare.isEmpty, bare.allSatisfy({ l in !l.isEmpty && l.utf8.count <= 63 && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }),
              domain.utf8.count <= 200 else {
            throw ConfigError("invalid --dns-domain '\(domain)': use dot-separated labels of letters, digits and '-', such as rarangi. or sd.example.net.")
        }
        config.dnsDomain = bare.joined(separator: ".") + "."
        config.dnsTTLSeconds = try int("dns-ttl")
        if config.readTokenRequired, config.tokens == nil {
            throw ConfigError("--read-token-required needs --token-file: without tokens no read could be answered")
        }
        return config
    }

    /// The other slot of this daemon's environment on this host, when this
    /// daemon listens on its own slot's well-known port: the same address
    /// (loopback for every interface), the other well-known port.
    static func siblingSlot(environment: String, slot: String, listen: Endpoint) -> Endpoint? {
        guard listen.port == WellKnown.port(environment: environment, slot: slot),
              let other = WellKnown.port(environment: environment, slot: slot == "a" ? "b" : "a") else { return nil }
        let wildcard = listen.host.isEmpty || listen.host == "0.0.0.0" || listen.host == "::"
        return Endpoint(host: wildcard ? "127.0.0.1" : listen.host, port: other)
    }

    /// Checks one value against its setting's kind and bounds.
    static func validate(_ name: String, _ value: String) throws(ConfigError) {
        let setting = Settings.named(name)!
        switch setting.kind {
        case let .choice(options):
            guard options.contains(value) else {
                throw ConfigError("invalid --\(name) '\(value)': expected one of \(options.joined(separator: ", "))")
            }
        case let .integer(range):
            guard let n = Int(value), range.contains(n) else {
                throw ConfigError("invalid --\(name) '\(value)': expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
        case .endpoint:
            guard Endpoint(parsing: value) != nil else {
                throw ConfigError("invalid --\(name) '\(value)': expected HOST:PORT with a port from 0 to 65535")
            }
        case .flag:
            guard value == "true" || value == "false" else {
                throw ConfigError("invalid --\(name) '\(value)': expected true or false")
            }
        case .text, .action:
            break
        }
    }
}
