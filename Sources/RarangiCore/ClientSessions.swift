/// What the node remembers about client connections beyond single
/// requests: the registrations they hold and the blocking queries parked on
/// them. Keyed by `ConnectionID`, so `.connectionClosed` ends both.
struct ClientSessions {
    /// A held registration's key.
    struct Key: Hashable {
        var service: String
        var id: String
    }

    /// The registration each holding connection holds.
    var heldBy: [ConnectionID: Key] = [:]
    /// The connection now holding each held registration; a later hold of
    /// the same instance takes it over, and the earlier connection's close
    /// then removes nothing.
    var holder: [Key: ConnectionID] = [:]
    /// Parked blocking queries.
    var watches = WatchTable()
    /// The catalogue index when watchers were last compared with it.
    var notifiedIndex: UInt64 = 0
    /// Held registrations released because their connection closed.
    var released = 0
    /// Blocking queries answered (by a change or by their wait running out).
    var watchesAnswered = 0
}
