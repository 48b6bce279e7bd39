import CLibevent
import Glibc
import RarangiCore
import RarangiWire

extension Daemon {
    /// Accepts waiting connections, at most a batch per turn so one busy
    /// listener cannot starve the connections already open.
    func acceptReady() {
        for _ in 0..<256 {
            let fd = rarangi_accept(listenFD)
            if fd < 0 {
                let e = errno
                switch e {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pauseAccepting(reason: errnoText(e))
                    return
                default:
                    logger.log(.warn, "accept_failed", [("error", errnoText(e))])
                    return
                }
            }
            table.accepted += 1
            let address = Socket.peerHost(fd)
            var overflow = table.serving >= maxConnections
            // At the cap an idle keep-alive connection makes room: a new
            // client is served rather than one that holds a slot for nothing.
            if overflow, closeIdlestKeepAlive() { overflow = false }
            let addressFull = !overflow && table.serving(from: address) >= options.maxConnectionsPerAddress
            Socket.setNoDelay(fd)
            let conn = adopt(fd, phase: .http, overflow: overflow || addressFull, clientAddress: address)
            if addressFull {
                table.rejectedPerAddress += 1
                noteRefusal(address: address, kind: "address_limit", event: "connection_refused",
                            reason: "\(options.maxConnectionsPerAddress) connections from this address are open (--max-connections-per-address)")
                conn.framing.keepAlive = false
                send(.error(503, "too_many_connections_from_address",
                            "this address already has \(options.maxConnectionsPerAddress) connections open; close some or retry shortly",
                            headers: [("Retry-After", "1")], close: true), on: conn)
            } else if overflow {
                // Over the cap: answer 503 at once and close, instead of falling over.
                table.rejected += 1
                conn.framing.keepAlive = false
                send(.error(503, "too_many_connections",
                            "the daemon is serving its maximum of \(maxConnections) connections; retry shortly",
                            headers: [("Retry-After", "1")], close: true), on: conn)
            }
            event_add(conn.readEvent, nil)
        }
    }

    /// Wraps a new socket in a connection with its read event (one retain,
    /// released in `free`) and files it; the write event comes when needed.
    func adopt(_ fd: Int32, phase: ConnectionPhase, overflow: Bool, clientAddress: String = "") -> Connection {
        let conn = Connection(id: table.newID(), fd: fd, phase: phase, overflow: overflow, clientAddress: clientAddress,
                              parser: HTTPParser(maxBodyBytes: options.maxBodyBytes), now: now.ms)
        conn.daemon = self
        conn.readEvent = event_new(base, fd, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            let conn = Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue()
            conn.daemon.readReady(conn)
        }, Unmanaged.passRetained(conn).toOpaque())
        table.file(conn)
        return conn
    }

    /// Asks for writability, making the connection's write event (one
    /// retain, released in `free`) the first time it is needed.
    func armWrite(_ conn: Connection) {
        if conn.writeEvent == nil {
            conn.writeEvent = event_new(base, conn.fd, Int16(EV_WRITE | EV_PERSIST), { _, _, ctx in
                let conn = Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue()
                conn.daemon.writeReady(conn)
            }, Unmanaged.passRetained(conn).toOpaque())
        }
        event_add(conn.writeEvent, nil)
        conn.writeArmed = true
    }

    /// Out of file descriptors: stop accepting for a moment instead of spinning.
    func pauseAccepting(reason: String) {
        guard !acceptPaused else { return }
        acceptPaused = true
        acceptPauses += 1
        event_del(listenEvent)
        var tv = timeval(tv_sec: 0, tv_usec: Int(Daemon.acceptPauseMs) * 1000)
        event_add(resumeAcceptTimer, &tv)
        logger.log(.warn, "accept_paused", [("reason", reason), ("pause_ms", "\(Daemon.acceptPauseMs)"),
                                            ("connections", "\(table.count)")])
    }

    func resumeAccepting() {
        guard acceptPaused, running else { return }
        acceptPaused = false
        event_add(listenEvent, nil)
    }

    /// Closes the keep-alive connection idle the longest (reading requests,
    /// none in progress, nothing unsent); false when there is none.
    func closeIdlestKeepAlive() -> Bool {
        var idlest: Connection?
        for conn in table.snapshot where conn.phase == .http && !conn.overflow && conn.requestStartedAt == nil
            && conn.input.isEmpty && !conn.hasPendingOutput && !conn.dirty {
            if idlest == nil || conn.lastActivity < idlest!.lastActivity { idlest = conn }
        }
        guard let idlest else { return false }
        table.evictedIdle += 1
        closeConnection(idlest)
        return true
    }
}
