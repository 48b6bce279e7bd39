/// Refused peers are logged once per address per minute, with how many
/// refusals the minute held: a misconfigured or hostile peer retrying every
/// second cannot flood the log, and the operator still sees every address.
struct RefusalLog {
    /// How long a logged address stays quiet.
    static let intervalMs: Int64 = 60_000
    /// Addresses remembered at most (older ones are dropped first).
    static let maxAddresses = 4096

    private var entries: [String: (at: Int64, suppressed: Int)] = [:]

    /// Whether a refusal from `address` is logged now; when it is, the
    /// number of refusals from it that were not logged since the last line.
    mutating func admit(_ address: String, now: Int64) -> Int? {
        if let e = entries[address], now - e.at < RefusalLog.intervalMs {
            entries[address] = (e.at, e.suppressed + 1)
            return nil
        }
        let suppressed = entries[address]?.suppressed ?? 0
        if entries.count >= RefusalLog.maxAddresses {
            entries = entries.filter { now - $0.value.at < RefusalLog.intervalMs }
            if entries.count >= RefusalLog.maxAddresses { entries.removeAll() }
        }
        entries[address] = (now, 0)
        return suppressed
    }
}
