import Foundation

/// A man in the middle on loopback for peer-link tests: it accepts on a
/// port of its own, dials the target, and forwards both ways on a thread,
/// recording what the dialler sent. A test can flip a byte of, or inject
/// bytes into, the dialler-to-listener stream.
final class TCPProxy {
    let port: Int
    private let listenFD: Int32
    private let target: Int
    private let lock = NSLock()
    private var recorded: [[UInt8]] = []
    private var pendingFlip: Int?
    private var pendingInject: [UInt8] = []
    private var running = true
    private var thread: Thread?

    init(to targetPort: Int) throws {
        target = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = TCPProxy.loopback(0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw TestError("proxy bind: \(String(cString: strerror(errno)))")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [unowned self] in self.serve() }
        thread = t
        t.start()
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        return a
    }

    /// Everything each proxied connection's dialler sent, in order.
    var captures: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return recorded }

    /// Flips one bit of the dialler's stream at this offset of the next chunk forwarded.
    func flipNextChunk(at offset: Int) { lock.lock(); pendingFlip = offset; lock.unlock() }

    /// Sends these bytes to the listener as if the dialler had.
    func inject(_ bytes: [UInt8]) { lock.lock(); pendingInject += bytes; lock.unlock() }

    func stop() {
        lock.lock(); running = false; lock.unlock()
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }

    private func serve() {
        while isRunning {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = TCPProxy.loopback(target)
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok != 0 { close(client); close(upstream); continue }
            lock.lock(); recorded.append([]); let index = recorded.count - 1; lock.unlock()
            let t = Thread { [unowned self] in self.pump(client, upstream, index) }
            t.start()
        }
    }

    /// Forwards until either side closes (or the proxy stops).
    private func pump(_ client: Int32, _ upstream: Int32, _ index: Int) {
        defer { close(client); close(upstream) }
        var buf = [UInt8](repeating: 0, count: 65536)
        while isRunning {
            lock.lock()
            let inject = pendingInject
            pendingInject = []
            lock.unlock()
            if !inject.isEmpty { _ = inject.withUnsafeBytes { send(upstream, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 50) >= 0 else { return }
            for (i, fd) in [client, upstream].enumerated() where fds[i].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                var chunk = Array(buf[0..<n])
                if fd == client {
                    lock.lock()
                    recorded[index] += chunk
                    if let at = pendingFlip, at < chunk.count {
                        chunk[at] ^= 0x01
                        pendingFlip = nil
                    }
                    lock.unlock()
                }
                let to = fd == client ? upstream : client
                if chunk.withUnsafeBytes({ send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) <= 0 { return }
            }
        }
    }
}
