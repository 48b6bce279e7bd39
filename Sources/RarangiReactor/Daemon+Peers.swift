import CLibevent
import Glibc
import RarangiCore
import RarangiSeal
import RarangiWire

/// Peer links on the catalogue's own port (`PeerUpgrade`: `GET /_peer`,
/// `101`, then length-prefixed frames). The core decides everything; this
/// file only moves bytes and reports what happened.
extension Daemon {
    /// Peer output beyond this is a peer that does not read: it is cut off.
    static let maxPeerBacklog = 64 << 20
    /// Unsent bytes above which a peer link counts as slow: the core then
    /// coalesces its pushes per key until the backlog drains.
    static let slowPeerBytes = 1 << 20

    /// After a flush of a peer connection: notes a backlog crossing the
    /// threshold either way; the core hears of it at the end of the turn.
    func noteBacklog(_ conn: Connection) {
        guard case let .peer(link) = conn.phase else { return }
        if !conn.reportedSlow, conn.backlog > Daemon.slowPeerBytes {
            conn.reportedSlow = true
            turn.backlogChanges.append((link, true))
        } else if conn.reportedSlow, conn.backlog == 0 {
            conn.reportedSlow = false
            turn.backlogChanges.append((link, false))
        }
    }

    /// The listener's side of an upgrade. A sealed one starts the key
    /// handshake; the core hears of the link only once it is proved.
    func upgradeToPeer(_ conn: Connection, sealed: Bool, leftover: UnsafeBufferPointer<UInt8>) {
        let link = LinkID(LinkID.inboundBit | conn.id)
        conn.remoteHost = conn.clientAddress
        conn.requestStartedAt = nil
        table.fileLink(link, conn)
        conn.output.append(contentsOf: PeerUpgrade.answer(environment: node.config.environment, sealed: sealed))
        markDirty(conn)
        if sealed, let keyring {
            conn.enter(.peerAuthenticating(link))
            conn.requestStartedAt = now.ms
            conn.seal = .handshake(PeerHandshake(role: .listener, keyring: keyring, environment: node.config.environment,
                                                 name: node.config.name, nonce: Daemon.handshakeNonce()))
            if !leftover.isEmpty { authenticate(conn, link, leftover) }
            return
        }
        conn.enter(.peer(link))
        apply(.peerConnected(link, host: conn.remoteHost))
        if !leftover.isEmpty { feedFrames(conn, link, leftover) }
    }

    /// Whether an upgrade of this kind is refused: a sealed one by a daemon
    /// without a key, a plain one by a daemon with one. The refusal is
    /// answered (so the dialler logs why) and logged here.
    func refusesUpgrade(sealed: Bool, on conn: Connection) -> HTTPResponse? {
        let reason: (String, String)
        switch (sealed, keyring != nil) {
        case (true, false):
            reason = ("no_cluster_key", "this daemon has no cluster key: it links only without one")
        case (false, true):
            reason = ("cluster_key_required", "this daemon links only with daemons that prove they hold its cluster key")
        default:
            return nil
        }
        noteRefusal(address: conn.clientAddress, kind: reason.0, reason: reason.1)
        return .error(403, reason.0, reason.1, close: true)
    }

    /// Logs a refused peer (or client), once per address and kind of refusal per minute.
    func noteRefusal(address: String, kind: String, event: String = "peer_refused", reason: String) {
        guard let suppressed = refusals.admit(address + " " + kind, now: now.ms) else { return }
        logger.log(.warn, event, [("address", address), ("kind", kind), ("reason", reason),
                                  ("refused_since_last_line", "\(suppressed)")])
    }

    /// Bytes on a peer connection: the upgrade answer first (outbound), the
    /// key handshake (sealed links), then frames.
    func peerRead(_ conn: Connection, _ bytes: UnsafeBufferPointer<UInt8>) {
        switch conn.phase {
        case let .peerUpgrading(link):
            conn.input.append(contentsOf: bytes)
            let sealed = keyring != nil
            switch conn.input.withUnsafeBufferPointer({ PeerUpgrade.parseAnswer($0, sealed: sealed) }) {
            case .needMore:
                return
            case let .refused(answer):
                noteRefusal(address: conn.remoteHost, kind: "upgrade_refused", reason: "the peer answered the upgrade with: \(answer)")
                closeConnection(conn)
            case let .accepted(headLength):
                let rest = Array(conn.input[headLength...])
                conn.input = []
                if let keyring {
                    conn.enter(.peerAuthenticating(link))
                    conn.requestStartedAt = now.ms
                    var handshake = PeerHandshake(role: .dialler, keyring: keyring, environment: node.config.environment,
                                                  name: node.config.name, nonce: Daemon.handshakeNonce())
                    conn.output.append(contentsOf: handshake.takeOutgoing())
                    markDirty(conn)
                    conn.seal = .handshake(handshake)
                    if !rest.isEmpty { rest.withUnsafeBufferPointer { authenticate(conn, link, $0) } }
                    return
                }
                conn.enter(.peer(link))
                apply(.peerConnected(link, host: conn.remoteHost))
                if !rest.isEmpty { rest.withUnsafeBufferPointer { feedFrames(conn, link, $0) } }
            }
        case let .peerAuthenticating(link):
            authenticate(conn, link, bytes)
        case let .peer(link):
            feedFrames(conn, link, bytes)
        default:
            return
        }
    }

    /// Handshake bytes: on proof the link is connected for the core; on
    /// failure it is cut (after the refusal that tells the other side why).
    private func authenticate(_ conn: Connection, _ link: LinkID, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard case var .handshake(handshake) = conn.seal else { return }
        let outcome = handshake.receive(bytes)
        conn.output.append(contentsOf: handshake.takeOutgoing())
        markDirty(conn)
        switch outcome {
        case .pending:
            conn.seal = .handshake(handshake)
        case let .failed(failure):
            conn.seal = nil
            noteRefusal(address: conn.remoteHost, kind: failure.kind, reason: failure.description)
            _ = conn.flush()
            closeConnection(conn)
        case let .established(done):
            conn.seal = .channel(done.channel, peer: done.peerName, key: done.keyID)
            conn.requestStartedAt = nil
            conn.enter(.peer(link))
            logger.log(.debug, "peer_authenticated", [("link", link.description), ("peer", done.peerName),
                                                      ("key", done.keyID.description)])
            apply(.peerConnected(link, host: conn.remoteHost))
            if !done.leftover.isEmpty { done.leftover.withUnsafeBufferPointer { feedFrames(conn, link, $0) } }
        }
    }

    /// A fresh handshake nonce from the system's random source.
    static func handshakeNonce() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<PeerHandshake.nonceLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Opens sealed frames (a link with a cluster key), decodes frames and
    /// hands each to the core; a frame that does not open or decode cuts the link.
    private func feedFrames(_ conn: Connection, _ link: LinkID, _ bytes: UnsafeBufferPointer<UInt8>) {
        if case .channel(var channel, let peer, let key) = conn.seal {
            conn.seal = nil  // the channel's buffer stays uniquely held: no copy per read
            channel.append(bytes)
            do {
                while let frame = try channel.open() { conn.frames.append(frame) }
                conn.seal = .channel(channel, peer: peer, key: key)
            } catch {
                conn.seal = nil
                logger.log(.warn, "peer_malformed", [("link", link.description), ("peer", peer), ("error", error.description)])
                closeConnection(conn)
                return
            }
        } else {
            conn.frames.append(bytes)
        }
        while conn.phase == .peer(link) {
            do {
                guard let message = try conn.frames.next() else { return }
                if case let .hello(hello) = message, case let .channel(_, peer, _)? = conn.seal, hello.name != peer {
                    // The hello must name the daemon that proved itself.
                    logger.log(.warn, "peer_malformed", [("link", link.description), ("peer", peer),
                                                         ("error", "the hello names another daemon than the handshake proved")])
                    closeConnection(conn)
                    return
                }
                apply(.peerMessage(link, message))
            } catch {
                logger.log(.warn, "peer_malformed", [("link", link.description), ("error", error.description)])
                closeConnection(conn)
                return
            }
        }
    }

    /// `.connect`: resolves the peer's name without blocking the loop (afresh
    /// at every attempt: cloud addresses change), then connects without
    /// blocking; completion arrives as writability.
    func connectPeer(_ link: LinkID, host: String, port: Int) {
        guard let resolver else {
            apply(.peerClosed(link))
            return
        }
        let lookup = resolver.resolve(host, port: port, target: "\(host):\(port)") { [unowned self] result in
            lookups[link] = nil
            switch result {
            case let .success(address):
                connectPeer(link, host: host, port: port, address: address)
            case let .failure(error):
                // Once per attempt: attempts are spaced by the link's back-off.
                logger.log(.warn, "peer_unresolvable", [("link", link.description), ("target", "\(host):\(port)"),
                                                        ("error", error.message)])
                apply(.peerClosed(link))
            }
        }
        if let lookup { lookups[link] = lookup }
    }

    private func connectPeer(_ link: LinkID, host: String, port: Int, address: Resolver.Address) {
        guard let fd = Socket.connect(to: address, from: options.host) else {
            logger.log(.debug, "peer_connect_failed", [("link", link.description), ("target", "\(host):\(port)"),
                                                       ("error", errnoText(errno))])
            apply(.peerClosed(link))
            return
        }
        let conn = adopt(fd, phase: .peerConnecting(link), overflow: false)
        conn.remoteHost = host
        armWrite(conn)
    }

    /// The non-blocking connect finished: send the upgrade request, or report the failure.
    func peerConnectFinished(_ conn: Connection) {
        guard case let .peerConnecting(link) = conn.phase else { return }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err != 0 {
            logger.log(.debug, "peer_connect_failed", [("link", link.description), ("error", errnoText(err))])
            closeConnection(conn)
            return
        }
        conn.enter(.peerUpgrading(link))
        event_add(conn.readEvent, nil)
        conn.output.append(contentsOf: PeerUpgrade.request(host: conn.remoteHost, environment: node.config.environment,
                                                           sealed: keyring != nil))
        markDirty(conn)
    }

    /// `.sendPeer`: queue a frame; flushed after the turn.
    func sendPeer(_ link: LinkID, _ frame: [UInt8]) {
        guard let conn = table[link], case .peer = conn.phase else { return }
        if case .channel(var channel, let peer, let key) = conn.seal {
            conn.seal = nil
            channel.seal(frame, into: &conn.output)
            conn.seal = .channel(channel, peer: peer, key: key)
        } else {
            conn.output.append(contentsOf: frame)
        }
        if conn.backlog > Daemon.maxPeerBacklog {
            logger.log(.warn, "peer_too_slow", [("link", link.description), ("backlog", "\(conn.backlog)")])
            closeConnection(conn)
            return
        }
        markDirty(conn)
    }

    /// `.closePeer`: write what is queued if the socket takes it, then close
    /// without telling the core (it asked).
    func closePeer(_ link: LinkID) {
        if let lookup = lookups.removeValue(forKey: link) {
            // The core gave up (its connect deadline) while the name was
            // still being looked up: the resolver did not answer in time.
            resolver?.cancel(lookup)
            logger.log(.warn, "peer_unresolvable", [("link", link.description), ("target", lookup.target),
                                                    ("error", "no answer from the resolver within the connect timeout")])
            return
        }
        guard let conn = table[link] else { return }
        if case .peerConnecting = conn.phase {} else { _ = conn.flush() }
        closeConnection(conn, reportToCore: false)
    }

    /// Bytes moved on peer links, for the status document.
    var peerBytes: (inbound: Int, outbound: Int) {
        table.links.reduce((0, 0)) { ($0.0 + $1.bytesIn, $0.1 + $1.bytesOut) }
    }
}

extension Daemon {
    /// What running without a cluster key exposes, said at start and on a
    /// reload that removes the key file.
    func logNoClusterKey() {
        logger.log(.warn, "no_cluster_key", [("exposure", "any host that reaches this port can join as a peer, inject and overwrite registrations; set --cluster-key-file")])
    }

    /// SIGHUP's new keys: links that still authenticate stay up; a link
    /// proved with a key that was removed, or of the kind the new
    /// configuration no longer speaks (sealed or not), is cut and dialled
    /// again under the new keys.
    func replaceKeyring(_ fresh: ClusterKeyring?) {
        let old = keyring
        keyring = fresh
        if fresh == nil, old != nil { logNoClusterKey() }
        for conn in table.snapshot {
            guard let link = conn.link else { continue }
            let keep: Bool
            switch conn.phase {
            case .peerConnecting:
                keep = true  // its upgrade is written under the new keys
            case .peerUpgrading:
                keep = (old == nil) == (fresh == nil)
            case .peerAuthenticating:
                keep = fresh != nil && fresh == old
            default:
                if case let .channel(_, _, key)? = conn.seal { keep = fresh?.key(key) != nil } else { keep = fresh == nil }
            }
            if keep { continue }
            logger.log(.info, "peer_key_changed", [("link", link.description), ("action", "cut; it is linked again under the new keys")])
            closeConnection(conn)
        }
    }
}
