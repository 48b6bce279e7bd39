/// Records go out in frames of about `PeerCodec.chunkBytes`, never one
/// frame per backlog: a drained slow link, a large expiry batch or a relay
/// of a big sync stays far below `PeerCodec.maxFrameBytes`, so the receiver
/// never cuts the link for a frame that is too large.
extension PeerCodec {
    /// The bytes a delta adds to a frame, roughly (names, body and numbers).
    static func size(_ d: Delta) -> Int { d.service.utf8.count + d.id.utf8.count + d.body.count + 24 }

    /// Splits `batches` into messages of about `chunkBytes` each. A batch
    /// split in two keeps its meaning: a push's second part continues the
    /// chain from the first part's last version; a sync's first part alone
    /// resets and only its last part carries `upTo`.
    public static func chunks(_ batches: [RecordBatch], limit: Int = PeerCodec.chunkBytes) -> [[RecordBatch]] {
        var out: [[RecordBatch]] = []
        var current: [RecordBatch] = []
        var bytes = 0
        func flush() {
            if !current.isEmpty { out.append(current) }
            current = []
            bytes = 0
        }
        for batch in batches {
            var rest = batch.deltas[...]
            var first = true
            var previous: UInt64? = nil
            repeat {
                var part: [Delta] = []
                while let d = rest.first, part.isEmpty || bytes + size(d) <= limit {
                    part.append(d)
                    bytes += size(d)
                    rest = rest.dropFirst()
                }
                let last = rest.isEmpty
                bytes += batch.origin.utf8.count + 24
                current.append(RecordBatch(origin: batch.origin, generation: batch.generation,
                                           mode: batch.mode.part(first: first, last: last, previous: previous),
                                           deltas: part))
                first = false
                previous = part.last?.version ?? previous
                if !last || bytes >= limit { flush() }
            } while !rest.isEmpty
        }
        flush()
        return out
    }
}

extension RecordBatch.Mode {
    /// The mode of one part of a batch split in order.
    func part(first: Bool, last: Bool, previous: UInt64?) -> RecordBatch.Mode {
        switch self {
        case let .push(prev):
            return .push(prev: first ? prev : (previous ?? prev))
        case let .sync(since, upTo, reset):
            return .sync(since: since, upTo: last ? upTo : 0, reset: reset && first)
        case .coalescedPush, .deathNotice:
            return self
        }
    }
}
