import RarangiProtocol
import RarangiWire

/// Peer links: connect, handshake, back-off, cut. Every link state
/// transition happens in this file.
extension Node {
    var hello: PeerHello {
        PeerHello(environment: config.environment, cluster: config.cluster, name: config.name,
                  generation: config.generation, master: config.master,
                  host: config.advertiseHost, port: UInt16(clamping: config.advertisePort))
    }

    /// The links in id order: effects come out in the same order in every
    /// process, so a simulation replays exactly from its seed.
    var orderedLinks: [(LinkID, Link)] {
        links.sorted { $0.key.raw < $1.key.raw }.map { ($0.key, $0.value) }
    }

    mutating func send(_ id: LinkID, _ message: PeerMessage, effects: inout [Effect]) {
        send(id, PeerCodec.encode(message), effects: &effects)
    }

    mutating func send(_ id: LinkID, _ frame: [UInt8], effects: inout [Effect]) {
        stats.peerOut += 1
        stats.peerBytesOut += frame.count
        links[id]?.messagesOut += 1
        effects.append(.sendPeer(id, frame))
    }

    func log(_ level: LogEvent.Level, _ event: String, _ fields: [(String, String)], _ effects: inout [Effect]) {
        effects.append(.log(LogEvent(level, event, fields)))
    }

    mutating func peerConnected(_ id: LinkID, host: String, now: Instant, effects: inout [Effect]) {
        if links[id] == nil {
            guard id.isInbound else { return }
            links[id] = Link(id: id, host: "", port: 0, state: .handshaking(deadline: now.ms + config.linkTimeoutMs))
        }
        links[id]!.state = .handshaking(deadline: now.ms + config.linkTimeoutMs)
        links[id]!.remoteHost = host
        links[id]!.lastHeard = now.ms
        send(id, .hello(hello), effects: &effects)
    }

    /// Fires the deadlines of links: connect when a wait is over, give up on
    /// connects and handshakes that take too long.
    mutating func linkDeadlines(now: Instant, effects: inout [Effect]) {
        for (id, link) in orderedLinks {
            switch link.state {
            case let .waiting(until) where until <= now.ms:
                if let name = link.peer?.name, links.values.contains(where: { $0.id != id && $0.isUp && $0.peer?.name == name }) {
                    // Another link already reaches this peer; check again later.
                    links[id]!.state = .waiting(until: now.ms + config.linkTimeoutMs)
                    continue
                }
                links[id]!.state = .connecting(deadline: now.ms + config.linkTimeoutMs)
                effects.append(.connect(id, host: link.host, port: link.port))
            case let .connecting(deadline) where deadline <= now.ms,
                 let .handshaking(deadline) where deadline <= now.ms:
                effects.append(.closePeer(id))
                linkDown(id, reason: "timeout", now: now, effects: &effects)
            default:
                break
            }
        }
    }

    /// A link's connection is gone: an outbound link waits out its back-off,
    /// an inbound one is forgotten.
    mutating func linkDown(_ id: LinkID, reason: String, now: Instant, effects: inout [Effect]) {
        guard var link = links[id] else { return }
        if case .disabled = link.state { return }
        if case .waiting = link.state { return }
        // Anti-entropy on the next connection repairs whatever was held.
        link.slow = false
        link.held = [:]
        let wasUp = link.isUp
        if wasUp {
            aliveDirty = true
            if config.master { myEntryDirty = true }
            recomputePartition(now: now, effects: &effects)
        }
        if id.isInbound {
            links[id] = nil
            if wasUp {
                log(.info, "link_down", [("link", id.description), ("peer", link.peer?.name ?? "-"), ("reason", reason)], &effects)
            }
            return
        }
        // Masters probe each other at the first back-off step (1–2 s) for
        // ever: that is how a healed partition is noticed within a round or
        // two. Every other link backs off exponentially to 5 minutes.
        let probe = config.master && (link.peer?.master == true || link.learned)
        let delay = Backoff.delay(attempt: probe ? 0 : link.attempt, random: rng.next())
        link.attempt += 1
        link.state = .waiting(until: now.ms + delay)
        links[id] = link
        log(wasUp ? .info : .debug, wasUp ? "link_down" : "link_retry",
            [("link", id.description), ("peer", link.peer?.name ?? "\(link.host):\(link.port)"), ("reason", reason),
             ("retry_ms", "\(delay)"), ("attempt", "\(link.attempt)")], &effects)
    }

    /// Cuts a link (protocol error, silence, refusal).
    mutating func cut(_ id: LinkID, reason: String, now: Instant, effects: inout [Effect]) {
        effects.append(.closePeer(id))
        linkDown(id, reason: reason, now: now, effects: &effects)
    }

    /// The peer's hello: check the environment (D10), then the link is up.
    mutating func received(hello h: PeerHello, on id: LinkID, now: Instant, effects: inout [Effect]) {
        guard case .handshaking = links[id]!.state else {
            cut(id, reason: "second_hello", now: now, effects: &effects)
            return
        }
        if h.environment != config.environment {
            log(.error, "peer_refused", [("link", id.description), ("reason", "environment_mismatch"),
                                         ("environment", config.environment), ("peer_environment", h.environment),
                                         ("peer", h.name)], &effects)
            cut(id, reason: "environment_mismatch", now: now, effects: &effects)
            return
        }
        if h.name == config.name {
            effects.append(.closePeer(id))
            if id.isInbound { links[id] = nil } else { links[id]!.state = .disabled }
            log(.warn, "peer_is_self", [("link", id.description)], &effects)
            return
        }
        // A link that failed before and works again is evidence that the
        // network healed: retry the other failed links soon, not after
        // their grown back-off.
        let recovered = links[id]!.attempt > 0 || id.isInbound && links.values.contains { $0.attempt > 1 }
        if recovered {
            for (other, l) in orderedLinks where other != id && l.attempt > 1 {
                if case let .waiting(until) = l.state, until > now.ms + Backoff.baseMs {
                    links[other]!.state = .waiting(until: now.ms + Int64(rng.next() % UInt64(Backoff.baseMs)))
                    links[other]!.attempt = 1
                }
            }
        }
        links[id]!.peer = h
        links[id]!.state = .up
        links[id]!.attempt = 0
        links[id]!.upSince = now.ms
        log(.info, "link_up", [("link", id.description), ("peer", h.name), ("cluster", h.cluster),
                               ("master", h.master ? "true" : "false"), ("generation", "\(h.generation)")], &effects)
        aliveDirty = true
        if config.master { myEntryDirty = true; publishMyEntry(now: now) }
        // Start a round on the new link at once: digest, and masters if we know any.
        send(id, .digest(hash: replica.digestHash(), mastersHash: graph.hash, entries: replica.digest), effects: &effects)
        if !graph.entries.isEmpty, config.master { sendAllEntries(id, effects: &effects) }
        recomputePartition(now: now, effects: &effects)
    }

    /// Adds outbound links to masters learned from the graph: a master links
    /// to every master (the smaller name dials); a leaf keeps two masters of
    /// its cluster.
    mutating func learnTargets(now: Instant) {
        if !config.master, links.values.filter({ !$0.id.isInbound }).count >= 2 { return }
        let reached = Set(links.values.compactMap { $0.peer?.name })
        let targets = Set(links.values.filter { !$0.id.isInbound }.map { "\($0.host):\($0.port)" })
        var leafMasterLinks = links.values.filter { !$0.id.isInbound }.count
        for e in graph.entries.values.sorted(by: { $0.name < $1.name }) where e.name != config.name {
            guard !e.host.isEmpty, e.host != "0.0.0.0", e.port > 0, !reached.contains(e.name),
                  !targets.contains("\(e.host):\(e.port)") else { continue }
            if config.master {
                guard config.name < e.name else { continue }
            } else {
                guard e.cluster == config.cluster, leafMasterLinks < 2 else { continue }
                leafMasterLinks += 1
            }
            let id = LinkID(nextOutbound)
            nextOutbound += 1
            var link = Link(id: id, host: e.host, port: Int(e.port), state: .waiting(until: now.ms))
            link.learned = true
            links[id] = link
        }
    }
}
