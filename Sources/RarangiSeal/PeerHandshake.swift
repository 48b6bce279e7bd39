import Crypto

/// The mutual proof that opens a sealed peer link (documented in
/// rarangi-protocol(7)). Pure: the caller supplies the nonce from the
/// system's random source and moves the bytes.
///
///     dialler  -> listener   hello  (version, environment, name, key id, nonce_d)
///     listener -> dialler    reply  (name, nonce_l, HMAC(K, "responder" | T))
///     dialler  -> listener   proof  (HMAC(K, "initiator" | T))
///
/// T, the transcript, binds the protocol version, the environment, both
/// names, the key id and both nonces, so a proof made for one link, one
/// direction or one pair of names is worth nothing on any other. Each side
/// then derives one key per direction with HKDF-SHA256 over K, salted with
/// both nonces, and seals every frame (`SealedChannel`).
public struct PeerHandshake: Sendable {
    /// The handshake's version; a peer speaking another is refused.
    public static let version: UInt8 = 1
    /// Bytes of each side's nonce.
    public static let nonceLength = 32
    /// The largest handshake message accepted.
    static let maxMessageBytes = 512

    /// Which end of the link this is.
    public enum Role: Sendable { case dialler, listener }

    /// What the handshake has come to.
    public enum Outcome: Sendable {
        /// Waiting for the other side.
        case pending
        /// Both sides proved they hold the key: frames are sealed from now on.
        case established(Established)
        /// The link must be cut; `outgoing` may hold a refusal for the other side.
        case failed(HandshakeFailure)
    }

    /// An authenticated link.
    public struct Established: Sendable {
        /// Seals what we send and opens what we receive.
        public var channel: SealedChannel
        /// The name the other daemon proved itself under.
        public var peerName: String
        /// The key both sides proved they hold.
        public var keyID: KeyID
        /// Bytes that arrived after the handshake: sealed frames already.
        public var leftover: [UInt8]
    }

    private enum State {
        case awaitingReply
        case awaitingHello
        case awaitingProof(key: ClusterKey, peerName: String, transcript: [UInt8], theirNonce: [UInt8])
        case done
    }

    private let role: Role
    private let keyring: ClusterKeyring
    private let environment: String
    private let name: String
    private let nonce: [UInt8]
    private var state: State
    private var input: [UInt8] = []
    /// Bytes to send to the other side; the caller takes them with `takeOutgoing()`.
    public private(set) var outgoing: [UInt8] = []

    /// A handshake for one link. A dialler's hello is in `outgoing` at once.
    public init(role: Role, keyring: ClusterKeyring, environment: String, name: String, nonce: [UInt8]) {
        precondition(nonce.count == PeerHandshake.nonceLength, "a handshake nonce is 32 bytes")
        self.role = role
        self.keyring = keyring
        self.environment = environment
        self.name = name
        self.nonce = nonce
        switch role {
        case .dialler:
            state = .awaitingReply
            var m = HandshakeWriter(tag: .hello)
            m.u8(PeerHandshake.version)
            m.string(environment)
            m.string(name)
            m.bytes(keyring.primary.id.bytes)
            m.bytes(nonce)
            outgoing = m.frame
        case .listener:
            state = .awaitingHello
        }
    }

    /// Hands over the bytes to send.
    public mutating func takeOutgoing() -> [UInt8] {
        defer { outgoing = [] }
        return outgoing
    }

    /// Bytes received from the other side.
    public mutating func receive<C: Collection>(_ bytes: C) -> Outcome where C.Element == UInt8 {
        input.append(contentsOf: bytes)
        while true {
            if case .done = state { return .pending }
            guard input.count >= 4 else { return .pending }
            let n = Int(input[0]) << 24 | Int(input[1]) << 16 | Int(input[2]) << 8 | Int(input[3])
            guard n >= 1, n <= PeerHandshake.maxMessageBytes else {
                return fail(.malformed("a handshake message of \(n) bytes"))
            }
            guard input.count >= 4 + n else { return .pending }
            let message = Array(input[4..<(4 + n)])
            input.removeFirst(4 + n)
            let outcome = step(HandshakeReader(message))
            if case .pending = outcome { continue }
            return outcome
        }
    }

    private mutating func step(_ r: HandshakeReader) -> Outcome {
        var r = r
        guard let tagByte = r.u8(), let tag = HandshakeTag(rawValue: tagByte) else {
            return fail(.malformed("an unknown handshake message"))
        }
        if tag == .refusal {
            state = .done
            return .failed(.refusedByPeer(HandshakeFailure.Code(rawValue: r.u8() ?? 0) ?? .other))
        }
        switch (state, tag) {
        case (.awaitingHello, .hello):
            guard let version = r.u8() else { return fail(.malformed("a truncated hello")) }
            guard version == PeerHandshake.version else { return fail(.version(Int(version))) }
            guard let env = r.string(), let peer = r.string(), let id = r.bytes(KeyID.length),
                  let theirNonce = r.bytes(PeerHandshake.nonceLength), r.atEnd else {
                return fail(.malformed("a malformed hello"))
            }
            guard env == environment else { return fail(.environment(env)) }
            guard let key = keyring.key(KeyID(bytes: id)) else { return fail(.unknownKey(KeyID(bytes: id))) }
            let t = PeerHandshake.transcript(environment: env, dialler: peer, listener: name,
                                             key: key.id, diallerNonce: theirNonce, listenerNonce: nonce)
            var m = HandshakeWriter(tag: .reply)
            m.string(name)
            m.bytes(nonce)
            m.bytes(PeerHandshake.proof(.listener, key: key, transcript: t))
            outgoing += m.frame
            state = .awaitingProof(key: key, peerName: peer, transcript: t, theirNonce: theirNonce)
            return .pending
        case (.awaitingReply, .reply):
            guard let peer = r.string(), let theirNonce = r.bytes(PeerHandshake.nonceLength),
                  let mac = r.bytes(32), r.atEnd else {
                return fail(.malformed("a malformed reply"))
            }
            let key = keyring.primary
            let t = PeerHandshake.transcript(environment: environment, dialler: name, listener: peer,
                                             key: key.id, diallerNonce: nonce, listenerNonce: theirNonce)
            guard PeerHandshake.verify(mac, .listener, key: key, transcript: t) else { return fail(.badProof) }
            var m = HandshakeWriter(tag: .proof)
            m.bytes(PeerHandshake.proof(.dialler, key: key, transcript: t))
            outgoing += m.frame
            return established(key: key, peer: peer, transcript: t, diallerNonce: nonce, listenerNonce: theirNonce)
        case let (.awaitingProof(key, peer, t, theirNonce), .proof):
            guard let mac = r.bytes(32), r.atEnd else { return fail(.malformed("a malformed proof")) }
            guard PeerHandshake.verify(mac, .dialler, key: key, transcript: t) else { return fail(.badProof) }
            return established(key: key, peer: peer, transcript: t, diallerNonce: theirNonce, listenerNonce: nonce)
        default:
            return fail(.malformed("a handshake message out of order"))
        }
    }

    private mutating func established(key: ClusterKey, peer: String, transcript t: [UInt8],
                                      diallerNonce: [UInt8], listenerNonce: [UInt8]) -> Outcome {
        state = .done
        let salt = diallerNonce + listenerNonce
        let digest = Array(SHA256.hash(data: t))
        let d2l = HKDF<SHA256>.deriveKey(inputKeyMaterial: key.material, salt: salt,
                                         info: Array("rarangi dialler to listener\0".utf8) + digest, outputByteCount: 32)
        let l2d = HKDF<SHA256>.deriveKey(inputKeyMaterial: key.material, salt: salt,
                                         info: Array("rarangi listener to dialler\0".utf8) + digest, outputByteCount: 32)
        let channel = role == .dialler ? SealedChannel(sending: d2l, receiving: l2d) : SealedChannel(sending: l2d, receiving: d2l)
        let leftover = input
        input = []
        return .established(Established(channel: channel, peerName: peer, keyID: key.id, leftover: leftover))
    }

    private mutating func fail(_ failure: HandshakeFailure) -> Outcome {
        state = .done
        input = []
        if let code = failure.code {
            var m = HandshakeWriter(tag: .refusal)
            m.u8(code.rawValue)
            outgoing += m.frame
        }
        return .failed(failure)
    }

    /// T: what both proofs and both derived keys are bound to.
    static func transcript(environment: String, dialler: String, listener: String, key: KeyID,
                           diallerNonce: [UInt8], listenerNonce: [UInt8]) -> [UInt8] {
        var w = HandshakeWriter(tag: nil)
        w.bytes(Array("rarangi-peer-auth".utf8))
        w.u8(PeerHandshake.version)
        w.string(environment)
        w.string(dialler)
        w.string(listener)
        w.bytes(key.bytes)
        w.bytes(diallerNonce)
        w.bytes(listenerNonce)
        return w.payload
    }

    static func proof(_ by: Role, key: ClusterKey, transcript: [UInt8]) -> [UInt8] {
        let label = by == .dialler ? "initiator\0" : "responder\0"
        return Array(HMAC<SHA256>.authenticationCode(for: Array(label.utf8) + transcript, using: key.material))
    }

    /// Compares in constant time (the library's comparison).
    static func verify(_ mac: [UInt8], _ by: Role, key: ClusterKey, transcript: [UInt8]) -> Bool {
        let label = by == .dialler ? "initiator\0" : "responder\0"
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(label.utf8) + transcript, using: key.material)
    }
}

/// Why a handshake failed; logged with the peer's address.
public enum HandshakeFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// What a refusal tells the other side, so both logs say why.
    public enum Code: UInt8, Sendable {
        case other = 0, malformed = 1, version = 2, environment = 3, unknownKey = 4, badProof = 5
    }
    /// Bytes that are not a handshake message in its place.
    case malformed(String)
    /// The peer speaks another handshake version.
    case version(Int)
    /// The peer serves another environment.
    case environment(String)
    /// The peer proves with a key we do not hold.
    case unknownKey(KeyID)
    /// The proof does not match the transcript: another key, or a replay.
    case badProof
    /// The other side refused us, for this reason.
    case refusedByPeer(Code)

    /// A short name for the kind of failure (log field, rate-limit key).
    public var kind: String {
        switch self {
        case .malformed: return "handshake_malformed"
        case .version: return "handshake_version"
        case .environment: return "wrong_environment"
        case .unknownKey: return "unknown_key"
        case .badProof: return "bad_proof"
        case .refusedByPeer: return "refused_by_peer"
        }
    }

    var code: Code? {
        switch self {
        case .malformed: return .malformed
        case .version: return .version
        case .environment: return .environment
        case .unknownKey: return .unknownKey
        case .badProof: return .badProof
        case .refusedByPeer: return nil
        }
    }

    public var description: String {
        switch self {
        case let .malformed(what): return "\(what) during the key handshake"
        case let .version(v): return "the peer speaks handshake version \(v), this daemon \(PeerHandshake.version)"
        case let .environment(env): return "the peer serves environment '\(env)'"
        case let .unknownKey(id): return "the peer proves with key \(id), which is not in this daemon's key file"
        case .badProof: return "the peer's proof does not match (another key with the same id, or a replayed handshake)"
        case let .refusedByPeer(code):
            switch code {
            case .unknownKey: return "the peer does not hold our first key"
            case .badProof: return "the peer found our proof wrong"
            case .environment: return "the peer serves another environment"
            case .version: return "the peer speaks another handshake version"
            case .malformed: return "the peer found our handshake malformed"
            case .other: return "the peer refused the handshake"
            }
        }
    }
}

enum HandshakeTag: UInt8 {
    case hello = 0xA1, reply = 0xA2, proof = 0xA3, refusal = 0xAF
}

/// Builds a handshake message: a u32 big-endian length, then the payload.
struct HandshakeWriter {
    var payload: [UInt8] = []
    init(tag: HandshakeTag?) {
        if let tag { payload.append(tag.rawValue) }
    }
    mutating func u8(_ v: UInt8) { payload.append(v) }
    mutating func bytes(_ b: [UInt8]) { payload += b }
    /// A string of at most 255 bytes, length first.
    mutating func string(_ s: String) {
        let u = Array(s.utf8.prefix(255))
        payload.append(UInt8(u.count))
        payload += u
    }
    var frame: [UInt8] {
        let n = payload.count
        return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
    }
}

/// Reads a handshake message; every read is bounds checked.
struct HandshakeReader {
    private let b: [UInt8]
    private var i = 0
    init(_ b: [UInt8]) { self.b = b }
    var atEnd: Bool { i == b.count }
    mutating func u8() -> UInt8? {
        guard i < b.count else { return nil }
        defer { i += 1 }
        return b[i]
    }
    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard b.count - i >= n else { return nil }
        defer { i += n }
        return Array(b[i..<(i + n)])
    }
    /// A name: 1 to 63 letters, digits, '-', '_' or '.' (so it is safe in logs).
    mutating func string() -> String? {
        guard let n = u8(), n >= 1, n <= 63, let raw = bytes(Int(n)) else { return nil }
        guard raw.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 }) else {
            return nil
        }
        return String(decoding: raw, as: UTF8.self)
    }
}
