import RarangiProtocol
import RarangiWire

/// What a peer sends is input like a client's: checked whole before any of
/// it touches state. A message that fails is refused, its link cut, and
/// nothing of it is applied — one frame cannot poison the clock, inject a
/// name a lookup cannot carry, or store a body that is not JSON.
enum PeerInput {
    /// How far ahead of this daemon's wall clock a peer's versions may run.
    /// Clocks of healthy hosts differ by far less; a version beyond it would
    /// drag this daemon's hybrid clock (and every later local write) along.
    static let maxAheadMs: Int64 = 3_600_000
    /// Generations are below this (a start time in ms, or a simulation's
    /// ms × 1000, is far below it).
    static let maxGeneration: UInt64 = 1 << 62

    /// Why `message` is refused, or nil when it may be handled.
    static func problem(in message: PeerMessage, nowWallMs: Int64) -> String? {
        let ceiling = UInt64(max(0, nowWallMs + maxAheadMs)) << 16
        let name = nameProblem, life = lifeProblem
        switch message {
        case let .hello(h):
            if let p = name(h.name) ?? life(h.generation) { return p }
            if !Names.isNodeName(h.cluster) { return "invalid cluster name" }
        case let .digest(_, _, entries):
            for e in entries ?? [] {
                if let p = name(e.name) ?? life(e.generation) { return p }
                if e.version >= ceiling { return "version ahead of this daemon's clock by more than an hour" }
            }
        case let .pull(entries):
            // One entry per origin life, each answered once: a pull that
            // repeats an origin would multiply one frame into many syncs.
            if entries.count > maxPullEntries { return "a pull of more than \(maxPullEntries) origins" }
            var seen = Set<OriginLife>(minimumCapacity: entries.count)
            for e in entries {
                if let p = name(e.name) ?? life(e.generation) { return p }
                if !seen.insert(OriginLife(name: e.name, generation: e.generation)).inserted { return "a pull naming an origin twice" }
            }
        case let .records(batches):
            for b in batches {
                if let p = name(b.origin) ?? life(b.generation) { return p }
                for d in b.deltas {
                    if d.version >= OriginRecord.versionLimit || d.version >= ceiling {
                        return "version ahead of this daemon's clock by more than an hour"
                    }
                    if let p = Names.serviceProblem(Substring(d.service)) { return "service: \(p)" }
                    if let p = Names.instanceProblem(Substring(d.id)) { return "id: \(p)" }
                    if d.kind == .put {
                        guard let object = try? JSON.parseObject(d.body), object.compact == d.body else {
                            return "a registration body that is not a compact JSON object"
                        }
                    } else if !d.body.isEmpty {
                        return "a removal with a body"
                    }
                    if d.kind == .kill {
                        if let p = causesProblem(d.causes, ceiling: ceiling) { return p }
                        // A deleter removes its own record itself; it never names it.
                        if d.causes.contains(where: { $0.name == b.origin }) { return "a DELETE naming its own origin's record" }
                    } else if !d.causes.isEmpty {
                        return "causes on a record that is not a DELETE"
                    }
                }
            }
        case let .members(entries):
            if let p = entriesProblem(entries) { return p }
        case let .verdict(v):
            // Counts of members: the mine within the largest within all.
            if v.members > maxMembers || v.components > v.members || v.largest > v.members || v.mine > v.largest {
                return "a verdict whose counts do not add up"
            }
        }
        return nil
    }

    /// Why an origin (or member) name is refused, if it is.
    static func nameProblem(_ origin: String) -> String? {
        Names.isNodeName(origin) ? nil : "invalid origin name"
    }

    /// A life's generation is a start time with room to be raised above
    /// another: one near 2^64 could not be outlived.
    static func lifeProblem(_ generation: UInt64) -> String? {
        generation < maxGeneration ? nil : "a generation out of range"
    }

    /// What is wrong with member entries, if anything.
    static func entriesProblem(_ entries: [MemberEntry]) -> String? {
        for e in entries {
            if let p = nameProblem(e.name) ?? lifeProblem(e.generation) { return p }
            if !Names.isNodeName(e.cluster) { return "invalid cluster name" }
            if let bad = e.masters.first(where: { !Names.isNodeName($0) }) ?? e.leaves.first(where: { !Names.isNodeName($0) }) {
                return "invalid member name '\(bad.prefix(64))'"
            }
            // The graph looks names up in these lists by halving them.
            if !isStrictlySorted(e.masters) || !isStrictlySorted(e.leaves) { return "member lists not sorted, or with repeats" }
        }
        return nil
    }

    /// One origin's life, the unit a pull names once.
    struct OriginLife: Hashable {
        let name: String
        let generation: UInt64
    }

    /// At most this many origins in one pull.
    static let maxPullEntries = 65_536

    /// Whether `names` ascend strictly (sorted, no repeats).
    static func isStrictlySorted(_ names: [String]) -> Bool {
        names.indices.dropFirst().allSatisfy { names[$0 - 1] < names[$0] }
    }
    /// More members than any verdict can count (a thousand times the
    /// largest network the project is built for).
    static let maxMembers: UInt64 = 10_000_000

    /// At most this many records one DELETE names (one per origin life).
    static let maxCauses = 1024

    /// Why a DELETE's causes are refused: none, too many, out of order or
    /// repeated (one per origin life, sorted), or a bad name, life or version.
    static func causesProblem(_ causes: [DeltaCause], ceiling: UInt64) -> String? {
        if causes.isEmpty { return "a DELETE that names no record" }
        if causes.count > maxCauses { return "a DELETE naming more than \(maxCauses) records" }
        for (i, c) in causes.enumerated() {
            if !Names.isNodeName(c.name) { return "invalid origin name in a DELETE" }
            if c.generation >= maxGeneration { return "a generation out of range in a DELETE" }
            if c.version >= OriginRecord.versionLimit || c.version >= ceiling {
                return "version ahead of this daemon's clock by more than an hour in a DELETE"
            }
            if i > 0, !(causes[i - 1] < c) { return "a DELETE's records out of order or repeated" }
        }
        return nil
    }
}
