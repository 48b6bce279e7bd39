import RarangiWire

/// Names a client connection of the shell; the core only echoes it back.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    /// The shell's number for the connection.
    public var raw: UInt64
    /// Wraps a shell number.
    public init(_ raw: UInt64) { self.raw = raw }
    public var description: String { "c\(raw)" }
}

/// Everything that can happen to a node.
public enum Input: Sendable {
    /// A decoded catalogue request arrived on a connection.
    case request(ConnectionID, CatalogueRequest)
    /// `DELETE /_members/<name>`: an operator retires a stopped member for good.
    case forget(ConnectionID, name: String)
    /// A connection closed (by the client, a timeout or the shell).
    case connectionClosed(ConnectionID)
    /// The deadline the node asked for has passed.
    case deadline
    /// A peer connection is open (an outbound `.connect` succeeded, or the
    /// shell accepted and upgraded one: a new inbound id); `host` is the
    /// remote address the shell sees.
    case peerConnected(LinkID, host: String)
    /// A decoded frame arrived on a peer link.
    case peerMessage(LinkID, PeerMessage)
    /// A peer connection closed or failed (not reported for `.closePeer`).
    case peerClosed(LinkID)
    /// A peer link's unsent output crossed the shell's threshold (`slow`)
    /// or drained: while slow, pushes to it are coalesced per key.
    case peerBacklog(LinkID, slow: Bool)
}

/// Everything a node wants done; the shell (or the simulation) executes them.
public enum Effect: Sendable {
    /// Answer a request on a connection.
    case reply(ConnectionID, HTTPResponse)
    /// Write one log line.
    case log(LogEvent)
    /// Open a peer connection to `host:port` and report `.peerConnected` or `.peerClosed`.
    case connect(LinkID, host: String, port: Int)
    /// Write an encoded frame (or frames) on a peer link.
    case sendPeer(LinkID, [UInt8])
    /// Close a peer link; no `.peerClosed` follows.
    case closePeer(LinkID)
    /// Start a stream on a connection: the response's head and its body as
    /// the first chunk, then keep the connection open and ping it (a held
    /// registration). The connection reads no further requests.
    case stream(ConnectionID, HTTPResponse)
    /// A blocking query is parked on the connection: the shell reads no
    /// further requests from it until a `.reply` answers the query.
    case parked(ConnectionID)
}

/// One log line: a level, an event name and key=value fields.
public struct LogEvent: Sendable, Equatable {
    /// How much an operator needs to see it.
    public enum Level: Int, Comparable, Sendable, CaseIterable {
        /// Detail for debugging.
        case debug
        /// Normal operation: registrations, expiries, links.
        case info
        /// Something is wrong but the daemon carries on.
        case warn
        /// An operation failed.
        case error

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// The level's name as written in logs and flags.
        public var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }
    }

    /// The level.
    public var level: Level
    /// The event name, e.g. `registered`.
    public var event: String
    /// Fields in order.
    public var fields: [(String, String)]

    /// Creates an event.
    public init(_ level: Level, _ event: String, _ fields: [(String, String)] = []) {
        self.level = level
        self.event = event
        self.fields = fields
    }

    public static func == (a: LogEvent, b: LogEvent) -> Bool {
        a.level == b.level && a.event == b.event && a.fields.elementsEqual(b.fields, by: ==)
    }

    /// `level=info event=registered service=web id=i1`, quoting values with spaces.
    public var line: String {
        var s = "level=\(level.name) event=\(event)"
        for (k, v) in fields {
            s += " \(k)="
            if v.isEmpty || v.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) {
                s += "\"" + v.replacingOccurrences(of: "\"", with: "'") + "\""
            } else {
                s += v
            }
        }
        return s
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
