import RarangiCore

/// Where a connection is in its life: the one state of a connection, changed
/// only by `Connection.enter(_:)`. Plain values with no sockets, so the
/// legal transitions are tested without any.
///
///     http ─┬─> parked ──> http          (a blocking query is answered)
///           ├─> blocked ──> http         (its unsent answers drained)
///           ├─> held                     (a held registration's stream)
///           ├─> peer                     (an accepted `GET /_peer` upgrade)
///           ├─> peerAuthenticating ──> peer   (an accepted sealed upgrade)
///           └─> closing ──> draining     (the last response, then a lingering close)
///     peerConnecting ──> peerUpgrading ──> peer   (a link we dial)
///                                     └─> peerAuthenticating ──> peer  (with a cluster key)
///     every phase ──> closed
enum ConnectionPhase: Equatable {
    /// Reading requests and writing responses.
    case http
    /// A blocking query is parked in the core; pipelined input waits behind it.
    case parked
    /// The client does not read its answers: unsent output is over the cap,
    /// so no more requests are read or parsed until it drains (a client that
    /// pipelines without reading cannot grow the daemon without bound).
    case blocked
    /// The connection holds a registration: the response is a stream the
    /// daemon pings; input is read only to notice the close.
    case held(lastPingMs: Int64, http11: Bool)
    /// A peer link we dial: the non-blocking connect is in progress.
    case peerConnecting(LinkID)
    /// A peer link we dial: connected, waiting for the `101` to our upgrade.
    case peerUpgrading(LinkID)
    /// A sealed peer link in its key handshake (`Connection.seal`): nothing
    /// reaches the core, and the core has not been told of an inbound link.
    case peerAuthenticating(LinkID)
    /// A peer link carrying frames.
    case peer(LinkID)
    /// No more requests are read; close once the output is written.
    case closing
    /// The last response is written and our side shut down; input is read
    /// and dropped until the client closes, so an unread request body cannot
    /// turn the close into a reset that loses the response.
    case draining
    /// Closed; waiting to be freed after the turn.
    case closed

    /// Whether `next` may follow this phase.
    func allows(_ next: ConnectionPhase) -> Bool {
        switch (self, next) {
        case (.closed, _): return false
        case (_, .closed): return true
        case (.http, .parked), (.http, .held), (.http, .peer), (.http, .closing), (.http, .blocked): return true
        case (.http, .peerAuthenticating): return true
        case let (.peerUpgrading(a), .peerAuthenticating(b)): return a == b
        case let (.peerAuthenticating(a), .peer(b)): return a == b
        case (.parked, .http), (.parked, .closing): return true
        case (.blocked, .http): return true
        case (.held, .held): return true
        case let (.peerConnecting(a), .peerUpgrading(b)): return a == b
        case let (.peerUpgrading(a), .peer(b)): return a == b
        case (.closing, .draining): return true
        default: return false
        }
    }

    /// HTTP requests are parsed from the input.
    var readsRequests: Bool { self == .http }
    /// An answer from the core may be written (a request, or a parked query, awaits one).
    var awaitsReply: Bool { self == .http || self == .parked }
    /// Output may be flushed.
    var writes: Bool { self != .draining && self != .closed }
    /// The peer link the connection carries, in any of the peer phases.
    var link: LinkID? {
        switch self {
        case let .peerConnecting(l), let .peerUpgrading(l), let .peerAuthenticating(l), let .peer(l): return l
        default: return nil
        }
    }
    /// Whether the core knows of the link this connection carries: every
    /// dialled one (it asked for it), an accepted one once it is connected.
    var coreKnowsLink: Bool {
        switch self {
        case let .peerAuthenticating(l): return !l.isInbound
        default: return link != nil
        }
    }
    /// A client connection in a session (held or parked): exempt from the idle timeout.
    var inSession: Bool {
        switch self {
        case .parked, .held: return true
        default: return false
        }
    }
}
