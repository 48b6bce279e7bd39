import Foundation
import XCTest

/// How the daemon treats connections: many at once, stalled, idle, over the
/// cap, out of descriptors — it keeps serving everyone else.
final class ConnectionHandlingTests: XCTestCase {
    func status(_ port: Int) throws -> [String: Any] { try http("GET", port, "/_status").json }
    func connections(_ port: Int) throws -> [String: Int] {
        (try status(port)["connections"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
    }

    func test_thousandConcurrentConnections_areAllServed() throws {
        let daemon = try DaemonProcess(["--env", "development"])
        defer { daemon.stop() }
        XCTAssertEqual(try http("PUT", daemon.port, "/web/a", body: #"{"port":1}"#).status, 201)
        var open: [RawConnection] = []
        for _ in 0..<1000 { open.append(try RawConnection(port: daemon.port)) }
        XCTAssertEqual(try connections(daemon.port)["open"], 1001)
        // Every one sends its request before any reads its answer.
        for c in open { try c.send("GET /web HTTP/1.1\r\nHost: x\r\n\r\n") }
        for c in open {
            let r = try c.readResponse()
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.text, #"{"a":{"port":1}}"#)
        }
        open.removeAll()
        XCTAssertTrue(eventually(within: 5) { (try? self.connections(daemon.port)["open"]) == 1 })
    }

    func test_halfSentRequest_timesOutWith408_whileOthersAreServed() throws {
        let daemon = try DaemonProcess(["--env", "development", "--request-timeout", "1"])
        defer { daemon.stop() }
        let staller = try RawConnection(port: daemon.port)
        try staller.send("PUT /web/stall HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"por")
        let startedAt = Date()
        // Another client is served at once while the first one stalls.
        XCTAssertEqual(try http("GET", daemon.port, "/web").status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(startedAt), 0.5)
        let r = try staller.readResponse()
        XCTAssertEqual(r.status, 408)
        XCTAssertEqual(r.json["error"] as? String, "request_timeout")
        let waited = Date().timeIntervalSince(startedAt)
        XCTAssertGreaterThanOrEqual(waited, 0.9)
        XCTAssertLessThan(waited, 3)
        XCTAssertTrue(staller.readUntilClosed())
        XCTAssertEqual(try http("GET", daemon.port, "/web").text, "{}")

        // A request line that never finishes is timed out the same way.
        let slowHead = try RawConnection(port: daemon.port)
        try slowHead.send("GET /we")
        XCTAssertEqual(try slowHead.readResponse().status, 408)
    }

    /// A half-sent request pipelined behind a blocking query is timed from
    /// when the query is answered and the daemon reads on: it gets its 408,
    /// not a silent close by the idle timeout.
    func test_halfSentRequestBehindAParkedQuery_timesOutWith408AfterTheAnswer() throws {
        let daemon = try DaemonProcess(["--env", "development", "--request-timeout", "1", "--idle-timeout", "6"])
        defer { daemon.stop() }
        XCTAssertEqual(try http("PUT", daemon.port, "/t/a", body: #"{"port":1}"#).status, 201)
        let c = try RawConnection(port: daemon.port)
        let first = try c.request("GET", "/t")
        let index = try XCTUnwrap(first.headers["x-rarangi-index"])
        let startedAt = Date()
        try c.send("GET /t?index=\(index)&wait=2s HTTP/1.1\r\nHost: x\r\n\r\nGET /t HTTP/1.1\r\nHo")
        XCTAssertEqual(try c.readResponse().status, 200)  // the query, at its wait
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 408)
        XCTAssertEqual(r.json["error"] as? String, "request_timeout")
        let waited = Date().timeIntervalSince(startedAt)
        XCTAssertGreaterThanOrEqual(waited, 2.9)
        XCTAssertLessThan(waited, 5, "not the idle timeout's close (6 s)")
    }

    func test_idleKeepAliveConnection_isClosedAfterIdleTimeout() throws {
        let daemon = try DaemonProcess(["--env", "development", "--idle-timeout", "1"])
        defer { daemon.stop() }
        let c = try RawConnection(port: daemon.port)
        XCTAssertEqual(try c.request("GET", "/").status, 200)
        let t0 = Date()
        XCTAssertTrue(c.readUntilClosed())
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3)
    }

    func test_connectionsBeyondTheCap_get503_andTheCapHolds() throws {
        let daemon = try DaemonProcess(["--env", "development", "--max-connections", "16", "--max-connections-per-address", "16"])
        defer { daemon.stop() }
        var held: [RawConnection] = []
        for _ in 0..<16 { held.append(try RawConnection(port: daemon.port)) }
        XCTAssertTrue(eventually(within: 2) { (try? self.openCount(daemon.port, extra: held)) ?? false })
        // Every slot busy (a request under way on each): nothing to make room with.
        for c in held { try c.send("GET /_status HTTP/1.1\r\n") }
        usleep(100_000)
        let over = try RawConnection(port: daemon.port)
        let r = try over.readResponse()
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.json["error"] as? String, "too_many_connections")
        XCTAssertEqual(r.header("retry-after"), "1")
        XCTAssertTrue(over.readUntilClosed())
        // The held connections still work.
        try held[0].send("Host: x\r\n\r\n")
        XCTAssertEqual(try held[0].readResponse().status, 200)
        held.removeAll()
        XCTAssertTrue(eventually(within: 3) { (try? http("GET", daemon.port, "/").status) == 200 })
    }

    /// 10,000 idle sockets cannot lock others out: at the cap the idlest
    /// keep-alive connection is closed and the new client is served.
    func test_atTheCap_theIdlestKeepAliveConnection_makesRoomForANewClient() throws {
        let daemon = try DaemonProcess(["--env", "development", "--max-connections", "16", "--max-connections-per-address", "16"])
        defer { daemon.stop() }
        var idle: [RawConnection] = []
        for _ in 0..<16 {
            let c = try RawConnection(port: daemon.port)
            XCTAssertEqual(try c.request("GET", "/").status, 200)
            idle.append(c)
        }
        var fresh: [RawConnection] = []
        for i in 0..<20 {
            let c = try RawConnection(port: daemon.port)
            XCTAssertEqual(try c.request("GET", "/").status, 200, "new client \(i) was not served")
            fresh.append(c)
        }
        // The first (idlest) connections were the ones closed.
        for c in idle { XCTAssertTrue(c.readUntilClosed()) }
        let s = try fresh[19].request("GET", "/_status").json["connections"] as? [String: Any]
        XCTAssertGreaterThanOrEqual(s?["idle_closed_at_cap"] as? Int ?? 0, 16)
        XCTAssertEqual(s?["rejected"] as? Int, 0)
    }

    func test_oneAddress_cannotTakeMoreThanItsShare_othersAreServed() throws {
        let daemon = try DaemonProcess(["--env", "development", "--listen", "127.0.0.1:0", "--max-connections-per-address", "4"])
        defer { daemon.stop() }
        var mine: [RawConnection] = []
        for _ in 0..<4 { mine.append(try RawConnection(port: daemon.port)) }
        XCTAssertEqual(try mine[3].request("GET", "/").status, 200)
        let over = try RawConnection(port: daemon.port)
        let r = try over.readResponse()
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.json["error"] as? String, "too_many_connections_from_address")
        // Another address is served; and once one of ours closes, we are again.
        let other = try RawConnection(port: daemon.port, source: "127.0.0.2")
        XCTAssertEqual(try other.request("GET", "/").status, 200)
        mine.removeFirst()
        XCTAssertTrue(eventually(within: 3) { (try? http("GET", daemon.port, "/").status) == 200 })
        XCTAssertTrue(daemon.log.contains("event=connection_refused"), daemon.log)
    }

    /// Checks through one of the held connections that the daemon counts all 16.
    private func openCount(_ port: Int, extra held: [RawConnection]) throws -> Bool {
        let s = try held[0].request("GET", "/_status").json
        return (s["connections"] as? [String: Any])?["open"] as? Int == 16
    }

    func test_tenThousandConnectionsOpenedAndClosed_leaveNothingBehind() throws {
        let daemon = try DaemonProcess(["--env", "development"])
        defer { daemon.stop() }
        _ = try http("GET", daemon.port, "/")
        let rssBefore = daemon.residentBytes
        for batch in 0..<100 {
            var conns: [RawConnection] = []
            for _ in 0..<100 { conns.append(try RawConnection(port: daemon.port)) }
            // Half of them make a request, half close without a word.
            for (i, c) in conns.enumerated() where i % 2 == 0 {
                XCTAssertEqual(try c.request("GET", "/web").status, 200, "batch \(batch)")
            }
        }
        XCTAssertTrue(eventually(within: 5) { (try? self.connections(daemon.port)) == nil ? false :
            (try! self.connections(daemon.port))["open"] == 1 })
        let counts = try connections(daemon.port)
        XCTAssertGreaterThanOrEqual(counts["accepted"] ?? 0, 10_000)
        // Every Connection object was freed: only the status request's own is alive.
        XCTAssertEqual(counts["objects"], 1)
        let grown = daemon.residentBytes - rssBefore
        XCTAssertLessThan(grown, 8 << 20, "resident memory grew by \(grown) bytes")
    }

    func test_outOfFileDescriptors_pausesAcceptingWithoutSpinning_andRecovers() throws {
        // A tiny descriptor limit makes accept() fail with EMFILE.
        let daemon = try DaemonProcess(["/bin/sh", "-c", "ulimit -n 24; exec \"$0\" \"$@\"", DaemonProcess.binary.path,
                                        "--env", "development", "--listen", "127.0.0.1:0"], launcher: "/bin/sh")
        defer { daemon.stop() }
        var conns: [RawConnection] = []
        for _ in 0..<30 { conns.append(try RawConnection(port: daemon.port)) }
        XCTAssertTrue(eventually(within: 3) { daemon.log.contains("event=accept_paused") }, daemon.log)
        let cpuBefore = daemon.cpuSeconds
        usleep(1_000_000)
        let cpu = daemon.cpuSeconds - cpuBefore
        XCTAssertLessThan(cpu, 0.3, "the daemon spun while out of descriptors: \(cpu)s of CPU in 1s")
        conns.removeAll()
        XCTAssertTrue(eventually(within: 5) { (try? http("GET", daemon.port, "/").status) == 200 })
    }
}
