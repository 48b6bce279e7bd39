import RarangiWire

/// Replication over the links (MISSION H4, H5, B1): digests, pulls, pushed
/// and relayed records, death notices and member entries (see `Node+Retire`).
extension Node {
    /// A message on a link that is up, from `peer`.
    mutating func replicate(_ message: PeerMessage, from id: LinkID, peer: PeerHello, now: Instant, effects: inout [Effect]) {
        switch message {
        case .hello:
            break
        case let .digest(hash, membersHash, entries):
            if let entries {
                pull(from: id, entries, now: now, effects: &effects)
                return
            }
            if hash != registry.digestHash() {
                links.send(id, .digest(hash: registry.digestHash(), membersHash: self.membersHash(for: peer), entries: replica.digest),
                           effects: &effects)
            } else {
                caughtUp("in_sync", on: id, effects: &effects)
            }
            let differ = membersHash != self.membersHash(for: peer) && !graph.entries.isEmpty
            if links.membersStillDiffer(id, differ: differ) { sendAllEntries(id, effects: &effects) }
        case let .pull(entries):
            answer(pull: entries, on: id, effects: &effects)
        case let .records(batches):
            guard takesRecords(on: id, from: peer) else { return }
            received(batches, from: id, peer: peer, now: now, effects: &effects)
        case let .members(entries):
            received(members: entries, fromLeaf: !peer.master, now: now, effects: &effects)
            if config.master, !peer.master { correct(entries, on: id, effects: &effects) }
        case let .verdict(v):
            guard fromMasterToLeaf(id, peer: peer, "a verdict", now: now, effects: &effects) else { return }
            if membership.heard(v, on: id) { recomputePartition(now: now, effects: &effects) }
        }
    }

    /// Answers a pull with every record asked for, in frames of about
    /// `PeerCodec.chunkBytes` — unless the link is slow: a peer that asks
    /// and does not read gets no more until it has read what it has, and
    /// the next digest round asks again (a pull is repair, never the only
    /// way a change travels).
    private mutating func answer(pull entries: [PullEntry], on id: LinkID, effects: inout [Effect]) {
        guard !links.isSlow(id) else { return }
        var out: [RecordBatch] = []
        for e in entries { out += replica.sync(e.name, generation: e.generation, since: e.since) }
        if !out.isEmpty { links.sendRecords(id, out, effects: &effects) }
    }

    /// Records from a peer: applied unless kept out; new pushes are relayed.
    /// A leaf takes death notices from its masters only; a buried life is
    /// refused from anyone until it is seen alive again.
    private mutating func received(_ batches: [RecordBatch], from id: LinkID, peer: PeerHello, now: Instant,
                                   effects: inout [Effect]) {
        var relay: [RecordBatch] = []
        let trusted = peer.master && !config.master
        for b in batches where b.origin == config.name && b.generation > config.generation {
            outlive(b.generation, effects: &effects)
        }
        for b in batches where b.origin != config.name {
            if case .deathNotice = b.mode {
                // A master's verdict that an origin is dead: leaves follow
                // their masters; a master takes it for an origin it does not
                // see alive itself (it restarted, or was cut off, and holds
                // records the majority has buried).
                if trusted || (peer.master && !liveness.alive.contains(b.origin)),
                   let (oid, o) = registry.origin(named: b.origin), o.generation == b.generation {
                    bury(oid, now: now, effects: &effects)
                }
                continue
            }
            if liveness.keepsOut(b.origin, generation: b.generation) { continue }
            // A retired life is kept out for good, whoever relays it.
            if graph.isRetired(b.origin, generation: b.generation) { continue }
            liveness.unbury(b.origin)
            let applied = registry.apply(b, now: now.ms)
            if case let .sync(_, upTo, _) = b.mode, upTo > 0 {
                pulls.answered(b.origin)
                if pulls.isEmpty { caughtUp("synced", on: id, effects: &effects) }
            }
            if applied, b.mode.isPush {
                relay.append(b)
                for d in b.deltas { propagation.observe(now.wallMs - HybridClock.wallMs(of: d.version)) }
            }
            if applied { liveness.originsChanged() }
        }
        // Split horizon: masters hear every master directly, so what came
        // from a master goes on only to leaves.
        if !relay.isEmpty {
            links.pushToAll(relay, except: id, skipMasters: peer.master && config.master, effects: &effects)
        }
    }

    /// Pulls, from the link whose full digest this is, every origin it holds
    /// newer. A fresh master tells a peer still holding an origin it buried
    /// that the origin is dead.
    private mutating func pull(from id: LinkID, _ entries: [DigestEntry], now: Instant, effects: inout [Effect]) {
        var wanted: [PullEntry] = []
        var verdicts: [RecordBatch] = []
        for e in entries where e.name == config.name && e.generation > config.generation {
            outlive(e.generation, effects: &effects)
        }
        guard let peer = links[id]?.peer, takesRecords(on: id, from: peer) else { return }
        for e in entries where e.name != config.name {
            // A buried life is not pulled back, not even from a master (one
            // that was stale through a partition may still carry it).
            if liveness.keepsOut(e.name, generation: e.generation) {
                if config.master, !isStale {
                    verdicts.append(RecordBatch(origin: e.name, generation: e.generation, mode: .deathNotice, deltas: []))
                }
                continue
            }
            if graph.isRetired(e.name, generation: e.generation) { continue }
            if pulls.recent(e.name, now: now.ms, withinMs: config.gossipIntervalMs) { continue }
            if let (_, held) = registry.origin(named: e.name) {
                if e.generation < held.generation { continue }
                if e.generation == held.generation, e.version <= held.watermark { continue }
                wanted.append(PullEntry(name: e.name, generation: e.generation,
                                        since: e.generation == held.generation ? held.watermark : 0))
            } else {
                // An origin with nothing yet has nothing to pull.
                guard e.version > 0 else { continue }
                wanted.append(PullEntry(name: e.name, generation: e.generation, since: 0))
            }
            pulls.started(e.name, now: now.ms)
        }
        if !wanted.isEmpty { links.send(id, .pull(wanted), effects: &effects) }
        if wanted.isEmpty, pulls.isEmpty { caughtUp("in_sync", on: id, effects: &effects) }
        if !verdicts.isEmpty { links.sendRecords(id, verdicts, effects: &effects) }
    }
}

/// Origins pulled recently: one pull per origin is in flight at a time, so
/// digests from several links do not ask for the same records again before
/// the answer had time to come.
struct PullsInFlight {
    private var started: [String: Int64] = [:]

    /// Whether `origin` was pulled less than `withinMs` ago.
    func recent(_ origin: String, now: Int64, withinMs: Int64) -> Bool {
        started[origin].map { now - $0 < withinMs } ?? false
    }

    /// Whether no pull is in flight.
    var isEmpty: Bool { started.isEmpty }

    /// A pull of `origin` was sent.
    mutating func started(_ origin: String, now: Int64) { started[origin] = now }

    /// The last chunk of a pull's answer arrived.
    mutating func answered(_ origin: String) { started[origin] = nil }

    /// Forgets pulls older than `ms` (their answer was lost).
    mutating func forget(olderThan ms: Int64, now: Int64) { started = started.filter { now - $0.value < ms } }
}

extension Node {
    /// A leaf sent entries older than this master holds that are out of the
    /// leaf view (a master back as a leaf, a retired daemon back, changed
    /// while the leaf was away or heard from a master cut off from the
    /// others): it is sent the ones held. The view's own entries reach it
    /// anyway, and answering those too would echo every entry a leaf passes
    /// on between its masters. A leaf holds no entry a master lacks, so both
    /// sides end up holding the same.
    mutating func correct(_ entries: [MemberEntry], on id: LinkID, effects: inout [Effect]) {
        let newer = entries.compactMap { e in graph.entries[e.name].flatMap { $0.isNewer(than: e) && !$0.inLeafView ? $0 : nil } }
        if !newer.isEmpty { links.send(id, .members(newer), effects: &effects) }
    }

    /// Whether records from `peer` on link `id` are taken: not by a fresh
    /// leaf from a stale master. What a master cut off from the majority
    /// holds may be long outdated — an origin the majority buried, a record
    /// its origin removed since — and a leaf that follows a fresh master
    /// would serve it as current; it takes them once that master is fresh.
    func takesRecords(on id: LinkID, from peer: PeerHello) -> Bool {
        config.master || !peer.master || membership.verdict.isStale || !membership.verdict.quorum || membership.followsFresh(id)
    }

    /// This daemon holds what the peer on link `id` does: it has caught up,
    /// unless it is a leaf and that peer a stale master (what a stale
    /// master holds may be long outdated; a leaf catches up from a fresh one).
    mutating func caughtUp(_ reason: String, on id: LinkID, effects: inout [Effect]) {
        guard config.master || !membership.verdict.quorum || membership.followsFresh(id) else { return }
        catchUp.end(reason, effects: &effects)
    }

    /// Whether `what` (a verdict) came as it may: only a master
    /// tells one, and only a leaf follows one. Otherwise the link is cut.
    mutating func fromMasterToLeaf(_ id: LinkID, peer: PeerHello, _ what: String, now: Instant, effects: inout [Effect]) -> Bool {
        guard peer.master, !config.master else {
            effects.append(.log(LogEvent(.warn, "peer_invalid", [("link", id.description), ("peer", peer.name),
                                                                  ("problem", "\(what) from a leaf, or to a master")])))
            cut(id, reason: "invalid_input", now: now, effects: &effects)
            return false
        }
        return true
    }
}
