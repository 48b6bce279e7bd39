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
        "http": http, "json": json, "peer": peer, "handshake": handshake, "shell": shell, "dns": dns,
    ]

    /// A node holding instances of every kind DNS maps: IPv4, IPv6 and name
    /// hosts, with and without ports, many of one service (truncation).
    nonisolated(unsafe) static var dnsNode: Node = {
        var node = Node(config: NodeConfig(environment: "testing", cluster: "eu", name: "fuzz", livenessSeconds: 3600))
        var bodies = [("web", "w1", #"{"host":"10.0.0.1","port":80}"#), ("web", "w2", #"{"host":"fd00::2","port":81}"#),
                      ("web", "w3", #"{"host":"web3.example.net","port":82}"#), ("db", "d1", #"{"host":"10.0.0.9"}"#),
                      ("db", "d2", #"{"port":5432}"#)]
        for i in 0..<80 { bodies.append(("many", "m\(i)", #"{"host":"10.1.\#(i / 250).\#(i % 250)","port":\#(1000 + i)}"#)) }
        for (s, id, body) in bodies {
            _ = node.handle(.request(ConnectionID(1), .register(service: s, id: id, body: Array(body.utf8), ttlSeconds: nil)),
                            now: Instant(ms: 1000, wallMs: 1_800_000_000_000))
        }
        return node
    }()

    /// The DNS codec and answers: any message parses or fails cleanly; a
    /// query's answer, at any size limit the first byte draws, keeps its
    /// id, fits the limit (or is the header and question alone), and says
    /// TC exactly when records were left out.
    static func dns(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let message = Array(data.dropFirst())
        var answers = DNSAnswers(domain: "rarangi.", ttl: 0, selfAddress: [127, 0, 0, 1])
        switch DNS.parseQuery(message) {
        case let .failure(e):
            if let id = e.id { precondition(DNS.error(id: id, rcode: .formErr).count == 12) }
        case let .success(q):
            let limit = 512 + Int(first) * 16
            let answer = answers.answer(q, node: dnsNode, rotation: Int(first))
            let full = DNS.encode(answer, to: q)
            let out = DNS.encode(answer, to: q, limit: limit)
            precondition(out.count >= 12 && out[0] == UInt8(q.id >> 8) && out[1] == UInt8(q.id & 0xFF), "the id is kept")
            let truncated = out[2] & 0x02 != 0
            precondition(!truncated || full.count > limit, "TC only when the whole did not fit")
            precondition(out == full || out.count <= limit, "an answer cut down fits its limit")
            let count = Int(out[6]) << 8 | Int(out[7])
            precondition(count <= answer.answers.count, "no more answers counted than there are")
            precondition(truncated == (count < answer.answers.count), "TC exactly when answer records were left out")
        }
        // The address parsers, on the same bytes as text.
        let text = String(decoding: message.prefix(64), as: UTF8.self)
        if let v4 = IPAddress.v4(text) { precondition(v4.count == 4) }
        if let v6 = IPAddress.v6(text) { precondition(v6.count == 16) }
        if let h = IPAddress.fromHex(text) { precondition(IPAddress.hex(h) == text.lowercased()) }
        _ = JSONFields.members(of: message)
    }

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
