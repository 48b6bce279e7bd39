import RarangiProtocol
import RarangiWire

/// The peer link table (MISSION D6, D7, D10): every link's state and every
/// transition of it — connect, handshake, up, down, reconnect back-off —
/// and the sending of frames, with slow links' pushes coalesced.
///
/// Links outlive connections: an outbound link waits out its back-off and
/// reconnects; an inbound one is forgotten when its connection ends. What a
/// link change means for membership (the own master entry, the partition
/// verdict, who is alive) is wired by `Node`, which calls `down` only after
/// it has acted on a link that was up.
struct PeerLinks {
    /// Links by id. Written only in this file.
    private(set) var table: [LinkID: Link] = [:]
    private var nextOutbound: UInt64 = 1
    /// Feeds the jitter of reconnect back-off.
    private var rng: SplitMix64
    /// Peer messages received on known links.
    private(set) var messagesIn = 0
    /// Peer frames sent, and their bytes.
    private(set) var messagesOut = 0
    private(set) var bytesOut = 0
    /// Pushes to a slow link replaced by a newer delta of the same key.
    private(set) var coalesced = 0
    /// The daemons this daemon's component reaches (its alive set at the
    /// last round): a peer in it is alive, reached by others, so its link
    /// is probed at the first back-off step instead of backing off.
    private var reachedByOthers: Set<String> = []

    /// One outbound link per configured peer, due to connect at once.
    init(peers: [NodeConfig.Peer], seed: UInt64) {
        rng = SplitMix64(seed: seed)
        for p in peers { add(host: p.host, port: p.port, learned: false, at: 0) }
    }

    private mutating func add(host: String, port: Int, learned: Bool, at now: Int64) {
        let id = LinkID(nextOutbound)
        nextOutbound += 1
        var link = Link(id: id, host: host, port: port, state: .waiting(until: now))
        link.learned = learned
        table[id] = link
    }

    /// The link `id`, if known.
    subscript(id: LinkID) -> Link? { table[id] }

    /// Whether there are no links at all (no gossip rounds then).
    var isEmpty: Bool { table.isEmpty }

    /// The links in id order: effects come out in the same order in every
    /// process, so a simulation replays exactly from its seed.
    /// Links up, and all links.
    var counts: (up: Int, total: Int) { (table.values.reduce(0) { $0 + ($1.isUp ? 1 : 0) }, table.count) }

    var ordered: [(LinkID, Link)] {
        table.sorted { $0.key.raw < $1.key.raw }.map { ($0.key, $0.value) }
    }

    /// Whether any link is up.
    var anyUp: Bool { table.values.contains(where: \.isUp) }

    /// The peers of the links that are up, in id order.
    var upPeers: [PeerHello] { ordered.compactMap { $0.1.isUp ? $0.1.peer : nil } }

    /// The earliest instant a link wants attention: a wait over, a connect
    /// or handshake to give up on.
    var nextDeadline: Int64? {
        var d: Int64?
        for link in table.values {
            let t: Int64
            switch link.state {
            case let .waiting(until): t = until
            case let .connecting(deadline), let .handshaking(deadline): t = deadline
            case .up, .disabled: continue
            }
            if d == nil || t < d! { d = t }
        }
        return d
    }

    // MARK: sending

    /// Encodes and sends one message.
    mutating func send(_ id: LinkID, _ message: PeerMessage, effects: inout [Effect]) {
        send(id, PeerCodec.encode(message), effects: &effects)
    }

    /// Sends one encoded frame, counting it.
    mutating func send(_ id: LinkID, _ frame: [UInt8], effects: inout [Effect]) {
        messagesOut += 1
        bytesOut += frame.count
        table[id]?.messagesOut += 1
        effects.append(.sendPeer(id, frame))
    }

    /// Sends records in frames of about `PeerCodec.chunkBytes`: the one way
    /// records go out, whatever their number.
    mutating func sendRecords(_ id: LinkID, _ batches: [RecordBatch], effects: inout [Effect]) {
        for chunk in PeerCodec.chunks(batches) { send(id, .records(chunk), effects: &effects) }
    }

    /// Sends pushed records (already encoded in `frames`) to a link, or,
    /// while the link is slow, keeps only the newest delta of each key for
    /// it (coalescing).
    mutating func push(_ batches: [RecordBatch], _ frames: [[UInt8]], to id: LinkID, effects: inout [Effect]) {
        guard table[id]?.slow == true else {
            for frame in frames { send(id, frame, effects: &effects) }
            return
        }
        let n = table[id]!.kept.keep(batches)
        coalesced += n
        table[id]!.coalesced += n
    }

    /// Pushes to every up link in id order but `except`; with
    /// `skipMasters`, not to links whose peer is a master (split horizon).
    mutating func pushToAll(_ batches: [RecordBatch], except: LinkID? = nil, skipMasters: Bool = false,
                            effects: inout [Effect]) {
        let frames = PeerCodec.chunks(batches).map { PeerCodec.encode(.records($0)) }
        for (id, link) in ordered where id != except && link.isUp {
            if skipMasters, link.peer?.master == true { continue }
            push(batches, frames, to: id, effects: &effects)
        }
    }

    /// Whether the link's unsent output is over the shell's threshold.
    func isSlow(_ id: LinkID) -> Bool { table[id]?.slow == true }

    /// The shell says a link's backlog crossed its threshold or drained; a
    /// drained link gets what was kept for it.
    mutating func backlog(_ id: LinkID, slow: Bool, effects: inout [Effect]) {
        guard table[id]?.isUp == true, table[id]!.slow != slow else { return }
        table[id]!.slow = slow
        effects.append(.log(LogEvent(slow ? .warn : .info, slow ? "link_slow" : "link_drained",
                                     [("link", id.description), ("peer", table[id]!.peer?.name ?? "-")])))
        guard !slow else { return }
        let batches = table[id]!.kept.drain()
        if !batches.isEmpty { sendRecords(id, batches, effects: &effects) }
    }

    // MARK: transitions

    /// A connection is open (an outbound connect succeeded, or the shell
    /// accepted an inbound one): the handshake starts. False for an
    /// unknown outbound id, which is ignored.
    mutating func connected(_ id: LinkID, host: String, now: Int64, timeoutMs: Int64) -> Bool {
        if table[id] == nil {
            guard id.isInbound else { return false }
            table[id] = Link(id: id, host: "", port: 0, state: .handshaking(deadline: now + timeoutMs))
        }
        table[id]!.state = .handshaking(deadline: now + timeoutMs)
        table[id]!.remoteHost = host
        table[id]!.lastHeard = now
        return true
    }

    /// A message arrived on `id`: the link was heard. Returns the link, nil
    /// when unknown (the message is then ignored).
    mutating func heard(_ id: LinkID, now: Int64) -> Link? {
        guard let link = table[id] else { return nil }
        messagesIn += 1
        table[id]!.lastHeard = now
        table[id]!.messagesIn += 1
        return link
    }

    /// Connects the links whose wait is over; gives up on connects and
    /// handshakes past their deadline (they were never up: nothing else to
    /// tell). See `LinkTimeouts` for the silent links.
    mutating func fireDeadlines(now: Int64, timeoutMs: Int64, effects: inout [Effect]) {
        for (id, link) in ordered {
            switch link.state {
            case let .waiting(until) where until <= now:
                if let name = link.peer?.name, table.values.contains(where: { $0.id != id && $0.isUp && $0.peer?.name == name }) {
                    // Another link already reaches this peer; check again later.
                    table[id]!.state = .waiting(until: now + timeoutMs)
                    continue
                }
                table[id]!.state = .connecting(deadline: now + timeoutMs)
                effects.append(.connect(id, host: link.host, port: link.port))
            case let .connecting(deadline) where deadline <= now,
                 let .handshaking(deadline) where deadline <= now:
                effects.append(.closePeer(id))
                down(id, reason: "timeout", now: now, effects: &effects)
            default:
                break
            }
        }
    }

    /// Whether `down` would change link `id` (known, not disabled, not already waiting).
    func canGoDown(_ id: LinkID) -> Bool {
        guard let link = table[id] else { return false }
        switch link.state {
        case .disabled, .waiting: return false
        case .connecting, .handshaking, .up: return true
        }
    }

    /// A link's connection is gone: an outbound link waits out its back-off,
    /// an inbound one is forgotten. What it kept for a slow peer is dropped.
    mutating func down(_ id: LinkID, reason: String, now: Int64, effects: inout [Effect]) {
        guard canGoDown(id), var link = table[id] else { return }
        link.slow = false
        link.kept = CoalescedPushes()
        let wasUp = link.isUp
        if id.isInbound {
            table[id] = nil
            if wasUp {
                effects.append(.log(LogEvent(.info, "link_down", [("link", id.description), ("peer", link.peer?.name ?? "-"),
                                                                  ("reason", reason)])))
            }
            return
        }
        // Every link backs off exponentially to 5 minutes (D7), so a
        // thousand daemons do not hammer one dead address — except a link
        // to a peer that others report alive (it is in our component): a
        // partial cut is probed at the first step (1–2 s) until it heals.
        let probe = link.peer.map { reachedByOthers.contains($0.name) } ?? false
        let delay = Backoff.delay(attempt: probe ? 0 : link.attempt, random: rng.next())
        link.attempt += 1
        link.state = .waiting(until: now + delay)
        table[id] = link
        effects.append(.log(LogEvent(wasUp ? .info : .debug, wasUp ? "link_down" : "link_retry",
                                     [("link", id.description), ("peer", link.peer?.name ?? "\(link.host):\(link.port)"),
                                      ("reason", reason), ("retry_ms", "\(delay)"), ("attempt", "\(link.attempt)")])))
    }

    /// The daemons our component reaches, taken at a round. A waiting
    /// link to one of them that had backed off retries within one base
    /// step: another daemon reports the peer alive, so a healed partition
    /// is noticed within a few rounds instead of after a grown back-off.
    mutating func reached(byOthers alive: Set<String>, now: Int64) {
        reachedByOthers = alive
        for (id, l) in ordered where l.attempt > 1 {
            guard let name = l.peer?.name, alive.contains(name), case let .waiting(until) = l.state,
                  until > now + 2 * Backoff.baseMs else { continue }
            table[id]!.state = .waiting(until: now + Int64(rng.next() % UInt64(Backoff.baseMs)))
            table[id]!.attempt = 1
        }
    }

    /// What the peer's hello did to its link.
    enum HelloOutcome: Equatable {
        /// Hellos exchanged: the link is up.
        case up
        /// The link must be cut (a second hello, another environment).
        case cut(reason: String)
        /// The peer is this daemon itself: closed, never retried.
        case closedSelf
    }

    /// The peer's hello on `id`: check the environment (D10) and that the
    /// peer is not ourselves; then the link is up. `me` is our own hello.
    mutating func hello(_ h: PeerHello, on id: LinkID, me: PeerHello, now: Int64, effects: inout [Effect]) -> HelloOutcome {
        guard case .handshaking = table[id]!.state else { return .cut(reason: "second_hello") }
        if h.environment != me.environment {
            effects.append(.log(LogEvent(.error, "peer_refused", [("link", id.description), ("reason", "environment_mismatch"),
                                                                  ("environment", me.environment),
                                                                  ("peer_environment", h.environment), ("peer", h.name)])))
            return .cut(reason: "environment_mismatch")
        }
        if h.name == me.name {
            effects.append(.closePeer(id))
            if id.isInbound { table[id] = nil } else { table[id]!.state = .disabled }
            effects.append(.log(LogEvent(.warn, "peer_is_self", [("link", id.description)])))
            return .closedSelf
        }
        // A link that failed before and works again is evidence that the
        // network healed: retry the other failed links soon, not after
        // their grown back-off.
        let recovered = table[id]!.attempt > 0 || id.isInbound && table.values.contains { $0.attempt > 1 }
        if recovered {
            for (other, l) in ordered where other != id && l.attempt > 1 {
                if case let .waiting(until) = l.state, until > now + Backoff.baseMs {
                    table[other]!.state = .waiting(until: now + Int64(rng.next() % UInt64(Backoff.baseMs)))
                    table[other]!.attempt = 1
                }
            }
        }
        table[id]!.peer = h
        table[id]!.state = .up
        table[id]!.attempt = 0
        table[id]!.upSince = now
        table[id]!.ups += 1
        effects.append(.log(LogEvent(.info, "link_up", [("link", id.description), ("peer", h.name), ("cluster", h.cluster),
                                                        ("master", h.master ? "true" : "false"),
                                                        ("generation", "\(h.generation)")])))
        return .up
    }

    /// Whether to send link `id` every master entry now: only when its
    /// masters hash differed for two digest rounds in a row (entries in
    /// flight differ for a round).
    mutating func membersStillDiffer(_ id: LinkID, differ: Bool) -> Bool {
        guard differ else {
            table[id]!.membersMismatch = false
            return false
        }
        table[id]!.membersMismatch.toggle()
        return !table[id]!.membersMismatch
    }

    /// Adds outbound links to masters learned from the graph: a master links
    /// to every master (the smaller name dials); a leaf keeps two masters of
    /// its cluster. A retired master is no member and is never dialled.
    mutating func learn(from graph: MemberGraph, config: NodeConfig, now: Int64) {
        let outbound = table.values.filter { !$0.id.isInbound }
        if !config.master, outbound.count >= 2 { return }
        let reached = Set(table.values.compactMap { $0.peer?.name })
        let targets = Set(outbound.map { "\($0.host):\($0.port)" })
        var leafMasterLinks = outbound.count
        for e in graph.entries.values.sorted(by: { $0.name < $1.name }) where e.master && e.isMember && e.name != config.name {
            guard !e.host.isEmpty, e.host != "0.0.0.0", e.port > 0, !reached.contains(e.name),
                  !targets.contains("\(e.host):\(e.port)") else { continue }
            if config.master {
                guard config.name < e.name else { continue }
            } else {
                guard e.cluster == config.cluster, leafMasterLinks < 2 else { continue }
                leafMasterLinks += 1
            }
            add(host: e.host, port: Int(e.port), learned: true, at: now)
        }
    }
}
