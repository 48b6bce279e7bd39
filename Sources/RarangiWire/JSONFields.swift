/// The top-level members of a stored registration body, read back for the
/// views that map them to other shapes (Prometheus discovery labels, and
/// later the Consul API). The body was validated and compacted when it was
/// stored (`JSON.parseObject`), so reading it needs no error paths beyond
/// "not what was expected", which yields no members.
public enum JSONFields {
    /// One member's value.
    public enum Value: Equatable, Sendable {
        /// A string, unescaped.
        case string(String)
        /// Anything else, as its compact JSON text (numbers, booleans,
        /// null, arrays, objects).
        case raw([UInt8])

        /// The value as text: a string itself, anything else its JSON.
        public var text: String {
            switch self {
            case let .string(s): return s
            case let .raw(r): return String(decoding: r, as: UTF8.self)
            }
        }
    }

    /// The members of a compact JSON object, in order.
    public static func members(of compact: [UInt8]) -> [(name: String, value: Value)] {
        compact.withUnsafeBufferPointer { b in
            var i = 0
            var out: [(String, Value)] = []
            guard b.count >= 2, b[0] == UInt8(ascii: "{") else { return [] }
            i = 1
            if b[i] == UInt8(ascii: "}") { return [] }
            while i < b.count {
                guard b[i] == UInt8(ascii: "\""), let (name, afterName) = string(b, from: i),
                      afterName < b.count, b[afterName] == UInt8(ascii: ":") else { return out }
                i = afterName + 1
                guard i < b.count else { return out }
                if b[i] == UInt8(ascii: "\"") {
                    guard let (s, end) = string(b, from: i) else { return out }
                    out.append((name, .string(s)))
                    i = end
                } else {
                    let end = skipValue(b, from: i)
                    out.append((name, .raw(Array(b[i..<end]))))
                    i = end
                }
                guard i < b.count else { return out }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                return out  // "}"
            }
            return out
        }
    }

    /// The strings of a compact JSON array, or nil when it holds anything else.
    public static func strings(ofArray compact: [UInt8]) -> [String]? {
        compact.withUnsafeBufferPointer { b in
            guard b.count >= 2, b[0] == UInt8(ascii: "[") else { return nil }
            if b[1] == UInt8(ascii: "]") { return [] }
            var out: [String] = []
            var i = 1
            while i < b.count {
                guard b[i] == UInt8(ascii: "\""), let (s, end) = string(b, from: i), end < b.count else { return nil }
                out.append(s)
                i = end
                if b[i] == UInt8(ascii: "]") { return out }
                guard b[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
            return nil
        }
    }

    /// The string literal at `start` (its opening quote), unescaped, and the
    /// index after its closing quote.
    static func string(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> (String, Int)? {
        var bytes: [UInt8] = []
        var i = start + 1
        var pendingHigh: UInt32?
        while i < b.count {
            let c = b[i]
            // A high surrogate not followed by a low one stands for U+FFFD.
            if pendingHigh != nil, !(c == UInt8(ascii: "\\") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "u")) {
                bytes += [0xEF, 0xBF, 0xBD]
                pendingHigh = nil
            }
            if c == UInt8(ascii: "\"") { return (String(decoding: bytes, as: UTF8.self), i + 1) }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            guard i + 1 < b.count else { return nil }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 <= b.count, let unit = UInt32(String(decoding: UnsafeBufferPointer(rebasing: b[i..<(i + 4)]), as: UTF8.self), radix: 16)
                else { return nil }
                i += 4
                var scalar: Unicode.Scalar?
                if (0xD800...0xDBFF).contains(unit) {
                    if pendingHigh != nil { bytes += [0xEF, 0xBF, 0xBD] }
                    pendingHigh = unit
                    continue
                } else if (0xDC00...0xDFFF).contains(unit), let high = pendingHigh {
                    scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                } else {
                    scalar = Unicode.Scalar(unit)
                }
                pendingHigh = nil
                bytes.append(contentsOf: Array(String(Character(scalar ?? "\u{FFFD}")).utf8))
            default: bytes.append(e)  // \" \\ \/
            }
        }
        return nil
    }

    /// The index just after the compact value at `start`.
    static func skipValue(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var depth = 0
        var i = start
        var inString = false
        while i < b.count {
            let c = b[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return i }
                depth -= 1
                if depth == 0 { return i + 1 }
            case UInt8(ascii: ","):
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        // An escape's two bytes may have stepped past a cut-off end.
        return min(i, b.count)
    }
}
