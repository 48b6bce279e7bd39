import CLibevent
import Glibc
import RarangiCore
import RarangiWire

/// DNS on the reactor (MISSION B5): one UDP socket and one TCP listener on
/// the same address and port, both read by the loop like every other
/// socket; answers come from `DNSAnswers` over the daemon's node, encoded
/// by the wire module's codec. Over UDP an answer larger than 512 bytes, or
/// than the client's EDNS size, is truncated (TC set, counts right) and the
/// whole is served over TCP.
///
/// Why not libevent's evdns server: it serves UDP only and cuts answers at
/// 512 bytes without fixing the counts, so TCP and truncation would be ours
/// anyway; a codec of our own is pure, shared by both sockets and fuzzed.
final class DNSServer {
    struct Options {
        var host: String
        var port: Int
        var domain: String
        var ttlSeconds: Int
    }

    /// One TCP client: length-prefixed queries in, answers out.
    final class Stream {
        let fd: Int32
        /// The server (it outlives every stream).
        unowned(unsafe) var server: DNSServer!
        var readEvent: OpaquePointer?
        var writeEvent: OpaquePointer?
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// When it last completed a query (or connected): a client that
        /// sends a byte at a time without finishing one is idle all along.
        var lastActivity: Int64
        let address: String
        init(fd: Int32, now: Int64, address: String) {
            self.fd = fd
            lastActivity = now
            self.address = address
        }
    }

    unowned(unsafe) let daemon: Daemon
    let udpFD: Int32
    let tcpFD: Int32
    let port: Int
    var answers: DNSAnswers
    private var udpEvent: OpaquePointer?
    private var tcpEvent: OpaquePointer?
    private var streams: [Int32: Stream] = [:]
    private var rotation = 0
    private var buffer = [UInt8](repeating: 0, count: 65535)
    /// Queries answered, by transport and response code, for /metrics.
    private(set) var answered: [String: Int] = [:]

    /// At most this many TCP clients at once, and from one address; more
    /// are closed at accept.
    static let maxStreams = 512
    static let maxStreamsPerAddress = 32
    /// Answers queued for one TCP client past which it is cut.
    static let maxStreamOutput = 1 << 20
    /// A TCP client idle this long is closed.
    static let idleMs: Int64 = 10_000
    /// Datagrams read per wake-up, so a flood cannot starve the HTTP side.
    static let datagramsPerWake = 64

    init(_ options: Options, daemon: Daemon) throws {
        self.daemon = daemon
        // Port 0 (tests) asks for a free UDP port, which TCP may have in use
        // (a client connection's local port): then another is drawn.
        var attempt = 0
        while true {
            let udp = try Socket.datagram(host: options.host, port: options.port)
            let bound = Socket.boundPort(udp)
            do {
                tcpFD = try Socket.listen(host: options.host, port: bound, backlog: 1024)
                udpFD = udp
                port = bound
                break
            } catch {
                close(udp)
                attempt += 1
                if options.port != 0 || attempt >= 32 { throw error }
            }
        }
        answers = DNSAnswers(domain: options.domain, ttl: UInt32(options.ttlSeconds),
                             selfAddress: DNSServer.address(daemon.node.config.advertiseHost) ?? DNSServer.address(options.host))
    }

    /// An IP literal's bytes, nil for a name or a wildcard.
    static func address(_ host: String) -> [UInt8]? {
        guard host != "0.0.0.0", host != "::" else { return nil }
        return IPAddress.v4(host) ?? IPAddress.v6(host)
    }

    func start(base: OpaquePointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        udpEvent = event_new(base, udpFD, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            Unmanaged<DNSServer>.fromOpaque(ctx!).takeUnretainedValue().readDatagrams()
        }, me)
        tcpEvent = event_new(base, tcpFD, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
            Unmanaged<DNSServer>.fromOpaque(ctx!).takeUnretainedValue().acceptStreams()
        }, me)
        event_add(udpEvent, nil)
        event_add(tcpEvent, nil)
    }

    func stop() {
        for s in Array(streams.values) { closeStream(s) }
        freeClosed()
        if let udpEvent { event_free(udpEvent) }
        if let tcpEvent { event_free(tcpEvent) }
        udpEvent = nil
        tcpEvent = nil
        close(udpFD)
        close(tcpFD)
    }

    /// The answer bytes to one query message, at most `limit` long.
    func respond(to message: [UInt8], limit: (DNS.Query) -> Int, transport: String) -> [UInt8]? {
        switch DNS.parseQuery(message) {
        case let .failure(e):
            guard let id = e.id else { return nil }  // not even a header: nothing to answer
            count(transport, .formErr)
            return DNS.error(id: id, rcode: .formErr)
        case let .success(q):
            rotation &+= 1
            let a = answers.answer(q, node: daemon.node, rotation: rotation & 0x7FFF_FFFF)
            count(transport, a.rcode)
            return DNS.encode(a, to: q, limit: limit(q))
        }
    }

    private func count(_ transport: String, _ rcode: DNS.RCode) {
        let name: String
        switch rcode {
        case .noError: name = "NOERROR"
        case .formErr: name = "FORMERR"
        case .servFail: name = "SERVFAIL"
        case .nxDomain: name = "NXDOMAIN"
        case .notImp: name = "NOTIMP"
        case .refused: name = "REFUSED"
        }
        answered[transport + " " + name, default: 0] += 1
    }

    // MARK: UDP

    private func readDatagrams() {
        for _ in 0..<DNSServer.datagramsPerWake {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udpFD, b.baseAddress, b.count, 0, $0, &fromLength) }
                }
            }
            guard n >= 0 else { return }  // EAGAIN: drained
            let message = Array(buffer[..<n])
            let limit: (DNS.Query) -> Int = { q in min(DNS.maxUDPSize, q.ednsSize ?? DNS.classicUDPSize) }
            guard let reply = respond(to: message, limit: limit, transport: "udp") else { continue }
            _ = reply.withUnsafeBytes { r in
                withUnsafePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udpFD, r.baseAddress, r.count, Int32(MSG_DONTWAIT), $0, fromLength) }
                }
            }
        }
    }

    // MARK: TCP

    private func acceptStreams() {
        while true {
            let fd = rarangi_accept(tcpFD)
            guard fd >= 0 else { return }
            let address = Socket.peerHost(fd)
            guard streams.count < DNSServer.maxStreams,
                  streams.values.lazy.filter({ $0.address == address }).count < DNSServer.maxStreamsPerAddress else {
                close(fd)
                continue
            }
            let s = Stream(fd: fd, now: daemon.now.ms, address: address)
            s.server = self
            // The streams table holds the one reference; the events borrow it.
            let ctx = Unmanaged.passUnretained(s).toOpaque()
            s.readEvent = event_new(daemon.base, fd, Int16(EV_READ | EV_PERSIST), { _, _, ctx in
                let s = Unmanaged<Stream>.fromOpaque(ctx!).takeUnretainedValue()
                s.server.readStream(s)
            }, ctx)
            s.writeEvent = event_new(daemon.base, fd, Int16(EV_WRITE | EV_PERSIST), { _, _, ctx in
                let s = Unmanaged<Stream>.fromOpaque(ctx!).takeUnretainedValue()
                s.server.flush(s)
            }, ctx)
            streams[fd] = s
            event_add(s.readEvent, nil)
        }
    }

    fileprivate func readStream(_ s: Stream) {
        let n = buffer.withUnsafeMutableBytes { read(s.fd, $0.baseAddress, $0.count) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            closeStream(s)
            return
        }
        guard n > 0 else { return }
        s.input.append(contentsOf: buffer[..<n])
        while s.input.count >= 2 {
            let length = Int(s.input[0]) << 8 | Int(s.input[1])
            guard s.input.count >= 2 + length else { break }
            let message = Array(s.input[2..<(2 + length)])
            s.input.removeFirst(2 + length)
            guard let reply = respond(to: message, limit: { _ in 65535 }, transport: "tcp") else {
                closeStream(s)
                return
            }
            s.lastActivity = daemon.now.ms
            s.output.append(UInt8(reply.count >> 8))
            s.output.append(UInt8(reply.count & 0xFF))
            s.output.append(contentsOf: reply)
            // Written as they pile up; a client that queues answers without
            // reading them is cut here, before the rest of what it sent is
            // answered.
            if s.output.count > 64 << 10 {
                flush(s)
                guard streams[s.fd] === s else { return }
            }
            if s.output.count > DNSServer.maxStreamOutput { closeStream(s); return }
        }
        if s.input.count > 2 + 65535 { closeStream(s); return }
        flush(s)
    }

    fileprivate func flush(_ s: Stream) {
        guard streams[s.fd] === s else { return }
        if !s.output.isEmpty {
            let n = s.output.withUnsafeBytes { write(s.fd, $0.baseAddress, $0.count) }
            if n < 0, errno != EAGAIN, errno != EINTR {
                closeStream(s)
                return
            }
            if n > 0 { s.output.removeFirst(n) }
        }
        if s.output.count > DNSServer.maxStreamOutput { closeStream(s); return }
        if s.output.isEmpty { event_del(s.writeEvent) } else { event_add(s.writeEvent, nil) }
    }

    private func closeStream(_ s: Stream) {
        guard streams.removeValue(forKey: s.fd) != nil else { return }
        event_del(s.readEvent)
        event_del(s.writeEvent)
        close(s.fd)
        // Freed after the turn: this may run inside the stream's own callback.
        closed.append(s)
    }

    /// Streams closed this turn, their events freed after it.
    private var closed: [Stream] = []

    /// After the loop turn: frees the events of streams closed in it.
    func freeClosed() {
        for s in closed {
            event_free(s.readEvent)
            event_free(s.writeEvent)
        }
        closed.removeAll()
    }

    /// Closes TCP clients idle past `idleMs` (called from housekeeping).
    func housekeeping(now: Int64) {
        for s in Array(streams.values) where now - s.lastActivity >= DNSServer.idleMs { closeStream(s) }
    }

    /// Queries answered, for /metrics: (transport, rcode, count).
    var answerCounts: [(transport: String, rcode: String, count: Int)] {
        answered.sorted { $0.key < $1.key }.map { k, v in
            let parts = k.split(separator: " ")
            return (String(parts[0]), String(parts[1]), v)
        }
    }
}
