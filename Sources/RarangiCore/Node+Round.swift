import RarangiWire

/// The gossip round: one interval's work — silent links cut, master entries
/// and digests on every link, the partition verdict, auto-forget of long
/// absent members, origin liveness and the purge, tombstone collection.
extension Node {
    mutating func gossipRound(now: Instant, effects: inout [Effect]) {
        nextGossipAt = now.ms + config.gossipIntervalMs
        // The whole-membership frames serve the links that came up within a
        // round; kept longer they would hold a copy of the graph for nothing.
        allEntriesFrame = nil
        leafViewFrame = nil
        for s in links.silentLinks(now: now.ms, limitMs: config.linkTimeoutMs) {
            effects.append(.log(LogEvent(.warn, "link_timeout", [("link", s.id.description), ("peer", s.peer),
                                                                 ("silent_ms", "\(s.silentMs)")])))
            cut(s.id, reason: "timeout", now: now, effects: &effects)
        }
        if membership.publishOwnEntry(config: config, upPeers: links.upPeers) { liveness.linksChanged() }
        let changed = membership.takeChanged()
        let members = changed.all.isEmpty ? [] : PeerCodec.encode(.members(changed.all))
        // A master tells a leaf only of masters and retirements, and its verdict.
        let leafMembers = !config.master || changed.forLeaves.isEmpty ? [] : PeerCodec.encode(.members(changed.forLeaves))
        if membership.needsVerdict { recomputePartition(now: now, effects: &effects) }
        let verdict = config.master ? PeerCodec.encode(.verdict(toldCounts)) : []
        if config.master { toldVerdict = toldCounts }
        // The digest carries the members hash the peer compares: the whole
        // graph between masters (and from a leaf to a master), the view
        // between leaves, the leaf view with the leaf's own entry from a
        // master to each leaf (a frame of its own).
        let hash = registry.digestHash()
        let shared = PeerCodec.encode(.digest(hash: hash, membersHash: graph.hash, entries: nil))
        for (id, link) in links.ordered where link.isUp {
            guard let peer = link.peer else { continue }
            let membersHash = membersHash(for: peer)
            let digest = membersHash == graph.hash ? shared : PeerCodec.encode(.digest(hash: hash, membersHash: membersHash, entries: nil))
            links.send(id, digest, effects: &effects)
            if config.master, !peer.master {
                links.send(id, verdict, effects: &effects)
                if !leafMembers.isEmpty { links.send(id, leafMembers, effects: &effects) }
            } else if !members.isEmpty {
                links.send(id, members, effects: &effects)
            }
        }
        forgetAbsent(now: now, effects: &effects)
        updateLiveness(now: now, effects: &effects)
        registry.collectTombstones(now: now.ms, ttl: config.tombstoneTTLMs)
        liveness.forgetBurials(now: now.ms)
        pulls.forget(olderThan: 2 * config.gossipIntervalMs, now: now.ms)
    }

    /// What the origin purge needs to know about this daemon now.
    var purgeJudge: OriginPurge.Judge {
        OriginPurge.Judge(stale: isStale, freshSince: membership.verdict.freshSince, master: config.master,
                          knowsMasters: graph.knowsMasters, originTimeoutMs: config.originTimeoutMs,
                          gossipIntervalMs: config.gossipIntervalMs)
    }

    /// Tracks which origins are alive, and buries those dead for longer
    /// than the origin timeout (`OriginPurge`); a master tells its leaves.
    /// A master's alive set holds every daemon its component vouches for; a
    /// leaf's only the names it may be asked about — the origins it holds,
    /// the lives it keeps out and its peers — looked up in the masters'
    /// entries, which list every daemon (a set of every name at every leaf
    /// would be as large as the network), and built again when a name is new.
    mutating func updateLiveness(now: Instant, effects: inout [Effect]) {
        if !config.master, aliveBuiltForNames != replica.namesAdded {
            aliveBuiltForNames = replica.namesAdded
            liveness.linksChanged()
        }
        let rebuilt = liveness.needsAliveSet
        let upPeers = rebuilt ? links.upPeers.map(\.name) : []
        let graph = membership.graph
        let component = membership.verdict.component
        let vouched: () -> Set<String>
        if config.master {
            vouched = { component.map { graph.vouched(by: $0) } ?? [] }
        } else {
            let origins = replica.origins, buried = liveness.buried
            vouched = {
                let names = Set(origins.compactMap { $0?.name }).union(buried.keys).union(upPeers).sorted()
                return component.map { graph.vouched(by: $0, among: names) } ?? []
            }
        }
        let dead = liveness.round(name: config.name, upPeers: upPeers, vouched: vouched,
                                  origins: replica.origins, selfID: replica.selfID, judge: purgeJudge, now: now.ms)
        if rebuilt { links.reached(byOthers: liveness.alive, now: now.ms) }
        var notices: [RecordBatch] = []
        for id in dead {
            let o = registry.origin(id)!
            notices.append(RecordBatch(origin: o.name, generation: o.generation, mode: .deathNotice, deltas: []))
            bury(id, now: now, effects: &effects)
        }
        if !notices.isEmpty, config.master {
            for (lid, link) in links.ordered where link.isUp && link.peer?.master == false {
                links.sendRecords(lid, notices, effects: &effects)
            }
        }
    }

    /// Purges a dead origin and keeps its life out for a while.
    mutating func bury(_ id: Int32, now: Instant, effects: inout [Effect]) {
        guard let o = registry.origin(id) else { return }
        // Kept out until it is seen alive again: a daemon stale through a
        // partition of any length may still carry its records, and must not
        // bring them back once the burial is over. Forgotten with the member.
        liveness.bury(id, o, now: now.ms, keepOutMs: max(config.tombstoneTTLMs, config.forgetAfterMs), effects: &effects)
        registry.purge(id)
    }
}
