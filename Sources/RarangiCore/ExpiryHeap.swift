/// An indexed binary min-heap of (deadline, slot). Refreshing a registration
/// moves its one entry instead of adding another, so the heap never holds
/// more entries than there are registrations.
struct ExpiryHeap {
    private var deadlines: [Int64] = []
    private var slots: [Int32] = []
    /// positions[slot] is the slot's index in the heap, or -1.
    private var positions: [Int32] = []

    var count: Int { slots.count }

    /// The earliest deadline and its slot.
    var min: (deadline: Int64, slot: Int32)? {
        slots.isEmpty ? nil : (deadlines[0], slots[0])
    }

    /// The deadline of `slot`, if it is in the heap.
    func deadline(of slot: Int32) -> Int64? {
        let s = Int(slot)
        guard s < positions.count, positions[s] >= 0 else { return nil }
        return deadlines[Int(positions[s])]
    }

    /// Inserts `slot` or moves it to `deadline`.
    mutating func set(_ slot: Int32, deadline: Int64) {
        let s = Int(slot)
        if s >= positions.count { positions.append(contentsOf: repeatElement(-1, count: s - positions.count + 1)) }
        let pos = Int(positions[s])
        if pos < 0 {
            deadlines.append(deadline)
            slots.append(slot)
            positions[s] = Int32(slots.count - 1)
            up(slots.count - 1)
        } else {
            let old = deadlines[pos]
            deadlines[pos] = deadline
            if deadline < old { up(pos) } else { down(pos) }
        }
    }

    /// Removes `slot` if present.
    mutating func remove(_ slot: Int32) {
        let s = Int(slot)
        guard s < positions.count, positions[s] >= 0 else { return }
        let pos = Int(positions[s])
        positions[s] = -1
        let last = slots.count - 1
        if pos != last {
            deadlines[pos] = deadlines[last]
            slots[pos] = slots[last]
            positions[Int(slots[pos])] = Int32(pos)
        }
        deadlines.removeLast()
        slots.removeLast()
        if pos < slots.count {
            up(pos)
            down(pos)
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        deadlines.swapAt(a, b)
        slots.swapAt(a, b)
        positions[Int(slots[a])] = Int32(a)
        positions[Int(slots[b])] = Int32(b)
    }

    private mutating func up(_ i: Int) {
        var i = i
        while i > 0 {
            let parent = (i - 1) / 2
            if deadlines[i] >= deadlines[parent] { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func down(_ i: Int) {
        var i = i
        let n = slots.count
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var m = l
            if l + 1 < n, deadlines[l + 1] < deadlines[l] { m = l + 1 }
            if deadlines[m] >= deadlines[i] { return }
            swapAt(i, m)
            i = m
        }
    }
}
