import CLibevent
import Glibc
import RarangiCore

/// Name lookups that never block the reactor: libevent's `evdns`, on the
/// daemon's own event base, reading the system's resolver configuration
/// and hosts file. Every connect resolves afresh (cloud addresses change);
/// answers arrive as callbacks on the loop, like any other event.
public final class Resolver {
    /// The resolver configuration read unless `--resolv-conf` names another.
    public static let defaultConfiguration = "/etc/resolv.conf"

    /// A lookup in flight; cancelled when the core gives up on the link first.
    final class Lookup {
        fileprivate var request: OpaquePointer?
        fileprivate var done: (Result<Address, ResolveError>) -> Void
        fileprivate var cancelled = false
        /// `host:port`, for the log.
        let target: String
        fileprivate init(target: String, _ done: @escaping (Result<Address, ResolveError>) -> Void) {
            self.target = target
            self.done = done
        }
    }

    /// One resolved socket address.
    struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }
    }

    /// Why a name did not resolve, for the log.
    struct ResolveError: Error {
        /// The resolver's sentence.
        var message: String
    }

    private let dns: OpaquePointer
    private var closing = false

    /// Where libevent's own messages (a nameserver that stopped answering,
    /// say) go: the daemon's log, one key=value line each, not bare stderr.
    nonisolated(unsafe) static var libeventLog: Logger?

    /// Routes libevent's messages to `logger` (the callback is process-wide).
    static func captureLibeventMessages(into logger: Logger) {
        libeventLog = logger
        event_set_log_callback { severity, message in
            guard let logger = Resolver.libeventLog, let message else { return }
            // EVENT_LOG_DEBUG 0, MSG 1, WARN 2, ERR 3.
            let level: LogEvent.Level = severity >= 3 ? .error : severity == 2 ? .warn : severity == 1 ? .info : .debug
            logger.log(level, "libevent", [("message", String(cString: message))])
        }
    }

    /// A resolver on `base` configured from `configuration` (resolv.conf format).
    init?(base: OpaquePointer, configuration: String) {
        guard let dns = evdns_base_new(base, 0) else { return nil }
        // DNS_OPTIONS_ALL: nameservers, search, options and the hosts file.
        let rc = evdns_base_resolv_conf_parse(dns, 15, configuration)
        if rc != 0 {
            // An unreadable file leaves libevent's default (a nameserver on
            // localhost); the hosts file is still read.
            evdns_base_load_hosts(dns, nil)
        }
        self.dns = dns
    }

    /// Looks up `host` (a name or a numeric address) for a TCP connection to
    /// `port`; `done` runs on the loop, possibly before this returns (numeric
    /// addresses and the hosts file answer at once). Nil when it already ran.
    @discardableResult
    func resolve(_ host: String, port: Int, target: String,
                 _ done: @escaping (Result<Address, ResolveError>) -> Void) -> Lookup? {
        let lookup = Lookup(target: target, done)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        let context = Unmanaged.passRetained(lookup).toOpaque()
        let request = evdns_getaddrinfo(dns, host, String(port), &hints, { result, info, ctx in
            let lookup = Unmanaged<Lookup>.fromOpaque(ctx!).takeRetainedValue()
            lookup.request = nil
            defer { if let info { evutil_freeaddrinfo(info) } }
            if lookup.cancelled { return }
            guard result == 0, let info else {
                let text = result == EVUTIL_EAI_CANCEL ? "cancelled" : String(cString: evutil_gai_strerror(result))
                lookup.done(.failure(ResolveError(message: text)))
                return
            }
            var address = Address()
            address.length = min(info.pointee.ai_addrlen, socklen_t(MemoryLayout<sockaddr_storage>.size))
            withUnsafeMutableBytes(of: &address.storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(address.length)))
            }
            lookup.done(.success(address))
        }, context)
        guard let request else { return nil }
        lookup.request = request
        return lookup
    }

    /// Gives up on a lookup still in flight: its callback will not run `done`.
    func cancel(_ lookup: Lookup) {
        guard !lookup.cancelled, let request = lookup.request else { return }
        lookup.cancelled = true
        evdns_getaddrinfo_cancel(request)
    }

    /// Frees the resolver at shutdown, before its event base.
    func close() {
        guard !closing else { return }
        closing = true
        evdns_base_free(dns, 0)
    }
}
