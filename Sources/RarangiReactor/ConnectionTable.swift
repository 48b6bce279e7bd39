import RarangiCore

/// The connections a daemon has open, by id and by the peer link they
/// carry, and the counts that status shows. Filing and removing happen
/// only here, so the two maps and the count against --max-connections
/// cannot disagree.
struct ConnectionTable {
    private var byID: [UInt64: Connection] = [:]
    private var byLink: [LinkID: Connection] = [:]
    /// Connections counted against --max-connections (an overflow one, which
    /// only gets its 503, is not).
    private(set) var serving = 0
    private var nextID: UInt64 = 1
    /// Connections accepted since start.
    var accepted = 0
    /// Connections refused with a 503 at the cap.
    var rejected = 0
    /// Connections refused with a 503 at the per-address cap.
    var rejectedPerAddress = 0
    /// Idle keep-alive connections closed to make room at the cap.
    var evictedIdle = 0
    /// Connections served, by the client address they came from.
    private var perAddress: [String: Int] = [:]

    /// Connections served from `address` now.
    func serving(from address: String) -> Int { perAddress[address] ?? 0 }

    /// A number for a new connection; never reused.
    mutating func newID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Files a new connection (and its link, when it is dialled).
    mutating func file(_ conn: Connection) {
        byID[conn.id] = conn
        if let link = conn.link { byLink[link] = conn }
        if !conn.overflow {
            serving += 1
            if !conn.clientAddress.isEmpty { perAddress[conn.clientAddress, default: 0] += 1 }
        }
    }

    /// Files the link an accepted connection now carries.
    mutating func fileLink(_ link: LinkID, _ conn: Connection) { byLink[link] = conn }

    /// Forgets a closed connection.
    mutating func remove(_ conn: Connection, link: LinkID?) {
        guard byID.removeValue(forKey: conn.id) != nil else { return }
        if let link { byLink[link] = nil }
        if !conn.overflow {
            serving -= 1
            if !conn.clientAddress.isEmpty {
                let left = perAddress[conn.clientAddress, default: 1] - 1
                perAddress[conn.clientAddress] = left > 0 ? left : nil
            }
        }
    }

    /// The connection with this id, while it is open.
    subscript(id: ConnectionID) -> Connection? { byID[id.raw] }
    /// The connection carrying this peer link, while it is open.
    subscript(link: LinkID) -> Connection? { byLink[link] }
    /// Open connections.
    var count: Int { byID.count }
    /// Open connections in id order (a deterministic walk, for shutdown).
    var inOrder: [Connection] { byID.values.sorted { $0.id < $1.id } }
    /// Open connections in no particular order: the periodic walk, which
    /// must not sort thousands of connections four times a second.
    var snapshot: [Connection] { Array(byID.values) }
    /// Open peer-link connections.
    var links: Dictionary<LinkID, Connection>.Values { byLink.values }
}
