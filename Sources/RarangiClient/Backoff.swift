import RarangiProtocol
/// `Backoff` is part of the library's API: callers need not import RarangiProtocol.
@_exported import struct RarangiProtocol.Backoff

extension Backoff {
    /// The delay before the next round, counting this failure, with the
    /// jitter drawn from the system's generator: a client has no seed to
    /// replay, and its holders must not retry in step.
    public mutating func nextDelayMs() -> Int64 {
        var system = SystemRandomNumberGenerator()
        return nextDelayMs(random: system.next())
    }
}
