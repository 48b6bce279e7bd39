/// A byte stream cut into frames of a u32 big-endian length and a payload,
/// keeping a partial frame between reads: the peer codec's framing, and
/// the sealed frames around it, read through this one buffer.
public struct FrameBuffer: Sendable {
    /// The bytes held; payload ranges index into it.
    public private(set) var bytes: [UInt8] = []
    private var start = 0

    /// Creates an empty buffer.
    public init() {}

    /// Bytes held but not yet taken as frames.
    public var pendingBytes: Int { bytes.count - start }

    /// Adds received bytes (compacting what was taken, now and then).
    public mutating func append<C: Collection>(_ more: C) where C.Element == UInt8 {
        if start > 0, start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536, start * 2 > bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
        bytes.append(contentsOf: more)
    }

    /// The range in `bytes` of the next complete frame's payload (its
    /// length prefix is the 4 bytes before it), nil while it is incomplete;
    /// throws the announced length when it is outside `lengths`.
    public mutating func nextPayload(lengths: ClosedRange<Int>) throws(FrameLengthError) -> Range<Int>? {
        let available = bytes.count - start
        guard available >= 4 else { return nil }
        let n = Int(bytes[start]) << 24 | Int(bytes[start + 1]) << 16 | Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
        guard lengths.contains(n) else { throw FrameLengthError(length: n) }
        guard available >= 4 + n else { return nil }
        let payload = (start + 4)..<(start + 4 + n)
        start += 4 + n
        return payload
    }
}

/// A frame's length prefix outside what the reader accepts.
public struct FrameLengthError: Error, Sendable {
    /// The length announced.
    public let length: Int
}
