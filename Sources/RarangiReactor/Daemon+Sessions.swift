import CLibevent
import Glibc
import RarangiCore
import RarangiWire

/// A session a connection is in while it is `.open`: the shell's half of
/// held registrations and blocking queries (the core holds the other half).
enum Session: Equatable {
    /// Plain request/response.
    case none
    /// A blocking query is parked in the core; pipelined input waits.
    case parked
    /// The connection holds a registration: the response is a stream the
    /// daemon pings; input is read only to notice the close.
    case held(lastPingMs: Int64, http11: Bool)
}

extension Daemon {
    /// How often a held stream is pinged. With `heldUserTimeoutMs` it bounds
    /// how long a vanished client host (no FIN) keeps its registration:
    /// at most ping interval + user timeout + housekeeping period (< 10 s).
    static let pingIntervalMs: Int64 = 2000
    /// TCP_USER_TIMEOUT on held sockets: unacknowledged pings error the
    /// connection out after this.
    static let heldUserTimeoutMs: Int32 = 5000
    /// Pipelined input buffered behind a parked query before the connection is closed.
    static let maxParkedInput = 65536

    /// Starts the stream of a held registration on `conn`.
    func startStream(_ response: HTTPResponse, on conn: Connection) {
        guard conn.state == .open else { return }
        encoder.encodeStreamStart(response, isHTTP11: conn.replyHTTP11, into: &conn.output)
        // Input is left alone: this runs inside `handleInput`, whose caller
        // drops what follows the request once the connection is held.
        conn.session = .held(lastPingMs: now.ms, http11: conn.replyHTTP11)
        Socket.setHeldOptions(conn.fd, userTimeoutMs: Daemon.heldUserTimeoutMs)
        markDirty(conn)
    }

    /// Input on a connection in a session: buffered behind a parked query,
    /// dropped on a held stream.
    func sessionInput(_ conn: Connection, count n: Int) {
        guard conn.session == .parked else { return }
        conn.input.append(contentsOf: scratch[0..<n])
        if conn.input.count > Daemon.maxParkedInput { closeConnection(conn) }
    }

    /// Pings held streams; no idle timeout applies to a session.
    func sessionHousekeeping(_ conn: Connection, now t: Int64) {
        guard case let .held(last, http11) = conn.session, t - last >= Daemon.pingIntervalMs else { return }
        ResponseEncoder.appendChunk(ResponseEncoder.pingLine, isHTTP11: http11, to: &conn.output)
        conn.session = .held(lastPingMs: t, http11: http11)
        markDirty(conn)
    }

    /// The parked query on `conn` has its answer: read requests again after the turn.
    func unpark(_ conn: Connection) {
        conn.session = .none
        conn.lastActivity = now.ms
        if !conn.input.isEmpty { unparked.append(conn) }
    }

    /// Parses what was pipelined behind answered blocking queries.
    func resumeUnparked() {
        while !unparked.isEmpty {
            let batch = unparked
            unparked.removeAll()
            for conn in batch where conn.state == .open && conn.session == .none && !conn.input.isEmpty {
                let input = conn.input
                conn.input.removeAll()
                let used = input.withUnsafeBufferPointer { handleInput(conn, $0) }
                if conn.readsRequests, used < input.count {
                    conn.input = Array(input[used...]) + conn.input
                }
            }
        }
    }

    /// On shutdown, held registrations are released first and the answers
    /// this gives parked queries are written, so a watcher sees them go
    /// before its connection closes.
    func releaseHeldBeforeShutdown() {
        // Refuse new connections first, so released holders that reconnect
        // at once are refused here and go straight to the other slot.
        event_del(listenEvent)
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        let held = connections.values.filter { if case .held = $0.session { return true } else { return false } }
        guard !held.isEmpty else { return }
        for conn in held { closeConnection(conn) }
        for conn in dirty {
            conn.dirty = false
            flushNow(conn)
        }
        dirty.removeAll()
    }
}

extension Socket {
    /// Keepalive and TCP_USER_TIMEOUT on a held socket, so a client host
    /// that vanishes without a FIN errors the connection out.
    static func setHeldOptions(_ fd: Int32, userTimeoutMs: Int32) {
        var one: Int32 = 1
        var timeout = userTimeoutMs
        var idle: Int32 = 3
        var interval: Int32 = 1
        var probes: Int32 = 3
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &probes, size)
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &timeout, size)
    }
}
