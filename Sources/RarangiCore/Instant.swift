/// A point in time as the shell reads it once per loop turn. The core never
/// reads a clock: every input comes with the instant it happened.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Milliseconds on a monotonic clock: deadlines are measured on it.
    public var ms: Int64
    /// Milliseconds since the Unix epoch on this host's wall clock: only the
    /// physical part of version stamps uses it, never a deadline.
    public var wallMs: Int64

    /// Creates an instant; tests pass one integer and let the wall clock equal it.
    public init(ms: Int64, wallMs: Int64? = nil) {
        self.ms = ms
        self.wallMs = wallMs ?? ms
    }

    /// The instant `seconds` later (both clocks advance).
    public func adding(seconds: Int) -> Instant { adding(ms: Int64(seconds) * 1000) }

    /// The instant `delta` milliseconds later (both clocks advance).
    public func adding(ms delta: Int64) -> Instant { Instant(ms: ms + delta, wallMs: wallMs + delta) }

    public static func < (a: Instant, b: Instant) -> Bool { a.ms < b.ms }
    public static func == (a: Instant, b: Instant) -> Bool { a.ms == b.ms }
    public func hash(into h: inout Hasher) { h.combine(ms) }
    public var description: String { "\(ms)ms" }
}
