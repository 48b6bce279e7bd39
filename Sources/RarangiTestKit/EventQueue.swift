/// A min-heap of timed events; equal times pop in insertion order, so a
/// run is a pure function of its seed.
public struct EventQueue<Event> {
    private var heap: [(time: Int64, seq: UInt64, event: Event)] = []
    private var seq: UInt64 = 0

    /// Creates an empty queue.
    public init() {}

    /// Events waiting.
    public var count: Int { heap.count }

    /// The time of the earliest event.
    public var nextTime: Int64? { heap.first?.time }

    /// Adds an event at `time`.
    public mutating func push(_ time: Int64, _ event: Event) {
        seq += 1
        heap.append((time, seq, event))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(i, p) { heap.swapAt(i, p); i = p } else { break }
        }
    }

    /// Removes the earliest event.
    public mutating func pop() -> (time: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, less(l, m) { m = l }
                if r < heap.count, less(r, m) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return (top.time, top.event)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time != heap[b].time ? heap[a].time < heap[b].time : heap[a].seq < heap[b].seq
    }
}
