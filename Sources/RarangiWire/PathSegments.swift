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
        let u = path.utf8
        let slash = UInt8(ascii: "/")
        guard let lead = u.firstIndex(of: slash) else {
            first = ""
            second = nil
            count = 0
            hasEmpty = false
            return
        }
        var start = u.index(after: lead)
        var firstSegment: Substring = ""
        var secondSegment: Substring? = nil
        var n = 0
        var empty = false
        var i = start
        while true {
            let atEnd = i == u.endIndex
            if atEnd || u[i] == slash {
                let segment = path[start..<i]
                if segment.isEmpty { empty = true }
                if n == 0 { firstSegment = segment } else if n == 1 { secondSegment = segment }
                n += 1
                if atEnd { break }
                start = u.index(after: i)
            }
            i = u.index(after: i)
        }
        first = firstSegment
        second = secondSegment
        count = n
        hasEmpty = empty
    }
}
