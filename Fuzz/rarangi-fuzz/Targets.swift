import Glibc
import RarangiCore
import RarangiProtocol
import RarangiReactor
import RarangiSeal
import RarangiWire

/// The fuzz targets: each takes arbitrary bytes and must neither crash nor
/// break an invariant it checks (a failed check traps, which libFuzzer
/// reports as a crash and saves the input).
enum Targets {
    static let all: [String: ([UInt8]) -> Void] = [
        "http": http, "json": json, "peer": peer, "handshake": handshake, "shell": shell,
    ]

    /// Splits the input at points drawn from its first byte, so requests
    /// arrive across reads as they do on a socket.
    static func pieces(_ data: [UInt8]) -> [[UInt8]] {
        guard let first = data.first else { return [] }
        let body = Array(data.dropFirst())
        var out: [[UInt8]] = []
        var i = 0
        var step = Int(first % 31) + 1
        while i < body.count {
            let n = min(step, body.count - i)
            out.append(Array(body[i..<(i + n)]))
            i += n
            step = (step * 7 + 3) % 61 + 1
        }
        return out
    }

    /// The HTTP parser and the router, fed in pieces the way the shell
    /// feeds them: whatever a request consumed is removed, the rest kept.
    static func http(_ data: [UInt8]) {
        var parser = HTTPParser(maxBodyBytes: 4096)
        let router = Router(environment: "testing", maxTTLSeconds: 3600)
        var buffer: [UInt8] = []
        for piece in pieces(data) {
            buffer += piece
            parse: while true {
                let outcome = buffer.withUnsafeBufferPointer { parser.parse($0) }
                switch outcome {
                case .needMore, .sendContinue(_):
                    break parse
                case let .request(request, consumed):
                    precondition(consumed > 0 && consumed <= buffer.count, "consumed \(consumed) of \(buffer.count)")
                    buffer.removeFirst(consumed)
                    _ = router.route(request)
                case .failure:
                    return
                }
            }
        }
    }

    /// The JSON validator and compactor: what validates compacts to a
    /// fixed point that validates again.
    static func json(_ data: [UInt8]) {
        if let object = try? JSON.parseObject(data) {
            let compact = object.compact
            guard let again = try? JSON.parseObject(compact) else { preconditionFailure("a compacted object does not parse") }
            precondition(again.compact == compact, "compaction is not a fixed point")
        }
        if let value = try? JSON.compactValue(data) {
            precondition((try? JSON.compactValue(value)) == value, "a compacted value changes when compacted again")
        }
    }

    /// The peer codec: any frame decodes or fails cleanly, and a decoded
    /// message re-encodes to one that decodes to the same message.
    static func peer(_ data: [UInt8]) {
        var decoder = PeerFrameDecoder()
        for piece in pieces(data) {
            decoder.append(piece)
            while true {
                guard let message = try? decoder.next() else { break }
                let frame = PeerCodec.encode(message)
                guard let again = try? PeerCodec.decode(frame: frame) else { preconditionFailure("a re-encoded message does not decode") }
                precondition(again == message, "a message changes through the codec")
            }
        }
    }

    static let ring = ClusterKeyring(keys: [ClusterKey(bytes: Array(repeating: 7, count: 32))])

    /// The key handshake on both ends and the sealed channel, fed bytes no
    /// key made: nothing establishes a link, nothing crashes.
    static func handshake(_ data: [UInt8]) {
        var listener = PeerHandshake(role: .listener, keyring: ring, environment: "testing", name: "l", nonce: Array(repeating: 1, count: 32))
        var dialler = PeerHandshake(role: .dialler, keyring: ring, environment: "testing", name: "d", nonce: Array(repeating: 2, count: 32))
        _ = dialler.takeOutgoing()
        for piece in pieces(data) {
            if case .established = listener.receive(piece) { preconditionFailure("a listener established a link from forged bytes") }
            if case .established = dialler.receive(piece) { preconditionFailure("a dialler established a link from forged bytes") }
        }
        // A real handshake, then forged sealed bytes after it.
        var l = PeerHandshake(role: .listener, keyring: ring, environment: "testing", name: "l", nonce: Array(repeating: 3, count: 32))
        var d = PeerHandshake(role: .dialler, keyring: ring, environment: "testing", name: "d", nonce: Array(repeating: 4, count: 32))
        _ = l.receive(d.takeOutgoing())
        guard case .established(var channel) = d.receive(l.takeOutgoing()) else { preconditionFailure("the real handshake failed") }
        for piece in pieces(data) {
            channel.channel.append(piece)
            do {
                if try channel.channel.open() != nil { preconditionFailure("a forged sealed frame opened") }
            } catch {
                return
            }
        }
    }
}
