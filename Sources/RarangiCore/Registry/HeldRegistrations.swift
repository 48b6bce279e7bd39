extension Catalogue {
    /// The expiry of a held registration: it has none while its connection lives.
    public static let never = Int64.max
}

/// Registrations held by a connection (MISSION D8, B3): no expiry while the
/// connection lives, removed the moment it closes. This type decides which
/// registration a closed connection takes with it; `Registry` removes it.
struct HeldRegistrations {
    /// The registration each holding connection holds.
    private var heldBy: [ConnectionID: RecordKey] = [:]
    /// The connection now holding each held registration. A held id has one
    /// holder: a hold by another connection is refused while this one lives
    /// (`holder(of:)`); a plain PUT turns the hold into a TTL registration,
    /// after which the holder's close removes nothing.
    private var holder: [RecordKey: ConnectionID] = [:]
    /// Held registrations released because their connection closed.
    private(set) var released = 0

    /// How many registrations are held by open connections.
    var count: Int { heldBy.count }

    /// The open connection holding `key`, if any.
    func holder(of key: RecordKey) -> ConnectionID? { holder[key] }

    /// `conn` now holds `key`; a different key it held before is no longer its.
    mutating func hold(_ key: RecordKey, by conn: ConnectionID) {
        if let previous = heldBy[conn], previous != key, holder[previous] == conn { holder[previous] = nil }
        heldBy[conn] = key
        holder[key] = conn
        assert(heldBy.count >= holder.count, "every holder is a holding connection")
    }

    /// Connection `conn` closed: the registration to remove now, if any.
    /// Nothing when another connection took the hold over, or when the
    /// registration is no longer a hold (a plain PUT since turned it into a
    /// TTL registration, or a DELETE removed it): `replica` tells.
    mutating func release(_ conn: ConnectionID, in replica: Replica) -> RecordKey? {
        guard let key = heldBy.removeValue(forKey: conn), holder[key] == conn else { return nil }
        holder[key] = nil
        guard replica.localDeadline(key) == Catalogue.never else { return nil }
        released += 1
        return key
    }
}
