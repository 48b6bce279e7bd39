import CLibevent
import Glibc
import RarangiCore
import RarangiWire

/// The shell's half of held registrations and blocking queries (the core
/// holds the other half): a held connection streams and is pinged; a parked
/// one keeps its pipelined input until the core answers the query.
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
    /// Unsent answers to one client above which its further requests wait
    /// (are neither read nor parsed) until they drain.
    static let maxClientBacklog = 1 << 20

    /// `.stream`: starts the stream of a held registration on `conn`. Input
    /// is left alone (this runs while `handleInput` reads it): the reader
    /// drops what follows once the phase is held.
    func startStream(_ response: HTTPResponse, on conn: Connection) {
        guard conn.phase == .http else { return }
        encoder.encodeStreamStart(response, isHTTP11: conn.framing.http11, into: &conn.output)
        countAnswer(response.status, on: conn)
        conn.enter(.held(lastPingMs: now.ms, http11: conn.framing.http11))
        if !conn.keepaliveSet {
            conn.keepaliveSet = true
            Socket.setHeldOptions(conn.fd, userTimeoutMs: Daemon.heldUserTimeoutMs)
        }
        markDirty(conn)
    }

    /// `.parked`: the core parked a blocking query on `conn`. Its socket
    /// gets the held sockets' keepalive (once per connection), so a client
    /// host that vanished without a FIN frees its parked query within
    /// seconds rather than at the end of its wait.
    func park(_ conn: Connection) {
        guard conn.phase == .http else { return }
        conn.enter(.parked)
        conn.releaseIdleOutput()
        if !conn.keepaliveSet {
            conn.keepaliveSet = true
            Socket.setHeldOptions(conn.fd, userTimeoutMs: Daemon.heldUserTimeoutMs)
        }
    }

    /// Pings written per loop turn. Held streams started together fall due
    /// together: thousands of pings written in one turn would stall every
    /// other connection for tens of milliseconds, so they go out a slice a
    /// turn, with the loop serving I/O between slices.
    static let pingsPerTurn = 256

    /// A held stream's ping is due; no idle timeout applies to it. The phase
    /// records it as sent now, so the next pass does not queue it again.
    func ping(_ conn: Connection, http11: Bool, now t: Int64) {
        conn.enter(.held(lastPingMs: t, http11: http11))
        turn.pings.append(conn.id)
    }

    /// Whether pings wait to be written (the loop then does not block).
    var pingsWaiting: Bool { turn.pingsDone < turn.pings.count }

    /// Writes the next slice of due pings, to streams still held.
    func writeQueuedPings() {
        var written = 0
        while written < Daemon.pingsPerTurn, turn.pingsDone < turn.pings.count {
            let id = turn.pings[turn.pingsDone]
            turn.pingsDone += 1
            guard let conn = table[ConnectionID(id)], case let .held(_, http11) = conn.phase else { continue }
            ResponseEncoder.appendChunk(ResponseEncoder.pingLine, isHTTP11: http11, to: &conn.output)
            markDirty(conn)
            written += 1
        }
        if turn.pingsDone == turn.pings.count {
            turn.pings.removeAll(keepingCapacity: true)
            turn.pingsDone = 0
        }
    }

    /// The parked query on `conn` has its answer: read requests again after the turn.
    func unpark(_ conn: Connection) {
        conn.enter(.http)
        conn.lastActivity = now.ms
        if !conn.input.isEmpty { turn.resumed.append(conn) }
    }

    /// On shutdown, held registrations are released first and the answers
    /// this gives parked queries are written, so a watcher sees them go
    /// before its connection closes.
    func releaseHeldBeforeShutdown() {
        // Refuse new connections first, so released holders that reconnect
        // at once are refused here and go straight to the other slot.
        event_del(listenEvent)
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        let held = table.inOrder.filter { if case .held = $0.phase { return true } else { return false } }
        guard !held.isEmpty else { return }
        for conn in held { closeConnection(conn) }
        flushDirty()
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
