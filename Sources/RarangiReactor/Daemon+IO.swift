import CLibevent
import Glibc
import RarangiCore
import RarangiWire

extension Daemon {
    /// Reads once (level-triggered: libevent calls again while more waits)
    /// and hands what arrived to the connection's phase.
    func readReady(_ conn: Connection) {
        if conn.phase == .closed { return }
        let n = scratch.withUnsafeMutableBytes { recv(conn.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            closeConnection(conn)
            return
        }
        if n == 0 {
            endOfInput(conn)
            return
        }
        if conn.phase == .draining { return }
        conn.lastActivity = now.ms
        switch conn.phase {
        case .http:
            requestInput(conn, count: n)
        case .parked:
            conn.input.append(contentsOf: scratch[0..<n])
            if conn.input.count > Daemon.maxParkedInput { closeConnection(conn) }
        case .blocked:
            // Its reads are off; what one last read brought waits like the rest.
            conn.input.append(contentsOf: scratch[0..<n])
        case .peerUpgrading, .peerAuthenticating, .peer:
            conn.bytesIn += n
            scratch.withUnsafeBufferPointer { p in peerRead(conn, UnsafeBufferPointer(rebasing: p[0..<n])) }
        case .held, .closing, .draining, .closed, .peerConnecting:
            // A held stream's input only shows the close; a closing one's is not read.
            break
        }
    }

    /// The other side finished sending.
    private func endOfInput(_ conn: Connection) {
        switch conn.phase {
        case .http where !conn.hasPendingOutput && !conn.dirty:
            closeConnection(conn)
        case .http:
            // Answer what it asked, then close.
            conn.enter(.closing)
            event_del(conn.readEvent)
            markDirty(conn)
        case .closing:
            // Half-closed while its last response is still being written.
            event_del(conn.readEvent)
            markDirty(conn)
        default:
            // A held registration or a parked query ends with its connection;
            // a drain ends when the client closes; a peer link is gone.
            closeConnection(conn)
        }
    }

    /// Bytes on a connection reading requests: parse every complete request.
    /// `handleInput` never touches `conn.input`; what it used is removed here, once.
    private func requestInput(_ conn: Connection, count n: Int) {
        if conn.input.isEmpty {
            // Fast path: parse straight from the scratch buffer; keep only a partial tail.
            let used = scratch.withUnsafeBufferPointer { p in
                handleInput(conn, UnsafeBufferPointer(rebasing: p[0..<n]))
            }
            keepUnparsed(conn, scratch[used..<n])
        } else {
            conn.input.append(contentsOf: scratch[0..<n])
            let used = conn.input.withUnsafeBufferPointer { handleInput(conn, $0) }
            let rest = conn.input[used...]
            conn.input = []
            keepUnparsed(conn, rest)
        }
        timeRequest(conn)
    }

    /// Starts the request timeout when a request is left half received (or
    /// stops it when none is), whether the bytes were just read or were
    /// kept behind a parked query or backed-up answers.
    private func timeRequest(_ conn: Connection) {
        if conn.phase.readsRequests {
            conn.requestStartedAt = conn.parser.isMidRequest ? (conn.requestStartedAt ?? now.ms) : nil
        }
    }

    /// Keeps input that was not parsed yet, while it can still matter: a
    /// partial request, or requests pipelined behind a parked query.
    func keepUnparsed(_ conn: Connection, _ rest: ArraySlice<UInt8>) {
        guard !rest.isEmpty else { return }
        switch conn.phase {
        case .http, .parked, .blocked:
            conn.input.append(contentsOf: rest)
            if conn.phase == .parked, conn.input.count > Daemon.maxParkedInput { closeConnection(conn) }
        default:
            break
        }
    }

    /// Parses what was received while the connection did not read requests
    /// (behind a parked query, or while its answers were backed up).
    func resumeParsing() {
        while !turn.resumed.isEmpty {
            let batch = turn.resumed
            turn.resumed.removeAll()
            for conn in batch where conn.phase.readsRequests && !conn.input.isEmpty {
                let input = conn.input
                conn.input = []
                let used = input.withUnsafeBufferPointer { handleInput(conn, $0) }
                // Input that arrived meanwhile went behind this: keep the order.
                let arrived = conn.input
                conn.input = []
                keepUnparsed(conn, input[used...])
                keepUnparsed(conn, arrived[...])
                timeRequest(conn)
            }
        }
    }

    /// Handles every complete request at the start of `buf` while the
    /// connection reads requests; returns the bytes used.
    func handleInput(_ conn: Connection, _ buf: UnsafeBufferPointer<UInt8>) -> Int {
        var offset = 0
        while conn.phase.readsRequests {
            if conn.backlog > Daemon.maxClientBacklog {
                block(conn)
                return offset
            }
            switch conn.parser.parse(UnsafeBufferPointer(rebasing: buf[offset...])) {
            case .needMore:
                return offset
            case let .sendContinue(head):
                // A body the token does not allow is refused before the
                // client sends it, rather than read and then refused.
                if let refusal = access.refusal(beforeBodyOf: head) {
                    conn.framing = ReplyFraming(keepAlive: false, http11: head.isHTTP11, headOnly: false)
                    send(refusal, on: conn)
                    return offset
                }
                conn.output.append(contentsOf: ResponseEncoder.continueResponse)
                markDirty(conn)
            case let .request(request, consumed):
                offset += consumed
                conn.requestStartedAt = nil
                if case let .peerUpgrade(sealed) = handle(request, on: conn) {
                    // The rest of the buffer already belongs to the peer link.
                    upgradeToPeer(conn, sealed: sealed, leftover: UnsafeBufferPointer(rebasing: buf[offset...]))
                    return buf.count
                }
            case let .failure(error):
                conn.framing = ReplyFraming(keepAlive: false, http11: true, headOnly: false)
                send(.error(error), on: conn)
                return offset
            }
        }
        return offset
    }

    /// What handling a request left the connection to do next.
    enum Handled { case done, peerUpgrade(sealed: Bool) }

    private func handle(_ request: HTTPRequest, on conn: Connection) -> Handled {
        conn.framing = ReplyFraming(keepAlive: request.keepAlive && !conn.overflow, http11: request.isHTTP11,
                                    headOnly: request.method == .head)
        // One switch over the router's decision, which it consumes: the
        // route is moved out, not copied.
        let routed = router.route(request)
        switch consume routed {
        case let .failure(response):
            conn.metricRoute = HTTPMetrics.RouteLabel(refused: request)
            conn.handledAtMicros = Clock.monotonicMicros()
            send(response, on: conn)
            return .done
        case let .success(route):
            conn.metricRoute = HTTPMetrics.RouteLabel(route)
            conn.handledAtMicros = Clock.monotonicMicros()
            return serve(route, of: request, on: conn)
        }
    }

    /// Answers a routed request, once its token allows the route.
    private func serve(_ route: consuming Route, of request: HTTPRequest, on conn: Connection) -> Handled {
        // Consul's clients may send their token as ?token= (py-consul does).
        var token = request.token
        if token == nil, case .consul = route { token = Query(request.query).value("token") }
        if let refusal = access.refusal(of: route, token: token) {
            send(refusal, on: conn)
            return .done
        }
        switch consume route {
        case let .status(pretty):
            send(statusResponse(pretty: pretty), on: conn)
        case .metrics:
            send(metricsResponse(), on: conn)
        case let .targets(services):
            send(HTTPResponse(status: 200, body: PrometheusTargets.document(node.instances(of: services), stale: node.isStale),
                              headers: node.isStale ? [Node.staleHeader] : []), on: conn)
        case let .consul(consulRequest):
            conn.consulToken = token
            consul(consulRequest, on: conn)
        case .statusPage:
            send(HTTPResponse(status: 200, body: StatusPage.html, headers: [("Cache-Control", "no-cache")], contentType: .html), on: conn)
        case let .peerUpgrade(sealed):
            if let refusal = refusesUpgrade(sealed: sealed, on: conn) {
                send(refusal, on: conn)
                return .done
            }
            countAnswer(101, on: conn)
            return .peerUpgrade(sealed: sealed)
        case let .forget(name):
            apply(.forget(ConnectionID(conn.id), name: name))
        case let .catalogue(catalogueRequest):
            apply(.request(ConnectionID(conn.id), catalogueRequest))
        }
        return .done
    }

    func writeReady(_ conn: Connection) {
        if case .peerConnecting = conn.phase {
            peerConnectFinished(conn)
            return
        }
        flushNow(conn)
    }

    /// Writes what the socket takes; asks for writability only while output
    /// is pending; a closing connection starts draining once all is written.
    func flushNow(_ conn: Connection) {
        guard conn.phase.writes else { return }
        if !conn.flush() {
            closeConnection(conn)
            return
        }
        if conn.progressed { conn.lastActivity = now.ms }
        noteBacklog(conn)
        if conn.hasPendingOutput {
            if !conn.writeArmed { armWrite(conn) }
            return
        }
        if conn.writeArmed {
            event_del(conn.writeEvent)
            conn.writeArmed = false
        }
        if conn.phase == .closing { startDraining(conn) }
        if conn.phase == .blocked { unblock(conn) }
    }

    /// The client's unsent answers are over the cap: stop reading its requests.
    private func block(_ conn: Connection) {
        conn.enter(.blocked)
        event_del(conn.readEvent)
    }

    /// Its answers drained: read again, and parse what was already received.
    private func unblock(_ conn: Connection) {
        conn.enter(.http)
        event_add(conn.readEvent, nil)
        if !conn.input.isEmpty { turn.resumed.append(conn) }
    }

    /// Everything is written: shut our side and drop input until the client
    /// closes (or `drainMs` passes), so it reads the response rather than a reset.
    func startDraining(_ conn: Connection) {
        Glibc.shutdown(conn.fd, Int32(SHUT_WR))
        conn.enter(.draining)
        conn.lastActivity = now.ms
        event_add(conn.readEvent, nil)
    }

    /// Closes a connection now; it is freed after the turn. The core hears
    /// of it (as a queued input) unless it asked for the close itself.
    func closeConnection(_ conn: Connection, reportToCore: Bool = true) {
        guard conn.phase != .closed else { return }
        let link = conn.link
        let reportToCore = reportToCore && (link == nil || conn.phase.coreKnowsLink)
        conn.enter(.closed)
        event_del(conn.readEvent)
        if let ev = conn.writeEvent { event_del(ev) }
        conn.writeArmed = false
        Glibc.close(conn.fd)
        table.remove(conn, link: link)
        unparkConsul(conn.id)
        turn.toFree.append(conn)
        if let link {
            if reportToCore { apply(.peerClosed(link)) }
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
    /// and drains that take too long; pings held streams.
    func housekeeping() {
        notifyService()
        let t = now.ms
        dns?.housekeeping(now: t)
        expireParkedConsul(now: t)
        for conn in table.snapshot {
            switch conn.phase {
            case .http:
                if let started = conn.requestStartedAt, t - started >= options.requestTimeoutMs {
                    logger.log(.debug, "request_timeout", [("connection", "\(conn.id)")])
                    httpMetrics.timedOut(.request)
                    conn.framing.keepAlive = false
                    send(.error(408, "request_timeout",
                                "the request was not completed within \(options.requestTimeoutMs / 1000) seconds", close: true), on: conn)
                } else if t - conn.lastActivity >= options.idleTimeoutMs {
                    httpMetrics.timedOut(.idle)
                    closeConnection(conn)
                }
            case let .held(last, http11):
                if t - last >= Daemon.pingIntervalMs { ping(conn, http11: http11, now: t) }
            case .closing, .blocked:
                // Nothing written for the idle timeout: the client stopped reading.
                if t - conn.lastActivity >= options.idleTimeoutMs {
                    if conn.phase == .blocked {
                        httpMetrics.timedOut(.notReading)
                        noteRefusal(address: conn.clientAddress, kind: "not_reading", event: "client_cut",
                                    reason: "\(conn.backlog) bytes of answers unread for \(options.idleTimeoutMs / 1000) seconds")
                    }
                    closeConnection(conn)
                }
            case .draining:
                if t - conn.lastActivity >= Daemon.drainMs { closeConnection(conn) }
            case .peerAuthenticating:
                // A handshake is three short messages: one still open after
                // the request timeout is a peer holding a connection for nothing.
                if let started = conn.requestStartedAt, t - started >= options.requestTimeoutMs {
                    noteRefusal(address: conn.remoteHost, kind: "handshake_timeout", reason: "the key handshake was not completed within \(options.requestTimeoutMs / 1000) seconds")
                    closeConnection(conn)
                }
            case .parked, .peerConnecting, .peerUpgrading, .peer, .closed:
                // A parked query waits for the core; peer links are timed by the core.
                break
            }
        }
    }
}
