import CLibevent
import Glibc
import RarangiCore
import RarangiSeal
import RarangiWire

/// The libevent shell around the pure node. One event base on one thread
/// owns every socket and timer; callbacks turn bytes and timers into inputs
/// for the node and execute its effects. After each loop turn the shell
/// flushes pending writes, frees connections closed during the turn and
/// re-arms its one timer for the node's earliest deadline.
public final class Daemon {
    /// The shell's own settings.
    public struct Options {
        /// Address to bind.
        public var host: String
        /// Port to bind; 0 picks a free one (tests).
        public var port: Int
        /// Client connections served at once.
        public var maxConnections: Int
        /// Client connections served at once from one address.
        public var maxConnectionsPerAddress: Int
        /// Largest request body.
        public var maxBodyBytes: Int
        /// Idle keep-alive connections are closed after this.
        public var idleTimeoutMs: Int64
        /// A started request must be complete within this.
        public var requestTimeoutMs: Int64
        /// Reported in `Server` and status.
        public var version: String
        /// Where DNS is answered (UDP and TCP), nil when it is off.
        public var dnsHost: String?
        /// Its port; 0 picks a free one (tests).
        public var dnsPort = 0
        /// The DNS domain (`rarangi.`).
        public var dnsDomain = "rarangi."
        /// TTL of DNS answers, in seconds.
        public var dnsTTLSeconds = 0

        /// Creates options.
        public init(host: String, port: Int, maxConnections: Int, maxConnectionsPerAddress: Int? = nil, maxBodyBytes: Int,
                    idleTimeoutMs: Int64, requestTimeoutMs: Int64, version: String,
                    dnsHost: String? = nil, dnsPort: Int = 0, dnsDomain: String = "rarangi.", dnsTTLSeconds: Int = 0) {
            self.dnsHost = dnsHost
            self.dnsPort = dnsPort
            self.dnsDomain = dnsDomain
            self.dnsTTLSeconds = dnsTTLSeconds
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.maxConnectionsPerAddress = maxConnectionsPerAddress ?? max(1, maxConnections / 2)
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeoutMs = idleTimeoutMs
            self.requestTimeoutMs = requestTimeoutMs
            self.version = version
        }
    }

    /// How long accepting pauses when the process is out of file descriptors.
    static let acceptPauseMs = 100
    /// How long a closing connection may drain unread input.
    static let drainMs: Int64 = 2000

    var node: Node
    let options: Options
    let logger: Logger
    let router: Router
    let encoder: ResponseEncoder
    let base: OpaquePointer
    let listenFD: Int32
    /// The bound port (differs from `options.port` when that was 0).
    public let port: Int

    var listenEvent: OpaquePointer!
    var deadlineTimer: OpaquePointer!
    var housekeepingTimer: OpaquePointer!
    var resumeAcceptTimer: OpaquePointer!
    var signalEvents: [OpaquePointer] = []
    /// The contexts retained for the daemon's own events, released at shutdown.
    var retainedSelf = 0

    /// The cluster key(s) peer links must prove and are sealed with; nil:
    /// links are neither authenticated nor sealed (rarangid(8) says what
    /// that exposes). Set before `run`, replaced on SIGHUP.
    public var keyring: ClusterKeyring?
    /// Who may write and read which services; open without a token file.
    public var access = Access()
    /// Refused peers, logged once per address per minute.
    var refusals = RefusalLog()
    /// Every open connection, by id and by peer link.
    var table = ConnectionTable()
    /// Work collected during the loop turn and done after it.
    var turn = EndOfTurn()
    /// Inputs for the core, queued while an earlier one's effects run.
    var inputs = InputQueue()
    /// Peer names are looked up here, never with a blocking call.
    var resolver: Resolver?
    /// Lookups in flight, by the link that will connect when they answer.
    var lookups: [LinkID: Resolver.Lookup] = [:]
    var turnNow: Instant?
    var armedDeadline: Int64?
    var acceptPaused = false
    var running = true
    let startedAt: Instant
    var scratch = [UInt8](repeating: 0, count: 65536)
    let maxConnections: Int

    /// What SIGHUP applies without a restart.
    public struct Reloadable {
        /// The new least severe log level.
        public var logLevel: LogEvent.Level
        /// The cluster keys from the key file (nil: none configured).
        public var keyring: ClusterKeyring?
        /// The write (and read) tokens.
        public var access: Access
        /// Creates the settings.
        public init(logLevel: LogEvent.Level, keyring: ClusterKeyring? = nil, access: Access = Access()) {
            self.logLevel = logLevel
            self.keyring = keyring
            self.access = access
        }
    }

    /// Re-reads the configuration on SIGHUP; returns the new settings or the
    /// reason they are invalid (then nothing changes).
    public var reloader: (() -> Result<Reloadable, ConfigReloadError>)?

    var acceptPauses = 0
    /// Requests, durations and timeouts for `/metrics`.
    var httpMetrics = HTTPMetrics()
    /// Tells systemd when the daemon is ready, and how it is (Type=notify).
    let notifier = ServiceNotifier()
    /// The DNS server, when --dns-listen is given.
    var dns: DNSServer?
    /// Consul blocking queries waiting here, by connection id.
    var consulParked: [UInt64: ParkedConsul] = [:]
    /// The catalogue index when they were last looked at.
    var consulCheckedIndex: UInt64 = 0
    /// X-Consul-Index of each answer.
    var consulIndexes = ConsulIndexes()
    /// The list of services, rendered once per catalogue index.
    var consulServicesCache: (index: UInt64, body: [UInt8])?
    /// Answers about one service, rendered once per change of it.
    var consulAnswerCache: [String: (serviceIndex: UInt64, members: Int, body: [UInt8])] = [:]

    /// Binds the listening socket; throws a `SocketError` the caller prints.
    /// `resolvConf`: the resolver configuration peer names are looked up with.
    public init(node: Node, options: Options, logger: Logger, resolvConf: String = Resolver.defaultConfiguration) throws {
        self.node = node
        self.options = options
        self.logger = logger
        let limit = Socket.raiseFileLimit()
        let cap = max(16, limit - 32)
        if options.maxConnections > cap {
            logger.log(.warn, "max_connections_lowered", [("requested", "\(options.maxConnections)"), ("open_file_limit", "\(limit)"), ("using", "\(cap)")])
            maxConnections = cap
        } else {
            maxConnections = options.maxConnections
        }
        router = Router(environment: node.config.environment, maxTTLSeconds: node.config.maxTTLSeconds)
        encoder = ResponseEncoder(environment: node.config.environment, cluster: node.config.cluster,
                                  node: node.config.name, server: "rarangid/\(options.version)")
        listenFD = try Socket.listen(host: options.host, port: options.port)
        port = Socket.boundPort(listenFD)
        if self.node.config.advertisePort == 0 {
            self.node.advertise(host: self.node.config.advertiseHost.isEmpty ? options.host : self.node.config.advertiseHost, port: port)
        }
        guard let b = event_base_new() else {
            close(listenFD)
            throw SocketError(description: "cannot create the libevent event base")
        }
        base = b
        Resolver.captureLibeventMessages(into: logger)
        resolver = Resolver(base: b, configuration: resolvConf)
        startedAt = Clock.now()
        signal(SIGPIPE, SIG_IGN)
        // A parent that spawned us from a thread with signals blocked (a
        // dispatch worker, say) leaves them blocked: unblock the ones we handle.
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handled, sig) }
        sigprocmask(SIG_UNBLOCK, &handled, nil)
        setUpEvents()
        if let dnsHost = options.dnsHost {
            do {
                dns = try DNSServer(DNSServer.Options(host: dnsHost, port: options.dnsPort, domain: options.dnsDomain,
                                                      ttlSeconds: options.dnsTTLSeconds), daemon: self)
            } catch {
                close(listenFD)
                throw error
            }
            dns?.start(base: base)
        }
    }

    private func retainedSelfPointer() -> UnsafeMutableRawPointer {
        retainedSelf += 1
        return Unmanaged.passRetained(self).toOpaque()
    }

    private func setUpEvents() {
        listenEvent = event_new(base, listenFD, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            Unmanaged<Daemon>.fromOpaque(ctx!).takeUnretainedValue().acceptReady()
        }, retainedSelfPointer())
        event_add(listenEvent, nil)

        deadlineTimer = rarangi_evtimer_new(base, { _, _, ctx in
            Unmanaged<Daemon>.fromOpaque(ctx!).takeUnretainedValue().deadlinePassed()
        }, retainedSelfPointer())

        housekeepingTimer = event_new(base, -1, Int16(EV_PERSIST), { _, _, ctx in
            Unmanaged<Daemon>.fromOpaque(ctx!).takeUnretainedValue().housekeeping()
        }, retainedSelfPointer())
        var second = timeval(tv_sec: 0, tv_usec: 250_000)
        event_add(housekeepingTimer, &second)

        resumeAcceptTimer = rarangi_evtimer_new(base, { _, _, ctx in
            Unmanaged<Daemon>.fromOpaque(ctx!).takeUnretainedValue().resumeAccepting()
        }, retainedSelfPointer())

        for sig in [SIGTERM, SIGINT, SIGHUP] {
            let ev = rarangi_evsignal_new(base, sig, { signo, _, ctx in
                Unmanaged<Daemon>.fromOpaque(ctx!).takeUnretainedValue().signalled(signo)
            }, retainedSelfPointer())!
            event_add(ev, nil)
            signalEvents.append(ev)
        }
    }

    /// The instant of the current loop turn, read once per turn.
    var now: Instant {
        if let t = turnNow { return t }
        let t = Clock.now()
        turnNow = t
        return t
    }

    /// Runs the loop until SIGTERM or SIGINT; returns the exit status.
    public func run() -> Int32 {
        logger.log(.info, "listening", [("address", options.host), ("port", "\(port)"),
                                        ("environment", node.config.environment), ("cluster", node.config.cluster),
                                        ("name", node.config.name), ("version", options.version),
                                        ("cluster_keys", "\(keyring?.keys.count ?? 0)"),
                                        ("tokens", "\(access.tokens?.count ?? 0)")])
        if let dns {
            logger.log(.info, "dns_listening", [("address", options.dnsHost ?? ""), ("port", "\(dns.port)"),
                                                 ("domain", options.dnsDomain), ("ttl", "\(options.dnsTTLSeconds)")])
        }
        if keyring == nil { logNoClusterKey() }
        notifyService()
        while running {
            // While pings wait, a turn serves what is ready and returns.
            if event_base_loop(base, pingsWaiting ? EVLOOP_NONBLOCK : EVLOOP_ONCE) < 0 {
                logger.log(.error, "event_loop_failed")
                break
            }
            afterTurn()
        }
        notifier.stopping()
        shutdown()
        return 0
    }

    /// Ready once listening and done with the first sync (or with no peer
    /// to sync with); then a status line kept current.
    func notifyService() {
        guard notifier.enabled else { return }
        let links = node.linkCounts
        let verdict = node.isCatchingUp ? "catching up" : node.isStale ? "stale" : "fresh"
        let status = "\(verdict); links up \(links.up)/\(links.total); \(node.catalogue.count) instances of \(node.catalogue.serviceCount) services"
        if node.isCatchingUp && !notifier.readySent { notifier.status(status); return }
        notifier.ready(status: status)
        notifier.status(status)
    }

    /// Runs one loop turn without waiting, then the end-of-turn work: for
    /// a harness (the shell's fuzz target) that drives the daemon from the
    /// same thread as its clients.
    public func runTurnWithoutWaiting() {
        event_base_loop(base, EVLOOP_NONBLOCK)
        afterTurn()
    }

    /// Connection objects alive, closed or not (a harness checks none leak).
    public static var liveConnections: Int { Connection.liveObjects }

    // MARK: the end of a turn

    func afterTurn() {
        writeQueuedPings()
        repeat {
            resumeParsing()
            // Consul queries parked here whose answer moved this turn.
            answerParkedConsul()
            flushDirty()
            // Backlog changes seen while flushing reach the core now; what it
            // sends in answer is flushed in the same turn.
            while !turn.backlogChanges.isEmpty {
                let changes = turn.backlogChanges
                turn.backlogChanges.removeAll()
                for (link, slow) in changes { apply(.peerBacklog(link, slow: slow)) }
                flushDirty()
            }
        } while !turn.resumed.isEmpty
        for conn in turn.toFree { free(conn) }
        turn.toFree.removeAll(keepingCapacity: true)
        dns?.freeClosed()
        armDeadline()
        turnNow = nil
    }

    /// Flushes every connection with output, until none is left: a flush
    /// that fails closes its connection, and what the core answers to that
    /// close (a watcher woken, a removal pushed to a peer) is flushed too.
    func flushDirty() {
        while !turn.dirty.isEmpty {
            let batch = turn.dirty
            turn.dirty.removeAll(keepingCapacity: true)
            for conn in batch {
                conn.dirty = false
                flushNow(conn)
            }
        }
    }

    func markDirty(_ conn: Connection) {
        if !conn.dirty {
            conn.dirty = true
            turn.dirty.append(conn)
        }
    }

    private func armDeadline() {
        guard let deadline = node.nextDeadline else {
            if armedDeadline != nil {
                event_del(deadlineTimer)
                armedDeadline = nil
            }
            return
        }
        if armedDeadline == deadline.ms { return }
        let delay = max(0, deadline.ms - now.ms)
        var tv = timeval(tv_sec: Int(delay / 1000), tv_usec: Int((delay % 1000) * 1000))
        event_add(deadlineTimer, &tv)
        armedDeadline = deadline.ms
    }

    // MARK: node

    func deadlinePassed() {
        armedDeadline = nil
        apply(.deadline)
    }

    /// Hands an input to the core and executes what it wants done. Inputs
    /// that executing effects produces (a link closed while sending, a
    /// connect that failed at once) are queued and handled after, in order,
    /// never inside the effects of another input — the order the simulation
    /// uses.
    func apply(_ input: Input) {
        guard !inputs.applying else {
            inputs.pending.append(input)
            return
        }
        inputs.applying = true
        defer { inputs.applying = false }
        // The input is handled where it is, not copied into the queue; what
        // its effects queue follows in order.
        run(input)
        var next = 0
        while next < inputs.pending.count {
            let queued = inputs.pending[next]
            next += 1
            run(queued)
        }
        if !inputs.pending.isEmpty { inputs.pending.removeAll(keepingCapacity: true) }
    }

    /// Hands one input to the core and executes its effects, in the one
    /// effects array the shell keeps (emptied, its storage kept, after each input).
    private func run(_ input: Input) {
        var effects = inputs.spareEffects
        inputs.spareEffects = []
        node.handle(input, now: now, into: &effects)
        for i in effects.indices { execute(effects[i]) }
        // Emptied from the end: a pop per effect keeps the storage, where
        // removeAll(keepingCapacity:) goes through a general replace.
        while !effects.isEmpty { effects.removeLast() }
        inputs.spareEffects = effects
    }

    private func execute(_ effect: Effect) {
        switch effect {
        case let .reply(cid, response):
            if let conn = table[cid] { send(response, on: conn) }
        case let .log(event):
            logger.log(event)
        case let .connect(link, host, port):
            connectPeer(link, host: host, port: port)
        case let .sendPeer(link, frame):
            sendPeer(link, frame)
        case let .closePeer(link):
            closePeer(link)
        case let .stream(cid, response):
            if let conn = table[cid] { startStream(response, on: conn) }
        case let .parked(cid):
            if let conn = table[cid] { park(conn) }
        }
    }

    /// Encodes an answer on a connection that awaits one; answering a parked
    /// query lets the connection read requests again.
    func send(_ response: HTTPResponse, on conn: Connection) {
        guard conn.phase.awaitsReply else { return }
        if conn.consulWrite {
            conn.consulWrite = false
            send(consulShaped(response), on: conn)
            return
        }
        encoder.encode(response, keepAlive: conn.framing.keepAlive, isHTTP11: conn.framing.http11,
                       headOnly: conn.framing.headOnly, into: &conn.output)
        countAnswer(response.status, on: conn)
        if conn.phase == .parked { unpark(conn) }
        if response.close || !conn.framing.keepAlive { conn.enter(.closing) }
        markDirty(conn)
    }

    /// Counts the answer to the request being handled on `conn`.
    func countAnswer(_ status: Int, on conn: Connection) {
        if let route = conn.metricRoute {
            httpMetrics.answered(route, status: status, micros: Clock.monotonicMicros() - conn.handledAtMicros)
            conn.metricRoute = nil
        } else {
            httpMetrics.answered(.rejected, status: status, micros: nil)
        }
    }

    // MARK: signals

    func signalled(_ signo: Int32) {
        switch signo {
        case SIGHUP:
            reload()
        default:
            logger.log(.info, "stopping", [("signal", signo == SIGTERM ? "TERM" : "INT")])
            running = false
            event_base_loopbreak(base)
        }
    }

    private func reload() {
        guard let reloader else {
            logger.log(.info, "reload_skipped", [("reason", "no configuration source")])
            return
        }
        switch reloader() {
        case let .success(settings):
            let old = logger.level
            // Written under the more verbose of the two levels, so it shows either way.
            logger.level = min(old, settings.logLevel)
            logger.log(.info, "reloaded", [("log_level", settings.logLevel.name), ("previous_log_level", old.name),
                                           ("cluster_keys", "\(settings.keyring?.keys.count ?? 0)"),
                                           ("tokens", "\(settings.access.tokens?.count ?? 0)"),
                                           ("read_token_required", "\(settings.access.readTokenRequired)")])
            logger.level = settings.logLevel
            replaceKeyring(settings.keyring)
            access = settings.access
        case let .failure(error):
            logger.log(.error, "reload_failed", [("error", error.message), ("action", "kept the running configuration")])
        }
    }

    private func shutdown() {
        dns?.stop()
        dns = nil
        releaseHeldBeforeShutdown()
        for conn in table.inOrder { closeConnection(conn) }
        for conn in turn.toFree { free(conn) }
        turn.toFree.removeAll()
        for ev in [listenEvent, deadlineTimer, housekeepingTimer, resumeAcceptTimer] + signalEvents.map(Optional.some) {
            if let ev { event_free(ev) }
        }
        for _ in 0..<retainedSelf { Unmanaged.passUnretained(self).release() }
        retainedSelf = 0
        close(listenFD)
        resolver?.close()
        resolver = nil
        event_base_free(base)
        logger.log(.info, "stopped")
    }
}

/// Why a reload was refused.
public struct ConfigReloadError: Error {
    /// The sentence for the log.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
}
