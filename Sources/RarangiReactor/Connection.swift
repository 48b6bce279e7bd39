import CLibevent
import Glibc
import RarangiCore
import RarangiSeal
import RarangiWire

/// One connection: a client's HTTP connection or a peer link. Its life is
/// one state machine, `phase`, changed only by `enter(_:)`. It is freed by
/// the daemon after the loop turn in which it closed — never inside its
/// own callback.
final class Connection {
    /// Live `Connection` objects, to show in status that none leak.
    nonisolated(unsafe) static var liveObjects = 0

    let id: UInt64
    let fd: Int32
    /// The daemon that owns the connection (it outlives every connection).
    unowned(unsafe) var daemon: Daemon!
    /// Accepted beyond --max-connections (or the per-address cap): it gets
    /// one 503 and is closed.
    let overflow: Bool
    /// The client's address, for the per-address cap ("" for dialled links).
    let clientAddress: String
    /// Where the connection is in its life.
    private(set) var phase: ConnectionPhase
    /// How the response to the request being handled is framed.
    var framing = ReplyFraming()
    var readEvent: OpaquePointer?
    /// Made the first time the socket does not take all output at once
    /// (`Daemon.armWrite`): most connections never need one.
    var writeEvent: OpaquePointer?
    var writeArmed = false
    /// Queued on the daemon's flush list for this turn.
    var dirty = false

    /// Bytes received but not yet parsed: a partial request, pipelined input
    /// behind a parked query, or an upgrade answer not yet complete.
    var input: [UInt8] = []
    /// Bytes to write, from `outputStart` on.
    var output: [UInt8] = []
    var outputStart = 0
    /// The largest output buffer kept between answers: a client pipelining
    /// a hundred lookups does not grow a new one for every batch.
    static let keptOutputCapacity = 256 * 1024
    var parser: HTTPParser

    /// What only a peer link carries, made when the connection becomes one:
    /// a client connection (thousands of them held or parked) carries a
    /// nil pointer instead of a frame decoder and a key handshake.
    private var peerSide: PeerSide?
    /// The peer side, made on first use.
    private var madePeerSide: PeerSide {
        if let p = peerSide { return p }
        let p = PeerSide()
        peerSide = p
        return p
    }
    /// Frames received on a peer link.
    var frames: PeerFrameDecoder {
        get { peerSide?.frames ?? PeerFrameDecoder() }
        _modify { yield &madePeerSide.frames }
    }
    /// A sealed link's handshake, then its channel (nil on a link without a
    /// cluster key, and on every client connection).
    var seal: LinkSeal? {
        get { peerSide?.seal }
        _modify { yield &madePeerSide.seal }
    }
    /// The remote address, for peers that advertise none.
    var remoteHost: String {
        get { peerSide?.remoteHost ?? "" }
        _modify { yield &madePeerSide.remoteHost }
    }
    /// Peer bytes in, for the idle-link benchmark and the link metrics.
    var bytesIn: Int {
        get { peerSide?.bytesIn ?? 0 }
        _modify { yield &madePeerSide.bytesIn }
    }
    /// Bytes written (a peer link's, for the idle-link benchmark and the link metrics).
    var bytesOut = 0
    /// What the core was last told of this peer link's backlog (slow or not).
    var reportedSlow: Bool {
        get { peerSide?.reportedSlow ?? false }
        _modify { yield &madePeerSide.reportedSlow }
    }
    /// The socket has the session keepalive (held or parked once).
    var keepaliveSet = false

    /// When the connection last made progress (ms, monotonic).
    var lastActivity: Int64
    /// The route of the request being answered, for `/metrics`, and when
    /// its handling started (µs, monotonic).
    var metricRoute: HTTPMetrics.RouteLabel?
    var handledAtMicros: Int64 = 0
    /// The request being answered is a Consul agent write: its answer is
    /// reshaped as Consul's (200, no body).
    var consulWrite = false
    /// The token of the Consul request being handled (for checks made
    /// after the instance is looked up).
    var consulToken: String?
    /// When the request now being received started arriving.
    var requestStartedAt: Int64?
    /// Whether the last flush wrote anything.
    var progressed = false

    /// A connection starts as `.http` (accepted) or `.peerConnecting` (dialled).
    init(id: UInt64, fd: Int32, phase: ConnectionPhase, overflow: Bool, clientAddress: String = "", parser: HTTPParser, now: Int64) {
        precondition(phase == .http || phase.link != nil, "a connection starts accepted or dialling")
        self.id = id
        self.phase = phase
        self.fd = fd
        self.overflow = overflow
        self.clientAddress = clientAddress
        self.parser = parser
        self.lastActivity = now
        Connection.liveObjects += 1
    }

    deinit { Connection.liveObjects -= 1 }

    /// The one place the phase changes.
    func enter(_ next: ConnectionPhase) {
        precondition(phase.allows(next), "connection \(id): \(phase) -> \(next)")
        phase = next
    }

    /// The peer link this connection carries, if any.
    var link: LinkID? { phase.link }
    var hasPendingOutput: Bool { outputStart < output.count }
    var backlog: Int { output.count - outputStart }

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
        // A connection between requests keeps its buffer for the next
        // answers (a pipelined batch of them fills far more than one);
        // a held stream (a ping every few seconds) or a parked query
        // gives it back, as thousands of them may sit idle.
        output.removeAll(keepingCapacity: output.capacity <= Connection.keptOutputCapacity && !phase.inSession)
        outputStart = 0
        return true
    }

    /// Gives back the output buffer when nothing is left to write (a
    /// connection entering a session keeps none while it waits).
    func releaseIdleOutput() {
        guard !hasPendingOutput, output.capacity > 0 else { return }
        output = []
        outputStart = 0
    }
}

/// What a peer link carries beside a client connection's state.
final class PeerSide {
    /// Frames received.
    var frames = PeerFrameDecoder()
    /// The key handshake, then the sealed channel (nil without a cluster key).
    var seal: LinkSeal?
    /// The remote address.
    var remoteHost = ""
    /// Bytes received.
    var bytesIn = 0
    /// Whether the core was last told the link is slow.
    var reportedSlow = false
}

/// How the answer to the request being handled is framed.
struct ReplyFraming {
    var keepAlive = true
    var http11 = true
    var headOnly = false
}

/// What a sealed peer link holds: the key handshake while the phase is
/// `peerAuthenticating`, then the channel that seals and opens its frames.
enum LinkSeal {
    case handshake(PeerHandshake)
    case channel(SealedChannel, peer: String, key: KeyID)
}
