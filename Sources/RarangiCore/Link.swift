import RarangiWire

/// Names a peer link. Outbound links are numbered by the core; inbound ones
/// by the shell, with `inboundBit` set so the two never collide.
public struct LinkID: Hashable, Sendable, CustomStringConvertible {
    /// The number.
    public var raw: UInt64
    /// Wraps a number.
    public init(_ raw: UInt64) { self.raw = raw }
    /// Set on links the shell accepted.
    public static let inboundBit: UInt64 = 1 << 62
    /// Whether the peer connected to us.
    public var isInbound: Bool { raw & LinkID.inboundBit != 0 }
    public var description: String { isInbound ? "in\(raw & ~LinkID.inboundBit)" : "out\(raw)" }
}

/// One link and where it is in its life. Outbound links outlive their
/// connections: after a close they wait and reconnect; inbound links end
/// when their connection does.
struct Link {
    /// Where a link is in its life; every transition happens in `PeerLinks`.
    enum State: Equatable {
        /// Waiting to (re)connect at `until`.
        case waiting(until: Int64)
        /// A connection is being opened; given up at `deadline`.
        case connecting(deadline: Int64)
        /// Connected; waiting for the peer's hello until `deadline`.
        case handshaking(deadline: Int64)
        /// Hellos exchanged: records flow.
        case up
        /// Will not be retried (the target is ourselves, or refused by environment).
        case disabled
    }

    let id: LinkID
    /// Where an outbound link connects.
    var host: String
    var port: Int
    var state: State
    /// Failed attempts since the link was last healthy.
    var attempt = 0
    /// The peer, once its hello arrived.
    var peer: PeerHello?
    /// When the peer last sent anything.
    var lastHeard: Int64 = 0
    /// When the link came up.
    var upSince: Int64 = 0
    /// Learned from master entries rather than configured.
    var learned = false
    /// Whether we answered its current digest round with a full digest.
    var membersMismatch = false
    var messagesIn = 0
    var messagesOut = 0
    /// The remote address the shell saw (for peers advertising no host).
    var remoteHost = ""
    /// The peer reads slower than we write: pushes are kept in `kept`.
    var slow = false
    /// Pushes kept for a slow link, coalesced per key.
    var kept = CoalescedPushes()
    /// Pushes replaced by a newer one of the same key while the link was slow.
    var coalesced = 0
    /// Times the link came up (a configured link keeps counting across reconnections).
    var ups = 0

    var isUp: Bool { state == .up }
}
