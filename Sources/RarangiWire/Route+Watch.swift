/// Blocking queries: `GET /<service>?index=N&wait=D` (MISSION B4).
extension Router {
    /// The longest a blocking query may wait.
    public static let maxWaitMs: Int64 = 300_000
    /// How long a blocking query waits when it names no `wait`.
    public static let defaultWaitMs: Int64 = 30_000

    /// The watch request for a lookup carrying `index`, an error for a bad
    /// `index` or `wait`, or nil when the lookup is a plain one.
    func watchRequest(service: String, query: Query, pretty: Bool) -> Result<CatalogueRequest, HTTPResponse>? {
        if query.isEmpty { return nil }
        guard let rawIndex = query.value("index") else {
            if query.value("wait") != nil {
                return .failure(.error(400, "invalid_wait", "wait needs index: GET /<service>?index=N&wait=30s"))
            }
            return nil
        }
        guard let index = UInt64(rawIndex) else {
            return .failure(.error(400, "invalid_index", "index must be a whole number, as sent in X-Rarangi-Index"))
        }
        var waitMs = Router.defaultWaitMs
        if let rawWait = query.value("wait") {
            guard let ms = Router.parseDuration(rawWait), ms <= Router.maxWaitMs else {
                return .failure(.error(400, "invalid_wait",
                                       "wait is a duration such as 500ms, 30s or 5m, at most 5m"))
            }
            waitMs = ms
        }
        return .success(.watch(service: service, pretty: pretty, index: index, waitMs: waitMs))
    }

    /// `250ms`, `30s`, `5m`, or a bare number of seconds, in milliseconds.
    public static func parseDuration(_ text: String) -> Int64? {
        var digits = Substring(text)
        var scale: Int64 = 1000
        if digits.hasSuffix("ms") {
            digits = digits.dropLast(2)
            scale = 1
        } else if digits.hasSuffix("s") {
            digits = digits.dropLast()
        } else if digits.hasSuffix("m") {
            digits = digits.dropLast()
            scale = 60_000
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let n = Int64(digits) else { return nil }
        return n * scale
    }
}
