import CLibevent
import Glibc
import RarangiCore
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

    /// The listener's side of an upgrade.
    func upgradeToPeer(_ conn: Connection, leftover: UnsafeBufferPointer<UInt8>) {
        let link = LinkID(LinkID.inboundBit | conn.id)
        conn.enter(.peer(link))
        conn.remoteHost = Socket.peerHost(conn.fd)
        conn.requestStartedAt = nil
        table.fileLink(link, conn)
        conn.output.append(contentsOf: PeerUpgrade.answer(environment: node.config.environment))
        markDirty(conn)
        apply(.peerConnected(link, host: conn.remoteHost))
        if !leftover.isEmpty { feedFrames(conn, link, leftover) }
    }

    /// Bytes on a peer connection: the upgrade answer first (outbound), then frames.
    func peerRead(_ conn: Connection, _ bytes: UnsafeBufferPointer<UInt8>) {
        switch conn.phase {
        case let .peerUpgrading(link):
            conn.input.append(contentsOf: bytes)
            switch conn.input.withUnsafeBufferPointer(PeerUpgrade.parseAnswer) {
            case .needMore:
                return
            case let .refused(answer):
                logger.log(.warn, "peer_upgrade_refused", [("link", link.description), ("answer", answer)])
                closeConnection(conn)
            case let .accepted(headLength):
                let rest = Array(conn.input[headLength...])
                conn.input = []
                conn.enter(.peer(link))
                apply(.peerConnected(link, host: conn.remoteHost))
                if !rest.isEmpty { rest.withUnsafeBufferPointer { feedFrames(conn, link, $0) } }
            }
        case let .peer(link):
            feedFrames(conn, link, bytes)
        default:
            return
        }
    }

    /// Decodes frames and hands each to the core; a malformed one cuts the link.
    private func feedFrames(_ conn: Connection, _ link: LinkID, _ bytes: UnsafeBufferPointer<UInt8>) {
        conn.frames.append(bytes)
        while conn.phase == .peer(link) {
            do {
                guard let message = try conn.frames.next() else { return }
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
        event_add(conn.writeEvent, nil)
        conn.writeArmed = true
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
        conn.output.append(contentsOf: PeerUpgrade.request(host: conn.remoteHost, environment: node.config.environment))
        markDirty(conn)
    }

    /// `.sendPeer`: queue a frame; flushed after the turn.
    func sendPeer(_ link: LinkID, _ frame: [UInt8]) {
        guard let conn = table[link], conn.phase.writes else { return }
        conn.output.append(contentsOf: frame)
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
