/// The messages daemons exchange on a peer link (MISSION D2, H4, H5, B1).
/// Every message travels as one length-prefixed frame; see `PeerCodec`.
public enum PeerMessage: Sendable, Equatable {
    /// The first message on a link, from both sides: who I am (D10).
    case hello(PeerHello)
    /// A digest round: a hash over every origin's version (and one over the
    /// master graph); `entries` is filled when answering a hash that differed.
    case digest(hash: UInt64, membersHash: UInt64, entries: [DigestEntry]?)
    /// Asks for every record of each origin newer than `since`.
    case pull([PullEntry])
    /// Records of one or more origins: a push, a relay or the answer to a pull.
    case records([RecordBatch])
    /// Member entries: who the daemons are, masters and leaves, and which
    /// daemons each reaches (membership and the reachability graph, D6).
    case members([MemberEntry])
    /// A master's partition verdict, sent to its leaves: a leaf holds only
    /// the masters' entries, and is fresh while a master it links to is.
    case verdict(MemberVerdict)
}

/// A master's partition verdict as its leaves need it (MISSION B2): whether
/// it is stale, and the counts behind it (a leaf's `/_status` shows them).
public struct MemberVerdict: Sendable, Equatable {
    /// Whether the master is outside the majority component.
    public var stale: Bool
    /// Members known (retired ones are none), components, the largest's
    /// size and the size of the master's own (0: none known).
    public var members: UInt64, components: UInt64, largest: UInt64, mine: UInt64
    /// Creates a verdict.
    public init(stale: Bool, members: UInt64, components: UInt64, largest: UInt64, mine: UInt64) {
        self.stale = stale
        self.members = members
        self.components = components
        self.largest = largest
        self.mine = mine
    }
}

/// Who a daemon is; sent first on every link.
public struct PeerHello: Sendable, Equatable {
    /// The environment served; a mismatch ends the link.
    public var environment: String
    /// The daemon's cluster.
    public var cluster: String
    /// The daemon's unique name.
    public var name: String
    /// The daemon's life: its start time, so a restart is a new origin.
    public var generation: UInt64
    /// Whether the daemon is a master.
    public var master: Bool
    /// The host other daemons reach it on (empty: the address it came from).
    public var host: String
    /// The port other daemons reach it on.
    public var port: UInt16
    /// Creates a hello.
    public init(environment: String, cluster: String, name: String, generation: UInt64, master: Bool, host: String, port: UInt16) {
        self.environment = environment
        self.cluster = cluster
        self.name = name
        self.generation = generation
        self.master = master
        self.host = host
        self.port = port
    }
}

/// One origin's position in a digest: everything up to `version` is held.
/// Ordered by name, then life (the order a kill lists its causes in).
public struct DigestEntry: Sendable, Equatable, Comparable {
    /// The origin's name.
    public var name: String
    /// The origin's generation.
    public var generation: UInt64
    /// Every record of the origin up to this version is held.
    public var version: UInt64
    /// Creates an entry.
    public init(name: String, generation: UInt64, version: UInt64) {
        self.name = name
        self.generation = generation
        self.version = version
    }

    /// By name, then generation.
    public static func < (a: DigestEntry, b: DigestEntry) -> Bool {
        a.name != b.name ? a.name < b.name : a.generation < b.generation
    }
}

/// One origin asked for in a pull.
public struct PullEntry: Sendable, Equatable {
    /// The origin's name.
    public var name: String
    /// The generation the puller holds (0: none).
    public var generation: UInt64
    /// The puller holds everything up to this version.
    public var since: UInt64
    /// Creates an entry.
    public init(name: String, generation: UInt64, since: UInt64) {
        self.name = name
        self.generation = generation
        self.since = since
    }
}

/// What one record change does.
public enum DeltaKind: UInt8, Sendable {
    /// Registers or refreshes the instance at this origin.
    case put = 0
    /// Removes this origin's record only (expiry, closed session).
    case remove = 1
    /// An explicit DELETE: hides exactly the records its `causes` name
    /// (those the deleter was showing) and their origins' older ones. Tag 2,
    /// a DELETE that hid records by version alone, is retired and refused.
    case kill = 3
}

/// A record an explicit DELETE saw: its origin's name and life, and the
/// newest version of it the deleter saw (a digest entry's shape). The
/// DELETE hides that record and anything older of the same life, nothing
/// newer and nothing of another life — never a registration the deleter
/// did not see.
public typealias DeltaCause = DigestEntry

/// One record change of an origin.
public struct Delta: Sendable, Equatable {
    /// The service.
    public var service: String
    /// The instance id.
    public var id: String
    /// The origin's version of the change.
    public var version: UInt64
    /// What the change does.
    public var kind: DeltaKind
    /// The instance's JSON object for a put; empty otherwise.
    public var body: [UInt8]
    /// For a kill: the records it hides, sorted, one per origin life; empty otherwise.
    public var causes: [DeltaCause]
    /// Creates a delta.
    public init(service: String, id: String, version: UInt64, kind: DeltaKind, body: [UInt8], causes: [DeltaCause] = []) {
        self.service = service
        self.id = id
        self.version = version
        self.kind = kind
        self.body = body
        self.causes = causes
    }
}

/// Changes of one origin, in version order.
public struct RecordBatch: Sendable, Equatable {
    /// How a batch relates to what the receiver already holds.
    ///
    /// Two modes have no tag of their own on the wire: they travel as a push
    /// or a sync with a reserved value (`UInt64.max`) that no version can
    /// reach, so older daemons read the very same bytes. `PeerCodec` maps
    /// them to and from their names; nothing else sees the reserved values.
    public enum Mode: Sendable, Equatable {
        /// A push: the origin's version before the first delta was `prev`,
        /// so the receiver can tell whether it continues what it holds.
        /// `prev` is never `UInt64.max` (that is `coalescedPush`).
        case push(prev: UInt64)
        /// Pushes kept for a slow link and sent when it drained: only the
        /// newest delta of each key, so they continue no chain of versions
        /// and the receiver's next digest round pulls any gap. On the wire:
        /// a push with `prev` = `UInt64.max`.
        case coalescedPush
        /// An answer to a pull from `since`; when `upTo` is non-zero the
        /// sender held everything up to it and the batch is the last chunk.
        case sync(since: UInt64, upTo: UInt64, reset: Bool)
        /// A master's verdict that this life of the origin is dead: a leaf
        /// purges it and keeps it out (leaves follow their masters). Carries
        /// no deltas. On the wire: a reset sync from `UInt64.max` up to 0.
        case deathNotice
    }
    /// The origin's name.
    public var origin: String
    /// The origin's generation.
    public var generation: UInt64
    /// Push or sync.
    public var mode: Mode
    /// The changes.
    public var deltas: [Delta]
    /// Creates a batch.
    public init(origin: String, generation: UInt64, mode: Mode, deltas: [Delta]) {
        self.origin = origin
        self.generation = generation
        self.mode = mode
        self.deltas = deltas
    }
}

/// A daemon's published view of its links (MISSION D6): who it is and which
/// masters and leaves it has a live link to. Every daemon, master or leaf,
/// publishes one; they make the members' reachability graph.
public struct MemberEntry: Sendable, Equatable {
    /// The daemon's name.
    public var name: String
    /// The daemon's generation (its life).
    public var generation: UInt64
    /// Grows at every change of the entry.
    public var seq: UInt64
    /// The daemon's cluster.
    public var cluster: String
    /// Where to reach it.
    public var host: String
    /// Where to reach it.
    public var port: UInt16
    /// Whether the daemon is a master.
    public var master: Bool
    /// Masters it has a live link to, sorted.
    public var masters: [String]
    /// Leaves it has a live link to, sorted.
    public var leaves: [String]
    /// The operator retired this life (`DELETE /_members/NAME`): it is no
    /// longer a member, its records are purged and the life is kept out.
    /// On the wire: bit 1 of the role byte.
    public var retired: Bool
    /// Creates an entry.
    public init(name: String, generation: UInt64, seq: UInt64, cluster: String, host: String, port: UInt16,
                master: Bool, masters: [String], leaves: [String], retired: Bool = false) {
        self.name = name
        self.generation = generation
        self.seq = seq
        self.cluster = cluster
        self.host = host
        self.port = port
        self.master = master
        self.masters = masters
        self.leaves = leaves
        self.retired = retired
    }

    /// Whether this entry is newer than `other` (same daemon): a later life,
    /// or in one life the higher seq. A retirement ends its life: within it,
    /// it beats every entry, whatever the seq (the retired daemon may have
    /// published more before it was stopped); only a new life replaces it.
    public func isNewer(than other: MemberEntry) -> Bool {
        if generation != other.generation { return generation > other.generation }
        if retired != other.retired { return retired }
        return seq > other.seq
    }
}

extension RecordBatch.Mode {
    /// Whether the batch is a push (plain or coalesced): new pushed records
    /// are relayed to the other links, answers to pulls are not.
    public var isPush: Bool {
        switch self {
        case .push, .coalescedPush: return true
        case .sync, .deathNotice: return false
        }
    }
}
