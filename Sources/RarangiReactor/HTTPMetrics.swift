import RarangiWire

/// What the shell counts of the HTTP side for `/metrics`: requests by
/// route and status, the time each route's requests took to be answered,
/// and connections timed out by reason. Plain values owned by the reactor
/// thread: an increment is an add, no lock.
struct HTTPMetrics {
    /// The route label of a request.
    enum RouteLabel: UInt8, CaseIterable {
        case lookup, instance, register, deregister, services, deltas, hold, watch
        case status, metrics, targets, ui, forget, peer, rejected, consul

        var name: String {
            switch self {
            case .lookup: return "lookup"
            case .instance: return "instance"
            case .register: return "register"
            case .deregister: return "deregister"
            case .services: return "services"
            case .deltas: return "deltas"
            case .hold: return "hold"
            case .watch: return "watch"
            case .status: return "status"
            case .metrics: return "metrics"
            case .targets: return "sd_prometheus"
            case .ui: return "ui"
            case .forget: return "forget"
            case .peer: return "peer"
            case .rejected: return "rejected"
            case .consul: return "consul"
            }
        }

        /// The label of a routed request.
        init(_ route: Route) {
            switch route {
            case let .catalogue(r):
                switch r {
                case .register: self = .register
                case .lookup: self = .lookup
                case .instance: self = .instance
                case .deregister: self = .deregister
                case .services: self = .services
                case .deltas: self = .deltas
                case .hold: self = .hold
                case .watch: self = .watch
                }
            case .status: self = .status
            case .forget: self = .forget
            case .peerUpgrade: self = .peer
            case .metrics: self = .metrics
            case .targets: self = .targets
            case .statusPage: self = .ui
            case .consul: self = .consul
            }
        }

        /// The label of a request the router refused: the route its path
        /// and method aim at (a 400 for a bad body is a register's), or
        /// `rejected` when they aim at none.
        init(refused r: HTTPRequest) {
            let path = r.path
            switch path {
            case "/_status": self = .status; return
            case "/metrics": self = .metrics; return
            case "/_ui", "/_ui/": self = .ui; return
            case "/_peer": self = .peer; return
            case "/_deltas": self = .deltas; return
            case "/": self = .services; return
            default: break
            }
            if path.hasPrefix("/_sd/") { self = .targets; return }
            if path.hasPrefix("/v1/") { self = .consul; return }
            if path.hasPrefix("/_members/") { self = .forget; return }
            let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard let first = segments.first, !first.isEmpty, !first.hasPrefix("_") else { self = .rejected; return }
            let query = Query(r.query)
            switch (segments.count, r.method) {
            case (1, .get), (1, .head): self = query.value("index") != nil ? .watch : .lookup
            case (2, .get), (2, .head): self = .instance
            case (2, .put): self = query.value("hold") != nil ? .hold : .register
            case (2, .delete): self = .deregister
            default: self = .rejected
            }
        }
    }

    /// Why a connection was closed by a timer.
    enum Timeout: Int, CaseIterable {
        /// A request not completed within --request-timeout (answered 408).
        case request
        /// A keep-alive connection idle for --idle-timeout.
        case idle
        /// A client that read none of its answers for --idle-timeout.
        case notReading

        var name: String { ["request", "idle", "not_reading"][rawValue] }
    }

    /// Answers by route and status code.
    /// Indexed by route × 600 + status: an add per answer, no hashing.
    private var answers = [UInt64](repeating: 0, count: RouteLabel.allCases.count * 600)
    /// Time from a request's arrival to its answer being queued, per route, in µs.
    private(set) var durations: [Histogram] = Array(repeating: Histogram(bounds: Histogram.microseconds),
                                                     count: RouteLabel.allCases.count)
    /// Connections closed by a timer, by reason.
    private(set) var timeouts: [UInt64] = Array(repeating: 0, count: Timeout.allCases.count)

    /// One answer: `status` for a request of `route` that took `micros`.
    /// An answer to no parsed request (a malformed one, a 503 at the cap,
    /// a 408) counts as `rejected` without a duration.
    mutating func answered(_ route: RouteLabel, status: Int, micros: Int64?) {
        answers[Int(route.rawValue) * 600 + min(max(status, 0), 599)] += 1
        if let micros { durations[Int(route.rawValue)].observe(micros) }
    }

    mutating func timedOut(_ reason: Timeout) { timeouts[reason.rawValue] += 1 }

    /// The answers as (route, status, count), sorted, those that happened.
    var answerCounts: [(route: RouteLabel, status: Int, count: UInt64)] {
        answers.indices.filter { answers[$0] > 0 }.map { (RouteLabel(rawValue: UInt8($0 / 600))!, $0 % 600, answers[$0]) }
    }
}
