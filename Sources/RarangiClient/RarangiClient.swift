import RarangiProtocol
import Foundation
import NIOHTTP1

/// The client library (MISSION D11): find the daemons of an environment by
/// its name alone, register (held or with a heartbeat), look up and watch
/// services. Every call is async and runs its I/O on the library's own
/// event-loop thread; none blocks the caller's threads.
///
///     let client = RarangiClient(environment: "development")
///     let registration = try await client.register(service: "web", id: "web-1", host: "10.0.0.5", port: 8080)
///     for instance in try await client.lookup("web") { print(instance) }
///     await registration.cancel()   // deregisters
public struct RarangiClient: Sendable {
    /// How daemons are found and what environment they must serve.
    public let configuration: Configuration

    /// Creates a client.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Creates a client of `environment`, optionally pointed at explicit daemons.
    public init(environment: String, servers: [Endpoint] = []) {
        self.init(Configuration(environment: environment, servers: servers))
    }

    /// One formatter for every registration (creating one is costly; formatting is thread-safe).
    nonisolated(unsafe) static let timestamp = ISO8601DateFormatter()

    /// Every live instance of `service`, sorted by id.
    public func lookup(_ service: String) async throws -> [Instance] {
        try await snapshot(service).instances
    }

    /// The instances of `service` with the answering daemon's index.
    public func snapshot(_ service: String) async throws -> ServiceSnapshot {
        let (reply, server) = try await request(.GET, "/\(service)")
        return try ServiceSnapshot(service: service, instances: Instance.decodeList(reply.body),
                                   index: UInt64(reply.headers.first(name: "X-Rarangi-Index") ?? "0") ?? 0, server: server)
    }

    /// The daemon's status document (`GET /_status`) and who answered.
    public func status() async throws -> (json: [String: Any], server: Endpoint) {
        let (reply, server) = try await request(.GET, "/_status")
        guard let o = JSONText.object(reply.body) else { throw RarangiError.protocolError("status is not a JSON object") }
        return (o, server)
    }

    /// Removes an instance (`DELETE /<service>/<id>`).
    public func deregister(service: String, id: String) async throws {
        _ = try await request(.DELETE, "/\(service)/\(id)")
    }

    /// Retires a stopped daemon for good (`DELETE /_members/<name>`): every
    /// daemon purges its registrations and stops counting it as a member.
    /// Returns the life retired and who answered; a daemon refuses a member
    /// that is alive (409) or unknown (404).
    public func forget(member name: String) async throws -> (generation: UInt64, server: Endpoint) {
        let (reply, server) = try await request(.DELETE, "/_members/\(name)")
        guard let o = JSONText.object(reply.body), let g = o["generation"] as? NSNumber else {
            throw RarangiError.protocolError("the answer to forget is not {\"forgotten\": …, \"generation\": …}")
        }
        return (g.uint64Value, server)
    }

    /// Registers an instance and keeps it registered until the returned
    /// handle is cancelled. Returns once the first daemon has accepted it;
    /// throws when one refuses it or serves another environment, and when
    /// none can be reached, unless `requireDaemon` is false: then it returns
    /// at once and keeps trying in the background, with back-off.
    public func register(service: String, id: String, host: String? = nil, port: Int? = nil,
                         metadata: [String: String] = [:], lifetime: Lifetime = .held,
                         requireDaemon: Bool = true) async throws -> Registration {
        var object: [String: Any] = [:]
        for (k, v) in metadata { object[k] = v }
        if let host { object["host"] = host }
        if let port { object["port"] = port }
        object["started_at"] = RarangiClient.timestamp.string(from: Date())
        return try await register(service: service, id: id, body: JSONText.encode(object), lifetime: lifetime,
                                  requireDaemon: requireDaemon)
    }

    /// Registers an instance with a JSON object body of your own.
    public func register(service: String, id: String, body: [UInt8], lifetime: Lifetime = .held,
                         requireDaemon: Bool = true) async throws -> Registration {
        let registration = Registration(client: self, service: service, id: id, body: body, lifetime: lifetime,
                                        requireDaemon: requireDaemon)
        try await registration.start()
        return registration
    }

    /// The instances of `service` now and after every change, without
    /// polling: a blocking query parked on the daemon (MISSION B4). Fails
    /// over between daemons like a held registration.
    public func watch(_ service: String, waitSeconds: Int = 30) -> ServiceWatch {
        ServiceWatch(client: self, service: service, waitSeconds: waitSeconds)
    }

    /// Sends a request to the first daemon that answers, trying each
    /// candidate in turn; environment mismatches and refusals are thrown at once.
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> (Reply, Endpoint) {
        var tried: [String] = []
        for server in try configuration.candidates() {
            do {
                let reply = try await HTTPConnection.exchange(server, config: configuration, method: method, path: path, body: body)
                try reply.requireSuccess()
                return (reply, server)
            } catch let e as RarangiError where e.isRetryable {
                tried.append("\(server)")
                if Task.isCancelled { throw CancellationError() }
                continue
            }
        }
        throw RarangiError.noDaemonReachable(tried: tried)
    }
}
