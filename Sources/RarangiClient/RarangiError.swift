/// What can go wrong talking to daemons; each case is something a caller can act on.
public enum RarangiError: Error, Equatable, CustomStringConvertible {
    /// The daemon serves another environment (MISSION D10); the connection
    /// was closed at once and nothing was read or written.
    case environmentMismatch(expected: String, found: String, server: String)
    /// The environment is not one of the well-known ones and no server was given.
    case unknownEnvironment(String)
    /// No daemon could be reached; the list names every one tried.
    case noDaemonReachable(tried: [String])
    /// The daemon refused the request with an HTTP error and a JSON reason.
    case refused(status: Int, code: String, message: String)
    /// The daemon's answer could not be understood.
    case protocolError(String)
    /// The daemon fell silent (no ping) or closed the stream.
    case connectionLost(String)

    public var description: String {
        switch self {
        case let .environmentMismatch(expected, found, server):
            return "environment mismatch: expected '\(expected)' but the daemon at \(server) serves '\(found)'"
        case let .unknownEnvironment(e):
            return "unknown environment '\(e)': use production, staging, testing or development, or give --server"
        case let .noDaemonReachable(tried):
            return "no daemon reachable (tried \(tried.joined(separator: ", ")))"
        case let .refused(status, code, message):
            return "refused (\(status) \(code)): \(message)"
        case let .protocolError(s):
            return "protocol error: \(s)"
        case let .connectionLost(s):
            return "connection lost: \(s)"
        }
    }

    /// Whether trying another daemon (or again later) can help.
    var isRetryable: Bool {
        switch self {
        case .noDaemonReachable, .connectionLost, .protocolError: return true
        // `held_elsewhere`: another connection holds the instance; it may be
        // an earlier connection of ours the daemon has not yet found gone.
        case let .refused(status, code, _): return status >= 500 || (status == 409 && code == "held_elsewhere")
        case .environmentMismatch, .unknownEnvironment: return false
        }
    }
}
