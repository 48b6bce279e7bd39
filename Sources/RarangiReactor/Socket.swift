import CLibevent
import Glibc

/// Why a listening socket could not be opened; the daemon prints it and exits.
public struct SocketError: Error, CustomStringConvertible {
    /// The sentence for the operator.
    public let description: String
}

/// Plain POSIX socket set-up; everything here runs before the loop starts or
/// on a socket the loop has just been handed.
enum Socket {
    /// Opens a non-blocking listening socket on `host:port`.
    /// The listen backlog asked for; the kernel caps it at net.core.somaxconn.
    /// Large, because every held registration of a stopped daemon reconnects
    /// at once: a full accept queue drops SYNs, and each drop costs the
    /// client a 1 s retransmission.
    static let backlog: Int32 = 65535

    static func listen(host: String, port: Int, backlog: Int32 = Socket.backlog) throws -> Int32 {
        let fd = try bind(host: host, port: port, type: Int32(SOCK_STREAM.rawValue))
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            close(fd)
            throw SocketError(description: "cannot listen on \(host):\(port): \(errnoText(e))")
        }
        return fd
    }

    /// A non-blocking UDP socket bound to `host:port`.
    static func datagram(host: String, port: Int) throws -> Int32 {
        try bind(host: host, port: port, type: Int32(SOCK_DGRAM.rawValue))
    }

    /// A non-blocking socket of `type` bound to `host:port`.
    private static func bind(host: String, port: Int, type: Int32) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw SocketError(description: "cannot resolve listen address '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "cannot create socket: \(errnoText(errno))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if Glibc.bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            let e = errno
            close(fd)
            let hint = e == EADDRINUSE ? " (another daemon already listens there; use --slot or --listen)" : ""
            throw SocketError(description: "cannot bind \(host):\(port): \(errnoText(e))\(hint)")
        }
        return fd
    }

    /// The port a socket is bound to (for `--listen HOST:0` in tests).
    static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
        }
        if storage.ss_family == sa_family_t(AF_INET6) {
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Turns off Nagle's algorithm: responses are written whole, at once.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Raises the soft limit on open files to the hard limit and returns it.
    static func raiseFileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// Starts a non-blocking connect to a resolved address; nil when the
    /// socket cannot be created or the connect fails at once.
    static func connect(to address: Resolver.Address, from source: String = "") -> Int32? {
        var address = address
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        if !source.isEmpty, source != "0.0.0.0", source != "::" {
            // Leave from the listening address, so a peer (and a firewall)
            // sees the daemon's own address rather than the host's default.
            var shints = addrinfo()
            shints.ai_family = address.family
            shints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            shints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
            var local: UnsafeMutablePointer<addrinfo>?
            if getaddrinfo(source, "0", &shints, &local) == 0, let l = local {
                _ = Glibc.bind(fd, l.pointee.ai_addr, l.pointee.ai_addrlen)
                freeaddrinfo(local)
            }
        }
        let rc = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }
        if rc != 0, errno != EINPROGRESS {
            close(fd)
            return nil
        }
        setNoDelay(fd)
        return fd
    }

    /// The numeric address of the remote end of `fd`.
    static func peerHost(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) == 0 }
        }
        guard ok else { return "" }
        var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, len, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST)
            }
        }
        return rc == 0 ? String(cString: buf) : ""
    }
}
