import CLibevent
import Glibc

/// systemd's readiness protocol (sd_notify(3)) without libsystemd: one
/// datagram per message to the socket named by `NOTIFY_SOCKET` (a path, or
/// `@name` in the abstract namespace). With no socket named, every call
/// does nothing.
final class ServiceNotifier {
    private let fd: Int32
    private var address = sockaddr_un()
    private var addressLength = socklen_t(0)
    /// Whether `READY=1` was sent.
    private(set) var readySent = false
    private var lastStatus = ""

    /// Reads `NOTIFY_SOCKET` and forgets it, so children started later do
    /// not talk to systemd in our name.
    init() {
        guard let raw = getenv("NOTIFY_SOCKET"), let path = Optional(String(cString: raw)),
              path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            fd = -1
            return
        }
        unsetenv("NOTIFY_SOCKET")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether systemd (or anything) asked to be told.
    var enabled: Bool { fd >= 0 }

    /// `READY=1` with the first status line, once.
    func ready(status: String) {
        guard enabled, !readySent else { return }
        readySent = true
        lastStatus = status
        send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
    }

    /// A new `STATUS=` line, when it changed.
    func status(_ status: String) {
        guard enabled, status != lastStatus else { return }
        lastStatus = status
        send("STATUS=\(status)")
    }

    /// `STOPPING=1`.
    func stopping() {
        guard enabled else { return }
        send("STOPPING=1\nSTATUS=stopping")
    }

    private func send(_ message: String) {
        var a = address
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { b in sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
            }
        }
    }
}
