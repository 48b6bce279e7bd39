import RarangiWire

/// Push, relay, anti-entropy, origin liveness and partition state.
extension Node {
    // MARK: push

    /// Pushes local changes to every live link (B1).
    mutating func pushLocal(_ deltas: [Delta], prev: UInt64, effects: inout [Effect]) {
        guard links.values.contains(where: \.isUp) else { return }
        let batch = RecordBatch(origin: config.name, generation: config.generation, mode: .push(prev: prev), deltas: deltas)
        let frame = PeerCodec.encode(.records([batch]))
        for (id, link) in orderedLinks where link.isUp { push([batch], frame, to: id, effects: &effects) }
    }

    /// Sends pushed records to a link, or, while the link is slow, keeps
    /// only the newest delta of each key for it (coalescing).
    mutating func push(_ batches: [RecordBatch], _ frame: [UInt8], to id: LinkID, effects: inout [Effect]) {
        guard links[id]?.slow == true else {
            send(id, frame, effects: &effects)
            return
        }
        for b in batches {
            var held = links[id]!.held[b.origin] ?? HeldPushes(generation: b.generation)
            if b.generation < held.generation { continue }
            if b.generation > held.generation { held = HeldPushes(generation: b.generation) }
            for d in b.deltas {
                let key = RecordKey(service: d.service, id: d.id)
                if let old = held.deltas[key] {
                    if old.version >= d.version { continue }
                    stats.coalesced += 1
                }
                held.deltas[key] = d
            }
            links[id]!.held[b.origin] = held
        }
    }

    /// The shell says a link's backlog crossed its threshold or drained.
    mutating func backlog(_ id: LinkID, slow: Bool, effects: inout [Effect]) {
        guard links[id]?.isUp == true, links[id]!.slow != slow else { return }
        links[id]!.slow = slow
        log(slow ? .warn : .info, slow ? "link_slow" : "link_drained",
            [("link", id.description), ("peer", links[id]!.peer?.name ?? "-")], &effects)
        guard !slow else { return }
        let held = links[id]!.held
        links[id]!.held = [:]
        // Coalesced pushes skip versions: they continue no chain, and the
        // receiver's next digest round pulls any gap.
        let batches = held.keys.sorted().map { origin in
            RecordBatch(origin: origin, generation: held[origin]!.generation, mode: .coalescedPush,
                        deltas: held[origin]!.deltas.values.sorted { $0.version != $1.version ? $0.version < $1.version : ($0.service, $0.id) < ($1.service, $1.id) })
        }
        if !batches.isEmpty { send(id, .records(batches), effects: &effects) }
    }

    // MARK: messages

    mutating func peerMessage(_ id: LinkID, _ message: PeerMessage, now: Instant, effects: inout [Effect]) {
        guard let link = links[id] else { return }
        stats.peerIn += 1
        links[id]!.lastHeard = now.ms
        links[id]!.messagesIn += 1
        if case let .hello(h) = message {
            received(hello: h, on: id, now: now, effects: &effects)
            return
        }
        guard link.isUp, let peer = link.peer else {
            cut(id, reason: "message_before_hello", now: now, effects: &effects)
            return
        }
        switch message {
        case .hello:
            break
        case let .digest(hash, mastersHash, entries):
            if let entries {
                pull(from: id, entries, now: now, effects: &effects)
            } else {
                if hash != replica.digestHash() {
                    send(id, .digest(hash: replica.digestHash(), mastersHash: graph.hash, entries: replica.digest), effects: &effects)
                }
                // Entries in flight differ for a round; repair only a
                // difference that outlives one round.
                if mastersHash != graph.hash, config.master, !graph.entries.isEmpty {
                    if links[id]!.mastersMismatch {
                        links[id]!.mastersMismatch = false
                        sendAllEntries(id, effects: &effects)
                    } else {
                        links[id]!.mastersMismatch = true
                    }
                } else {
                    links[id]!.mastersMismatch = false
                }
            }
        case let .pull(entries):
            var out: [RecordBatch] = []
            var bytes = 0
            for e in entries {
                for b in replica.sync(e.name, generation: e.generation, since: e.since) {
                    out.append(b)
                    bytes += b.deltas.reduce(0) { $0 + $1.body.count + 24 }
                    if bytes >= PeerCodec.chunkBytes {
                        send(id, .records(out), effects: &effects)
                        out = []
                        bytes = 0
                    }
                }
            }
            if !out.isEmpty { send(id, .records(out), effects: &effects) }
        case let .records(batches):
            var relay: [RecordBatch] = []
            let trusted = peer.master && !config.master
            for b in batches {
                if b.origin == config.name { continue }
                if case .deathNotice = b.mode {
                    // A master's verdict that an origin is dead (leaves follow their masters).
                    if trusted, let oid = replica.originIDs[b.origin], replica.origins[Int(oid)]?.generation == b.generation {
                        bury(oid, now: now, effects: &effects)
                    }
                    continue
                }
                if !trusted, let dead = buried[b.origin], b.generation <= dead.generation, !aliveSet.contains(b.origin) { continue }
                buried[b.origin] = nil
                let applied = replica.apply(b, now: now.ms, clock: &clock)
                if case let .sync(_, upTo, _) = b.mode, upTo > 0 { pullsInFlight[b.origin] = nil }
                if applied, b.mode.isPush { relay.append(b) }
                if applied { aliveDirtyScan = true }
            }
            if !relay.isEmpty {
                // Split horizon: masters hear every master directly, so what
                // came from a master goes on only to leaves.
                let frame = PeerCodec.encode(.records(relay))
                let fromMaster = peer.master && config.master
                for (other, l) in orderedLinks where other != id && l.isUp {
                    if fromMaster, l.peer?.master == true { continue }
                    push(relay, frame, to: other, effects: &effects)
                }
            }
        case let .masters(entries):
            var changed = false
            for e in entries where e.name != config.name {
                if graph.merge(e) {
                    changed = true
                    changedMasters.insert(e.name)
                }
            }
            if changed {
                graphDirty = true
                learnTargets(now: now)
            }
        }
    }

    /// Pulls, from the link whose full digest this is, every origin it holds newer.
    private mutating func pull(from id: LinkID, _ entries: [DigestEntry], now: Instant, effects: inout [Effect]) {
        var wanted: [PullEntry] = []
        var verdicts: [RecordBatch] = []
        let trusted = links[id]?.peer?.master == true && !config.master
        for e in entries where e.name != config.name {
            if !trusted, let dead = buried[e.name], e.generation <= dead.generation, !aliveSet.contains(e.name) {
                // A leaf still holding an origin we buried learns it is dead.
                if config.master, !isStale, links[id]?.peer?.master == false {
                    verdicts.append(Node.deathNotice(e.name, e.generation))
                }
                continue
            }
            if let t = pullsInFlight[e.name], now.ms - t < config.gossipIntervalMs { continue }
            if let oid = replica.originIDs[e.name], let held = replica.origins[Int(oid)] {
                if e.generation < held.generation { continue }
                if e.generation == held.generation, e.version <= held.watermark { continue }
                wanted.append(PullEntry(name: e.name, generation: e.generation,
                                        since: e.generation == held.generation ? held.watermark : 0))
            } else {
                wanted.append(PullEntry(name: e.name, generation: e.generation, since: 0))
            }
            pullsInFlight[e.name] = now.ms
        }
        if !wanted.isEmpty { send(id, .pull(wanted), effects: &effects) }
        if !verdicts.isEmpty { send(id, .records(verdicts), effects: &effects) }
    }

    // MARK: rounds

    /// One gossip interval's work: digests on every link, master entries,
    /// silent links cut, origin liveness and tombstone collection.
    mutating func gossipRound(now: Instant, effects: inout [Effect]) {
        nextGossipAt = now.ms + config.gossipIntervalMs
        for (id, link) in orderedLinks where link.isUp && now.ms - link.lastHeard > config.linkTimeoutMs {
            log(.warn, "link_timeout", [("link", id.description), ("peer", link.peer?.name ?? "-"),
                                        ("silent_ms", "\(now.ms - link.lastHeard)")], &effects)
            cut(id, reason: "timeout", now: now, effects: &effects)
        }
        if config.master { publishMyEntry(now: now) }
        let changed = config.master ? changedMasters.compactMap { graph.entries[$0] }.sorted { $0.name < $1.name } : []
        changedMasters.removeAll()
        let digest = PeerCodec.encode(.digest(hash: replica.digestHash(), mastersHash: graph.hash, entries: nil))
        // Split horizon again: every master hears every master's own entry
        // directly, so masters get only ours; leaves get every change.
        let masters = changed.isEmpty ? [] : PeerCodec.encode(.masters(changed.map(\.withoutLeaves)))
        let mine = changed.filter { $0.name == config.name }
        let ownOnly = mine.isEmpty ? [] : PeerCodec.encode(.masters(mine))
        for (id, link) in orderedLinks where link.isUp {
            send(id, digest, effects: &effects)
            let frame = link.peer?.master == true ? ownOnly : masters
            if !frame.isEmpty { send(id, frame, effects: &effects) }
        }
        if graphDirty { recomputePartition(now: now, effects: &effects) }
        updateLiveness(now: now, effects: &effects)
        let dropped = replica.collectTombstones(now: now.ms, ttl: config.tombstoneTTLMs)
        stats.tombstonesCollected += dropped
        buried = buried.filter { $0.value.until > now.ms }
        pullsInFlight = pullsInFlight.filter { now.ms - $0.value < 2 * config.gossipIntervalMs }
    }

    /// Rebuilds this master's entry when its links changed.
    mutating func publishMyEntry(now: Instant) {
        guard myEntryDirty else { return }
        myEntryDirty = false
        mySeq += 1
        var masters: [String] = []
        var leaves: [String] = []
        for link in links.values where link.isUp {
            guard let p = link.peer else { continue }
            if p.master { masters.append(p.name) } else { leaves.append(p.name) }
        }
        let entry = MasterEntry(name: config.name, generation: config.generation, seq: mySeq, cluster: config.cluster,
                                host: config.advertiseHost, port: UInt16(clamping: config.advertisePort),
                                masters: Array(Set(masters)).sorted(), leaves: Array(Set(leaves)).sorted())
        graph.merge(entry)
        graph.settle()
        changedMasters.insert(config.name)
        aliveDirty = true
    }

    /// Decides whether this daemon is in the majority component (B2).
    mutating func recomputePartition(now: Instant, effects: inout [Effect]) {
        graphDirty = false
        graph.settle()
        var stale = false
        var comp: Int? = nil
        if !graph.entries.isEmpty {
            if config.master {
                comp = graph.component[config.name]
                stale = comp.map { $0 != 0 } ?? false
            } else {
                let comps = links.values.filter(\.isUp).compactMap { $0.peer.flatMap { graph.component[$0.name] } }
                comp = comps.min()
                stale = comp != 0
            }
        }
        myComponent = comp
        if stale != isStale {
            isStale = stale
            if !stale { freshSince = now.ms }
            log(stale ? .warn : .info, "partition_state",
                [("stale", stale ? "true" : "false"), ("components", "\(graph.sizes.count)"),
                 ("largest", "\(graph.sizes.first ?? 0)"), ("mine", comp.map { "\(graph.sizes[$0])" } ?? "0")], &effects)
        }
        aliveDirty = true
    }

    /// Tracks which origins are alive, and purges those dead for longer
    /// than the origin timeout — only on the majority side (H7, B2).
    mutating func updateLiveness(now: Instant, effects: inout [Effect]) {
        if aliveDirty {
            aliveDirty = false
            aliveDirtyScan = true
            var alive: Set<String> = [config.name]
            for link in links.values where link.isUp { if let p = link.peer { alive.insert(p.name) } }
            if let c = myComponent { alive.formUnion(graph.vouched(by: c)) }
            aliveSet = alive
        }
        guard aliveScanNeeded || aliveDirtyScan else { return }
        aliveDirtyScan = false
        var dead: [Int32] = []
        var anyNotAlive = false
        defer { aliveScanNeeded = anyNotAlive }
        for i in replica.origins.indices where i != Int(replica.selfID) {
            guard let o = replica.origins[i] else { continue }
            defer { if replica.origins[i]?.notAliveSince != nil { anyNotAlive = true } }
            if aliveSet.contains(o.name) || (graph.entries.isEmpty && now.ms - o.lastHeard < config.originTimeoutMs) {
                // Forgive the purge clock only once the origin has stayed
                // alive for two rounds: right after a heal the graph may
                // still hold entries older than the deaths they hide.
                if o.notAliveSince != nil {
                    if let seen = o.aliveSeenAt {
                        if now.ms - seen >= 2 * config.gossipIntervalMs {
                            replica.origins[i]!.notAliveSince = nil
                            replica.origins[i]!.aliveSeenAt = nil
                        }
                    } else {
                        replica.origins[i]!.aliveSeenAt = now.ms
                    }
                }
                continue
            }
            if o.aliveSeenAt != nil { replica.origins[i]!.aliveSeenAt = nil }
            let since = o.notAliveSince ?? now.ms
            if o.notAliveSince == nil { replica.origins[i]!.notAliveSince = since }
            if !isStale, config.master || graph.entries.isEmpty, now.ms - since >= config.originTimeoutMs,
               now.ms - freshSince >= 2 * config.gossipIntervalMs || freshSince == 0 {
                dead.append(Int32(i))
            }
        }
        var notices: [RecordBatch] = []
        for id in dead {
            let o = replica.origins[Int(id)]!
            notices.append(Node.deathNotice(o.name, o.generation))
            bury(id, now: now, effects: &effects)
        }
        if !notices.isEmpty, config.master {
            let frame = PeerCodec.encode(.records(notices))
            for (lid, link) in orderedLinks where link.isUp && link.peer?.master == false { send(lid, frame, effects: &effects) }
        }
    }

    /// A master's verdict that an origin life is dead, in the records message.
    static func deathNotice(_ name: String, _ generation: UInt64) -> RecordBatch {
        RecordBatch(origin: name, generation: generation, mode: .deathNotice, deltas: [])
    }

    /// Purges a dead origin and keeps its life out for a while.
    mutating func bury(_ id: Int32, now: Instant, effects: inout [Effect]) {
        guard let o = replica.origins[Int(id)] else { return }
        stats.originsPurged += 1
        log(.info, "origin_dead", [("origin", o.name), ("generation", "\(o.generation)"), ("records", "\(o.liveCount)"),
                                   ("silent_ms", "\(now.ms - (o.notAliveSince ?? now.ms))")], &effects)
        buried[o.name] = (o.generation, now.ms + config.tombstoneTTLMs)
        replica.purge(id)
    }

    /// Every master entry, without leaves lists for a leaf (it follows its
    /// masters' verdicts on origins and needs only the masters' graph).
    mutating func sendAllEntries(_ id: LinkID, effects: inout [Effect]) {
        let all = graph.entries.values.sorted { $0.name < $1.name }
        let leaf = links[id]?.peer?.master != true
        send(id, .masters(leaf ? all.map(\.withoutLeaves) : all), effects: &effects)
    }
}
