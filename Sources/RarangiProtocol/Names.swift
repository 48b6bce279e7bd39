/// The character sets and lengths of service names and instance ids. They keep
/// names safe in URLs, JSON keys (no escaping needed), DNS labels and logs.
public enum Names {
    /// Longest service name: a DNS label.
    public static let maxServiceLength = 63
    /// Longest instance id.
    public static let maxInstanceLength = 128

    /// Returns why `s` is not a valid service name, or nil when it is.
    /// A service name starts with a letter or digit and continues with
    /// letters, digits, `-`, `_` and `.`; names starting with `_` are the API's.
    public static func serviceProblem(_ s: Substring) -> String? {
        if isReserved(s) {
            return "the service name '\(s)' is reserved: GET /\(s) is the daemon's \(s == "metrics" ? "Prometheus metrics" : "Consul API")"
        }
        return problem(s, kind: "service name", max: maxServiceLength, extra: serviceExtra)
    }

    /// Names that are the daemon's own paths, so no service may take them:
    /// `metrics` (Prometheus scrapes `GET /metrics`) and `v1` (the Consul
    /// API's prefix: `GET /v1/agent/self` must not be an instance lookup).
    public static let reservedServices: [String] = ["metrics", "v1"]

    /// Whether `s` is one of `reservedServices`, compared byte by byte (two
    /// short names: cheaper than hashing every looked-up name).
    static func isReserved(_ s: Substring) -> Bool {
        reservedServices.contains { $0.utf8.count == s.utf8.count && $0.utf8.elementsEqual(s.utf8) }
    }

    /// Returns why `s` is not a valid instance id, or nil when it is.
    /// An id starts with a letter or digit and continues with letters,
    /// digits, `-`, `_`, `.`, `:` and `@`.
    public static func instanceProblem(_ s: Substring) -> String? {
        problem(s, kind: "instance id", max: maxInstanceLength, extra: instanceExtra)
    }

    /// What a service name may hold beyond letters and digits.
    private static let serviceExtra: [UInt8] = [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ".")]
    /// What an instance id may hold beyond letters and digits.
    private static let instanceExtra: [UInt8] = serviceExtra + [UInt8(ascii: ":"), UInt8(ascii: "@")]

    private static func problem(_ s: Substring, kind: String, max: Int, extra: [UInt8]) -> String? {
        var bytes = s
        let found = bytes.withUTF8 { flaw(in: $0, max: max, extra: extra) }
        switch found {
        case nil:
            return nil
        case .empty?:
            return "the \(kind) is empty"
        case .tooLong?:
            return "the \(kind) is longer than \(max) characters"
        case .badStart?:
            return "the \(kind) must start with a letter or digit"
        case .badByte?:
            let allowed = String(decoding: extra, as: UTF8.self).map { "'\($0)'" }.joined(separator: " ")
            return "the \(kind) may hold only letters, digits and \(allowed)"
        }
    }

    /// What makes bytes no name; the message is only made when there is one.
    private enum Flaw { case empty, tooLong, badStart, badByte }

    /// The first flaw of `bytes` as a name of at most `max` bytes: a letter
    /// or digit first, then letters, digits and `extra`; nil when none.
    private static func flaw(in bytes: UnsafeBufferPointer<UInt8>, max: Int, extra: [UInt8]) -> Flaw? {
        guard let first = bytes.first else { return .empty }
        if bytes.count > max { return .tooLong }
        if !isAlnum(first) { return .badStart }
        for b in bytes where !isAlnum(b) && !extra.contains(b) { return .badByte }
        return nil
    }

    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// Whether `s` can name a daemon or cluster (it appears in headers and
    /// logs): 1 to 63 letters, digits, '-', '_' or '.'.
    public static func isNodeName(_ s: String) -> Bool {
        // Over the contiguous bytes: a peer's member frame carries hundreds of names.
        var s = s
        return s.withUTF8 { p in
            guard !p.isEmpty, p.count <= 63 else { return false }
            for b in p where !(b >= 48 && b <= 57) && !(b >= 65 && b <= 90) && !(b >= 97 && b <= 122) && b != 45 && b != 95 && b != 46 {
                return false
            }
            return true
        }
    }
}
