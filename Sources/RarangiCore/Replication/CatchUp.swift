/// A daemon started with peers to replicate with answers as current only
/// once it has caught up (MISSION D5: a restarted slot must not tell a
/// client that fails over to it that nothing is registered), and so does a
/// daemon that rejoins the majority after a partition: until then it is
/// stale, marks its answers so and purges nothing. It has caught up when
/// a peer's digest shows nothing it lacks, or when the pulls one started
/// are all answered; when no peer is linked `limitMs` after the start
/// (the first daemon up, its peers all down), it answers as current alone.
struct CatchUp {
    /// Whether this daemon is still catching up.
    private(set) var pending: Bool
    /// When it gives up waiting for a peer (set at the first input).
    private(set) var deadline: Int64?
    private var limitMs: Int64 = 0

    init(hasPeers: Bool) { pending = hasPeers }

    /// The first input's instant starts the wait.
    mutating func start(now: Int64, limitMs: Int64) {
        if pending, deadline == nil {
            deadline = now + limitMs
            self.limitMs = limitMs
        }
    }

    /// Waits again (the daemon rejoined the majority after being stale).
    mutating func restart(now: Int64, limitMs: Int64) {
        pending = true
        deadline = now + limitMs
        self.limitMs = limitMs
    }

    /// When the node wants a deadline input for the wait, if it is on.
    var nextDeadline: Int64? { pending ? deadline : nil }

    /// Ends the wait (`reason`: how); logs it the first time.
    mutating func end(_ reason: String, effects: inout [Effect]) {
        guard pending else { return }
        pending = false
        effects.append(.log(LogEvent(.info, "caught_up", [("reason", reason)])))
    }

    /// Ends the wait when its deadline has passed with no peer linked; with
    /// one linked (its answers are slow or lost) it waits on.
    mutating func expire(now: Int64, peerLinked: Bool, effects: inout [Effect]) {
        guard let d = deadline, pending, now >= d else { return }
        if peerLinked {
            deadline = now + limitMs
        } else {
            end("no_peer_answered", effects: &effects)
        }
    }
}
