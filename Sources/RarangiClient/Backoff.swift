/// Reconnect delays (MISSION D7): the first retry within 1–2 s, then
/// doubling with jitter, capped at 5 minutes. Failing over to the next
/// daemon in the list is immediate; back-off applies once all have failed.
public struct Backoff: Sendable {
    /// The base delay of the first retry.
    public var firstMs: Int64 = 1000
    /// The cap.
    public var maxMs: Int64 = 300_000
    /// Rounds that failed in a row.
    public private(set) var failures = 0

    /// Creates a back-off at its start.
    public init() {}

    /// The delay before the next round, counting this failure.
    public mutating func nextDelayMs() -> Int64 {
        failures += 1
        let exponent = min(failures - 1, 20)
        let base = min(maxMs, firstMs << Int64(exponent))
        // Jitter: up to +100% of the base, still within the cap.
        let jittered = base + Int64.random(in: 0...base)
        return min(maxMs, jittered)
    }

    /// A success resets the back-off.
    public mutating func reset() { failures = 0 }
}
