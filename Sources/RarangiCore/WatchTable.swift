/// Parked blocking queries: by connection, by service, and by deadline.
/// Deadlines sit in a min-heap with lazy deletion: an entry whose watcher is
/// gone or re-parked is skipped when it surfaces, so removal is O(1).
struct WatchTable {
    /// One parked query.
    struct Watcher {
        var service: String
        /// The index the client last saw; the query is answered once the
        /// service's index differs from it.
        var index: UInt64
        var pretty: Bool
        var deadline: Int64
        /// Distinguishes re-parks of one connection in the deadline heap.
        var serial: UInt64
    }

    private(set) var byConnection: [ConnectionID: Watcher] = [:]
    private(set) var byService: [String: Set<ConnectionID>] = [:]
    private var heap: [(deadline: Int64, serial: UInt64, conn: ConnectionID)] = []
    private var serial: UInt64 = 0

    /// How many queries are parked.
    var count: Int { byConnection.count }

    /// The earliest deadline of a parked query.
    var nextDeadline: Int64? { heap.first?.deadline }

    /// Parks a query (replacing any other parked on the connection).
    mutating func park(_ conn: ConnectionID, service: String, index: UInt64, pretty: Bool, deadline: Int64) {
        remove(conn)
        serial += 1
        byConnection[conn] = Watcher(service: service, index: index, pretty: pretty, deadline: deadline, serial: serial)
        byService[service, default: []].insert(conn)
        heap.append((deadline, serial, conn))
        up(heap.count - 1)
    }

    /// Unparks the query on `conn`, returning it.
    @discardableResult
    mutating func remove(_ conn: ConnectionID) -> Watcher? {
        guard let w = byConnection.removeValue(forKey: conn) else { return nil }
        byService[w.service]?.remove(conn)
        if byService[w.service]?.isEmpty == true { byService[w.service] = nil }
        dropStaleTop()
        return w
    }

    /// Unparks and returns every query whose deadline is at or before `now`.
    mutating func expire(atOrBefore now: Int64) -> [(ConnectionID, Watcher)] {
        var out: [(ConnectionID, Watcher)] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let w = byConnection[top.conn], w.serial == top.serial {
                remove(top.conn)
                out.append((top.conn, w))
            }
        }
        dropStaleTop()
        return out
    }

    private mutating func dropStaleTop() {
        while let top = heap.first, byConnection[top.conn]?.serial != top.serial { popTop() }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= heap.count { return }
            var m = l
            if l + 1 < heap.count, heap[l + 1].deadline < heap[l].deadline { m = l + 1 }
            if heap[m].deadline >= heap[i].deadline { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func up(_ i: Int) {
        var i = i
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[i].deadline >= heap[parent].deadline { return }
            heap.swapAt(i, parent)
            i = parent
        }
    }
}
