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
            let overflow = table.serving >= maxConnections
            Socket.setNoDelay(fd)
            let conn = adopt(fd, phase: .http, overflow: overflow)
            if overflow {
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

    /// Wraps a new socket in a connection with its read and write events
    /// (one retain each, released in `free`) and files it.
    func adopt(_ fd: Int32, phase: ConnectionPhase, overflow: Bool) -> Connection {
        let conn = Connection(id: table.newID(), fd: fd, phase: phase, overflow: overflow,
                              parser: HTTPParser(maxBodyBytes: options.maxBodyBytes), now: now.ms)
        conn.daemon = self
        conn.readEvent = event_new(base, fd, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            let conn = Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue()
            conn.daemon.readReady(conn)
        }, Unmanaged.passRetained(conn).toOpaque())
        conn.writeEvent = event_new(base, fd, Int16(EV_WRITE | EV_PERSIST), { _, _, ctx in
            let conn = Unmanaged<Connection>.fromOpaque(ctx!).takeUnretainedValue()
            conn.daemon.writeReady(conn)
        }, Unmanaged.passRetained(conn).toOpaque())
        table.file(conn)
        return conn
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
}
