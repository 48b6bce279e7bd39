import Glibc
import RarangiConfig
import RarangiCore
import RarangiProtocol
import RarangiReactor

/// Prints one line on stderr and exits: 2 for a usage or configuration
/// problem, 1 when the daemon cannot start.
func fail(_ message: String, status: Int32) -> Never {
    fputs("rarangid: error: \(message)\n", stderr)
    exit(status)
}

func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, buf.count)
    let name = String(cString: buf).split(separator: ".").first.map(String.init) ?? "localhost"
    return name.isEmpty ? "localhost" : name
}

/// Reads the file (if any) and merges it with the flags: at start and on SIGHUP.
func loadConfig(_ flags: RawSettings) throws(ConfigError) -> DaemonConfig {
    var file: RawSettings = [:]
    if let path = flags["config"]?.last {
        file = try ConfigFile.load(path: path, nameFromFlags: flags["name"]?.last)
    }
    return try FlagParser.resolve(flags: flags, file: file, hostname: hostName())
}

let config: DaemonConfig
let command: Command
let flags: RawSettings
do {
    let (cmd, parsedFlags) = try FlagParser.parse(Array(CommandLine.arguments.dropFirst()))
    flags = parsedFlags
    command = cmd
    switch command {
    case .help:
        print(Settings.helpText, terminator: "")
        exit(0)
    case .version:
        print("rarangid \(RarangiVersion.string)")
        exit(0)
    case .run, .checkConfig:
        break
    }
    config = try loadConfig(flags)
} catch {
    fail(error.message, status: 2)
}

if command == .checkConfig {
    print("configuration ok: env=\(config.environment) slot=\(config.slot) cluster=\(config.cluster) name=\(config.name) listen=\(config.listen) peers=\(config.peers.map(\.description).joined(separator: ",")) master=\(config.master) liveness=\(config.livenessSeconds) cluster_keys=\(config.keyring?.keys.count ?? 0) tokens=\(config.tokens?.count ?? 0) read_token_required=\(config.readTokenRequired) dns=\(config.dnsListen.map { "\($0) domain=\(config.dnsDomain) ttl=\(config.dnsTTLSeconds)" } ?? "off")")
    exit(0)
}

let logger = Logger(level: config.logLevel)
// Secrets readable by any user on the host are worth saying so at start.
for (what, path) in [("cluster_key_file", config.clusterKeyFile), ("token_file", config.tokenFile)] {
    var st = stat()
    if let path, stat(path, &st) == 0, st.st_mode & 0o007 != 0 {
        logger.log(.warn, "secret_file_readable_by_others", [("file", what), ("path", path),
                                                               ("mode", String(st.st_mode & 0o777, radix: 8)),
                                                               ("fix", "chmod 0640 and group rarangi")])
    }
}
do {
    var nodeConfig = config.nodeConfig
    // This life of the daemon: a restart is a new origin generation (H7).
    var wall = timespec()
    clock_gettime(CLOCK_REALTIME, &wall)
    nodeConfig.generation = UInt64(wall.tv_sec) * 1000 + UInt64(wall.tv_nsec) / 1_000_000
    var seed: UInt64 = 0
    let urandom = open("/dev/urandom", O_RDONLY)
    if urandom >= 0 {
        _ = withUnsafeMutableBytes(of: &seed) { read(urandom, $0.baseAddress, 8) }
        close(urandom)
    }
    seed ^= nodeConfig.generation
    let daemon = try Daemon(
        node: Node(config: nodeConfig, seed: seed),
        options: Daemon.Options(host: config.listen.host, port: config.listen.port,
                                maxConnections: config.maxConnections,
                                maxConnectionsPerAddress: config.maxConnectionsPerAddress, maxBodyBytes: config.maxBodyBytes,
                                idleTimeoutMs: Int64(config.idleTimeoutSeconds) * 1000,
                                requestTimeoutMs: Int64(config.requestTimeoutSeconds) * 1000,
                                version: RarangiVersion.string,
                                dnsHost: config.dnsListen?.host, dnsPort: config.dnsListen?.port ?? 0,
                                dnsDomain: config.dnsDomain, dnsTTLSeconds: config.dnsTTLSeconds),
        logger: logger, resolvConf: config.resolvConf)
    daemon.keyring = config.keyring
    daemon.access = Daemon.Access(tokens: config.tokens, readTokenRequired: config.readTokenRequired)
    daemon.reloader = {
        do {
            let fresh = try loadConfig(flags)
            return .success(Daemon.Reloadable(logLevel: fresh.logLevel, keyring: fresh.keyring,
                                                access: Daemon.Access(tokens: fresh.tokens, readTokenRequired: fresh.readTokenRequired)))
        } catch {
            return .failure(ConfigReloadError("\(error)"))
        }
    }
    exit(daemon.run())
} catch {
    fail("\(error)", status: 1)
}
