import RarangiProtocol
import Foundation

/// The instances of a service now and after every change, as an
/// AsyncSequence of snapshots (MISSION B4). Each snapshot differs from the
/// one before; a daemon change (failover) yields only when the new daemon's
/// view differs. Iterating starts the watch; ending the iteration stops it.
public struct ServiceWatch: AsyncSequence, Sendable {
    /// One snapshot per change.
    public typealias Element = ServiceSnapshot

    let client: RarangiClient
    let service: String
    let waitSeconds: Int

    /// Starts watching.
    public func makeAsyncIterator() -> AsyncThrowingStream<ServiceSnapshot, Error>.AsyncIterator {
        let (stream, continuation) = AsyncThrowingStream<ServiceSnapshot, Error>.makeStream()
        let task = Task { await run(continuation) }
        continuation.onTermination = { _ in task.cancel() }
        return stream.makeAsyncIterator()
    }

    private func run(_ out: AsyncThrowingStream<ServiceSnapshot, Error>.Continuation) async {
        let config = client.configuration
        var backoff = Backoff()
        var last: [Instance]?
        func emit(_ reply: Reply, _ server: Endpoint) throws -> UInt64 {
            try reply.requireSuccess()
            let index = UInt64(reply.headers.first(name: "X-Rarangi-Index") ?? "0") ?? 0
            let instances = try Instance.decodeList(reply.body)
            if instances != last {
                last = instances
                out.yield(ServiceSnapshot(service: service, instances: instances, index: index, server: server))
            }
            return index
        }
        while !Task.isCancelled {
            let candidates: [Endpoint]
            do { candidates = try config.candidates() } catch { out.finish(throwing: error); return }
            var progressed = false
            for server in candidates where !Task.isCancelled {
                do {
                    var index = try emit(try await HTTPConnection.exchange(server, config: config, method: .GET,
                                                                           path: "/\(service)"), server)
                    progressed = true
                    backoff.reset()
                    while !Task.isCancelled {
                        let reply = try await HTTPConnection.exchange(
                            server, config: config, method: .GET, path: "/\(service)?index=\(index)&wait=\(waitSeconds)s",
                            idleMs: Int64(waitSeconds) * 1000 + config.silenceTimeoutMs)
                        index = try emit(reply, server)
                    }
                } catch let e as RarangiError where !e.isRetryable {
                    out.finish(throwing: e)
                    return
                } catch {
                    if Task.isCancelled { break }
                    if progressed {
                        config.logLine("warn", "watch_lost", [("service", service), ("server", server.description),
                                                             ("reason", "\(error)")])
                        break  // start over from slot a at once
                    }
                }
            }
            if Task.isCancelled || progressed { continue }
            try? await Task.sleep(nanoseconds: UInt64(backoff.nextDelayMs()) * 1_000_000)
        }
        out.finish()
    }
}
