import RarangiWire

/// The store: every live registration, indexed by service and id, with one
/// expiry deadline each. Lookups are served from a per-service cache of the
/// encoded response, rebuilt only after that service changes.
public struct Catalogue {
    /// One registration. Its expiry deadline, if any, lives in `expiry`
    /// under the record's slot.
    struct Record {
        var service: ServiceEntry
        var id: String
        var body: [UInt8]
        var version: UInt64
        /// The replica's origin whose record is shown (0 when unused).
        var origin: Int32
    }

    /// A service's instances and its cached encodings.
    final class ServiceEntry {
        let name: String
        var instances: [String: Int32] = [:]
        var compact: [UInt8]?
        var pretty: [UInt8]?
        /// The catalogue index at this service's last change (for watchers).
        var index: UInt64 = 0
        /// The answer's headers (its index), made once per change like the documents.
        var headers: [(String, String)]?
        init(name: String) { self.name = name }
        func invalidate(_ index: UInt64) {
            compact = nil
            pretty = nil
            headers = nil
            self.index = index
        }
    }

    private var records: ContiguousArray<Record?> = []
    private var freeSlots: [Int32] = []
    private var services: [String: ServiceEntry] = [:]
    private var expiry = ExpiryHeap()

    /// How many registrations are live.
    public private(set) var count = 0
    /// Grows by one at every change of any service; watchers compare it.
    public private(set) var index: UInt64 = 0

    /// Services changed since `takeChangedServices`, so watchers of those
    /// services alone are looked at after a change.
    private var changedServices: Set<String> = []

    private mutating func markChanged(_ entry: ServiceEntry) {
        index += 1
        entry.invalidate(index)
        changedServices.insert(entry.name)
    }

    /// The services changed since the last call, and forgets them.
    mutating func takeChangedServices() -> Set<String> {
        defer { changedServices.removeAll(keepingCapacity: true) }
        return changedServices
    }

    /// Creates an empty catalogue.
    public init() {}

    /// What an upsert did.
    public enum Upsert: Equatable {
        /// A new registration.
        case created
        /// An existing registration was refreshed; `changed` when its body differs.
        case refreshed(changed: Bool)
        /// The write is older than what is stored (last writer wins) and was ignored.
        case stale
    }

    /// Stores or refreshes a registration; a write whose version is older than
    /// the stored one changes nothing.
    @discardableResult
    public mutating func upsert(service: String, id: String, body: [UInt8], version: UInt64, expiresAt: Int64) -> Upsert {
        let (outcome, slot) = put(service: service, id: id, body: body, version: version, origin: 0)
        if outcome != .stale { expiry.set(slot, deadline: expiresAt) }
        return outcome
    }

    private mutating func put(service: String, id: String, body: [UInt8], version: UInt64, origin: Int32) -> (Upsert, Int32) {
        let entry: ServiceEntry
        if let e = services[service] {
            entry = e
        } else {
            entry = ServiceEntry(name: service)
            services[service] = entry
            goneAt[service] = nil
        }
        if let slot = entry.instances[id] {
            let s = Int(slot)
            if records[s]!.version > version { return (.stale, slot) }
            let changed = records[s]!.body != body
            records[s]!.version = version
            records[s]!.origin = origin
            if changed {
                records[s]!.body = body
                markChanged(entry)
            }
            return (.refreshed(changed: changed), slot)
        }
        let record = Record(service: entry, id: id, body: body, version: version, origin: origin)
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            records[Int(slot)] = record
        } else {
            slot = Int32(records.count)
            records.append(record)
        }
        entry.instances[id] = slot
        count += 1
        markChanged(entry)
        return (.created, slot)
    }

    /// Sets the visible record of an instance whatever its previous version
    /// (the replica decides which origin's record wins), keeping its deadline.
    public mutating func replace(service: String, id: String, body: [UInt8], version: UInt64, origin: Int32) {
        if let slot = services[service]?.instances[id], let r = records[Int(slot)] {
            if r.version == version, r.origin == origin, r.body == body { return }
            records[Int(slot)]!.version = 0
        }
        put(service: service, id: id, body: body, version: version, origin: origin)
    }

    /// The origin whose record of an instance is shown.
    func shownOrigin(service: String, id: String) -> Int32? {
        guard let slot = services[service]?.instances[id] else { return nil }
        return records[Int(slot)]?.origin
    }

    /// Sets the expiry deadline of a shown instance (the replica's local
    /// registrations); it goes when the instance leaves the view.
    mutating func setDeadline(service: String, id: String, _ deadline: Int64) {
        guard let slot = services[service]?.instances[id] else { return }
        expiry.set(slot, deadline: deadline)
    }

    /// Removes the expiry deadline of an instance, keeping the instance.
    mutating func clearDeadline(service: String, id: String) {
        guard let slot = services[service]?.instances[id] else { return }
        expiry.remove(slot)
    }

    /// Takes the deadlines at or before `now` off the heap and returns their
    /// instances, which stay in the view: the caller decides what goes.
    mutating func due(atOrBefore now: Int64) -> [RecordKey] {
        var out: [RecordKey] = []
        while let (deadline, slot) = expiry.min, deadline <= now {
            expiry.remove(slot)
            if let r = records[Int(slot)] { out.append(RecordKey(service: r.service.name, id: r.id)) }
        }
        return out
    }

    /// The version of the visible record of an instance.
    public func version(service: String, id: String) -> UInt64? {
        guard let slot = services[service]?.instances[id] else { return nil }
        return records[Int(slot)]?.version
    }

    /// Removes a registration; false when there was none.
    @discardableResult
    public mutating func remove(service: String, id: String) -> Bool {
        guard let entry = services[service], let slot = entry.instances[id] else { return false }
        removeSlot(slot)
        return true
    }

    private mutating func removeSlot(_ slot: Int32) {
        guard let record = records[Int(slot)] else { return }
        let entry = record.service
        entry.instances[record.id] = nil
        records[Int(slot)] = nil
        freeSlots.append(slot)
        expiry.remove(slot)
        count -= 1
        markChanged(entry)
        if entry.instances.isEmpty {
            services[entry.name] = nil
            // Its index stays what it was at the removal, so an answer about
            // the service (empty now) keeps one index until it changes again.
            if goneAt.count >= Catalogue.goneLimit { goneAt.removeAll(keepingCapacity: true) }
            goneAt[entry.name] = entry.index
        }
    }

    /// Services whose last instance went, with their index at that moment
    /// (bounded: past the limit they are forgotten and read as never seen).
    private var goneAt: [String: UInt64] = [:]
    static let goneLimit = 65_536

    /// The earliest expiry deadline, if any registration exists.
    public var nextDeadline: Int64? { expiry.min?.deadline }

    /// `{"<id>": {…}, …}` for a service, ids sorted; `{}` when unknown.
    /// Built once per change of the service and shared by every lookup after.
    public func lookup(_ service: String, pretty: Bool) -> [UInt8] { answer(service, pretty: pretty).body }

    /// A service's document (as `lookup`) and the headers that carry its
    /// index (as `serviceIndex`), found with one search of the catalogue.
    public func answer(_ service: String, pretty: Bool) -> (body: [UInt8], headers: [(String, String)]) {
        guard let entry = services[service] else {
            return (pretty ? Catalogue.emptyPretty : Catalogue.empty, Catalogue.indexHeaders(goneAt[service] ?? 0))
        }
        let headers: [(String, String)]
        if let h = entry.headers {
            headers = h
        } else {
            headers = Catalogue.indexHeaders(entry.index)
            entry.headers = headers
        }
        return (document(entry, pretty: pretty), headers)
    }

    /// The header naming a service's index on every answer about it.
    public static let indexHeader = "X-Rarangi-Index"

    private static func indexHeaders(_ index: UInt64) -> [(String, String)] { [(indexHeader, String(index))] }

    private func document(_ entry: ServiceEntry, pretty: Bool) -> [UInt8] {
        let compact: [UInt8]
        if let c = entry.compact {
            compact = c
        } else {
            var out: [UInt8] = [UInt8(ascii: "{")]
            var first = true
            for id in entry.instances.keys.sorted() {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: id.utf8)  // ids need no escaping (Names)
                out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
                out.append(contentsOf: records[Int(entry.instances[id]!)]!.body)
            }
            out.append(UInt8(ascii: "}"))
            entry.compact = out
            compact = out
        }
        if !pretty { return compact }
        if let p = entry.pretty { return p }
        let p = JSONPretty.indent(compact)
        entry.pretty = p
        return p
    }

    /// The body of one registration.
    public func instance(service: String, id: String) -> [UInt8]? {
        guard let slot = services[service]?.instances[id] else { return nil }
        return records[Int(slot)]?.body
    }

    /// The expiry deadline of one registration, if it has one.
    public func deadline(service: String, id: String) -> Int64? {
        guard let slot = services[service]?.instances[id] else { return nil }
        return expiry.deadline(of: slot)
    }

    /// The index at the last change of `service` (0 when it never existed here).
    /// A service that has none any more keeps the index of its removal.
    public func serviceIndex(_ service: String) -> UInt64 { services[service]?.index ?? goneAt[service] ?? 0 }

    /// Every service with its number of live instances, sorted by name.
    public func serviceCounts() -> [(name: String, count: Int)] {
        services.values.map { ($0.name, $0.instances.count) }.sorted { $0.name < $1.name }
    }

    /// How many services have at least one instance.
    public var serviceCount: Int { services.count }

    /// The services holding an instance `id`, with the origin shown for it
    /// (a lookup per service, no copy of their instances).
    public func services(withInstance id: String) -> [(service: String, origin: Int32)] {
        services.values.compactMap { e in e.instances[id].flatMap { records[Int($0)] }.map { (e.name, $0.origin) } }
    }

    /// Whether `service` has an instance.
    public func contains(service: String) -> Bool { services[service] != nil }

    /// Every service with an instance, sorted.
    public var serviceNames: [String] { services.keys.sorted() }

    /// The instances of `service` in id order: id, body and the replica's
    /// origin shown for it.
    public func instances(of service: String) -> [(id: String, body: [UInt8], origin: Int32)] {
        guard let entry = services[service] else { return [] }
        return entry.instances.keys.sorted().map { id in
            let r = records[Int(entry.instances[id]!)]!
            return (id, r.body, r.origin)
        }
    }

    static let empty: [UInt8] = Array("{}".utf8)
    static let emptyPretty: [UInt8] = Array("{}\n".utf8)
}
