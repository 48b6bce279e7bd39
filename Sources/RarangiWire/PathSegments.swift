/// The segments of a request path after its leading `/`, found in one scan
/// without allocating: the router needs only the first two and how many
/// there are (a catalogue path is `/<service>` or `/<service>/<id>`).
public struct PathSegments {
    /// The first segment (empty for `/`).
    public let first: Substring
    /// The second segment, when there are two or more.
    public let second: Substring?
    /// How many segments there are: `/` has one (empty), `/a/` two.
    public let count: Int
    /// Whether a segment is empty: a doubled or trailing slash.
    public let hasEmpty: Bool

    /// Splits `path` at every `/` after the first; a path without one has
    /// no segments.
    public init(_ path: String) {
        var path = path
        // Byte offsets of the first two segments, found over contiguous bytes.
        var firstRange = 0..<0
        var secondRange: Range<Int>? = nil
        var n = 0
        var empty = false
        path.withUTF8 { bytes in
            let slash = UInt8(ascii: "/")
            guard let lead = bytes.firstIndex(of: slash) else { return }
            var start = lead + 1
            var i = start
            while true {
                let atEnd = i == bytes.count
                if atEnd || bytes[i] == slash {
                    if i == start { empty = true }
                    if n == 0 { firstRange = start..<i } else if n == 1 { secondRange = start..<i }
                    n += 1
                    if atEnd { break }
                    start = i + 1
                }
                i += 1
            }
        }
        func segment(_ r: Range<Int>) -> Substring {
            let u = path.utf8
            return path[u.index(u.startIndex, offsetBy: r.lowerBound)..<u.index(u.startIndex, offsetBy: r.upperBound)]
        }
        first = segment(firstRange)
        second = secondRange.map(segment)
        count = n
        hasEmpty = empty
    }
}
