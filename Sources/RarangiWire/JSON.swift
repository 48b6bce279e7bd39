/// Strict JSON (RFC 8259) validation that also compacts the text, so stored
/// objects cost no insignificant whitespace and can be spliced verbatim into
/// lookup responses without re-encoding.
public enum JSON {
    /// How deeply arrays and objects may nest; a bound keeps a hostile body
    /// from exhausting the reactor thread's stack.
    public static let maxDepth = 64

    /// What a caller learns about one top-level member (`host`, `port`).
    public enum Member: Equatable, Sendable {
        /// The member is not in the object.
        case absent
        /// The member is a string (its raw, still-escaped contents).
        case string(String)
        /// The member is a number that is a plain non-negative integer.
        case integer(Int)
        /// The member is present but of some other kind or shape.
        case other
    }

    /// The outcome of validating an object body.
    public struct Object: Sendable {
        /// The compacted text: same members, same order, no insignificant whitespace.
        public var compact: [UInt8]
        /// The top-level `host` member, checked by the catalogue.
        public var host: Member
        /// The top-level `port` member, checked by the catalogue.
        public var port: Member
    }

    /// Validates `bytes` as exactly one JSON object and compacts it.
    public static func parseObject(_ bytes: [UInt8]) throws(JSONError) -> Object {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .invalidUTF8 }
        var scanner = Scanner(bytes)
        scanner.skipSpace()
        guard scanner.index < bytes.count else { throw .empty }
        let first = bytes[scanner.index]
        if first != UInt8(ascii: "{") {
            // Validate anyway so a caller can tell "not JSON" from "not an object".
            try scanner.value(depth: 0)
            scanner.skipSpace()
            if scanner.index != bytes.count { throw .trailingData(offset: scanner.index) }
            throw .notAnObject
        }
        try scanner.value(depth: 0)
        scanner.skipSpace()
        if scanner.index != bytes.count { throw .trailingData(offset: scanner.index) }
        return Object(compact: scanner.out, host: scanner.host, port: scanner.port)
    }

    /// Validates any single JSON value and returns it compacted.
    public static func compactValue(_ bytes: [UInt8]) throws(JSONError) -> [UInt8] {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .invalidUTF8 }
        var scanner = Scanner(bytes)
        scanner.skipSpace()
        guard scanner.index < bytes.count else { throw .empty }
        try scanner.value(depth: 0)
        scanner.skipSpace()
        if scanner.index != bytes.count { throw .trailingData(offset: scanner.index) }
        return scanner.out
    }

    /// Appends `s` as a JSON string literal (with quotes) to `out`.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Why a body is not acceptable JSON; `description` is a sentence for the client.
public enum JSONError: Error, Equatable, CustomStringConvertible {
    /// Nothing but whitespace.
    case empty
    /// Bytes that are not UTF-8.
    case invalidUTF8
    /// A syntax error at a byte offset.
    case syntax(offset: Int, expected: String)
    /// Valid JSON followed by more bytes.
    case trailingData(offset: Int)
    /// Nesting deeper than `JSON.maxDepth`.
    case tooDeep
    /// Valid JSON, but not an object.
    case notAnObject

    public var description: String {
        switch self {
        case .empty: return "the body is empty"
        case .invalidUTF8: return "the body is not valid UTF-8"
        case let .syntax(offset, expected): return "malformed JSON at byte \(offset): expected \(expected)"
        case let .trailingData(offset): return "malformed JSON: unexpected data after the value at byte \(offset)"
        case .tooDeep: return "JSON nests deeper than \(JSON.maxDepth) levels"
        case .notAnObject: return "the body must be a JSON object"
        }
    }
}

private struct Scanner {
    let bytes: [UInt8]
    var index = 0
    var out: [UInt8] = []
    var host: JSON.Member = .absent
    var port: JSON.Member = .absent

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        out.reserveCapacity(bytes.count)
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func fail(_ expected: String) -> JSONError { .syntax(offset: index, expected: expected) }

    mutating func value(depth: Int) throws(JSONError) {
        skipSpace()
        guard index < bytes.count else { throw fail("a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("\(word)") }
        let p = word.utf8Start
        for i in 0..<n where bytes[index + i] != p[i] { throw fail("\(word)") }
        out.append(contentsOf: bytes[index..<index + n])
        index += n
    }

    mutating func number() throws(JSONError) {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        out.append(contentsOf: bytes[start..<index])
    }

    /// Scans a string and returns the range of its raw contents in `bytes`.
    mutating func string() throws(JSONError) -> Range<Int> {
        index += 1  // opening quote
        let start = index
        while true {
            guard index < bytes.count else { throw fail("a closing quote") }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw fail("no raw control character in a string") }
            if b == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { throw fail("an escape") }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 4 < bytes.count else { throw fail("four hex digits") }
                    for i in 1...4 where !isHex(bytes[index + i]) { throw fail("four hex digits") }
                    index += 5
                default:
                    throw fail("a valid escape")
                }
                continue
            }
            index += 1
        }
        let range = start..<index
        index += 1
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: bytes[range])
        out.append(UInt8(ascii: "\""))
        return range
    }

    /// Opens a container: consumes `open`, and returns true when it is
    /// empty (the `close` is consumed too).
    mutating func open(_ open: UInt8, _ close: UInt8, depth: Int) throws(JSONError) -> Bool {
        guard depth <= JSON.maxDepth else { throw .tooDeep }
        index += 1
        out.append(open)
        skipSpace()
        guard index < bytes.count, bytes[index] == close else { return false }
        index += 1
        out.append(close)
        return true
    }

    /// After a member or element: true on `,` (more follow), false on `close`.
    mutating func more(_ close: UInt8) throws(JSONError) -> Bool {
        skipSpace()
        let expected = "',' or '\(Character(Unicode.Scalar(close)))'"
        guard index < bytes.count else { throw fail(expected) }
        let b = bytes[index]
        guard b == UInt8(ascii: ",") || b == close else { throw fail(expected) }
        index += 1
        out.append(b)
        return b == UInt8(ascii: ",")
    }

    mutating func array(depth: Int) throws(JSONError) {
        if try open(UInt8(ascii: "["), UInt8(ascii: "]"), depth: depth) { return }
        repeat {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { throw fail("a value (JSON allows no trailing comma)") }
            try value(depth: depth)
        } while try more(UInt8(ascii: "]"))
    }

    mutating func object(depth: Int) throws(JSONError) {
        if try open(UInt8(ascii: "{"), UInt8(ascii: "}"), depth: depth) { return }
        repeat {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { throw fail("a member name (JSON allows no trailing comma)") }
                throw fail("a member name")
            }
            let keyRange = try string()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("':'") }
            index += 1
            out.append(UInt8(ascii: ":"))
            skipSpace()
            let valueStart = index
            let outStart = out.count
            try value(depth: depth)
            if depth == 1 {
                noteTopLevel(key: keyRange, valueStart: valueStart, outStart: outStart)
            }
        } while try more(UInt8(ascii: "}"))
    }

    mutating func noteTopLevel(key: Range<Int>, valueStart: Int, outStart: Int) {
        let name = JSONText.unescape(bytes[key])
        guard name == "host" || name == "port" else { return }
        let valueBytes = out[outStart...]
        let member: JSON.Member
        switch bytes[valueStart] {
        case UInt8(ascii: "\""):
            member = .string(JSONText.unescape(valueBytes.dropFirst().dropLast()))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if valueBytes.allSatisfy(isDigit), valueBytes.count <= 18, let v = Int(String(decoding: valueBytes, as: UTF8.self)) {
                member = .integer(v)
            } else {
                member = .other
            }
        default:
            member = .other
        }
        if name == "host" { host = member } else { port = member }
    }
}

/// Small helpers over raw JSON text.
enum JSONText {
    /// Decodes the escapes of a JSON string's raw contents.
    static func unescape(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var i = raw.startIndex
        func flush() {
            if !utf8.isEmpty { scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars); utf8.removeAll() }
        }
        while i < raw.endIndex {
            let b = raw[i]
            if b != UInt8(ascii: "\\") { utf8.append(b); i += 1; continue }
            flush()
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "b"): scalars.append("\u{8}")
            case UInt8(ascii: "f"): scalars.append("\u{c}")
            case UInt8(ascii: "u"):
                let hex = String(decoding: raw[i..<i + 4], as: UTF8.self)
                i += 4
                if let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) { scalars.append(s) } else { scalars.append("\u{FFFD}") }
            default: scalars.append(Unicode.Scalar(e))
            }
        }
        flush()
        return String(scalars)
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
@inline(__always) func isHex(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102)
}
