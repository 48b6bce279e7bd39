import RarangiCore
import RarangiWire

/// Drives real `Node` cores in virtual time over a simulated network
/// (MISSION B9). Every peer message is encoded by the sender and decoded by
/// the receiver with the real codec. Loss, delay, partitions, crashes and
/// restarts all come from one seed, so a failing run replays exactly.
public final class Simulation {
    /// How the network misbehaves.
    public struct Network: Sendable {
        /// Probability that a message is silently dropped.
        public var loss: Double
        /// Delivery delay bounds, ms.
        public var minDelayMs: Int64
        public var maxDelayMs: Int64
        /// Each host's outgoing bandwidth, bytes per ms (nil: unlimited).
        /// A frame leaves its sender once every frame it sent before has
        /// left, so a sender's queue delays its frames in proportion to the
        /// bytes ahead of them; the delay above is added on the wire.
        public var bytesPerMs: Int64?
        /// Creates a network model.
        public init(loss: Double = 0, minDelayMs: Int64 = 1, maxDelayMs: Int64 = 10, bytesPerMs: Int64? = nil) {
            self.loss = loss
            self.minDelayMs = minDelayMs
            self.maxDelayMs = maxDelayMs
            self.bytesPerMs = bytesPerMs
        }
    }

    /// One simulated daemon.
    public struct Host {
        /// Its configuration (the generation is renewed at every start).
        public var config: NodeConfig
        /// The running core, nil while crashed.
        public var node: Node?
        /// Its wall clock's offset from virtual time (clock skew).
        public var skewMs: Int64
        var links: [LinkID: Int] = [:]
        /// How many times it has been started (a restart begins a new life).
        public internal(set) var life = 0
        var armed: Int64?
        var token: UInt64 = 0
        var nextInbound: UInt64 = 1
        /// When the host's outgoing queue is empty again, µs of virtual time.
        var sendFreeUs: Int64 = 0
        /// Partition group; hosts in different groups cannot talk.
        public var group = 0
    }

    struct Conn {
        var ends: [(host: Int, link: LinkID)]
        var open = true
        var lastDelivery: [Int64] = [0, 0]
        /// Opened by `craft`: side 0 is no daemon, its frames are crafted,
        /// and a malformed one is handled as the reactor does (cut, not a crash).
        var crafted = false
    }

    /// The end of a crafted connection that is no daemon.
    static let craftedHost = -1

    enum Event {
        case deadline(Int, UInt64)
        case connected(Int)
        case deliver(Int, side: Int, [UInt8])
        case closed(Int, LinkID, Int)
    }

    /// The seed everything random derives from.
    public let seed: UInt64
    /// Virtual time, ms.
    public private(set) var now: Int64 = 0
    /// The daemons.
    public private(set) var hosts: [Host] = []
    /// The network model.
    public var network: Network
    /// Messages delivered and dropped.
    public private(set) var delivered = 0
    public private(set) var dropped = 0
    /// Every log event of level warn or above, with its host (for diagnosis).
    public private(set) var warnings: [(Int, LogEvent)] = []
    /// Messages and bytes delivered by message type.
    public private(set) var traffic: [String: (count: Int, bytes: Int)] = [:]
    /// Count of log events by name.
    public private(set) var eventCounts: [String: Int] = [:]
    /// Hosts whose hybrid clock reached `Node.versionLimit` (a peer's
    /// out-of-range version poisoned it), with when. The simulation crashes
    /// such a host at once: its next local write would trap, as the daemon
    /// would on a precondition, and a trap would end the whole test run.
    public private(set) var poisonings: [(host: Int, at: Int64)] = []
    /// A test hook: return true to drop a frame from host `from` to host
    /// `to` (the frame's type is its fifth byte). Nil: nothing is dropped.
    public var dropFrame: ((_ from: Int, _ to: Int, _ frame: [UInt8]) -> Bool)?
    /// A measurement hook: every frame host `from` puts on the wire to
    /// host `to` (the frame's type is its fifth byte; lost frames too).
    public var onSend: ((_ from: Int, _ to: Int, _ frame: [UInt8]) -> Void)?
    /// A measurement hook: host `to` has handled a message from host `from`.
    public var onDeliver: ((_ to: Int, _ from: Int) -> Void)?
    /// Host pairs that cannot talk, whatever their groups (a cut link).
    public private(set) var cutPairs: Set<Pair> = []
    /// Extra one-way delay of a pair's messages (a slow link), ms.
    public private(set) var extraDelay: [Pair: Int64] = [:]

    /// An unordered pair of hosts.
    public struct Pair: Hashable, Sendable {
        /// The smaller host index.
        public let a: Int
        /// The larger host index.
        public let b: Int
        /// The pair of `x` and `y`, in either order.
        public init(_ x: Int, _ y: Int) {
            a = min(x, y)
            b = max(x, y)
        }
    }

    private var rng: SplitMix64
    private var queue = EventQueue<Event>()
    private var conns: [Int: Conn] = [:]
    private var nextConn = 1
    private var address: [String: Int] = [:]
    /// The frames decoded lately, by their storage: a frame a sender
    /// encoded once and sent on many links is decoded once, and its
    /// receivers share the decoded values (copy-on-write), as they would
    /// share nothing but the bytes in a real network. Each entry keeps its
    /// frame alive, so its storage cannot be reused by another frame while
    /// it is cached; the oldest goes when `decodedLimit` are held.
    private var decoded: [UnsafeRawPointer: (frame: [UInt8], messages: [PeerMessage])] = [:]
    private var decodedOrder: [UnsafeRawPointer] = []
    private var decodedHead = 0
    private let decodedLimit = 512
    private static let epoch: Int64 = 1_700_000_000_000

    /// Creates an empty simulation.
    public init(seed: UInt64, network: Network = Network()) {
        self.seed = seed
        self.network = network
        self.rng = SplitMix64(seed: seed)
    }

    /// A random number in `0..<n` from the scenario's generator.
    public func random(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }

    /// Adds a daemon reachable at `config.advertiseHost:advertisePort`; it starts at once.
    @discardableResult
    public func add(_ config: NodeConfig, skewMs: Int64 = 0) -> Int {
        let i = hosts.count
        hosts.append(Host(config: config, node: nil, skewMs: skewMs))
        address["\(config.advertiseHost):\(config.advertisePort)"] = i
        start(i)
        return i
    }

    private func instant(_ i: Int) -> Instant { Instant(ms: now, wallMs: Simulation.epoch + now + hosts[i].skewMs) }

    /// Starts (or restarts, with empty state and a new generation) host `i`;
    /// `skewMs` sets its wall clock's offset first (a clock stepped at restart).
    public func start(_ i: Int, skewMs: Int64? = nil) {
        if let skewMs { hosts[i].skewMs = skewMs }
        hosts[i].life += 1
        var config = hosts[i].config
        config.generation = UInt64(Simulation.epoch + now + hosts[i].skewMs) &* 1000 &+ UInt64(random(1000))
        hosts[i].config = config
        hosts[i].node = Node(config: config, seed: rng.next())
        hosts[i].links = [:]
        rearm(i)
    }

    /// Changes host `i`'s configuration, taken at its next start (an
    /// operator edited it while the daemon was down).
    public func reconfigure(_ i: Int, _ change: (inout NodeConfig) -> Void) { change(&hosts[i].config) }

    /// Steps host `i`'s wall clock by `ms` (negative: back), as an NTP
    /// correction or an operator would; virtual (monotonic) time goes on.
    public func stepClock(_ i: Int, byMs ms: Int64) { hosts[i].skewMs += ms }

    /// Kills host `i` like `kill -9`: its peers see their connections close.
    public func crash(_ i: Int) {
        guard hosts[i].node != nil else { return }
        hosts[i].node = nil
        // In link order: each close draws a delay, so the order is part of the replay.
        for (_, c) in hosts[i].links.sorted(by: { $0.key.raw < $1.key.raw }) { closeConn(c, from: i) }
        hosts[i].links = [:]
        hosts[i].armed = nil
    }

    /// Peer connections open now (each joins two daemons).
    public var connectionCount: Int { conns.values.count(where: { $0.open && !$0.crafted }) }

    /// Whether host `i` is running.
    public func isUp(_ i: Int) -> Bool { hosts[i].node != nil }

    /// Host `i`'s catalogue, nil while it is down (read in place: no copy of the host).
    public func catalogue(_ i: Int) -> Catalogue? { hosts[i].node?.catalogue }
    /// Host `i`'s replicated store, nil while it is down.
    public func replica(_ i: Int) -> Replica? { hosts[i].node?.replica }
    /// Whether host `i` is up and stale.
    public func isStale(_ i: Int) -> Bool { hosts[i].node?.isStale == true }
    /// Host `i`'s life: how many times it has been started.
    public func life(_ i: Int) -> Int { hosts[i].life }
    /// Host `i`'s name.
    public func name(_ i: Int) -> String { hosts[i].config.name }

    /// Steps host `i`'s wall clock to `skewMs` off virtual time (monotonic time is untouched).
    public func setSkew(_ i: Int, _ skewMs: Int64) { hosts[i].skewMs = skewMs }

    /// Cuts the link between `a` and `b` (or heals it with `false`).
    public func cut(_ a: Int, _ b: Int, _ cut: Bool = true) {
        if cut { cutPairs.insert(Pair(a, b)) } else { cutPairs.remove(Pair(a, b)) }
    }

    /// Makes the messages between `a` and `b` take `ms` longer each way (0: normal).
    public func slow(_ a: Int, _ b: Int, extraMs ms: Int64) {
        extraDelay[Pair(a, b)] = ms > 0 ? ms : nil
    }

    /// Whether `a` and `b` can exchange packets now.
    public func canTalk(_ a: Int, _ b: Int) -> Bool { !blocked(a, b) }

    /// Puts each host in a group; hosts in different groups cannot exchange packets.
    public func partition(_ group: (Int) -> Int) {
        for i in hosts.indices { hosts[i].group = group(i) }
    }

    /// Ends every partition.
    public func heal() { for i in hosts.indices { hosts[i].group = 0 } }

    /// Hands host `i` a client request and returns the core's reply.
    @discardableResult
    public func request(_ i: Int, _ request: CatalogueRequest) -> HTTPResponse? {
        self.request(i, conn: ConnectionID(1), request)
    }

    /// Hands host `i` a client request on connection `conn` (a held
    /// registration lives as long as its connection) and returns the core's
    /// reply, or the head of the stream it started.
    @discardableResult
    public func request(_ i: Int, conn: ConnectionID, _ request: CatalogueRequest) -> HTTPResponse? {
        var reply: HTTPResponse?
        handle(i, .request(conn, request)) { effect in
            switch effect {
            case let .reply(c, r) where c == conn: reply = r
            case let .stream(c, r) where c == conn: reply = r
            default: break
            }
        }
        return reply
    }

    /// The client closed connection `conn` to host `i`.
    public func closeClient(_ i: Int, _ conn: ConnectionID) { handle(i, .connectionClosed(conn)) }

    /// Opens a connection to host `j` from no daemon and sends `frames` on
    /// it as they are, `spacingMs` apart (a lying or broken peer, MISSION
    /// "everything a peer sends is input"); closes it `closeAfterMs` after
    /// the last one. What `j` sends back is dropped. A frame `j` cannot
    /// decode cuts the connection, as the reactor does.
    public func craft(into j: Int, frames: [[UInt8]], spacingMs: Int64 = 5, closeAfterMs: Int64? = 100) {
        guard hosts[j].node != nil else { return }
        let inbound = LinkID(LinkID.inboundBit | hosts[j].nextInbound)
        hosts[j].nextInbound += 1
        let c = nextConn
        nextConn += 1
        var conn = Conn(ends: [(Simulation.craftedHost, LinkID(0)), (j, inbound)])
        conn.crafted = true
        conns[c] = conn
        hosts[j].links[inbound] = c
        queue.push(now + 1, .connected(c))
        var at = now + 2
        for f in frames {
            queue.push(at, .deliver(c, side: 1, f))
            at += spacingMs
        }
        if let closeAfterMs { queue.push(at + closeAfterMs, .closed(j, inbound, c)) }
    }

    /// Runs every event up to virtual time `t`.
    public func run(until t: Int64) {
        while let next = queue.nextTime, next <= t {
            let (time, event) = queue.pop()!
            now = max(now, time)
            dispatch(event)
        }
        now = max(now, t)
    }

    /// Runs for `ms` more.
    public func run(for ms: Int64) { run(until: now + ms) }

    // MARK: internals

    private func delay() -> Int64 {
        network.minDelayMs + Int64(random(Int(network.maxDelayMs - network.minDelayMs + 1)))
    }

    private func dispatch(_ event: Event) {
        switch event {
        case let .deadline(i, token):
            guard hosts[i].node != nil, hosts[i].token == token else { return }
            hosts[i].armed = nil
            handle(i, .deadline)
        case let .connected(c):
            guard let conn = conns[c], conn.open else { return }
            for end in conn.ends where end.host >= 0 && hosts[end.host].node != nil {
                let from = conn.ends[0].host
                handle(end.host, .peerConnected(end.link, host: from >= 0 ? hosts[from].config.advertiseHost : "crafted"))
            }
        case let .deliver(c, side, bytes):
            guard let conn = conns[c], conn.open else { return }
            let to = conn.ends[side]
            guard hosts[to.host].node != nil, hosts[to.host].links[to.link] == c else { return }
            if conn.crafted {
                var decoder = PeerFrameDecoder()
                decoder.append(bytes)
                deliverCrafted(c, to: to, &decoder)
                return
            }
            let from = conn.ends[1 - side].host
            do {
                for message in try messages(bytes) {
                    delivered += 1
                    let kind: String
                    switch message {
                    case .hello: kind = "hello"
                    case let .digest(_, _, e): kind = e == nil ? "digest" : "digest-full"
                    case .pull: kind = "pull"
                    case .records: kind = "records"
                    case .members: kind = "members"
                    case .verdict: kind = "verdict"
                    }
                    traffic[kind, default: (0, 0)].count += 1
                    traffic[kind, default: (0, 0)].bytes += bytes.count
                    handle(to.host, .peerMessage(to.link, message))
                    onDeliver?(to.host, from)
                    guard conns[c]?.open == true else { return }
                }
            } catch {
                fatalError("simulation: undecodable frame: \(error)")
            }
        case let .closed(i, link, c):
            guard hosts[i].node != nil, hosts[i].links[link] == c else { return }
            hosts[i].links[link] = nil
            if let conn = conns[c], conn.crafted { conns[c] = nil }
            handle(i, .peerClosed(link))
        }
    }

    /// The messages of a daemon's frame, decoded by the real codec (once
    /// for a frame sent on many links: see `decoded`).
    private func messages(_ bytes: [UInt8]) throws -> [PeerMessage] {
        let key = bytes.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        if let key, let d = decoded[key], d.frame.count == bytes.count { return d.messages }
        var decoder = PeerFrameDecoder()
        decoder.append(bytes)
        var out: [PeerMessage] = []
        while let message = try decoder.next() { out.append(message) }
        guard let key else { return out }
        if decodedOrder.count - decodedHead >= decodedLimit {
            decoded[decodedOrder[decodedHead]] = nil
            decodedHead += 1
            if decodedHead > 4 * decodedLimit {
                decodedOrder.removeFirst(decodedHead)
                decodedHead = 0
            }
        }
        decoded[key] = (bytes, out)
        decodedOrder.append(key)
        return out
    }

    /// Frames of a crafted connection: what decodes is handed to the core;
    /// the first that does not cuts the connection, as the reactor does.
    private func deliverCrafted(_ c: Int, to: (host: Int, link: LinkID), _ decoder: inout PeerFrameDecoder) {
        while true {
            let message: PeerMessage?
            do { message = try decoder.next() } catch {
                eventCounts["peer_malformed", default: 0] += 1
                conns[c] = nil
                hosts[to.host].links[to.link] = nil
                handle(to.host, .peerClosed(to.link))
                return
            }
            guard let message else { return }
            delivered += 1
            handle(to.host, .peerMessage(to.link, message))
            guard conns[c]?.open == true else { return }
        }
    }

    private func handle(_ i: Int, _ input: Input, _ observe: (Effect) -> Void = { _ in }) {
        guard hosts[i].node != nil else { return }
        var effects: [Effect] = []
        hosts[i].node!.handle(input, now: instant(i), into: &effects)
        if hosts[i].node!.lastVersion >= Node.versionLimit - 1 {
            poisonings.append((i, now))
            crash(i)
            return
        }
        for effect in effects {
            observe(effect)
            execute(i, effect)
        }
        rearm(i)
    }

    private func rearm(_ i: Int) {
        guard let node = hosts[i].node else { return }
        let d = node.nextDeadline?.ms
        if d == hosts[i].armed { return }
        hosts[i].armed = d
        hosts[i].token += 1
        if let d { queue.push(max(d, now), .deadline(i, hosts[i].token)) }
    }

    private func blocked(_ a: Int, _ b: Int) -> Bool {
        if a < 0 || b < 0 { return false }
        return hosts[a].group != hosts[b].group || (!cutPairs.isEmpty && cutPairs.contains(Pair(a, b)))
    }

    private func execute(_ i: Int, _ effect: Effect) {
        switch effect {
        case .reply, .stream, .parked:
            break
        case let .log(e):
            eventCounts[e.event, default: 0] += 1
            if e.level >= .warn { warnings.append((i, e)) }
        case let .connect(link, host, port):
            guard let j = address["\(host):\(port)"] else {
                queue.push(now + delay(), .closed(i, link, -1))
                hosts[i].links[link] = -1
                return
            }
            if blocked(i, j) { return }  // SYNs vanish; the core's connect timeout fires.
            if hosts[j].node == nil {
                hosts[i].links[link] = -1
                queue.push(now + delay(), .closed(i, link, -1))  // refused
                return
            }
            let inbound = LinkID(LinkID.inboundBit | hosts[j].nextInbound)
            hosts[j].nextInbound += 1
            let c = nextConn
            nextConn += 1
            conns[c] = Conn(ends: [(i, link), (j, inbound)])
            hosts[i].links[link] = c
            hosts[j].links[inbound] = c
            queue.push(now + delay(), .connected(c))
        case let .sendPeer(link, bytes):
            guard let c = hosts[i].links[link], var conn = conns[c], conn.open else { return }
            let side = conn.ends[0].host == i && conn.ends[0].link == link ? 1 : 0
            let to = conn.ends[side].host
            if to < 0 { return }  // a crafted peer hears nothing
            onSend?(i, to, bytes)
            if blocked(i, to) || Double(rng.next() % 1_000_000) / 1_000_000 < network.loss
                || dropFrame?(i, to, bytes) == true {
                dropped += 1
                return
            }
            let extra = extraDelay.isEmpty ? 0 : extraDelay[Pair(i, to)] ?? 0
            var at = now + delay() + extra
            if let bytesPerMs = network.bytesPerMs, bytesPerMs > 0 {
                // Behind what the sender queued before; to the nearest ms.
                let leftUs = max(now * 1000, hosts[i].sendFreeUs) + (Int64(bytes.count) * 1000 + bytesPerMs - 1) / bytesPerMs
                hosts[i].sendFreeUs = leftUs
                at = (leftUs + (at - now) * 1000 + 500) / 1000
            }
            at = max(at, conn.lastDelivery[side])
            conn.lastDelivery[side] = at
            conns[c] = conn
            queue.push(at, .deliver(c, side: side, bytes))
        case let .closePeer(link):
            guard let c = hosts[i].links.removeValue(forKey: link) else { return }
            closeConn(c, from: i)
        }
    }

    private func closeConn(_ c: Int, from i: Int) {
        guard c >= 0, var conn = conns[c], conn.open else { return }
        conn.open = false
        conns[c] = nil
        for end in conn.ends where end.host != i && end.host >= 0 {
            // The FIN reaches the other end unless a partition eats it.
            if !blocked(i, end.host) { queue.push(now + delay(), .closed(end.host, end.link, c)) }
            else { hosts[end.host].links[end.link] = nil }
        }
        _ = conn
    }
}
