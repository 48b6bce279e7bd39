import CLibevent
import Glibc
import RarangiCore
import RarangiWire

extension Daemon {
    /// Reads once (level-triggered: libevent calls again while more waits)
    /// and handles every complete request in what has arrived.
    func readReady(_ conn: Connection) {
        switch conn.state {
        case .closed:
            return
        case .draining:
            let n = scratch.withUnsafeMutableBytes { recv(conn.fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { closeConnection(conn) }
            return
        case .open, .closing:
            break
        }
        let n = scratch.withUnsafeMutableBytes { recv(conn.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            closeConnection(conn)
            return
        }
        if n == 0 {
            // A held registration or a parked query ends with its connection.
            if conn.session != .none {
                closeConnection(conn)
                return
            }
            // The client has finished sending. Answer what it asked, then close.
            if conn.state == .open, !conn.hasPendingOutput, !conn.dirty {
                closeConnection(conn)
            } else {
                conn.state = .closing
                event_del(conn.readEvent)
                markDirty(conn)
            }
            return
        }
        conn.lastActivity = now.ms
        guard conn.state == .open else { return }
        if conn.peerLink != nil {
            conn.bytesIn += n
            scratch.withUnsafeBufferPointer { p in peerRead(conn, UnsafeBufferPointer(rebasing: p[0..<n])) }
            return
        }
        if conn.session != .none {
            sessionInput(conn, count: n)
            return
        }
        if conn.input.isEmpty {
            // Fast path: parse straight from the scratch buffer; keep only a partial tail.
            let used = scratch.withUnsafeBufferPointer { p in
                handleInput(conn, UnsafeBufferPointer(rebasing: p[0..<n]))
            }
            if used < n, conn.readsRequests { conn.input.append(contentsOf: scratch[used..<n]) }
        } else {
            // `handleInput` never touches `conn.input`: what it used is removed here, once.
            conn.input.append(contentsOf: scratch[0..<n])
            let used = conn.input.withUnsafeBufferPointer { handleInput(conn, $0) }
            if !conn.readsRequests {
                conn.input.removeAll()
            } else if used > 0 {
                conn.input.removeFirst(used)
            }
        }
        if conn.state == .open {
            conn.requestStartedAt = conn.parser.isMidRequest ? (conn.requestStartedAt ?? now.ms) : nil
        }
    }

    /// Handles every complete request at the start of `buf`; returns the bytes used.
    func handleInput(_ conn: Connection, _ buf: UnsafeBufferPointer<UInt8>) -> Int {
        var offset = 0
        while conn.state == .open, conn.session == .none {
            switch conn.parser.parse(UnsafeBufferPointer(rebasing: buf[offset...])) {
            case .needMore:
                return offset
            case .sendContinue:
                conn.output.append(contentsOf: ResponseEncoder.continueResponse)
                markDirty(conn)
            case let .request(request, consumed):
                offset += consumed
                conn.requestStartedAt = nil
                if handle(request, on: conn) == .peerUpgrade {
                    // The rest of the buffer already belongs to the peer link.
                    upgradeToPeer(conn, leftover: UnsafeBufferPointer(rebasing: buf[offset...]))
                    return buf.count
                }
            case let .failure(error):
                conn.replyKeepAlive = false
                conn.replyHTTP11 = true
                conn.replyHeadOnly = false
                send(.error(error), on: conn)
                return offset
            }
        }
        return offset
    }

    /// What handling a request left the connection to do next.
    enum Handled { case done, peerUpgrade }

    private func handle(_ request: HTTPRequest, on conn: Connection) -> Handled {
        conn.replyKeepAlive = request.keepAlive && !conn.overflow
        conn.replyHTTP11 = request.isHTTP11
        conn.replyHeadOnly = request.method == .head
        switch router.route(request) {
        case let .failure(response):
            send(response, on: conn)
        case let .success(.status(pretty)):
            send(statusResponse(pretty: pretty), on: conn)
        case .success(.peerUpgrade):
            return .peerUpgrade
        case let .success(.catalogue(catalogueRequest)):
            apply(.request(ConnectionID(conn.id), catalogueRequest))
        }
        return .done
    }

    func writeReady(_ conn: Connection) {
        guard conn.state == .open || conn.state == .closing else { return }
        if conn.connecting {
            peerConnectFinished(conn)
            return
        }
        if !conn.flush() {
            closeConnection(conn)
            return
        }
        if conn.progressed { conn.lastActivity = now.ms }
        noteBacklog(conn)
        if !conn.hasPendingOutput {
            event_del(conn.writeEvent)
            conn.writeArmed = false
            if conn.state == .closing { startDraining(conn) }
        }
    }

    /// Everything is written: shut our side and drop input until the client
    /// closes (or `drainMs` passes), so it reads the response rather than a reset.
    func startDraining(_ conn: Connection) {
        Glibc.shutdown(conn.fd, Int32(SHUT_WR))
        conn.state = .draining
        conn.lastActivity = now.ms
        event_add(conn.readEvent, nil)
    }

    /// Closes a connection now; it is freed after the turn.
    func closeConnection(_ conn: Connection) {
        guard conn.state != .closed else { return }
        conn.state = .closed
        event_del(conn.readEvent)
        event_del(conn.writeEvent)
        conn.writeArmed = false
        Glibc.close(conn.fd)
        connections[conn.id] = nil
        if !conn.overflow { serving -= 1 }
        toFree.append(conn)
        if let link = conn.peerLink {
            peerConnections[link] = nil
            if !conn.closedByCore { apply(.peerClosed(link)) }
            return
        }
        apply(.connectionClosed(ConnectionID(conn.id)))
    }

    /// Frees a closed connection's events and the retains they held.
    func free(_ conn: Connection) {
        if let ev = conn.readEvent {
            event_free(ev)
            conn.readEvent = nil
            Unmanaged.passUnretained(conn).release()
        }
        if let ev = conn.writeEvent {
            event_free(ev)
            conn.writeEvent = nil
            Unmanaged.passUnretained(conn).release()
        }
    }

    /// Times out stalled requests, idle keep-alive connections, slow readers
    /// and drains that take too long.
    func housekeeping() {
        let t = now.ms
        for conn in Array(connections.values) where conn.peerLink == nil {
            switch conn.state {
            case .open:
                if let started = conn.requestStartedAt, t - started >= options.requestTimeoutMs {
                    logger.log(.debug, "request_timeout", [("connection", "\(conn.id)")])
                    conn.replyKeepAlive = false
                    send(.error(408, "request_timeout",
                                "the request was not completed within \(options.requestTimeoutMs / 1000) seconds", close: true), on: conn)
                } else if conn.session != .none {
                    sessionHousekeeping(conn, now: t)
                } else if t - conn.lastActivity >= options.idleTimeoutMs {
                    closeConnection(conn)
                }
            case .closing:
                if t - conn.lastActivity >= options.idleTimeoutMs { closeConnection(conn) }
            case .draining:
                if t - conn.lastActivity >= Daemon.drainMs { closeConnection(conn) }
            case .closed:
                break
            }
        }
    }
}
