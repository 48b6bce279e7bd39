import CLibevent
import Glibc
import RarangiCore
import RarangiWire

/// Peer links on the catalogue's own port: the dialling side sends
/// `GET /_peer` with `Upgrade: rarangi-peer/1`, the listener answers `101`,
/// then both speak length-prefixed frames (`PeerCodec`). The core decides
/// everything; this file only moves bytes and reports what happened.
extension Daemon {
    /// Peer output beyond this is a peer that does not read: it is cut off.
    static let maxPeerBacklog = 64 << 20
    /// Unsent bytes above which a peer link counts as slow: the core then
    /// coalesces its pushes per key until the backlog drains.
    static let slowPeerBytes = 1 << 20

    /// After a flush of a peer connection: notes a backlog crossing the
    /// threshold either way; the core hears of it at the end of the turn.
    func noteBacklog(_ conn: Connection) {
        guard let link = conn.peerLink, !conn.awaitingUpgrade else { return }
        let backlog = conn.output.count - conn.outputStart
        if !conn.peerSlow, backlog > Daemon.slowPeerBytes {
            conn.peerSlow = true
            backlogChanges.append((link, true))
        } else if conn.peerSlow, backlog == 0 {
            conn.peerSlow = false
            backlogChanges.append((link, false))
        }
    }

    /// The listener's side of an upgrade.
    func upgradeToPeer(_ conn: Connection, leftover: UnsafeBufferPointer<UInt8>) {
        let link = LinkID(LinkID.inboundBit | conn.id)
        conn.peerLink = link
        conn.remoteHost = Socket.peerHost(conn.fd)
        conn.requestStartedAt = nil
        peerConnections[link] = conn
        conn.output.append(contentsOf: Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: rarangi-peer/1\r\nConnection: Upgrade\r\n\(ResponseEncoder.environmentHeader): \(node.config.environment)\r\n\r\n".utf8))
        markDirty(conn)
        apply(.peerConnected(link, host: conn.remoteHost))
        if !leftover.isEmpty, conn.state == .open { peerRead(conn, leftover) }
    }

    /// Bytes on a peer connection: the upgrade answer first (outbound), then frames.
    func peerRead(_ conn: Connection, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let link = conn.peerLink else { return }
        if conn.awaitingUpgrade {
            conn.input.append(contentsOf: bytes)
            guard let end = headEnd(conn.input) else {
                if conn.input.count > 8192 { refuseUpgrade(conn, link, status: "oversized") }
                return
            }
            let head = String(decoding: conn.input[..<end], as: UTF8.self)
            guard head.hasPrefix("HTTP/1.1 101") else {
                refuseUpgrade(conn, link, status: String(head.prefix { $0 != "\r" }))
                return
            }
            conn.awaitingUpgrade = false
            let rest = Array(conn.input[end...])
            conn.input = []
            apply(.peerConnected(link, host: conn.remoteHost))
            if !rest.isEmpty, conn.state == .open { rest.withUnsafeBufferPointer { feedFrames(conn, link, $0) } }
            return
        }
        feedFrames(conn, link, bytes)
    }

    private func refuseUpgrade(_ conn: Connection, _ link: LinkID, status: String) {
        logger.log(.warn, "peer_upgrade_refused", [("link", link.description), ("answer", status)])
        closeConnection(conn)
    }

    private func feedFrames(_ conn: Connection, _ link: LinkID, _ bytes: UnsafeBufferPointer<UInt8>) {
        conn.frames.append(bytes)
        while conn.state == .open {
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

    private func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i + 4 }
        return nil
    }

    /// `.connect`: a non-blocking connect; completion arrives as writability.
    func connectPeer(_ link: LinkID, host: String, port: Int) {
        guard let fd = Socket.connect(host: host, port: port, from: options.host) else {
            logger.log(.debug, "peer_connect_failed", [("link", link.description), ("target", "\(host):\(port)")])
            apply(.peerClosed(link))
            return
        }
        let conn = adopt(fd, overflow: false)
        conn.peerLink = link
        conn.connecting = true
        conn.awaitingUpgrade = true
        conn.remoteHost = host
        serving += 1
        peerConnections[link] = conn
        event_add(conn.writeEvent, nil)
        conn.writeArmed = true
    }

    /// The non-blocking connect finished: send the upgrade request, or report the failure.
    func peerConnectFinished(_ conn: Connection) {
        conn.connecting = false
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err != 0 {
            logger.log(.debug, "peer_connect_failed", [("link", conn.peerLink!.description), ("error", errnoText(err))])
            closeConnection(conn)
            return
        }
        event_add(conn.readEvent, nil)
        let request = "GET /_peer HTTP/1.1\r\nHost: \(conn.remoteHost)\r\nUpgrade: rarangi-peer/1\r\nConnection: Upgrade\r\n\(ResponseEncoder.environmentHeader): \(node.config.environment)\r\n\r\n"
        conn.output.append(contentsOf: Array(request.utf8))
        markDirty(conn)
    }

    /// `.sendPeer`: queue a frame; flushed after the turn.
    func sendPeer(_ link: LinkID, _ frame: [UInt8]) {
        guard let conn = peerConnections[link], conn.state == .open else { return }
        conn.output.append(contentsOf: frame)
        if conn.output.count - conn.outputStart > Daemon.maxPeerBacklog {
            logger.log(.warn, "peer_too_slow", [("link", link.description), ("backlog", "\(conn.output.count - conn.outputStart)")])
            closeConnection(conn)
            return
        }
        markDirty(conn)
    }

    /// `.closePeer`: write what is queued if the socket takes it, then close.
    func closePeer(_ link: LinkID) {
        guard let conn = peerConnections[link] else { return }
        conn.closedByCore = true
        if !conn.connecting { _ = conn.flush() }
        closeConnection(conn)
    }

    /// Bytes moved on peer links, for the status document.
    var peerBytes: (inbound: Int, outbound: Int) {
        peerConnections.values.reduce((0, 0)) { ($0.0 + $1.bytesIn, $0.1 + $1.bytesOut) }
    }
}
