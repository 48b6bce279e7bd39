import Glibc
import RarangiCore
import RarangiReactor
import RarangiWire

/// The shell's connection handling, through a real daemon in this process
/// on a loopback port: the input is split into requests' pieces written on
/// up to four connections, a loop turn after each piece, so pipelining,
/// requests split at any point, holds, watches and peer upgrades meet the
/// connection state machine as they would from clients.
extension Targets {
    nonisolated(unsafe) static var daemon: Daemon?

    static func shellDaemon() -> Daemon {
        if let daemon { return daemon }
        let node = Node(config: NodeConfig(environment: "testing", name: "fuzz"), seed: 1)
        let options = Daemon.Options(host: "127.0.0.1", port: 0, maxConnections: 64, maxBodyBytes: 4096,
                                     idleTimeoutMs: 60_000, requestTimeoutMs: 10_000, version: "fuzz")
        guard let d = try? Daemon(node: node, options: options, logger: Logger(level: .error)) else {
            preconditionFailure("the fuzz daemon cannot listen")
        }
        daemon = d
        return d
    }

    static func connect(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect to the fuzz daemon failed")
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    /// Reads and drops what the daemon sent.
    static func drain(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while buf.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
    }

    static func shell(_ data: [UInt8]) {
        let d = shellDaemon()
        let baseline = Daemon.liveConnections
        let count = Int((data.first ?? 0) >> 6) + 1
        let fds = (0..<count).map { _ in connect(d.port) }
        d.runTurnWithoutWaiting()
        for (i, piece) in pieces(data).enumerated() {
            let fd = fds[i % count]
            _ = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            d.runTurnWithoutWaiting()
            drain(fd)
        }
        for _ in 0..<3 { d.runTurnWithoutWaiting() }
        for fd in fds {
            drain(fd)
            close(fd)
        }
        // Every connection closed by its client is noticed and freed.
        for _ in 0..<50 where Daemon.liveConnections > baseline {
            d.runTurnWithoutWaiting()
            usleep(100)
        }
        precondition(Daemon.liveConnections <= baseline, "\(Daemon.liveConnections - baseline) connections outlived their clients")
    }
}
