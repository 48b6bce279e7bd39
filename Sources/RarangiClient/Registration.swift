import RarangiProtocol
import Foundation
import NIOCore

/// A registration kept alive in the background until `cancel()`: held on an
/// open connection (re-registered through the next daemon the moment that
/// connection is lost, then with back-off), or refreshed by heartbeats.
public final class Registration: @unchecked Sendable {
    /// The service registered.
    public let service: String
    /// The instance id.
    public let id: String
    /// How it stays alive.
    public let lifetime: Lifetime

    private let client: RarangiClient
    private let body: [UInt8]
    private let requireDaemon: Bool
    private let lock = NSLock()
    private var task: Task<Void, Never>?
    private var currentServer: Endpoint?
    private var registrations = 0
    private let first = OneShot()
    private var detached = false

    init(client: RarangiClient, service: String, id: String, body: [UInt8], lifetime: Lifetime, requireDaemon: Bool) {
        self.client = client
        self.requireDaemon = requireDaemon
        self.service = service
        self.id = id
        self.body = body
        self.lifetime = lifetime
    }

    /// The daemon that holds the registration now (nil while reconnecting).
    public var server: Endpoint? { lock.withLock { currentServer } }

    /// How many times the registration was (re)made, on any daemon.
    public var timesRegistered: Int { lock.withLock { registrations } }

    private var config: Configuration { client.configuration }

    func start() async throws {
        let t = Task { [self] in
            switch lifetime {
            case .held: await holdLoop()
            case let .heartbeat(ttl): await heartbeatLoop(ttlSeconds: ttl)
            }
        }
        lock.withLock { task = t }
        do {
            try await first.wait()
        } catch {
            t.cancel()
            throw error
        }
    }

    /// Deregisters: closes the held connection (the daemon deletes the
    /// registration at once) or deletes the heartbeat registration.
    /// Returns when that is done.
    public func cancel() async {
        let t = lock.withLock { task }
        t?.cancel()
        await t?.value
    }

    private func registered(on server: Endpoint) {
        lock.withLock {
            currentServer = server
            registrations += 1
        }
        config.logLine("info", "registered", [("service", service), ("id", id), ("server", server.description),
                                               ("lifetime", lifetimeName)])
        first.resolve(.success(()))
    }

    private var lifetimeName: String {
        switch lifetime {
        case .held: return "held"
        case let .heartbeat(ttl): return "ttl=\(ttl)"
        }
    }

    private func lost(_ server: Endpoint, _ why: String) {
        lock.withLock { currentServer = nil }
        config.logLine("warn", "registration_lost", [("service", service), ("id", id), ("server", server.description),
                                                     ("reason", why)])
    }

    /// Ends the loop for good: a mismatch or a refusal no retry can fix.
    private func fail(_ error: Error) {
        if first.isResolved {
            config.logLine("error", "registration_failed", [("service", service), ("id", id), ("error", "\(error)")])
        }
        first.resolve(.failure(error))
    }

    /// Stops keeping the registration alive without deregistering: a
    /// heartbeat registration then expires after its TTL (`rarangi register --ttl`).
    public func detach() {
        lock.withLock { detached = true }
        lock.withLock { task }?.cancel()
    }

    /// The first round reached no daemon: fails `register` when a daemon is
    /// required; otherwise lets it return and keeps trying (false: stop).
    private func pendingWithoutDaemon(_ error: Error) -> Bool {
        guard !requireDaemon else {
            first.resolve(.failure(error))
            return false
        }
        config.logLine("warn", "registration_pending", [("service", service), ("id", id), ("error", "\(error)"),
                                                        ("action", "retrying in the background")])
        first.resolve(.success(()))
        return true
    }

    // MARK: held

    private func holdLoop() async {
        var backoff = Backoff()
        // Holds lost within a second of being made, in a row: a daemon that
        // keeps dropping us is backed off from; any other loss fails over at once.
        var shortHolds = 0
        while !Task.isCancelled {
            let candidates: [Endpoint]
            do { candidates = try config.candidates() } catch { fail(error); return }
            var tried: [String] = []
            var heldLongEnough = false
            for server in candidates where !Task.isCancelled {
                let started = DispatchTime.now().uptimeNanoseconds
                var wasHeld = false
                do {
                    try await holdOnce(server) {
                        wasHeld = true
                        self.registered(on: server)
                    }
                    if wasHeld, !Task.isCancelled { lost(server, "closed by the daemon") }
                } catch let e as RarangiError where !e.isRetryable {
                    fail(e)
                    return
                } catch {
                    if wasHeld, !Task.isCancelled { lost(server, "\(error)") }
                    tried.append("\(server)")
                }
                if wasHeld {
                    // Start over from slot a at once; a daemon that drops us
                    // within a second counts as a failure and backs off.
                    let long = DispatchTime.now().uptimeNanoseconds - started >= 1_000_000_000
                    shortHolds = long ? 0 : shortHolds + 1
                    heldLongEnough = shortHolds <= 1
                    break
                }
            }
            if Task.isCancelled { return }
            if heldLongEnough {
                if shortHolds == 0 { backoff.reset() }
                continue
            }
            if !first.isResolved, !pendingWithoutDaemon(RarangiError.noDaemonReachable(tried: tried)) { return }
            let delay = backoff.nextDelayMs()
            config.logLine("info", "reconnect_backoff", [("service", service), ("id", id), ("delay_ms", "\(delay)")])
            try? await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000)
        }
    }

    /// Holds the registration on one daemon until the stream ends; calls
    /// `onHeld` once the daemon's first line confirms it.
    private func holdOnce(_ server: Endpoint, onHeld: () -> Void) async throws {
        let conn = try await HTTPConnection.connect(to: server, config: config, idleMs: config.silenceTimeoutMs)
        try await withTaskCancellationHandler {
            conn.send(method: .PUT, path: "/\(service)/\(id)?hold", body: body, environment: config.environment, token: config.token, keepOpen: true)
            var errorReply: Reply?
            var pending: [UInt8] = []
            var confirmed = false
            for try await part in conn.parts {
                switch part {
                case let .head(status, headers):
                    try conn.checkEnvironment(headers, config: config)
                    if status >= 300 { errorReply = Reply(status: status, headers: headers, body: []) }
                case var .body(buffer):
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    if errorReply != nil {
                        errorReply!.body += bytes
                        continue
                    }
                    pending += bytes
                    while let nl = pending.firstIndex(of: 10) {
                        let line = Array(pending[..<nl])
                        pending.removeFirst(nl + 1)
                        if confirmed || line.isEmpty { continue }  // pings
                        // The stream's first message names the daemon's environment.
                        let found = JSONText.object(line)?["environment"] as? String ?? "(none)"
                        try HTTPConnection.checkEnvironment(found: found, server: server, config: config, close: conn.close)
                        confirmed = true
                        onHeld()
                    }
                case .end:
                    conn.close()
                    if let errorReply { try errorReply.requireSuccess() }
                    return
                }
            }
            if let errorReply { try errorReply.requireSuccess() }
        } onCancel: {
            conn.close()
        }
        if Task.isCancelled { try? await conn.channel.closeFuture.get() }
    }

    // MARK: heartbeat

    private func heartbeatLoop(ttlSeconds: Int) async {
        var backoff = Backoff()
        let period = UInt64(max(1, ttlSeconds) * 1000 / 3) * 1_000_000
        var lastServer: Endpoint?
        while !Task.isCancelled {
            do {
                let (_, server) = try await client.request(.PUT, "/\(service)/\(id)?ttl=\(ttlSeconds)", body: body)
                if lastServer != server { registered(on: server) }
                lastServer = server
                backoff.reset()
                try? await Task.sleep(nanoseconds: period)
            } catch let e as RarangiError where !e.isRetryable {
                fail(e)
                return
            } catch {
                if Task.isCancelled { break }
                if !first.isResolved, !pendingWithoutDaemon(error) { return }
                if let s = lastServer { lost(s, "\(error)") }
                lastServer = nil
                try? await Task.sleep(nanoseconds: UInt64(backoff.nextDelayMs()) * 1_000_000)
            }
        }
        if lock.withLock({ detached }) { return }
        // Cancelled: deregister where we registered (detached from the cancellation).
        let client = self.client, service = self.service, id = self.id
        await Task.detached { _ = try? await client.request(.DELETE, "/\(service)/\(id)") }.value
    }
}
