import CLibevent
import Glibc
import RarangiCore
import RarangiWire

/// One client connection. Its life is a small state machine: it reads
/// requests while `.open`, finishes writing and then closes when
/// `.closing`, and is freed by the daemon after the loop turn in which it
/// became `.closed` — never inside its own callback.
final class Connection {
    /// Where the connection is in its life.
    enum State {
        /// Reading requests and writing responses.
        case open
        /// No more requests are read; close once the output is written.
        case closing
        /// The last response is written and our side shut down; input is
        /// read and dropped until the client closes, so an unread request
        /// body cannot turn the close into a reset that loses the response.
        case draining
        /// Closed; waiting to be freed after the turn.
        case closed
    }

    /// Live `Connection` objects, to show in status that none leak.
    nonisolated(unsafe) static var liveObjects = 0

    let id: UInt64
    let fd: Int32
    /// The daemon that owns the connection (it outlives every connection).
    unowned(unsafe) var daemon: Daemon!
    /// Accepted beyond --max-connections: it gets one 503 and is closed.
    let overflow: Bool
    /// How the response to the request being handled is framed.
    var replyKeepAlive = true
    var replyHTTP11 = true
    var replyHeadOnly = false
    var state = State.open
    /// A session the connection is in while `.open` (see Daemon+Sessions).
    var session = Session.none
    var readEvent: OpaquePointer?
    var writeEvent: OpaquePointer?
    var writeArmed = false
    /// Queued on the daemon's flush list for this turn.
    var dirty = false

    /// Bytes received but not yet parsed into a complete request.
    var input: [UInt8] = []
    /// Bytes to write, from `outputStart` on.
    var output: [UInt8] = []
    var outputStart = 0
    var parser: HTTPParser

    /// Set once the connection carries a peer link instead of HTTP.
    var peerLink: LinkID?
    /// An outbound peer connection still waiting for its non-blocking connect.
    var connecting = false
    /// An outbound peer connection waiting for the `101` answer to its upgrade.
    var awaitingUpgrade = false
    /// The core asked for the close: no `.peerClosed` is reported.
    var closedByCore = false
    /// Frames received on a peer link.
    var frames = PeerFrameDecoder()
    /// The remote address, for peers that advertise none.
    var remoteHost = ""
    /// Peer bytes in and out, for the idle-link benchmark.
    var bytesIn = 0
    var bytesOut = 0

    /// When the connection last made progress (ms, monotonic).
    var lastActivity: Int64
    /// When the request now being received started arriving.
    var requestStartedAt: Int64?

    init(id: UInt64, fd: Int32, overflow: Bool, parser: HTTPParser, now: Int64) {
        self.id = id
        self.fd = fd
        self.overflow = overflow
        self.parser = parser
        self.lastActivity = now
        Connection.liveObjects += 1
    }

    deinit { Connection.liveObjects -= 1 }

    /// A peer link whose backlog is over `Daemon.slowPeerBytes` (the core knows).
    var peerSlow = false
    /// Whether the last flush wrote anything.
    var progressed = false

    var hasPendingOutput: Bool { outputStart < output.count }

    /// Whether input still matters as requests: not once the connection is
    /// closing or holds a registration (a held stream's input only shows the close).
    var readsRequests: Bool {
        guard state == .open else { return false }
        if case .held = session { return false }
        return true
    }

    /// Writes as much pending output as the socket takes. Returns false when
    /// the peer is gone.
    func flush() -> Bool {
        progressed = false
        while outputStart < output.count {
            let n = output.withUnsafeBytes { p in
                send(fd, p.baseAddress! + outputStart, output.count - outputStart, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outputStart += n
                bytesOut += n
                progressed = true
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return true }
            return false
        }
        output.removeAll(keepingCapacity: output.capacity <= 65536)
        outputStart = 0
        return true
    }
}
