import RarangiCore

/// Work a loop turn collects and the daemon does after it (`afterTurn`):
/// parsing resumed behind answered queries, flushes, backlog reports for
/// the core, and frees of connections closed during the turn (never inside
/// their own callbacks).
struct EndOfTurn {
    /// Connections with output to flush.
    var dirty: [Connection] = []
    /// Peer links whose backlog crossed the slow threshold (true) or drained.
    var backlogChanges: [(LinkID, Bool)] = []
    /// Connections closed this turn, freed after it.
    var toFree: [Connection] = []
    /// Connections that read requests again (a blocking query answered, a
    /// backlog drained) with input already received to parse.
    var resumed: [Connection] = []
    /// Held streams whose ping is due (by connection id), written a slice
    /// per turn from `pingsDone` on (`Daemon.writeQueuedPings`).
    var pings: [UInt64] = []
    var pingsDone = 0
}

/// Inputs for the core. An input that executing effects produces (a link
/// closed while sending, a connect that failed at once) waits here and is
/// handled after the current one's effects, in order — never re-entrantly,
/// the order the simulation uses.
struct InputQueue {
    /// Inputs not yet handed to the core.
    var pending: [Input] = []
    /// An input's effects are being executed.
    var applying = false
    /// The effects array, kept to reuse its storage.
    var spareEffects: [Effect] = []
}
