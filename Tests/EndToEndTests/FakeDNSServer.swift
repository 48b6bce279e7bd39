import Foundation

/// A DNS server on a loopback UDP port, for a daemon pointed at it with
/// `RARANGI_RESOLV_CONF`: it either never answers (a resolver that hangs)
/// or answers A queries with one address. It counts the queries per name.
final class FakeDNSServer {
    let fd: Int32
    let port: Int
    private let answer: String?
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var running = true
    private var thread: Thread?

    /// `answer` nil: every query goes unanswered.
    init(answer: String?) throws {
        self.answer = answer
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let sock = fd
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) == 0 && getsockname(sock, $0, &len) == 0 }
        }
        guard ok else { throw TestError("fake DNS server: cannot bind") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [unowned self] in serve() }
        thread = t
        t.start()
    }

    /// A resolv.conf naming this server, with a short timeout and one attempt.
    func resolvConf(timeoutSeconds: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(UUID().uuidString).conf").path
        try "nameserver 127.0.0.1:\(port)\noptions timeout:\(timeoutSeconds) attempts:1 ndots:1\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Queries received for `name` (any type).
    func queries(for name: String) -> Int { lock.withLock { counts[name.lowercased(), default: 0] } }

    func stop() {
        lock.withLock { running = false }
        while thread?.isFinished == false { usleep(10_000) }
        close(fd)
    }

    private func serve() {
        var buf = [UInt8](repeating: 0, count: 512)
        while lock.withLock({ running }) {
            var from = sockaddr_in()
            var fromLen = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &fromLen) }
            }
            guard n >= 12 else { continue }
            let query = Array(buf[0..<n])
            // The question: labels from byte 12, then type and class.
            var i = 12
            var labels: [String] = []
            while i < query.count, query[i] != 0 {
                let l = Int(query[i])
                guard i + 1 + l <= query.count else { break }
                labels.append(String(decoding: query[(i + 1)...(i + l)], as: UTF8.self))
                i += 1 + l
            }
            guard i + 5 <= query.count else { continue }
            let questionEnd = i + 5
            let type = UInt16(query[i + 1]) << 8 | UInt16(query[i + 2])
            let name = labels.joined(separator: ".").lowercased()
            lock.withLock { counts[name, default: 0] += 1 }
            guard let answer else { continue }
            var reply = Array(query[0..<2]) + [0x81, 0x80, 0, 1, 0, type == 1 ? 1 : 0, 0, 0, 0, 0]
            reply += query[12..<questionEnd]
            if type == 1 {
                var ip = in_addr()
                inet_pton(AF_INET, answer, &ip)
                let b = withUnsafeBytes(of: ip.s_addr) { Array($0) }
                reply += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4] + b
            }
            _ = withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, fromLen) }
            }
        }
    }
}
