import RarangiWire

/// The replicated store: one record per (origin, service, id), and the view
/// served to clients — for each instance the newest live record over all
/// origins — kept in a `Catalogue` whose per-service encodings are rebuilt
/// only on change.
///
/// The traps of MISSION.md hold here: an origin's `remove` (expiry, closed
/// session) drops only that origin's record; a `kill` (explicit DELETE)
/// hides exactly the records the deleter was showing (its causes) and
/// their origins' older ones; a new generation of an origin name
/// supersedes everything of the old one.
///
/// A DELETE stays durable without trusting the kill to reach everyone in
/// time: the owner of a hidden record writes its own removal when the kill
/// reaches it, so the removal travels in the owner's stream; a kill is
/// collected only once every record it names is superseded here; and the
/// kills of a life that ends (purged, or outlived by a newer one) that are
/// not yet settled are taken over by this daemon as kills of its own.
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
    /// The origins holding a kill of each key.
    private var killers: [RecordKey: [Int32]] = [:]
    /// Lives purged here as dead that may yet come back (a partition that
    /// outlasted the origin timeout): a kill naming one is kept, so the life's
    /// records are hidden again if they return. Ends with a newer life.
    private var purgedLives: [String: UInt64] = [:]
    /// Writes this daemon owes its own stream after a batch: removals of its
    /// records a peer's kill hid, and kills it takes over from an ended life.
    private var owed = OwedWrites()
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

    /// How many times an origin name not held was added: a leaf judges
    /// which of the names it holds are alive, and looks again when one is new.
    private(set) var namesAdded = 0

    /// The id of origin `name` in life `generation`, creating or renewing
    /// it; nil when the generation is older than the one held (or is ours).
    mutating func origin(_ name: String, generation: UInt64) -> Int32? {
        if let purged = purgedLives[name], generation >= purged { purgedLives[name] = nil }
        if let id = originIDs[name] {
            if id == selfID { return nil }
            let held = origins[Int(id)]!.generation
            if generation < held { return nil }
            if generation > held {
                clear(id, adopting: true)
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
        namesAdded += 1
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
        clear(id, adopting: true)
        purgedLives[state.name] = state.generation
        originIDs[state.name] = nil
        origins[Int(id)] = nil
        freeOrigins.append(id)
        cachedHash = nil
    }

    /// Drops every record and kill of origin `id`. When its life ends
    /// (`adopting`), its kills not yet settled here become this daemon's.
    private mutating func clear(_ id: Int32, adopting: Bool = false) {
        guard let state = origins[Int(id)] else { return }
        // In key order: each change moves the catalogue's index, so the
        // per-service indexes after a purge must not depend on the hash seed.
        for (key, r) in state.records.sorted(by: { $0.key < $1.key }) where r.kind == .put { dropHolder(id, key) }
        for (key, k) in state.kills {
            killers[key] = killers[key].flatMap { list in
                let rest = list.filter { $0 != id }
                return rest.isEmpty ? nil : rest
            }
            if adopting {
                let open = k.causes.filter { !settled($0, key) }
                if !open.isEmpty { owed.adopt(key, open) }
            }
        }
        origins[Int(id)]!.records = [:]
        origins[Int(id)]!.kills = [:]
        origins[Int(id)]!.liveCount = 0
    }

    /// Whether the record a kill names is superseded here: its life is not
    /// held (gone, or another life), or its origin wrote the key since —
    /// held, or already collected (nothing of the key is held, and the
    /// origin's stream is held complete past the named version). Either way
    /// the answer does not depend on the order tombstones are collected in.
    private func settled(_ c: DeltaCause, _ key: RecordKey) -> Bool {
        guard let oid = originIDs[c.name], let o = origins[Int(oid)] else { return purgedLives[c.name] != c.generation }
        // An older life held: the named one is on its way.
        guard o.generation == c.generation else { return o.generation > c.generation }
        guard let r = o.records[key] else { return o.watermark > c.version && !o.resetting }
        return r.version > c.version || (oid == selfID && r.kind != .put)
    }

    /// Whether a kill held here hides origin `id`'s record of `key` at `version`.
    private func hidden(_ id: Int32, _ key: RecordKey, version: UInt64) -> Bool {
        guard let list = killers[key] else { return false }
        let o = origins[Int(id)]!
        for k in list {
            guard let kill = origins[Int(k)]!.kills[key] else { continue }
            if kill.causes.contains(where: { $0.name == o.name && $0.generation == o.generation && $0.version >= version }) {
                return true
            }
        }
        return false
    }

    // MARK: writes

    /// Stores a record of origin `id`; false when it is not newer than the held one.
    @discardableResult
    mutating func store(_ id: Int32, _ key: RecordKey, version: UInt64, kind: DeltaKind, body: [UInt8],
                        causes: [DeltaCause] = [], now: Int64) -> Bool {
        guard version < OriginRecord.versionLimit else { return false }
        if kind == .kill { return storeKill(id, key, version: version, causes: causes, now: now) }
        if let existing = origins[Int(id)]!.records[key], existing.version >= version { return false }
        var kind = kind
        var body = body
        if kind == .put, id != selfID, hidden(id, key, version: version) {
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
        refresh(key, holders(of: key))
        return true
    }

    /// Stores origin `id`'s kill of `key` and hides what it names. A newer
    /// kill of the same origin and key replaces the older one and carries
    /// its causes on, so a daemon that missed the older one loses nothing.
    private mutating func storeKill(_ id: Int32, _ key: RecordKey, version: UInt64, causes: [DeltaCause], now: Int64) -> Bool {
        let old = origins[Int(id)]!.kills[key]
        if let old, old.version >= version { return false }
        let merged = Replica.merge(old?.causes ?? [], causes)
        origins[Int(id)]!.kills[key] = KillRecord(version: version, causes: merged)
        origins[Int(id)]!.tombstones.append((key, version, now))
        if !(killers[key]?.contains(id) ?? false) { killers[key, default: []].append(id) }
        for c in causes {
            guard let oid = originIDs[c.name], let o = origins[Int(oid)], o.generation == c.generation,
                  let r = o.records[key], r.kind == .put, r.version <= c.version else { continue }
            if oid == selfID {
                // This daemon's own record: it writes the removal itself, in
                // its own stream, so the DELETE outlives the kill.
                owed.remove(key)
                continue
            }
            origins[Int(oid)]!.records[key] = OriginRecord(version: r.version, kind: .remove, body: [])
            origins[Int(oid)]!.liveCount -= 1
            origins[Int(oid)]!.tombstones.append((key, r.version, now))
            dropHolder(oid, key)
        }
        return true
    }

    /// Two sorted cause lists as one: per origin life the newer version.
    static func merge(_ a: [DeltaCause], _ b: [DeltaCause]) -> [DeltaCause] {
        if a.isEmpty { return b }
        var byLife: [String: [UInt64: UInt64]] = [:]
        for c in a + b { byLife[c.name, default: [:]][c.generation] = max(byLife[c.name]?[c.generation] ?? 0, c.version) }
        return byLife.flatMap { origin, lives in lives.map { DeltaCause(name: origin, generation: $0.key, version: $0.value) } }
            .sorted()
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

    /// A local explicit DELETE: this daemon's own record goes as a removal
    /// of its own, and a kill names every other record of the instance it
    /// shows, to be hidden wherever it arrives (nothing it did not see).
    mutating func killLocal(_ key: RecordKey, version: () -> UInt64, now: Int64) -> [Delta] {
        var out: [Delta] = []
        if let d = removeLocal(key, version: version, now: now) { out.append(d) }
        let causes = holders(of: key).map { h -> DeltaCause in
            let o = origins[Int(h)]!
            return DeltaCause(name: o.name, generation: o.generation, version: o.records[key]!.version)
        }
        if let d = ownKill(key, causes: causes.sorted(), version: version, now: now) { out.append(d) }
        return out
    }

    /// Writes a kill of this daemon's own naming `causes` (none: nothing).
    private mutating func ownKill(_ key: RecordKey, causes: [DeltaCause], version: () -> UInt64, now: Int64) -> Delta? {
        guard !causes.isEmpty else { return nil }
        let v = version()
        storeKill(selfID, key, version: v, causes: causes, now: now)
        origins[Int(selfID)]!.wrote(v)
        cachedHash = nil
        let held = local.kills[key]!
        return Delta(service: key.service, id: key.id, version: v, kind: .kill, body: [], causes: held.causes)
    }

    /// The writes this daemon owes its own stream after peers' batches (see
    /// `OwedWrites`), made now: the deltas to push.
    mutating func writeOwed(version: () -> UInt64, now: Int64) -> [Delta] {
        guard !owed.isEmpty else { return [] }
        let due = owed
        owed = OwedWrites()
        var out: [Delta] = []
        for key in due.removals.sorted() {
            if let d = removeLocal(key, version: version, now: now) { out.append(d) }
        }
        for key in due.adopted.keys.sorted() {
            let open = due.adopted[key]!.filter { !settled($0, key) && $0.name != local.name }
            if let d = ownKill(key, causes: open, version: version, now: now) { out.append(d) }
        }
        return out
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
            // Equal versions of two origins: the greater origin name shows,
            // the same choice on every daemon whatever order they arrived in.
            if best == nil || v > best!.version
                || (v == best!.version && origins[Int(h)]!.name > origins[Int(best!.origin)]!.name) { best = (v, h) }
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
            if store(id, RecordKey(service: d.service, id: d.id), version: d.version, kind: d.kind, body: d.body,
                     causes: d.causes, now: now) {
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
                    if Int32(i) != selfID, hidden(Int32(i), t.key, version: r.version) {
                        // A record a kill hid, not its origin's removal: kept
                        // while the kill is, so the kill is not taken as settled.
                        origins[i]!.tombstones.append((t.key, t.version, now))
                    } else {
                        origins[i]!.records[t.key] = nil
                        dropped += 1
                    }
                } else if let k = origins[i]!.kills[t.key], k.version == t.version {
                    if k.causes.allSatisfy({ settled($0, t.key) }) {
                        origins[i]!.kills[t.key] = nil
                        killers[t.key] = killers[t.key].flatMap { list in
                            let rest = list.filter { $0 != Int32(i) }
                            return rest.isEmpty ? nil : rest
                        }
                        dropped += 1
                    } else {
                        // A record it names is still held unsuperseded here:
                        // kept (a snapshot carries it on), looked at again later.
                        origins[i]!.tombstones.append((t.key, t.version, now))
                    }
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
        origins.reduce(0) { $0 + ($1.map { $0.records.count - $0.liveCount + $0.kills.count } ?? 0) }
    }

    /// The records of origin `name` after `since`, as the seed's `/_deltas` lists them.
    public func deltas(of name: String, since: UInt64) -> [Delta] {
        guard let id = originIDs[name], let state = origins[Int(id)] else { return [] }
        return state.deltas(since: since)
    }

    /// Forgets that the life of `name` was purged here (it was retired for
    /// good): kills naming it may be collected.
    mutating func forgetPurgedLife(_ name: String) { purgedLives[name] = nil }

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

/// What this daemon owes its own stream after applying peers' records:
/// removals of its own records that a kill hid, and kills of an ended life
/// it takes over. Made into writes by `Replica.writeOwed` before the turn ends.
struct OwedWrites {
    private(set) var removals: Set<RecordKey> = []
    private(set) var adopted: [RecordKey: [DeltaCause]] = [:]

    var isEmpty: Bool { removals.isEmpty && adopted.isEmpty }

    mutating func remove(_ key: RecordKey) { removals.insert(key) }

    mutating func adopt(_ key: RecordKey, _ causes: [DeltaCause]) {
        adopted[key] = Replica.merge(adopted[key] ?? [], causes)
    }
}
