/// A hybrid logical clock: versions are wall-clock milliseconds shifted left
/// 16 bits plus a counter, and never go backwards, so a host whose clock
/// steps back still orders its own writes correctly.
public struct HybridClock: Sendable {
    /// The last version handed out or observed.
    public private(set) var last: UInt64 = 0

    /// Creates a clock that has issued nothing yet.
    public init() {}

    /// Bits of a version below its wall-clock milliseconds.
    public static let logicalBits: UInt64 = 16

    /// The wall-clock milliseconds a version was written at (as its writer's clock read).
    public static func wallMs(of version: UInt64) -> Int64 { Int64(version >> logicalBits) }

    /// The version for a new local write at wall time `wallMs`.
    public mutating func next(wallMs: Int64) -> UInt64 {
        let physical = UInt64(max(0, wallMs)) << HybridClock.logicalBits
        last = max(last + 1, physical)
        return last
    }

    /// Moves the clock past a version seen from elsewhere, so later local
    /// writes order after it.
    public mutating func observe(_ version: UInt64) {
        if version > last { last = version }
    }
}
