import RarangiWire

/// A registration's key: service and instance id. Ordered by service,
/// then id, wherever the core must walk keys in the same order in every process.
public struct RecordKey: Hashable, Sendable, Comparable {
    /// The service.
    public var service: String
    /// The instance id.
    public var id: String
    /// Creates a key.
    public init(service: String, id: String) {
        self.service = service
        self.id = id
    }

    /// By service, then id: the order purges and kept pushes walk keys in.
    public static func < (a: RecordKey, b: RecordKey) -> Bool {
        a.service != b.service ? a.service < b.service : a.id < b.id
    }
}

/// One origin's record of a key: a live registration or a tombstone.
/// Version and kind share one word (16 bytes a record, not 24: there is
/// one record per instance per origin); versions stay below `versionLimit`.
struct OriginRecord {
    private let bits: UInt64
    /// The body (empty for tombstones).
    let body: [UInt8]

    /// Versions at or above this are refused (an HLC stays far below it:
    /// wall milliseconds need 41 bits for the next century, plus 16).
    static let versionLimit: UInt64 = 1 << 62

    init(version: UInt64, kind: DeltaKind, body: [UInt8]) {
        precondition(version < OriginRecord.versionLimit)
        bits = version | UInt64(kind.rawValue) << 62
        self.body = body
    }

    /// The origin's version of the record.
    var version: UInt64 { bits & (OriginRecord.versionLimit - 1) }
    /// What the record says.
    var kind: DeltaKind { DeltaKind(rawValue: UInt8(bits >> 62)) ?? .put }
}

/// An explicit DELETE made at an origin: its version in the origin's stream
/// and the records it hides (`DeltaCause`). Kept apart from the origin's
/// records, so the deleter re-registering the instance does not overwrite
/// it: a daemon that missed it still receives it from the stream.
struct KillRecord {
    var version: UInt64
    var causes: [DeltaCause]
}

/// Everything held of one origin daemon's life (MISSION H4): its records,
/// ordered by its own versions, and how far they are known to be complete.
struct OriginState {
    let name: String
    /// The origin's life; a larger one supersedes everything of a smaller.
    var generation: UInt64
    /// Every record of the origin up to this version is held. It never goes
    /// back: a new life of the origin is a new `OriginState`.
    private(set) var watermark: UInt64 = 0 {
        didSet { assert(watermark >= oldValue, "a watermark never goes back") }
    }
    /// Pushes that arrived ahead of a gap: prev → version, chased when the gap fills.
    var ahead: [UInt64: UInt64] = [:]
    /// The records, live and tombstones.
    var records: [RecordKey: OriginRecord] = [:]
    /// The explicit DELETEs this origin made, newest per key.
    var kills: [RecordKey: KillRecord] = [:]
    /// Tombstones in arrival order, for garbage collection.
    var tombstones: [(key: RecordKey, version: UInt64, at: Int64)] = []
    var tombstoneHead = 0
    /// Tombstones at or below this version may have been collected: a puller
    /// from below it gets a full snapshot instead of deltas.
    var floor: UInt64 = 0
    /// Live (put) records.
    var liveCount = 0
    /// A snapshot's chunks are arriving: its last one sets the floor.
    var resetting = false
    /// Local monotonic ms when something of this origin last arrived.
    var lastHeard: Int64 = 0

    init(name: String, generation: UInt64) {
        self.name = name
        self.generation = generation
    }

    /// This daemon's own write at version `v` (its own origin only).
    mutating func wrote(_ v: UInt64) { watermark = v }

    /// Advances the watermark after a push whose first delta followed `prev`.
    mutating func advance(prev: UInt64, to last: UInt64) {
        if prev <= watermark {
            if last > watermark { watermark = last }
        } else {
            if ahead.count > 4096 { ahead.removeAll() }
            ahead[prev] = max(ahead[prev] ?? 0, last)
        }
        chase()
    }

    /// Raises the watermark to `upTo` after a complete sync from `since`.
    mutating func synced(since: UInt64, upTo: UInt64) {
        if since <= watermark, upTo > watermark { watermark = upTo }
        chase()
    }

    private mutating func chase() {
        while let next = ahead.removeValue(forKey: watermark), next > watermark { watermark = next }
        if ahead.count > 64 { ahead = ahead.filter { $0.key > watermark } }
    }

    /// The changes after `since`, in version order.
    func deltas(since: UInt64) -> [Delta] {
        var out: [Delta] = []
        for (key, r) in records where r.version > since {
            out.append(Delta(service: key.service, id: key.id, version: r.version, kind: r.kind, body: r.body))
        }
        for (key, k) in kills where k.version > since {
            out.append(Delta(service: key.service, id: key.id, version: k.version, kind: .kill, body: [], causes: k.causes))
        }
        // Versions of one origin are unique; the key breaks a tie a peer
        // could send, so the order never depends on the hash seed.
        out.sort { $0.version != $1.version ? $0.version < $1.version : ($0.service, $0.id) < ($1.service, $1.id) }
        return out
    }

    /// The digest hash contribution of this origin: none while nothing of
    /// it is held (watermark 0), so a daemon need not hold an empty origin
    /// of every other daemon to agree with it — only one of whose life it
    /// holds records does differ, and learns of the new life.
    var hash: UInt64 {
        guard watermark > 0 else { return 0 }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(h ^ mix(generation) ^ mix(watermark &+ 0x9E37_79B9))
    }
}

/// A 64-bit finaliser (SplitMix64's), so XOR-combined hashes do not cancel by accident.
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
