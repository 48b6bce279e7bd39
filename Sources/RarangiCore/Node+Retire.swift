import RarangiWire

/// Retiring a daemon for good: the operator's `DELETE /_members/<name>`,
/// a retirement learned from a peer, and the auto-forget of a member
/// absent from the majority for `forgetAfterMs`. A retired life is no
/// member: it is not counted, not dialled, its hellos are refused, and its
/// records are purged at once on every daemon (the operator's decision, no
/// majority needed).
extension Node {
    /// `DELETE /_members/<name>`: retires a stopped member, tells every
    /// link at once, and answers `{"forgotten": name, "generation": g}`;
    /// 404 when no such member is known, 409 when it is this daemon or
    /// alive (linked to it, or in its component).
    mutating func forget(_ conn: ConnectionID, _ name: String, now: Instant, effects: inout [Effect]) {
        switch membership.forget(name, config: config, linked: Set(links.upPeers.map(\.name))) {
        case .failure(.unknown):
            let hint = config.master ? "" : " (a leaf knows only the masters and its own entry: ask a master)"
            effects.append(.reply(conn, .error(404, "not_found", "no member named '\(name)' is known\(hint)")))
        case .failure(.alive):
            let why = name == config.name ? "it is this daemon" : "it is alive (linked to this daemon or in its component)"
            effects.append(.reply(conn, .error(409, "member_alive", "'\(name)' cannot be forgotten: \(why); stop it first")))
        case let .success(entry):
            retired(entry, reason: "operator", now: now, effects: &effects)
            // Sent at once, not at the next round: the operator's answer
            // means the other daemons are already being told.
            for (id, link) in links.ordered where link.isUp { links.send(id, .members([entry]), effects: &effects) }
            var w = JSONWriter()
            w.object { w in
                w.member("forgotten", entry.name)
                w.member("generation", entry.generation)
            }
            effects.append(.reply(conn, HTTPResponse(status: 200, body: w.document(pretty: false))))
        }
    }

    /// A retirement is in the graph (published here or learned): purges the
    /// life's records at once and keeps it out, cuts any link still up to
    /// it, and decides the verdict without it.
    mutating func retired(_ e: MemberEntry, reason: String, now: Instant, effects: inout [Effect]) {
        effects.append(.log(LogEvent(.info, "member_retired", [("member", e.name), ("generation", "\(e.generation)"),
                                                               ("reason", reason)])))
        if let (id, o) = registry.origin(named: e.name), o.generation <= e.generation { bury(id, now: now, effects: &effects) }
        registry.forgetPurgedLife(e.name)
        for (lid, link) in links.ordered where link.isUp {
            if let p = link.peer, graph.isRetired(p.name, generation: p.generation) { cut(lid, reason: "retired", now: now, effects: &effects) }
        }
        recomputePartition(now: now, effects: &effects)
    }

    /// Entries from a peer: merges them; a retirement among them is applied
    /// at once. This daemon's own retirement for its current life is only
    /// reported (once): the operator's decision is not fought.
    mutating func received(members entries: [MemberEntry], fromLeaf: Bool, now: Instant, effects: inout [Effect]) {
        var changed = false
        for e in entries where e.name == config.name {
            if e.generation > config.generation { outlive(e.generation, effects: &effects) }
            if e.retired, e.generation == config.generation, !reportedOwnRetirement {
                reportedOwnRetirement = true
                effects.append(.log(LogEvent(.error, "retired", [("name", config.name), ("generation", "\(config.generation)"),
                                                                 ("action", "an operator forgot this daemon; restart it to rejoin")])))
            }
        }
        for e in entries where e.name != config.name {
            guard membership.merge(e, fromLeaf: fromLeaf) else { continue }
            changed = true
            if e.retired { retired(e, reason: "peer", now: now, effects: &effects) }
        }
        if changed { links.learn(from: graph, config: config, now: now.ms) }
        if membership.needsVerdictNow { recomputePartition(now: now, effects: &effects) }
    }

    /// A hello from a retired life: refused, logged at every attempt (the
    /// link backs off between them). True when the link was cut.
    mutating func refuseRetired(_ h: PeerHello, on id: LinkID, now: Instant, effects: inout [Effect]) -> Bool {
        guard graph.isRetired(h.name, generation: h.generation) else { return false }
        effects.append(.log(LogEvent(.warn, "peer_retired", [("link", id.description), ("peer", h.name),
                                                             ("generation", "\(h.generation)")])))
        cut(id, reason: "retired", now: now, effects: &effects)
        return true
    }

    /// Auto-forget, at a round: a master fresh for two rounds retires every
    /// member outside its component for `forgetAfterMs` — only the majority
    /// side can, as only it purges.
    mutating func forgetAbsent(now: Instant, effects: inout [Effect]) {
        guard config.master, OriginPurge.mayPurge(purgeJudge, now: now.ms) else { return }
        let linked = Set(links.upPeers.map(\.name))
        for name in membership.absent(forAtLeast: config.forgetAfterMs, now: now.ms) {
            if case let .success(e) = membership.forget(name, config: config, linked: linked) {
                retired(e, reason: "absent", now: now, effects: &effects)
            }
        }
    }
}
