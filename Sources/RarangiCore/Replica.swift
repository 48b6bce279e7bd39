import RarangiWire

/// The replicated store: one record per (origin, service, id), and the view
/// served to clients — for each instance the newest live record over all
/// origins — kept in a `Catalogue` whose per-service encodings are rebuilt
/// only on change.
///
/// The traps of MISSION.md hold here: an origin's `remove` (expiry, closed
/// session) drops only that origin's record; a `kill` (explicit DELETE)
/// hides every origin's older record of the key; a new generation of an
/// origin name supersedes everything of the old one.
public struct Replica {
    /// The visible catalogue.
    public private(set) var view = Catalogue()
    var origins: [OriginState?] = []
    var originIDs: [String: Int32] = [:]
    private var freeOrigins: [Int32] = []
    /// Origins holding a live record of each key held by two or more; a key
    /// held by one origin is found through the view, which shows that
    /// origin's record (most keys: this saves a table entry per instance).
    private var sharedHolders: [RecordKey: [Int32]] = [:]
    /// The newest explicit delete of each key.
    private var kills: [RecordKey: UInt64] = [:]
    /// This daemon's own origin.
    public let selfID: Int32
    // Local registrations' expiry deadlines live in the view, under the
    // instance's slot: a local record is always a holder, so it is shown.
    private var cachedHash: UInt64?

    /// Creates a replica whose own origin is `name` in life `generation`.
    public init(name: String, generation: UInt64) {
        origins.append(OriginState(name: name, generation: generation))
        originIDs[name] = 0
        selfID = 0
    }

    var local: OriginState { origins[Int(selfID)]! }

    // MARK: origins

    /// The id of origin `name` in life `generation`, creating or renewing
    /// it; nil when the generation is older than the one held (or is ours).
    mutating func origin(_ name: String, generation: UInt64) -> Int32? {
        if let id = originIDs[name] {
            if id == selfID { return nil }
            let held = origins[Int(id)]!.generation
            if generation < held { return nil }
            if generation > held {
                clear(id)
                origins[Int(id)] = OriginState(name: name, generation: generation)
                cachedHash = nil
            }
            return id
        }
        let state = OriginState(name: name, generation: generation)
        let id: Int32
        if let free = freeOrigins.popLast() {
            id = free
            origins[Int(id)] = state
        } else {
            id = Int32(origins.count)
            origins.append(state)
        }
        originIDs[name] = id
        cachedHash = nil
        return id
    }

    /// A life of origin `name` was announced (its hello): an older life held
    /// ends at once, records and all; an origin not held yet is added, so the
    /// life travels on in the digest. True when an older life ended.
    mutating func noteLife(_ name: String, generation: UInt64) -> Bool {
        let older = originIDs[name].flatMap { origins[Int($0)] }.map { $0.generation < generation } ?? false
        _ = origin(name, generation: generation)
        return older
    }

    /// This daemon's own life takes a higher generation (a peer remembers a
    /// newer life of this name: the clock went back across a restart). Its
    /// records stay; peers take them as the new life's.
    mutating func raiseOwnGeneration(to generation: UInt64) {
        precondition(generation > origins[Int(selfID)]!.generation, "a life's generation never goes back")
        origins[Int(selfID)]!.generation = generation
        cachedHash = nil
    }

    /// Forgets an origin and every record it holds (it is dead, H7).
    mutating func purge(_ id: Int32) {
        guard id != selfID, let state = origins[Int(id)] else { return }
        clear(id)
        originIDs[state.name] = nil
        origins[Int(id)] = nil
        freeOrigins.append(id)
        cachedHash = nil
    }

    private mutating func clear(_ id: Int32) {
        guard let state = origins[Int(id)] else { return }
        // In key order: each change moves the catalogue's index, so the
        // per-service indexes after a purge must not depend on the hash seed.
        for (key, r) in state.records.sorted(by: { $0.key < $1.key }) {
            if r.kind == .put { dropHolder(id, key) }
            if r.kind == .kill, kills[key] == r.version { kills[key] = nil }
        }
        origins[Int(id)]!.records = [:]
        origins[Int(id)]!.liveCount = 0
    }

    // MARK: writes

    /// Stores a record of origin `id`; false when it is not newer than the held one.
    @discardableResult
    mutating func store(_ id: Int32, _ key: RecordKey, version: UInt64, kind: DeltaKind, body: [UInt8], now: Int64) -> Bool {
        guard version < OriginRecord.versionLimit else { return false }
        if let existing = origins[Int(id)]!.records[key], existing.version >= version { return false }
        var kind = kind
        var body = body
        if kind == .put, let k = kills[key], k >= version {
            kind = .remove
            body = []
        }
        let old = origins[Int(id)]!.records.updateValue(OriginRecord(version: version, kind: kind, body: body), forKey: key)
        let wasLive = old?.kind == .put
        if kind == .put {
            if !wasLive {
                origins[Int(id)]!.liveCount += 1
                var list = holders(of: key)
                if !list.contains(id) { list.append(id) }
                refresh(key, list)
            }
        } else {
            if wasLive {
                origins[Int(id)]!.liveCount -= 1
                dropHolder(id, key)
            }
            origins[Int(id)]!.tombstones.append((key, version, now))
            if id == selfID { dropLocalSlot(key) }
        }
        if kind == .kill {
            if (kills[key] ?? 0) < version { kills[key] = version }
            for h in holders(of: key) where origins[Int(h)]!.records[key]!.version < version {
                origins[Int(h)]!.records[key] = nil
                origins[Int(h)]!.liveCount -= 1
                dropHolder(h, key)
                if h == selfID { dropLocalSlot(key) }
            }
        }
        refresh(key, holders(of: key))
        return true
    }

    /// Registers or refreshes a local instance; returns the delta to push,
    /// nil when only the deadline moved (same body: nothing to replicate).
    mutating func putLocal(_ key: RecordKey, body: [UInt8], version: () -> UInt64, expiresAt: Int64, now: Int64) -> (delta: Delta?, created: Bool) {
        let existing = local.records[key]
        let created = view.version(service: key.service, id: key.id) == nil
        var delta: Delta? = nil
        if existing?.kind != .put || existing?.body != body {
            let v = version()
            store(selfID, key, version: v, kind: .put, body: body, now: now)
            origins[Int(selfID)]!.wrote(v)
            cachedHash = nil
            delta = Delta(service: key.service, id: key.id, version: v, kind: .put, body: body)
        }
        view.setDeadline(service: key.service, id: key.id, expiresAt)
        return (delta, created)
    }

    /// Removes this origin's own record of a key (a held registration whose
    /// connection closed): other origins' records of it stay.
    mutating func removeLocal(_ key: RecordKey, version: () -> UInt64, now: Int64) -> Delta? {
        guard local.records[key]?.kind == .put else { return nil }
        let v = version()
        store(selfID, key, version: v, kind: .remove, body: [], now: now)
        origins[Int(selfID)]!.wrote(v)
        cachedHash = nil
        dropLocalSlot(key)
        return Delta(service: key.service, id: key.id, version: v, kind: .remove, body: [])
    }

    /// A local explicit DELETE: hides the instance everywhere.
    mutating func killLocal(_ key: RecordKey, version: UInt64, now: Int64) -> Delta {
        store(selfID, key, version: version, kind: .kill, body: [], now: now)
        origins[Int(selfID)]!.wrote(version)
        cachedHash = nil
        return Delta(service: key.service, id: key.id, version: version, kind: .kill, body: [])
    }

    /// Removes local registrations past their deadline, as origin-local removals.
    mutating func expire(atOrBefore now: Int64, version: () -> UInt64) -> [Delta] {
        var out: [Delta] = []
        for key in view.due(atOrBefore: now) {
            let v = version()
            store(selfID, key, version: v, kind: .remove, body: [], now: now)
            origins[Int(selfID)]!.wrote(v)
            cachedHash = nil
            out.append(Delta(service: key.service, id: key.id, version: v, kind: .remove, body: []))
        }
        return out
    }

    /// The earliest local expiry.
    var nextExpiry: Int64? { view.nextDeadline }

    /// The expiry deadline of a local registration.
    func localDeadline(_ key: RecordKey) -> Int64? {
        guard local.records[key]?.kind == .put else { return nil }
        return view.deadline(service: key.service, id: key.id)
    }

    private mutating func dropLocalSlot(_ key: RecordKey) {
        view.clearDeadline(service: key.service, id: key.id)
    }

    /// The origins holding a live record of `key`.
    private func holders(of key: RecordKey) -> [Int32] {
        if let shared = sharedHolders[key] { return shared }
        return view.shownOrigin(service: key.service, id: key.id).map { [$0] } ?? []
    }

    private mutating func dropHolder(_ id: Int32, _ key: RecordKey) {
        let list = holders(of: key)
        guard list.contains(id) else { return }
        refresh(key, list.filter { $0 != id })
    }

    /// Records who holds `key` and shows their newest live record, or nothing.
    private mutating func refresh(_ key: RecordKey, _ holders: [Int32]) {
        sharedHolders[key] = holders.count > 1 ? holders : nil
        var best: (version: UInt64, origin: Int32)? = nil
        for h in holders {
            let v = origins[Int(h)]!.records[key]!.version
            if best == nil || v > best!.version { best = (v, h) }
        }
        if let best {
            let body = origins[Int(best.origin)]!.records[key]!.body
            view.replace(service: key.service, id: key.id, body: body, version: best.version, origin: best.origin)
        } else {
            view.remove(service: key.service, id: key.id)
        }
    }

    // MARK: replication

    /// Applies a batch from a peer; true when anything in it was new.
    mutating func apply(_ batch: RecordBatch, now: Int64, clock: inout HybridClock) -> Bool {
        // A death notice is a verdict on the origin, not records: the node acts on it.
        if case .deathNotice = batch.mode { return false }
        guard let id = origin(batch.origin, generation: batch.generation) else { return false }
        origins[Int(id)]!.lastHeard = now
        // A snapshot replaces what is held, but an empty one from a sender
        // that holds nothing of the life (it only heard the life announced)
        // is no evidence that anything was deleted: records pushed here since
        // stay.
        // The snapshot replaces the whole state of the origin — records,
        // watermark, out-of-order pushes and collection floor — so this
        // daemon never claims a version it no longer holds; pushes newer
        // than the snapshot come back with the next digest round.
        if case let .sync(_, upTo, reset) = batch.mode, reset, !(batch.deltas.isEmpty && upTo == 0) {
            clear(id)
            let held = origins[Int(id)]!
            var fresh = OriginState(name: held.name, generation: held.generation)
            fresh.lastHeard = now
            fresh.resetting = true
            origins[Int(id)] = fresh
            cachedHash = nil
        }
        var applied = false
        var last: UInt64 = 0
        for d in batch.deltas {
            clock.observe(d.version)
            if store(id, RecordKey(service: d.service, id: d.id), version: d.version, kind: d.kind, body: d.body, now: now) {
                applied = true
            }
            last = max(last, d.version)
        }
        let before = origins[Int(id)]!.watermark
        switch batch.mode {
        case let .push(prev):
            if last > 0 { origins[Int(id)]!.advance(prev: prev, to: last) }
        case .coalescedPush, .deathNotice:
            // Continues no chain: the watermark waits for the next digest round's pull.
            break
        case let .sync(since, upTo, _):
            if upTo > 0 {
                origins[Int(id)]!.synced(since: since, upTo: upTo)
                if origins[Int(id)]!.resetting {
                    // A snapshot holds no tombstones the sender had collected:
                    // a puller from below it needs a snapshot from here too.
                    origins[Int(id)]!.resetting = false
                    origins[Int(id)]!.floor = max(origins[Int(id)]!.floor, upTo)
                }
            }
        }
        if origins[Int(id)]!.watermark != before { cachedHash = nil }
        return applied
    }

    /// The answer to a pull of origin `name` from `since`, in chunks.
    func sync(_ name: String, generation: UInt64, since: UInt64) -> [RecordBatch] {
        guard let id = originIDs[name], let state = origins[Int(id)] else { return [] }
        let from = (generation != state.generation || since < state.floor) ? 0 : since
        let reset = from == 0
        let deltas = state.deltas(since: from)
        var out: [RecordBatch] = []
        var chunk: [Delta] = []
        var bytes = 0
        for d in deltas {
            chunk.append(d)
            bytes += d.service.utf8.count + d.id.utf8.count + d.body.count + 16
            if bytes >= PeerCodec.chunkBytes {
                out.append(RecordBatch(origin: name, generation: state.generation,
                                       mode: .sync(since: from, upTo: 0, reset: reset && out.isEmpty), deltas: chunk))
                chunk = []
                bytes = 0
            }
        }
        out.append(RecordBatch(origin: name, generation: state.generation,
                               mode: .sync(since: from, upTo: state.watermark, reset: reset && out.isEmpty), deltas: chunk))
        return out
    }

    /// The services whose view changed since the last call (for watchers).
    mutating func takeChangedServices() -> Set<String> { view.takeChangedServices() }

    /// Every origin's position, lives that wrote nothing included: a
    /// restarted daemon's new life travels with the digests even before it
    /// writes, and ends its old life wherever it arrives.
    var digest: [DigestEntry] {
        origins.compactMap { $0.map { DigestEntry(name: $0.name, generation: $0.generation, version: $0.watermark) } }
    }

    /// The XOR of every origin's hash; equal digests mean equal positions.
    mutating func digestHash() -> UInt64 {
        if let h = cachedHash { return h }
        var h: UInt64 = 0
        for case let o? in origins { h ^= o.hash }
        cachedHash = h
        return h
    }

    /// Drops tombstones older than `ttl`: a peer that could still need
    /// them is answered with a full snapshot instead (see `floor`).
    mutating func collectTombstones(now: Int64, ttl: Int64) -> Int {
        var dropped = 0
        for i in origins.indices where origins[i] != nil {
            while origins[i]!.tombstoneHead < origins[i]!.tombstones.count {
                let t = origins[i]!.tombstones[origins[i]!.tombstoneHead]
                if t.at + ttl > now { break }
                origins[i]!.tombstoneHead += 1
                if let r = origins[i]!.records[t.key], r.version == t.version, r.kind != .put {
                    origins[i]!.records[t.key] = nil
                    if r.kind == .kill, kills[t.key] == r.version { kills[t.key] = nil }
                    dropped += 1
                }
                origins[i]!.floor = max(origins[i]!.floor, t.version)
            }
            if origins[i]!.tombstoneHead > 1024, origins[i]!.tombstoneHead * 2 > origins[i]!.tombstones.count {
                origins[i]!.tombstones.removeFirst(origins[i]!.tombstoneHead)
                origins[i]!.tombstoneHead = 0
            }
        }
        return dropped
    }

    /// Tombstones held, for status and tests.
    public var tombstoneCount: Int {
        origins.reduce(0) { $0 + ($1.map { $0.records.count - $0.liveCount } ?? 0) }
    }

    /// The records of origin `name` after `since`, as the seed's `/_deltas` lists them.
    public func deltas(of name: String, since: UInt64) -> [Delta] {
        guard let id = originIDs[name], let state = origins[Int(id)] else { return [] }
        return state.deltas(since: since)
    }

    /// The names of the origins held.
    public var originNames: [String] { origins.compactMap { $0?.name }.sorted() }

    /// The life (generation) of origin `name` held, if any (for status and the simulation's oracle).
    public func generation(of name: String) -> UInt64? {
        originIDs[name].flatMap { origins[Int($0)]?.generation }
    }

    /// Whether origin `name` holds a live record of `service`/`id` (for the simulation's oracle).
    public func holdsLive(_ name: String, service: String, id: String) -> Bool {
        guard let oid = originIDs[name], let o = origins[Int(oid)] else { return false }
        return o.records[RecordKey(service: service, id: id)]?.kind == .put
    }

    /// How many records origin `name` holds live.
    public func liveCount(of name: String) -> Int {
        originIDs[name].flatMap { origins[Int($0)]?.liveCount } ?? 0
    }
}
