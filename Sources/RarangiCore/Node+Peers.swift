import RarangiWire

/// Peer link events, wired to membership: a link that comes up or goes down
/// changes this master's entry, the partition verdict and who is alive.
extension Node {
    /// Our own hello: who we are, sent first on every link.
    var hello: PeerHello {
        PeerHello(environment: config.environment, cluster: config.cluster, name: config.name,
                  generation: config.generation, master: config.master,
                  host: config.advertiseHost, port: UInt16(clamping: config.advertisePort))
    }

    /// A frame from a peer: the hello first, then anything else (see `Node+Replication`).
    mutating func peerMessage(_ id: LinkID, _ message: PeerMessage, now: Instant, effects: inout [Effect]) {
        guard let link = links.heard(id, now: now.ms) else { return }
        if let problem = PeerInput.problem(in: message, nowWallMs: now.wallMs) {
            effects.append(.log(LogEvent(.warn, "peer_invalid", [("link", id.description), ("peer", link.peer?.name ?? "-"),
                                                                  ("problem", problem)])))
            cut(id, reason: "invalid_input", now: now, effects: &effects)
            return
        }
        if case let .hello(h) = message {
            received(hello: h, on: id, now: now, effects: &effects)
            return
        }
        guard link.isUp, let peer = link.peer else {
            cut(id, reason: "message_before_hello", now: now, effects: &effects)
            return
        }
        replicate(message, from: id, peer: peer, now: now, effects: &effects)
    }

    /// The peer's hello: once the link is up, start a round on it at once —
    /// a full digest, and every member entry. A retired life is refused.
    mutating func received(hello h: PeerHello, on id: LinkID, now: Instant, effects: inout [Effect]) {
        if refuseRetired(h, on: id, now: now, effects: &effects) { return }
        switch links.hello(h, on: id, me: hello, now: now.ms, effects: &effects) {
        case let .cut(reason):
            cut(id, reason: reason, now: now, effects: &effects)
            return
        case .closedSelf:
            return
        case .up:
            break
        }
        // Liveness is by life, not by name: a restarted daemon's hello ends
        // its previous life here at once, and the digest carries it on.
        if !liveness.keepsOut(h.name, generation: h.generation), registry.noteLife(h.name, generation: h.generation) {
            effects.append(.log(LogEvent(.info, "life_ended", [("origin", h.name), ("new_generation", "\(h.generation)"),
                                                              ("reason", "restarted")])))
            liveness.originsChanged()
        }
        liveness.linksChanged()
        membership.linksChanged(config: config, upPeers: links.upPeers)
        recomputePartition(now: now, effects: &effects)
        links.send(id, .digest(hash: registry.digestHash(), membersHash: membersHash(for: h), entries: replica.digest),
                   effects: &effects)
        // A leaf hears its master's verdict before the masters' entries: it
        // knows it is fresh by the time it knows of masters.
        if config.master, !h.master { links.send(id, .verdict(toldCounts), effects: &effects) }
        sendAllEntries(id, effects: &effects)
    }

    /// The members hash a digest to `peer` carries, and that `peer`'s
    /// digest is compared with: a master and its leaf compare what the leaf
    /// holds (the leaf view and the leaf's own entry; not the entries it
    /// keeps of lives that replaced one in the view), masters the whole
    /// graph, two leaves the view.
    func membersHash(for peer: PeerHello) -> UInt64 {
        switch (config.master, peer.master) {
        case (true, true): graph.hash
        case (true, false): graph.leafViewHash(for: peer.name)
        case (false, true): graph.leafViewHash(for: config.name)
        // Two leaves each hold their own entry besides the view: they compare the view.
        case (false, false): graph.viewHash
        }
    }

    /// A link's connection is gone: it waits out its back-off, and a link
    /// that was up changes membership — this master's entry, who is alive,
    /// and the partition verdict, decided without the link (a daemon whose
    /// last link went down turns stale at once).
    mutating func linkDown(_ id: LinkID, reason: String, now: Instant, effects: inout [Effect]) {
        guard links.canGoDown(id) else { return }
        let wasUp = links[id]!.isUp
        links.down(id, reason: reason, now: now.ms, effects: &effects)
        guard wasUp else { return }
        membership.linkDown(id)
        liveness.linksChanged()
        membership.linksChanged(config: config, upPeers: links.upPeers)
        recomputePartition(now: now, effects: &effects)
    }

    /// A peer remembers a life of this daemon's name at `generation` or
    /// later (the clock went back across a restart, or two starts fell in
    /// one millisecond): this life takes a generation above it, so peers
    /// order its writes after the old life's instead of ignoring them.
    /// A life raises itself once: needing it again means another running
    /// daemon has this name, which no generation can fix.
    mutating func outlive(_ generation: UInt64, effects: inout [Effect]) {
        guard generation >= config.generation else { return }
        guard !raisedGeneration else {
            if !reportedDuplicateName {
                reportedDuplicateName = true
                effects.append(.log(LogEvent(.error, "duplicate_name", [("name", config.name), ("generation", "\(config.generation)"),
                                                                         ("other_generation", "\(generation)"),
                                                                         ("action", "give every daemon a unique --name")])))
            }
            return
        }
        raisedGeneration = true
        let old = config.generation
        config.generation = generation + 1
        registry.raiseOwnGeneration(to: config.generation)
        membership.ownEntryChanged()
        effects.append(.log(LogEvent(.warn, "generation_raised", [("old", "\(old)"), ("new", "\(config.generation)"),
                                                                   ("reason", "a peer remembers a newer life of this name")])))
    }

    /// Cuts a link (protocol error, silence, refusal).
    mutating func cut(_ id: LinkID, reason: String, now: Instant, effects: inout [Effect]) {
        effects.append(.closePeer(id))
        linkDown(id, reason: reason, now: now, effects: &effects)
    }

    /// Decides the partition verdict again (B2); who is alive is then rebuilt at the next round.
    /// A daemon that rejoins the majority catches up again before it
    /// answers as current: what it missed while stale is still on its way.
    /// A master that turned stale or fresh tells its leaves at once (new
    /// counts alone wait for the round).
    mutating func recomputePartition(now: Instant, effects: inout [Effect]) {
        let wasStale = membership.verdict.isStale, hadQuorum = membership.verdict.quorum
        membership.decide(config: config, now: now.ms, effects: &effects)
        // So does a leaf that was fresh only for want of a quorum (it knew
        // no master): what it holds may be long outdated.
        let joined = !config.master && !hadQuorum && membership.verdict.quorum
        if wasStale || joined, !membership.verdict.isStale { catchUp.restart(now: now.ms, limitMs: 2 * config.linkTimeoutMs) }
        liveness.linksChanged()
        guard config.master, toldVerdict?.stale != isStale else { return }
        toldVerdict = toldCounts
        let frame = PeerCodec.encode(.verdict(toldCounts))
        for (lid, link) in links.ordered where link.isUp && link.peer?.master == false { links.send(lid, frame, effects: &effects) }
    }

    /// The verdict a master tells its leaves: stale also while it catches
    /// up (a master back in the majority still holds what it kept while
    /// cut off, and a leaf that follows it takes its records), with the
    /// counts it was decided on.
    var toldCounts: MemberVerdict {
        var v = membership.verdict.counts
        v.stale = isStale
        return v
    }

    /// Every member entry, sent on a link just up: a daemon that restarted
    /// learns the whole membership from the first peer it reaches, leaf or
    /// master, before it can count itself a majority.
    /// The frame is encoded once per state of the graph (its hash), not per
    /// link: with a thousand members it is tens of kilobytes.
    /// A master sends a leaf the leaf view (one frame for every leaf) and
    /// the leaf's own entry as it holds it.
    mutating func sendAllEntries(_ id: LinkID, effects: inout [Effect]) {
        guard !graph.entries.isEmpty else { return }
        if config.master, let leaf = links[id]?.peer, !leaf.master {
            if leafViewFrame?.hash != graph.viewHash {
                leafViewFrame = (graph.viewHash, PeerCodec.encode(.members(graph.leafView)))
            }
            links.send(id, leafViewFrame!.frame, effects: &effects)
            if let own = graph.entries[leaf.name], !own.inLeafView { links.send(id, .members([own]), effects: &effects) }
            return
        }
        if allEntriesFrame?.hash != graph.hash {
            allEntriesFrame = (graph.hash, PeerCodec.encode(.members(graph.entries.values.sorted { $0.name < $1.name })))
        }
        links.send(id, allEntriesFrame!.frame, effects: &effects)
    }
}
