import RarangiWire

/// Pushes kept for a slow link instead of sent: per origin, only the newest
/// delta of each key, so a link that fell behind receives the latest state
/// and not every intermediate write. Drained as `coalescedPush` batches once
/// the link's backlog drains; dropped when the link goes down (anti-entropy
/// on the next connection repairs whatever was kept).
struct CoalescedPushes {
    /// One origin's kept deltas, of one life of it.
    private struct OriginPushes {
        var generation: UInt64
        var deltas: [RecordKey: Delta] = [:]
        /// Kills have a slot of their own: a later registration of the key
        /// at the deleter must not coalesce its DELETE away.
        var kills: [RecordKey: Delta] = [:]
    }

    private var byOrigin: [String: OriginPushes] = [:]

    /// How many deltas are kept (the status document's `held` of a link).
    var count: Int { byOrigin.values.reduce(0) { $0 + $1.deltas.count + $1.kills.count } }

    /// Keeps the deltas of `batches`, the newest of each key; returns how
    /// many kept deltas a newer one replaced. A batch of an older life than
    /// the one kept is dropped; a newer life replaces what was kept.
    mutating func keep(_ batches: [RecordBatch]) -> Int {
        var replaced = 0
        for b in batches {
            var kept = byOrigin[b.origin] ?? OriginPushes(generation: b.generation)
            if b.generation < kept.generation { continue }
            if b.generation > kept.generation { kept = OriginPushes(generation: b.generation) }
            for d in b.deltas {
                let key = RecordKey(service: d.service, id: d.id)
                if d.kind == .kill {
                    // A newer kill of the key carries the older one's causes.
                    if let old = kept.kills[key] {
                        if old.version >= d.version { continue }
                        replaced += 1
                    }
                    kept.kills[key] = d
                    continue
                }
                if let old = kept.deltas[key] {
                    if old.version >= d.version { continue }
                    replaced += 1
                }
                kept.deltas[key] = d
            }
            byOrigin[b.origin] = kept
        }
        return replaced
    }

    /// Everything kept, one coalesced batch per origin (origins by name,
    /// deltas by version then key: the same order in every process), and
    /// forgets it.
    mutating func drain() -> [RecordBatch] {
        defer { byOrigin = [:] }
        return byOrigin.keys.sorted().map { origin in
            let kept = byOrigin[origin]!
            return RecordBatch(origin: origin, generation: kept.generation, mode: .coalescedPush,
                               deltas: (Array(kept.deltas.values) + Array(kept.kills.values)).sorted {
                                   $0.version != $1.version ? $0.version < $1.version : ($0.service, $0.id) < ($1.service, $1.id)
                               })
        }
    }
}
