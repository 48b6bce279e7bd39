import RarangiWire

/// The gossip round: one interval's work — silent links cut, master entries
/// and digests on every link, the partition verdict, auto-forget of long
/// absent members, origin liveness and the purge, tombstone collection.
extension Node {
    mutating func gossipRound(now: Instant, effects: inout [Effect]) {
        nextGossipAt = now.ms + config.gossipIntervalMs
        for s in links.silentLinks(now: now.ms, limitMs: config.linkTimeoutMs) {
            effects.append(.log(LogEvent(.warn, "link_timeout", [("link", s.id.description), ("peer", s.peer),
                                                                 ("silent_ms", "\(s.silentMs)")])))
            cut(s.id, reason: "timeout", now: now, effects: &effects)
        }
        if membership.publishOwnEntry(config: config, upPeers: links.upPeers) { liveness.linksChanged() }
        let changed = membership.takeChanged()
        let digest = PeerCodec.encode(.digest(hash: registry.digestHash(), membersHash: graph.hash, entries: nil))
        let members = changed.isEmpty ? [] : PeerCodec.encode(.members(changed))
        for (id, link) in links.ordered where link.isUp {
            links.send(id, digest, effects: &effects)
            if !members.isEmpty { links.send(id, members, effects: &effects) }
        }
        if membership.needsVerdict { recomputePartition(now: now, effects: &effects) }
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
    mutating func updateLiveness(now: Instant, effects: inout [Effect]) {
        let rebuilt = liveness.needsAliveSet
        let upPeers = rebuilt ? links.upPeers.map(\.name) : []
        let graph = membership.graph
        let component = membership.verdict.component
        let dead = liveness.round(name: config.name, upPeers: upPeers, vouched: { component.map { graph.vouched(by: $0) } ?? [] },
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
