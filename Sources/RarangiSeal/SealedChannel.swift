import Crypto
import RarangiWire

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
    private var buffer = FrameBuffer()

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
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 { buffer.append(bytes) }

    /// The next opened frame, nil while more bytes are needed; throws when a
    /// frame does not open (the link must then be cut).
    public mutating func open() throws(SealError) -> [UInt8]? {
        let sealed: Range<Int>
        do {
            guard let s = try buffer.nextPayload(lengths: 16...SealedChannel.maxSealedBytes) else { return nil }
            sealed = s
        } catch {
            throw .badLength(error.length)
        }
        let bytes = buffer.bytes
        let head = bytes[(sealed.lowerBound - 4)..<sealed.lowerBound]
        let body = bytes[sealed.lowerBound..<(sealed.upperBound - 16)]
        let tag = bytes[(sealed.upperBound - 16)..<sealed.upperBound]
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
