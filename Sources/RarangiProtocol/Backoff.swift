/// Reconnect back-off (MISSION D7), the one policy of the daemon's peer
/// links and the client's reconnects: the first retry within 1–2 s, then
/// doubling with jitter, capped at 5 minutes; reset once a connection is
/// healthy. (A client fails over to the next daemon in its list at once;
/// back-off applies once all have failed.)
///
/// It draws no random numbers of its own: the caller passes one in, so the
/// core can use its seeded generator (a simulation replays from its seed)
/// and the client the system's.
public struct Backoff: Sendable, Equatable {
    /// The first delay's lower bound.
    public static let baseMs: Int64 = 1000
    /// The cap.
    public static let maxMs: Int64 = 300_000

    /// The delay before retry number `attempt` (0-based): in
    /// [base·2^a, 2·base·2^a), capped at `maxMs`. `random` is any draw of
    /// 64 random bits; it only picks the point within that range.
    public static func delay(attempt: Int, random: UInt64) -> Int64 {
        delay(attempt: attempt, random: random, firstMs: baseMs, maxMs: maxMs)
    }

    /// The base delay of the first retry (the policy's `baseMs` unless a caller changes it).
    public var firstMs: Int64 = Backoff.baseMs
    /// The cap (the policy's `maxMs` unless a caller changes it).
    public var maxMs: Int64 = Backoff.maxMs
    /// Rounds that failed in a row.
    public private(set) var failures = 0

    /// Creates a back-off at its start.
    public init() {}

    /// The delay before the next round, counting this failure; `random` is
    /// the caller's draw of 64 random bits.
    public mutating func nextDelayMs(random: UInt64) -> Int64 {
        failures += 1
        return Backoff.delay(attempt: failures - 1, random: random, firstMs: firstMs, maxMs: maxMs)
    }

    /// A success resets the back-off.
    public mutating func reset() { failures = 0 }

    /// The policy itself: the base doubles per attempt (the exponent stops
    /// at 20, far past the cap), plus jitter of up to one base, capped.
    private static func delay(attempt: Int, random: UInt64, firstMs: Int64, maxMs: Int64) -> Int64 {
        let low = min(maxMs, firstMs << Int64(min(attempt, 20)))
        let jitter = Int64(random % UInt64(max(1, low)))
        return min(maxMs, low + jitter)
    }
}
