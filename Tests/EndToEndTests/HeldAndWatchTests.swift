import Foundation
import XCTest

/// Held registrations (`PUT ?hold`) and blocking queries (`GET ?index=&wait=`)
/// against the real daemon (MISSION D8, B3, B4).
final class HeldAndWatchTests: XCTestCase {
    var daemon: DaemonProcess!
    var port: Int { daemon.port }

    override func setUpWithError() throws {
        daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1", "--idle-timeout", "1"])
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    func ids(_ service: String) throws -> [String] {
        let r = try http("GET", port, "/\(service)")
        return r.json.keys.sorted()
    }

    func test_curlHold_registersWhileOpen_andKillingCurlRemovesItAtOnce() throws {
        let curl = "/usr/bin/curl"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: curl), "curl is not installed")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        p.arguments = ["-sN", "-X", "PUT", "-d", #"{"host":"h","port":1}"#, "http://127.0.0.1:\(port)/web/i1?hold"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        XCTAssertTrue(try eventually(within: 5) { try ids("web") == ["i1"] })
        // Held connections are exempt from the 1 s idle timeout.
        usleep(2_500_000)
        XCTAssertEqual(try ids("web"), ["i1"])
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let start = Date()
        XCTAssertTrue(try eventually(within: 1) { try ids("web").isEmpty })
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.2)
        let first = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        XCTAssertTrue(first.hasPrefix(#"{"environment":"development","cluster":"eu","node":"n1","service":"web","id":"i1","held":true"#), first)
        XCTAssertTrue(daemon.log.contains("event=released service=web id=i1 reason=connection_closed"), daemon.log)
    }

    func test_heldStream_isChunked_namesTheEnvironment_andIsPinged() throws {
        let c = try RawConnection(port: port)
        try c.send("PUT /web/i2?hold HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        var text = ""
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, !text.contains("\r\n1\r\n\n\r\n") {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(c.fd, &buf, buf.count, 0)
            if n <= 0 { break }
            text += String(decoding: buf[0..<n], as: UTF8.self)
        }
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 201 Created\r\n"), text)
        XCTAssertTrue(text.contains("Transfer-Encoding: chunked"), text)
        XCTAssertTrue(text.contains("X-Rarangi-Env: development"), text)
        XCTAssertTrue(text.contains("\r\n1\r\n\n\r\n"), "no ping: \(text)")
        XCTAssertEqual(try http("GET", port, "/_status").json["held"] as? Int, 1)
    }

    func test_holdWithTTL_orAnotherEnvironment_isRefused() throws {
        let r = try http("PUT", port, "/web/a?hold&ttl=5", body: "{}")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.json["error"] as? String, "invalid_hold")
        let w = try http("PUT", port, "/web/a?hold", body: "{}", headers: ["X-Rarangi-Env": "production"])
        XCTAssertEqual(w.status, 421)
        XCTAssertEqual(try ids("web"), [])
    }

    func test_plainPutAfterHold_turnsItIntoATTLRegistration_thatOutlivesTheConnection() throws {
        let c = try RawConnection(port: port)
        try c.send("PUT /web/x?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertTrue(try eventually(within: 2) { try ids("web") == ["x"] })
        XCTAssertEqual(try http("PUT", port, "/web/x", body: #"{"a":1}"#).status, 200)
        shutdown(c.fd, Int32(SHUT_RDWR))
        usleep(200_000)
        XCTAssertEqual(try ids("web"), ["x"])
    }

    func test_blockingQuery_returnsAsSoonAsTheServiceChanges_withTheNewIndex() throws {
        let first = try http("GET", port, "/web")
        let index = try XCTUnwrap(first.header("x-rarangi-index"))
        let waiter = try RawConnection(port: port)
        try waiter.send("GET /web?index=\(index)&wait=20s HTTP/1.1\r\n\r\n")
        usleep(100_000)
        let changedAt = Date()
        XCTAssertEqual(try http("PUT", port, "/web/w1", body: "{}").status, 201)
        let r = try waiter.readResponse()
        XCTAssertLessThan(Date().timeIntervalSince(changedAt), 0.5)
        XCTAssertEqual(r.text, #"{"w1":{}}"#)
        XCTAssertNotEqual(r.header("x-rarangi-index"), index)
        // The connection is usable again afterwards.
        XCTAssertEqual(try waiter.request("GET", "/web").status, 200)
    }

    func test_blockingQuery_timesOutWithTheSameIndex_andBadParametersAre400() throws {
        _ = try http("PUT", port, "/web/a", body: "{}")
        let index = try XCTUnwrap(try http("GET", port, "/web").header("x-rarangi-index"))
        let started = Date()
        let r = try http("GET", port, "/web?index=\(index)&wait=300ms")
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 0.25)
        XCTAssertLessThan(elapsed, 2)
        XCTAssertEqual(r.header("x-rarangi-index"), index)
        XCTAssertEqual(try http("GET", port, "/web?index=\(index)&wait=10m").json["error"] as? String, "invalid_wait")
        XCTAssertEqual(try http("GET", port, "/web?index=x").json["error"] as? String, "invalid_index")
        // A stale index answers at once.
        XCTAssertEqual(try http("GET", port, "/web?index=0&wait=30s").text, #"{"a":{}}"#)
    }

    func test_pipelinedRequestBehindAParkedQuery_isAnsweredAfterIt() throws {
        let index = try XCTUnwrap(try http("GET", port, "/p").header("x-rarangi-index"))
        let c = try RawConnection(port: port)
        try c.send("GET /p?index=\(index)&wait=300ms HTTP/1.1\r\n\r\nGET /_status HTTP/1.1\r\n\r\n")
        let a = try c.readResponse()
        XCTAssertEqual(a.header("x-rarangi-index"), index)
        let b = try c.readResponse()
        XCTAssertNotNil(b.json["uptime_ms"])
    }
}

/// A held registration has one holder (issue: a second hold on another
/// connection took the registration over, and its close removed the instance
/// the first holder still believed registered).
final class OneHolderTests: XCTestCase {
    func test_secondHoldOnAnotherConnection_is409_changesNothing_andFirstHolderKeepsIt() throws {
        let daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"])
        defer { daemon.stop() }
        let first = try RawConnection(port: daemon.port)
        try first.send("PUT /web/i1?hold HTTP/1.1\r\nContent-Length: 23\r\n\r\n" + #"{"host":"h1","port":80}"#)
        XCTAssertTrue(try eventually(within: 2) { try http("GET", daemon.port, "/web").json.keys.sorted() == ["i1"] })
        let index = try XCTUnwrap(try http("GET", daemon.port, "/web").header("x-rarangi-index"))

        let second = try RawConnection(port: daemon.port)
        try second.send("PUT /web/i1?hold HTTP/1.1\r\nContent-Length: 23\r\n\r\n" + #"{"host":"h2","port":81}"#)
        let refused = try second.readResponse()
        XCTAssertEqual(refused.status, 409)
        XCTAssertEqual(refused.json["error"] as? String, "held_elsewhere")
        let now = try http("GET", daemon.port, "/web")
        XCTAssertEqual(now.header("x-rarangi-index"), index, "the refused hold changed nothing")
        XCTAssertEqual((now.json["i1"] as? [String: Any])?["host"] as? String, "h1")

        // The refused connection closing removes nothing.
        shutdown(second.fd, Int32(SHUT_RDWR))
        usleep(300_000)
        XCTAssertEqual((try http("GET", daemon.port, "/web").json["i1"] as? [String: Any])?["host"] as? String, "h1")
        XCTAssertEqual(try http("GET", daemon.port, "/_status").json["held"] as? Int, 1)

        // Once the holder closes, the instance goes, and a new hold succeeds.
        shutdown(first.fd, Int32(SHUT_RDWR))
        XCTAssertTrue(try eventually(within: 2) { try http("GET", daemon.port, "/web").json.isEmpty })
        let third = try RawConnection(port: daemon.port)
        try third.send("PUT /web/i1?hold HTTP/1.1\r\nContent-Length: 23\r\n\r\n" + #"{"host":"h3","port":82}"#)
        XCTAssertTrue(try eventually(within: 2) {
            (try http("GET", daemon.port, "/web").json["i1"] as? [String: Any])?["host"] as? String == "h3"
        })
    }

    func test_aPlainPutOfAHeldId_makesItOrdinary_andAnotherConnectionMayThenHoldIt() throws {
        let daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"])
        defer { daemon.stop() }
        let first = try RawConnection(port: daemon.port)
        try first.send("PUT /web/i1?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertTrue(try eventually(within: 2) { try http("GET", daemon.port, "/web").json.keys.sorted() == ["i1"] })
        XCTAssertEqual(try http("PUT", daemon.port, "/web/i1", body: #"{"a":1}"#).status, 200)
        // No longer a hold: another connection may now hold it.
        let second = try RawConnection(port: daemon.port)
        try second.send("PUT /web/i1?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertEqual(try second.readResponse(headOnly: true).status, 200)
        // The first connection's close now removes nothing; the second's does.
        shutdown(first.fd, Int32(SHUT_RDWR))
        usleep(300_000)
        XCTAssertEqual(try http("GET", daemon.port, "/web").json.keys.sorted(), ["i1"])
        shutdown(second.fd, Int32(SHUT_RDWR))
        XCTAssertTrue(try eventually(within: 2) { try http("GET", daemon.port, "/web").json.isEmpty })
    }
}
