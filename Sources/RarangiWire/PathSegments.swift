/// The segments of a request path after its leading `/`, found in one scan
/// without allocating: the router needs only the first two and how many
/// there are (a catalogue path is `/<service>` or `/<service>/<id>`).
public struct PathSegments {
    /// The first segment (empty for `/`).
    public let first: String
    /// The second segment, when there are two or more.
    public let second: String?
    /// How many segments there are: `/` has one (empty), `/a/` two.
    public let count: Int
    /// Whether a segment is empty: a doubled or trailing slash.
    public let hasEmpty: Bool

    /// Splits `path` at every `/` after the first; a path without one has
    /// no segments.
    public init(_ path: String) {
        var contiguous = path
        // The segments are made straight from the bytes (a short name is a
        // small string: no allocation), not as slices of the path.
        (first, second, count, hasEmpty) = contiguous.withUTF8 { bytes in
            let found = PathSegments.scan(bytes)
            func segment(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
            return (segment(found.first), found.second.map(segment), found.count, found.hasEmpty)
        }
    }

    /// The byte ranges of the first two segments, the count and whether one is empty.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>)
        -> (first: Range<Int>, second: Range<Int>?, count: Int, hasEmpty: Bool) {
        let slash = UInt8(ascii: "/")
        guard let lead = bytes.firstIndex(of: slash) else { return (0..<0, nil, 0, false) }
        var first = 0..<0
        var second: Range<Int>? = nil
        var n = 0
        var empty = false
        var start = lead + 1
        var i = start
        while true {
            let atEnd = i == bytes.count
            if atEnd || bytes[i] == slash {
                if i == start { empty = true }
                if n == 0 { first = start..<i } else if n == 1 { second = start..<i }
                n += 1
                if atEnd { break }
                start = i + 1
            }
            i += 1
        }
        return (first, second, n, empty)
    }
}
