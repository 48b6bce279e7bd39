import Foundation
import RarangiClient
import XCTest

/// The RarangiClient library against real daemons on loopback (MISSION D3, D5, D7, D10, D11, B4).
final class ClientLibraryTests: XCTestCase {
    /// Collects log lines the library writes.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.withLock { lines.append(s) } }
        var all: [String] { lock.withLock { lines } }
    }

    /// Collects watch snapshots.
    final class Snapshots: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [ServiceSnapshot] = []
        func add(_ s: ServiceSnapshot) { lock.withLock { items.append(s) } }
        var all: [ServiceSnapshot] { lock.withLock { items } }
    }

    func ids(_ port: Int, _ service: String) -> [String] {
        (try? http("GET", port, "/\(service)").json.keys.sorted()) ?? ["<unreachable>"]
    }

    func test_registerHeld_lookup_cancelDeregisters() async throws {
        let d = try DaemonProcess(["--env", "development"])
        defer { d.stop() }
        let client = RarangiClient(environment: "development", servers: [Endpoint(host: "127.0.0.1", port: d.port)])
        let r = try await client.register(service: "web", id: "w1", host: "10.1.1.1", port: 80, metadata: ["zone": "a"])
        XCTAssertEqual(r.server?.port, d.port)
        let found = try await client.lookup("web")
        XCTAssertEqual(found.map(\.id), ["w1"])
        XCTAssertEqual(found.first?.host, "10.1.1.1")
        XCTAssertEqual(found.first?.port, 80)
        XCTAssertEqual(found.first?.metadata["zone"], "a")
        await r.cancel()
        XCTAssertTrue(eventually(within: 1) { ids(d.port, "web").isEmpty })
    }

    func test_heartbeatRegistration_carriesItsTTL_andCancelDeletes() async throws {
        let d = try DaemonProcess(["--env", "development"])
        defer { d.stop() }
        let client = RarangiClient(environment: "development", servers: [Endpoint(host: "127.0.0.1", port: d.port)])
        let r = try await client.register(service: "db", id: "d1", port: 5432, lifetime: .heartbeat(ttlSeconds: 30))
        let before = try await client.lookup("db").map(\.id)
        XCTAssertEqual(before, ["d1"])
        await r.cancel()
        let after = try await client.lookup("db").map(\.id)
        XCTAssertEqual(after, [])
    }

    func test_testingClient_atProductionDaemon_throwsNamingBoth_logs_andWritesNothing() async throws {
        let d = try DaemonProcess(["--env", "production"])
        defer { d.stop() }
        let lines = Lines()
        let client = RarangiClient(Configuration(environment: "testing", servers: [Endpoint(host: "127.0.0.1", port: d.port)],
                                                 log: { lines.add($0) }))
        let expected = RarangiError.environmentMismatch(expected: "testing", found: "production", server: "127.0.0.1:\(d.port)")
        do {
            _ = try await client.register(service: "web", id: "a", port: 1)
            XCTFail("registered across environments")
        } catch let e as RarangiError {
            XCTAssertEqual(e, expected)
            XCTAssertTrue(e.description.contains("testing") && e.description.contains("production"))
        }
        do {
            _ = try await client.lookup("web")
            XCTFail("read across environments")
        } catch let e as RarangiError {
            XCTAssertEqual(e, expected)
        }
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("level=error event=environment_mismatch expected=testing found=production") }, "\(lines.all)")
        XCTAssertEqual(try http("GET", d.port, "/_status").json["instances"] as? Int, 0)
    }

    func test_discovery_usesTheWellKnownSlots_andFallsBackToSlotB() async throws {
        let b = try DaemonProcess(["--env", "staging"])
        defer { b.stop() }
        // Slot a is a port nothing listens on.
        let unused = try DaemonProcess(["--env", "staging"])
        let deadPort = unused.port
        unused.stop()
        setenv("RARANGI_PORTS_STAGING", "\(deadPort),\(b.port)", 1)
        defer { unsetenv("RARANGI_PORTS_STAGING") }
        let client = RarangiClient(environment: "staging")
        XCTAssertEqual(try Configuration(environment: "staging").candidates().map(\.port), [deadPort, b.port])
        let r = try await client.register(service: "s", id: "i", port: 1)
        XCTAssertEqual(r.server?.port, b.port)
        XCTAssertEqual(ids(b.port, "s"), ["i"])
        await r.cancel()
        // An explicit server overrides discovery.
        XCTAssertEqual(try Configuration(environment: "staging", servers: [Endpoint(parsing: "h:1")!]).candidates(), [Endpoint(parsing: "h:1")!])
        // No daemon at all: a clear error naming what was tried.
        setenv("RARANGI_PORTS_STAGING", "\(deadPort),\(deadPort)", 1)
        do {
            _ = try await client.lookup("s")
            XCTFail("no daemon, yet an answer")
        } catch let RarangiError.noDaemonReachable(tried) {
            XCTAssertEqual(tried.count, 2)
        }
    }

    func test_restartOfSlotA_heldRegistrationReappearsViaSlotB_within2s_andTheWatcherFollowsIt() async throws {
        let a = try DaemonProcess(["--env", "development", "--name", "a"])
        let b = try DaemonProcess(["--env", "development", "--name", "b", "--slot", "b"])
        defer { b.stop() }
        let aPort = a.port
        setenv("RARANGI_PORTS_DEVELOPMENT", "\(aPort),\(b.port)", 1)
        defer { unsetenv("RARANGI_PORTS_DEVELOPMENT") }
        let holder = RarangiClient(Configuration(environment: "development", log: { _ in }))
        let watcher = RarangiClient(Configuration(environment: "development", log: { _ in }))
        let seen = Snapshots()
        let watch = Task {
            for try await s in watcher.watch("web") { seen.add(s) }
        }
        defer { watch.cancel() }
        let r = try await holder.register(service: "web", id: "w1", port: 80)
        XCTAssertEqual(r.server?.port, aPort)
        XCTAssertTrue(eventually(within: 2) { seen.all.last?.ids == ["w1"] })

        a.stop()
        let stopped = Date()
        XCTAssertTrue(eventually(within: 2) { ids(b.port, "web") == ["w1"] }, "not re-registered via slot b")
        // The daemon shows the hold as soon as it has read it; the client
        // knows it holds on slot b once it has read the stream's head.
        XCTAssertTrue(eventually(within: 2) { r.server?.port == b.port }, "the client does not report slot b: \(String(describing: r.server))")
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 2)
        // The watcher fails over to slot b too. Whether it sees the instance
        // gone depends on which of the two clients reaches slot b first:
        // present (slot a) → gone → present (slot b), or present throughout
        // (a failover to an equal view yields nothing). The gone may come
        // from slot a itself: stopping, it releases the holds it had.
        func sinceRegistered() -> [[String]] { Array(seen.all.map(\.ids).drop { $0 != ["w1"] }) }
        XCTAssertTrue(eventually(within: 2) {
            seen.all.last?.ids == ["w1"] && (sinceRegistered().count == 1 || seen.all.last?.server.port == b.port)
        }, "\(seen.all)")
        XCTAssertTrue([[["w1"]], [["w1"], [], ["w1"]]].contains(sinceRegistered()), "\(seen.all)")

        // Slot a comes back empty; the registration stays on slot b.
        let a2 = try DaemonProcess(["--env", "development", "--name", "a", "--listen", "127.0.0.1:\(aPort)"])
        defer { a2.stop() }
        XCTAssertEqual(ids(b.port, "web"), ["w1"])
        await r.cancel()
        XCTAssertTrue(eventually(within: 1) { ids(b.port, "web").isEmpty })
        // The watcher is on slot b: it sees the release there.
        XCTAssertTrue(eventually(within: 2) { seen.all.last?.ids == [] && seen.all.last?.server.port == b.port }, "\(seen.all)")
    }

    func test_loneDaemonRestart_heldRegistrationReturns_afterAFirstRetryWithin1to2s() async throws {
        let d = try DaemonProcess(["--env", "development"])
        let port = d.port
        let lines = Lines()
        let client = RarangiClient(Configuration(environment: "development", servers: [Endpoint(host: "127.0.0.1", port: port)],
                                                 log: { lines.add($0) }))
        let r = try await client.register(service: "web", id: "solo", port: 80)
        d.stop()
        let restarted = Date()
        let d2 = try DaemonProcess(["--env", "development", "--listen", "127.0.0.1:\(port)"])
        defer { d2.stop() }
        XCTAssertTrue(eventually(within: 3) { ids(port, "web") == ["solo"] })
        XCTAssertLessThan(Date().timeIntervalSince(restarted), 2.5)
        let delays = lines.all.compactMap { line -> Int? in
            guard line.contains("event=reconnect_backoff"), let r = line.range(of: "delay_ms=") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertEqual(delays.count, 1, "\(lines.all)")
        XCTAssertTrue((1000...2000).contains(delays.first ?? 0), "\(delays)")
        // The daemon lists it a moment before the client reads its confirmation.
        XCTAssertTrue(eventually(within: 1) { r.timesRegistered == 2 }, "\(r.timesRegistered)")
        await r.cancel()
    }

    func test_watch_hearsOfAChangeWithinMilliseconds() async throws {
        let d = try DaemonProcess(["--env", "development"])
        defer { d.stop() }
        let client = RarangiClient(environment: "development", servers: [Endpoint(host: "127.0.0.1", port: d.port)])
        var iterator = client.watch("api").makeAsyncIterator()
        let initial = try await iterator.next()
        XCTAssertEqual(initial?.ids, [])
        try await Task.sleep(nanoseconds: 100_000_000)
        let started = Date()
        XCTAssertEqual(try http("PUT", d.port, "/api/x", body: "{}").status, 201)
        let next = try await iterator.next()
        XCTAssertEqual(next?.ids, ["x"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.2)
    }

    func test_backoff_firstRetryWithin1to2s_doublingWithJitter_cappedAt5Minutes() {
        for _ in 0..<100 {
            var b = Backoff()
            let first = b.nextDelayMs()
            XCTAssertTrue((1000...2000).contains(first), "\(first)")
            let second = b.nextDelayMs()
            XCTAssertTrue((2000...4000).contains(second), "\(second)")
            for _ in 0..<30 { XCTAssertLessThanOrEqual(b.nextDelayMs(), 300_000) }
        }
    }
}
