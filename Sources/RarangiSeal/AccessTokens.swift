import Crypto

/// Who may change (and, with --read-token-required, read) which services:
/// the token file's lines, `TOKEN SERVICE-PATTERN...`. Only SHA-256 digests
/// of the tokens are kept; a presented token is hashed and compared with
/// every digest in constant time (the library's comparison), so neither the
/// time an answer takes nor the memory of the daemon gives a token away.
public struct AccessTokens: Sendable {
    /// The shortest token accepted: a guessable token protects nothing.
    public static let minLength = 16
    /// The longest token accepted.
    public static let maxLength = 256

    struct Entry: Sendable {
        let digest: SHA256Digest
        let patterns: [ServicePattern]
    }

    private let entries: [Entry]

    /// What a request needs its token to cover.
    public enum Scope: Sendable, Equatable {
        /// One service (registrations, lookups, watches of it).
        case service(String)
        /// Any valid token (the list of services, the status document).
        case anyToken
        /// A token with the pattern `*` (a whole-catalogue read, retiring a daemon).
        case everything
    }

    /// What the token of a request allows.
    public enum Decision: Sendable, Equatable {
        /// The token covers the scope.
        case allowed
        /// No token was sent (401).
        case missing
        /// The token is not in the file (401).
        case unknown
        /// The token is valid but does not cover the scope (403).
        case notCovered
    }

    /// Tokens from the file's text; throws with the line that is wrong
    /// (never with its text: it may hold a token).
    public static func parse(_ text: String) throws(KeyFileError) -> AccessTokens {
        var entries: [Entry] = []
        var lineOf: [SHA256Digest: Int] = [:]
        for (n, raw) in fileLines(text).enumerated() {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let token = fields.first, !token.hasPrefix("#") else { continue }
            guard token.utf8.count >= minLength, token.utf8.count <= maxLength,
                  token.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw KeyFileError("line \(n + 1): a token is \(minLength) to \(maxLength) visible ASCII characters")
            }
            let patterns = fields.dropFirst()
            guard !patterns.isEmpty else {
                throw KeyFileError("line \(n + 1): the token names no service pattern (e.g. web-* or *)")
            }
            var parsed: [ServicePattern] = []
            for (k, p) in patterns.enumerated() {
                // Never quoted: a line with its columns swapped would show its token.
                guard let pattern = ServicePattern(p) else {
                    throw KeyFileError("line \(n + 1): field \(k + 2) is not a service pattern (letters, digits, '-', '_', '.' and '*')")
                }
                parsed.append(pattern)
            }
            let digest = SHA256.hash(data: Array(token.utf8))
            if let first = lineOf[digest] {
                throw KeyFileError("line \(n + 1) repeats the token of line \(first): give one line all its patterns")
            }
            lineOf[digest] = n + 1
            entries.append(Entry(digest: digest, patterns: parsed))
        }
        guard !entries.isEmpty else { throw KeyFileError("the file holds no token") }
        return AccessTokens(entries: entries)
    }

    /// Reads and parses a token file.
    public static func load(path: String) throws(KeyFileError) -> AccessTokens {
        try readSecretFile(path, parse)
    }

    /// Tokens in the file.
    public var count: Int { entries.count }

    /// Whether `token` covers `scope`. Every entry is compared, matched or not.
    public func authorize(_ token: String?, _ scope: Scope) -> Decision {
        guard let token, !token.isEmpty else { return .missing }
        let digest = SHA256.hash(data: Array(token.utf8))
        var match: Entry?
        for e in entries where e.digest == digest && match == nil { match = e }
        guard let match else { return .unknown }
        let covered: Bool
        switch scope {
        case .anyToken: covered = true
        case .everything: covered = match.patterns.contains { $0.isEverything }
        case let .service(s): covered = match.patterns.contains { $0.matches(s) }
        }
        return covered ? .allowed : .notCovered
    }
}

/// A service pattern: a name where `*` stands for any run of characters
/// (`web-*`, `*-db`, `*`).
struct ServicePattern: Sendable {
    private let parts: [Substring]

    init?(_ text: Substring) {
        guard !text.isEmpty, text.utf8.count <= 128, text.utf8.allSatisfy({
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 || $0 == 42
        }) else { return nil }
        parts = text.split(separator: "*", omittingEmptySubsequences: false)
    }

    /// `*` alone (or `**`, which covers the same).
    var isEverything: Bool { parts.count >= 2 && parts.allSatisfy(\.isEmpty) }

    /// Whether `name` matches: the literal parts in order, the first at the
    /// start and the last at the end.
    func matches(_ name: String) -> Bool {
        let n = Array(name.utf8)
        let ps = parts.map { Array($0.utf8) }
        if ps.count == 1 { return n == ps[0] }
        guard n.count >= ps[0].count, n.starts(with: ps[0]) else { return false }
        let last = ps[ps.count - 1]
        guard n.count - ps[0].count >= last.count, Array(n.suffix(last.count)) == last else { return false }
        var i = ps[0].count
        let end = n.count - last.count
        for p in ps[1..<(ps.count - 1)] where !p.isEmpty {
            var found = false
            while i + p.count <= end {
                if Array(n[i..<(i + p.count)]) == p { i += p.count; found = true; break }
                i += 1
            }
            if !found { return false }
        }
        return true
    }
}
