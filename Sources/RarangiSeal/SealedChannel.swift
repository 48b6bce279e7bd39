import Crypto
import Foundation

/// A sealed peer link after the handshake: every frame travels as
/// `u32 big-endian length` + AES-256-GCM ciphertext + 16-byte tag, under
/// one key per direction, with the frame's number in that direction as the
/// nonce (4 zero bytes, then a u64 big-endian counter) and the length as
/// associated data. A frame changed, dropped, replayed, reordered or
/// injected fails to open, and the link is cut.
public struct SealedChannel: Sendable {
    /// Bytes the seal adds to a frame: the length and the tag.
    public static let overhead = 4 + 16
    /// The largest sealed frame accepted (the plaintext limit plus the seal).
    public static let maxSealedBytes = (8 << 20) + 4 + overhead

    private let sendKey: SymmetricKey
    private let receiveKey: SymmetricKey
    private var sent: UInt64 = 0
    private var received: UInt64 = 0
    private var buffer: [UInt8] = []
    private var start = 0

    init(sending: SymmetricKey, receiving: SymmetricKey) {
        sendKey = sending
        receiveKey = receiving
    }

    /// Frames sealed and opened so far.
    public var counts: (sent: UInt64, received: UInt64) { (sent, received) }

    /// Seals one frame onto `out`.
    public mutating func seal(_ frame: [UInt8], into out: inout [UInt8]) {
        let n = frame.count + 16
        let head: [UInt8] = [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(frame, using: sendKey, nonce: SealedChannel.nonce(sent), authenticating: head)
        } catch {
            // Only a key or nonce of the wrong size fails, and both are fixed here.
            preconditionFailure("AES-GCM seal failed: \(error)")
        }
        sent += 1
        out += head
        out += box.ciphertext
        out += box.tag
    }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536, start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next opened frame, nil while more bytes are needed; throws when a
    /// frame does not open (the link must then be cut).
    public mutating func open() throws(SealError) -> [UInt8]? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard n >= 16, n <= SealedChannel.maxSealedBytes else { throw .badLength(n) }
        guard available >= 4 + n else { return nil }
        let head = buffer[start..<(start + 4)]
        let body = buffer[(start + 4)..<(start + 4 + n - 16)]
        let tag = buffer[(start + 4 + n - 16)..<(start + 4 + n)]
        start += 4 + n
        do {
            let box = try AES.GCM.SealedBox(nonce: SealedChannel.nonce(received), ciphertext: body, tag: tag)
            let plain = try AES.GCM.open(box, using: receiveKey, authenticating: head)
            received += 1
            return Array(plain)
        } catch {
            throw .tampered(frame: received)
        }
    }

    private static func nonce(_ counter: UInt64) -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[4 + i] = UInt8(counter >> (56 - 8 * UInt64(i)) & 0xFF) }
        // Twelve bytes is the one size the constructor checks for.
        return try! AES.GCM.Nonce(data: bytes)
    }
}

/// Why a sealed frame was refused.
public enum SealError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length prefix is below a tag or beyond the frame limit.
    case badLength(Int)
    /// The frame does not open: changed, replayed, reordered, injected or from another key.
    case tampered(frame: UInt64)

    public var description: String {
        switch self {
        case let .badLength(n): return "a sealed frame of \(n) bytes"
        case let .tampered(n): return "sealed frame \(n) does not open (changed, replayed, reordered or injected)"
        }
    }
}
