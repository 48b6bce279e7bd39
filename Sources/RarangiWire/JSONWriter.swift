/// The one writer of the JSON documents the daemon builds itself (status,
/// replies): it places commas and quotes, so no caller joins JSON by hand.
///
///     var w = JSONWriter()
///     w.object { w in
///         w.member("name", "n1")
///         w.member("links") { w in w.array(links) { w, l in w.value(l.name) } }
///     }
public struct JSONWriter: Sendable {
    /// The document so far.
    public private(set) var bytes: [UInt8] = []
    /// Per open container: whether it has an element yet.
    private var hasElement: [Bool] = []
    /// A key was written and its value not yet.
    private var afterKey = false

    /// Starts an empty document.
    public init() {}

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = hasElement.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            hasElement[hasElement.count - 1] = true
        }
    }

    /// Writes `{`, the members `body` writes, and `}`.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        container(UInt8(ascii: "{"), UInt8(ascii: "}"), body)
    }

    /// Writes `[`, the values `body` writes, and `]`.
    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        container(UInt8(ascii: "["), UInt8(ascii: "]"), body)
    }

    private mutating func container(_ open: UInt8, _ close: UInt8, _ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(open)
        hasElement.append(false)
        body(&self)
        hasElement.removeLast()
        bytes.append(close)
    }

    /// Writes an array with one value per element of `items`.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        array { w in for item in items { element(&w, item) } }
    }

    /// Writes a key inside an object; the next value is its value.
    public mutating func key(_ k: String) {
        separate()
        JSON.appendString(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// A string value, escaped.
    public mutating func value(_ s: String) {
        separate()
        JSON.appendString(s, to: &bytes)
    }

    /// An integer value.
    public mutating func value<T: BinaryInteger>(_ n: T) {
        separate()
        bytes.append(contentsOf: String(n).utf8)
    }

    /// `true` or `false`.
    public mutating func value(_ b: Bool) {
        separate()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
    }

    /// A value that is already valid JSON (a stored registration body).
    public mutating func rawValue(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
    }

    /// `"k":"v"`.
    public mutating func member(_ k: String, _ v: String) { key(k); value(v) }
    /// `"k":n`.
    public mutating func member<T: BinaryInteger>(_ k: String, _ n: T) { key(k); value(n) }
    /// `"k":true`.
    public mutating func member(_ k: String, _ b: Bool) { key(k); value(b) }
    /// `"k":{…}` or `"k":[…]`, written by `body`.
    public mutating func member(_ k: String, _ body: (inout JSONWriter) -> Void) {
        key(k)
        body(&self)
    }

    /// The finished document, indented when `pretty`, with a final newline.
    public func document(pretty: Bool) -> [UInt8] {
        pretty ? JSONPretty.indent(bytes) : bytes + [10]
    }
}

extension JSONWriter {
    /// The members `body` writes, without braces: for a caller that opened
    /// the object itself and adds members of its own around them (the
    /// shell's status document around the core's).
    public static func members(_ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.object(body)
        return Array(w.bytes.dropFirst().dropLast())
    }
}
