import Crypto
// Data and its base64 coding only: swift-crypto links FoundationEssentials
// anyway, and it carries no ICU data (Foundation would).
import struct FoundationEssentials.Data

/// A cluster key: 32 random bytes every daemon of the environment holds.
/// Links prove they hold one (`PeerHandshake`) and seal every frame with
/// keys derived from it (`SealedChannel`).
public struct ClusterKey: Sendable, Equatable {
    /// The key's length in bytes.
    public static let length = 32
    /// The key material.
    let material: SymmetricKey
    /// What names the key on the wire and in logs: the first 8 bytes of
    /// HMAC-SHA256(key, "rarangi key id"), so a listener picks the key the
    /// dialler proves with without trying each, and the key itself is never
    /// shown.
    public let id: KeyID

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == ClusterKey.length, "a cluster key is 32 bytes")
        material = SymmetricKey(data: bytes)
        let mac = HMAC<SHA256>.authenticationCode(for: Array("rarangi key id".utf8), using: material)
        id = KeyID(bytes: Array(mac.prefix(KeyID.length)))
    }

    /// A key as a key file line holds it: base64 of 32 bytes.
    public init?(text: Substring) {
        guard let data = Data(base64Encoded: String(text)), data.count == ClusterKey.length else { return nil }
        self.init(bytes: Array(data))
    }

    /// A fresh key from the system's random source (`rarangi keygen`).
    public static func generate() -> ClusterKey {
        let key = SymmetricKey(size: .bits256)
        return ClusterKey(bytes: key.withUnsafeBytes { Array($0) })
    }

    /// The key as one line of a key file.
    public var text: String { material.withUnsafeBytes { Data($0).base64EncodedString() } }

    public static func == (a: ClusterKey, b: ClusterKey) -> Bool { a.id == b.id }
}

/// The public name of a cluster key.
public struct KeyID: Sendable, Hashable, CustomStringConvertible {
    /// Bytes on the wire.
    public static let length = 8
    /// The id's bytes.
    public let bytes: [UInt8]
    /// An id from its bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }
    /// Hex, for logs and `/_status`.
    public var description: String { bytes.map { String($0, radix: 16).leftPadded(2) }.joined() }
}

/// The keys a daemon holds: the first proves who we are when we dial, any
/// of them is accepted from a daemon that dials us. Keys rotate without a
/// flag day: add the new key everywhere, move it first everywhere, remove
/// the old one.
public struct ClusterKeyring: Sendable, Equatable {
    /// The keys, the one we prove with first.
    public let keys: [ClusterKey]

    /// A keyring of at least one key.
    public init(keys: [ClusterKey]) {
        precondition(!keys.isEmpty, "a keyring holds at least one key")
        self.keys = keys
    }

    /// The key we prove ourselves with.
    public var primary: ClusterKey { keys[0] }

    /// The key named `id`, if we hold it.
    public func key(_ id: KeyID) -> ClusterKey? { keys.first { $0.id == id } }

    /// Reads a key file: one base64 key a line; blank lines and lines
    /// starting with `#` are skipped. Throws with the line that is wrong
    /// (never with its text: it may be a key).
    public static func parse(_ text: String) throws(KeyFileError) -> ClusterKeyring {
        var keys: [ClusterKey] = []
        for (n, raw) in fileLines(text).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let key = ClusterKey(text: Substring(line)) else {
                throw KeyFileError("line \(n + 1) is not a key (base64 of 32 bytes, as rarangi keygen prints)")
            }
            if !keys.contains(key) { keys.append(key) }
        }
        guard !keys.isEmpty else { throw KeyFileError("the file holds no key") }
        return ClusterKeyring(keys: keys)
    }

    /// Reads and parses a key file.
    public static func load(path: String) throws(KeyFileError) -> ClusterKeyring {
        try readSecretFile(path, parse)
    }
}

/// Why a key file was refused.
public struct KeyFileError: Error, Equatable, CustomStringConvertible {
    /// The sentence for the operator.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension String {
    /// The string without the white space at either end.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The lines of a key or token file, split at every line feed with a
/// carriage return before it dropped (files written on Windows, or with
/// CRLF by a template tool, read like any other). Swift's `Character`
/// holds "\r\n" as one, so splitting on "\n" would miss those.
func fileLines(_ text: String) -> [String] {
    text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { line in
        String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
    }
}

/// Reads a key or token file and parses it, naming the file in any error.
func readSecretFile<T>(_ path: String, _ parse: (String) throws(KeyFileError) -> T) throws(KeyFileError) -> T {
    let text: String
    do {
        text = try TextFile.read(path: path)
    } catch {
        throw KeyFileError("cannot read \(path): \(error)")
    }
    do {
        return try parse(text)
    } catch {
        throw KeyFileError("\(path): \(error.message)")
    }
}
