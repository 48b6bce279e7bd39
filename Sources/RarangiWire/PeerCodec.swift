/// Why a peer frame was refused; the link is cut and the reason logged.
public enum PeerCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length prefix is beyond `PeerCodec.maxFrameBytes`.
    case frameTooLarge(Int)
    /// The frame ended inside a field.
    case truncated
    /// An unknown message type or enumeration value.
    case badTag(UInt8)
    /// A count or string length beyond what the frame can hold.
    case badLength
    /// A varint longer than 10 bytes.
    case badVarint
    /// Bytes left over after the message.
    case trailingBytes

    public var description: String {
        switch self {
        case let .frameTooLarge(n): return "frame of \(n) bytes exceeds \(PeerCodec.maxFrameBytes)"
        case .truncated: return "frame ends inside a field"
        case let .badTag(t): return "unknown tag \(t)"
        case .badLength: return "length beyond the frame"
        case .badVarint: return "varint too long"
        case .trailingBytes: return "bytes left after the message"
        }
    }
}

/// The peer framing: `u32 big-endian length` + `u8 type` + payload of
/// varints (LEB128) and length-prefixed byte strings. Every read is bounds
/// checked, so any byte sequence either decodes or fails cleanly.
public enum PeerCodec {
    /// The largest frame accepted; senders chunk record batches well below it.
    public static let maxFrameBytes = 8 << 20
    /// The soft size at which senders start a new frame for record batches.
    public static let chunkBytes = 256 << 10
    /// The value no version reaches, which marks `RecordBatch.Mode`'s
    /// `coalescedPush` (as a push's `prev`) and `deathNotice` (as a sync's
    /// `since`) on the wire.
    static let reserved = UInt64.max

    /// Encodes one message as a complete frame.
    public static func encode(_ message: PeerMessage) -> [UInt8] {
        var w = Writer()
        w.bytes.append(contentsOf: [0, 0, 0, 0])
        switch message {
        case let .hello(h):
            w.u8(0)
            w.string(h.environment); w.string(h.cluster); w.string(h.name)
            w.varint(h.generation); w.u8(h.master ? 1 : 0); w.string(h.host); w.varint(UInt64(h.port))
        case let .digest(hash, membersHash, entries):
            w.u8(1)
            w.varint(hash); w.varint(membersHash)
            if let entries {
                w.u8(1)
                w.varint(UInt64(entries.count))
                for e in entries { w.string(e.name); w.varint(e.generation); w.varint(e.version) }
            } else {
                w.u8(0)
            }
        case let .pull(entries):
            w.u8(2)
            w.varint(UInt64(entries.count))
            for e in entries { w.string(e.name); w.varint(e.generation); w.varint(e.since) }
        case let .records(batches):
            w.u8(3)
            w.varint(UInt64(batches.count))
            for b in batches {
                w.string(b.origin); w.varint(b.generation)
                switch b.mode {
                case let .push(prev):
                    assert(prev != PeerCodec.reserved, "a push with prev = max is a coalesced push")
                    w.u8(0); w.varint(prev)
                case .coalescedPush:
                    w.u8(0); w.varint(PeerCodec.reserved)
                case let .sync(since, upTo, reset):
                    assert(!(since == PeerCodec.reserved && upTo == 0 && reset), "that sync is a death notice")
                    w.u8(reset ? 2 : 1); w.varint(since); w.varint(upTo)
                case .deathNotice:
                    w.u8(2); w.varint(PeerCodec.reserved); w.varint(0)
                }
                w.varint(UInt64(b.deltas.count))
                for d in b.deltas {
                    w.string(d.service); w.string(d.id); w.varint(d.version); w.u8(d.kind.rawValue)
                    w.varint(UInt64(d.body.count)); w.bytes.append(contentsOf: d.body)
                    if d.kind == .kill {
                        w.varint(UInt64(d.causes.count))
                        for c in d.causes { w.string(c.name); w.varint(c.generation); w.varint(c.version) }
                    }
                }
            }
        case let .members(entries):
            w.u8(4)
            w.entries(entries)
        case let .verdict(v):
            w.u8(5)
            w.u8(v.stale ? 1 : 0); w.varint(v.members); w.varint(v.components); w.varint(v.largest); w.varint(v.mine)
        }
        let n = UInt32(w.bytes.count - 4)
        w.bytes[0] = UInt8(n >> 24); w.bytes[1] = UInt8((n >> 16) & 0xff)
        w.bytes[2] = UInt8((n >> 8) & 0xff); w.bytes[3] = UInt8(n & 0xff)
        return w.bytes
    }

    /// Decodes one frame's payload (after the length prefix).
    public static func decode(payload: UnsafeBufferPointer<UInt8>) throws(PeerCodecError) -> PeerMessage {
        var r = Reader(buf: payload)
        let message: PeerMessage
        switch try r.u8() {
        case 0:
            let env = try r.string(), cluster = try r.string(), name = try r.string()
            let gen = try r.varint(), master = try r.u8() != 0, host = try r.string()
            let port = try r.varint()
            guard port <= 65535 else { throw .badLength }
            message = .hello(PeerHello(environment: env, cluster: cluster, name: name, generation: gen,
                                       master: master, host: host, port: UInt16(port)))
        case 1:
            let hash = try r.varint(), mhash = try r.varint()
            var entries: [DigestEntry]? = nil
            if try r.u8() != 0 {
                let n = try r.count(minBytes: 3)
                var list: [DigestEntry] = []
                list.reserveCapacity(n)
                for _ in 0..<n { list.append(DigestEntry(name: try r.string(), generation: try r.varint(), version: try r.varint())) }
                entries = list
            }
            message = .digest(hash: hash, membersHash: mhash, entries: entries)
        case 2:
            let n = try r.count(minBytes: 3)
            var list: [PullEntry] = []
            for _ in 0..<n { list.append(PullEntry(name: try r.string(), generation: try r.varint(), since: try r.varint())) }
            message = .pull(list)
        case 3:
            let n = try r.count(minBytes: 5)
            var batches: [RecordBatch] = []
            for _ in 0..<n {
                let origin = try r.string(), gen = try r.varint()
                let mode: RecordBatch.Mode
                switch try r.u8() {
                case 0:
                    let prev = try r.varint()
                    mode = prev == PeerCodec.reserved ? .coalescedPush : .push(prev: prev)
                case let t where t == 1 || t == 2:
                    let since = try r.varint(), upTo = try r.varint()
                    mode = t == 2 && since == PeerCodec.reserved && upTo == 0
                        ? .deathNotice : .sync(since: since, upTo: upTo, reset: t == 2)
                case let t: throw .badTag(t)
                }
                let m = try r.count(minBytes: 5)
                var deltas: [Delta] = []
                deltas.reserveCapacity(m)
                for _ in 0..<m {
                    let service = try r.string(), id = try r.string(), version = try r.varint()
                    let tag = try r.u8()
                    guard let kind = DeltaKind(rawValue: tag) else { throw .badTag(tag) }
                    let body = try r.blob()
                    var causes: [DeltaCause] = []
                    if kind == .kill {
                        let c = try r.count(minBytes: 3)
                        causes.reserveCapacity(c)
                        for _ in 0..<c {
                            let origin = try r.string(), generation = try r.varint(), v = try r.varint()
                            causes.append(DeltaCause(name: origin, generation: generation, version: v))
                        }
                    }
                    deltas.append(Delta(service: service, id: id, version: version, kind: kind, body: body, causes: causes))
                }
                batches.append(RecordBatch(origin: origin, generation: gen, mode: mode, deltas: deltas))
            }
            message = .records(batches)
        case 4:
            message = .members(try r.entries())
        case 5:
            let stale = try r.u8()
            guard stale <= 1 else { throw .badTag(stale) }
            message = .verdict(MemberVerdict(stale: stale == 1, members: try r.varint(), components: try r.varint(),
                                             largest: try r.varint(), mine: try r.varint()))
        case let t:
            throw .badTag(t)
        }
        guard r.index == payload.count else { throw .trailingBytes }
        return message
    }

    /// Decodes a whole frame held in an array (tests, the simulation).
    public static func decode(frame: [UInt8]) throws(PeerCodecError) -> PeerMessage {
        var decoder = PeerFrameDecoder()
        decoder.append(frame)
        guard let m = try decoder.next() else { throw .truncated }
        return m
    }

    struct Writer {
        var bytes: [UInt8] = []
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7f) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { p in
                varint(UInt64(p.count))
                bytes.append(contentsOf: p)
            }
        }
    }

    struct Reader {
        let buf: UnsafeBufferPointer<UInt8>
        var index = 0
        mutating func u8() throws(PeerCodecError) -> UInt8 {
            guard index < buf.count else { throw .truncated }
            defer { index += 1 }
            return buf[index]
        }
        mutating func varint() throws(PeerCodecError) -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard shift < 64 else { throw .badVarint }
                let b = try u8()
                v |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }
        /// A count of items each at least `minBytes` long, checked against what is left.
        mutating func count(minBytes: Int) throws(PeerCodecError) -> Int {
            let n = try varint()
            guard n <= UInt64(buf.count - index) / UInt64(minBytes) + 1 else { throw .badLength }
            return Int(n)
        }
        mutating func blob() throws(PeerCodecError) -> [UInt8] {
            let n = try varint()
            guard n <= UInt64(buf.count - index) else { throw .badLength }
            let start = index
            index += Int(n)
            return Array(buf[start..<index])
        }
        mutating func string() throws(PeerCodecError) -> String {
            let n = try varint()
            guard n <= UInt64(buf.count - index) else { throw .badLength }
            let start = index
            index += Int(n)
            return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<index]), as: UTF8.self)
        }
    }
}

/// Splits a byte stream into frames and decodes them, keeping a partial
/// frame between reads.
public struct PeerFrameDecoder: Sendable {
    private var buffer = FrameBuffer()

    /// Creates an empty decoder.
    public init() {}

    /// Bytes held but not yet decoded.
    public var pendingBytes: Int { buffer.pendingBytes }

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 { buffer.append(bytes) }

    /// The next complete message, nil when more bytes are needed; throws on
    /// a malformed frame (the link must then be cut).
    public mutating func next() throws(PeerCodecError) -> PeerMessage? {
        let payload: Range<Int>
        do {
            guard let p = try buffer.nextPayload(lengths: 0...PeerCodec.maxFrameBytes) else { return nil }
            payload = p
        } catch {
            throw .frameTooLarge(error.length)
        }
        return try buffer.bytes.withUnsafeBufferPointer { p throws(PeerCodecError) in
            try PeerCodec.decode(payload: UnsafeBufferPointer(rebasing: p[payload]))
        }
    }
}

extension PeerCodec.Writer {
    /// Member entries, as `members` carries them.
    mutating func entries(_ entries: [MemberEntry]) {
        varint(UInt64(entries.count))
        for e in entries {
            string(e.name); varint(e.generation); varint(e.seq); string(e.cluster)
            string(e.host); varint(UInt64(e.port)); u8((e.master ? 1 : 0) | (e.retired ? 2 : 0))
            varint(UInt64(e.masters.count)); for m in e.masters { string(m) }
            varint(UInt64(e.leaves.count)); for l in e.leaves { string(l) }
        }
    }
}

extension PeerCodec.Reader {
    /// Member entries, as `members` carries them.
    mutating func entries() throws(PeerCodecError) -> [MemberEntry] {
        let n = try count(minBytes: 9)
        var list: [MemberEntry] = []
        for _ in 0..<n {
            let name = try string(), gen = try varint(), seq = try varint(), cluster = try string()
            let host = try string(), port = try varint()
            guard port <= 65535 else { throw .badLength }
            let role = try u8()
            // Bit 0: a master; bit 1: retired by the operator.
            guard role <= 3 else { throw .badTag(role) }
            var masters: [String] = []
            for _ in 0..<(try count(minBytes: 1)) { masters.append(try string()) }
            var leaves: [String] = []
            for _ in 0..<(try count(minBytes: 1)) { leaves.append(try string()) }
            list.append(MemberEntry(name: name, generation: gen, seq: seq, cluster: cluster, host: host,
                                    port: UInt16(port), master: role & 1 == 1, masters: masters, leaves: leaves,
                                    retired: role & 2 == 2))
        }
        return list
    }
}
