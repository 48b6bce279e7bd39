import Foundation
import XCTest

/// A held registration whose request arrives in more than one read: curl's
/// `Expect: 100-continue` (older curls send it by themselves for bodies over
/// 1 KB), a client
/// that pauses between head and body, or one that writes a byte at a time.
/// Each once killed the daemon; it must hold the registration and keep
/// serving everyone else.
final class SplitReadHoldTests: XCTestCase {
    var daemon: DaemonProcess!
    var port: Int { daemon.port }

    override func setUpWithError() throws {
        daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"])
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    func ids(_ service: String) throws -> [String] {
        try http("GET", port, "/\(service)").json.keys.sorted()
    }

    func test_curlHoldWithExpect100Continue_holdsTheRegistration_andTheDaemonLives() throws {
        let curl = "/usr/bin/curl"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: curl), "curl is not installed")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        p.arguments = ["-sN", "-H", "Expect: 100-continue", "-X", "PUT", "-d", #"{"host":"h","port":1}"#,
                       "http://127.0.0.1:\(port)/web/i1?hold"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        XCTAssertTrue(try eventually(within: 5) { try ids("web") == ["i1"] }, daemon.log)
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(try eventually(within: 2) { try ids("web").isEmpty })
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
    }

    func test_curlHoldWithABodyOver1KB_holdsTheRegistration() throws {
        let curl = "/usr/bin/curl"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: curl), "curl is not installed")
        let filler = String(repeating: "x", count: 2000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        p.arguments = ["-sN", "-X", "PUT", "-d", #"{"host":"h","port":1,"note":"\#(filler)"}"#,
                       "http://127.0.0.1:\(port)/big/i1?hold"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        XCTAssertTrue(try eventually(within: 5) { try ids("big") == ["i1"] }, daemon.log)
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
    }

    func test_holdWithHeadThenPauseThenBody_holds_andInputAfterTheBodyIsIgnored() throws {
        let c = try RawConnection(port: port)
        try c.send("PUT /web/i2?hold HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n")
        usleep(100_000)
        // The body, and bytes after it in the same write: a held stream reads no more requests.
        try c.send("{}GET /web HTTP/1.1\r\n\r\n")
        XCTAssertTrue(try eventually(within: 3) { try ids("web") == ["i2"] }, daemon.log)
        usleep(100_000)
        try c.send("more bytes on a held stream are dropped")
        usleep(100_000)
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
        XCTAssertEqual(try ids("web"), ["i2"])
        shutdown(c.fd, Int32(SHUT_RDWR))
        XCTAssertTrue(try eventually(within: 2) { try ids("web").isEmpty })
    }

    func test_holdSentAByteAtATime_holds() throws {
        let c = try RawConnection(port: port)
        for byte in Array("PUT /web/i3?hold HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\":123}".utf8) {
            try c.send([byte])
            usleep(2_000)
        }
        XCTAssertTrue(try eventually(within: 3) { try ids("web") == ["i3"] }, daemon.log)
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
    }

    func test_holdPipelinedBehindAParkedQuery_startsWhenTheQueryIsAnswered() throws {
        let index = try XCTUnwrap(try http("GET", port, "/p").header("x-rarangi-index"))
        let c = try RawConnection(port: port)
        try c.send("GET /p?index=\(index)&wait=300ms HTTP/1.1\r\n\r\n")
        usleep(50_000)
        try c.send("PUT /web/i4?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
        usleep(50_000)
        try c.send("{}")
        let a = try c.readResponse()
        XCTAssertEqual(a.header("x-rarangi-index"), index)
        XCTAssertTrue(try eventually(within: 3) { try ids("web") == ["i4"] }, daemon.log)
        XCTAssertTrue(daemon.process.isRunning, daemon.log)
    }
}

/// A flush that fails (the client reset its connection) closes it, and what
/// the core does about that close — waking a watcher, pushing a removal —
/// must still be written in the same turn.
final class FlushAfterResetTests: XCTestCase {
    func test_aHolderThatResets_wakesItsWatcher_andTheWatcherKeepsBeingAnswered() throws {
        let daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"])
        defer { daemon.stop() }
        let body = #"{"host":"10.0.0.1","port":80}"#
        XCTAssertEqual(try http("PUT", daemon.port, "/svc/a", body: body).status, 201)
        let index = try XCTUnwrap(try http("GET", daemon.port, "/svc").header("x-rarangi-index"))
        let watcher = try RawConnection(port: daemon.port)
        try watcher.send("GET /svc?index=\(index)&wait=20s HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(200_000)
        // The same body held: it takes the registration over (the index does not
        // move); the holder resets at once, so the stream's first flush fails.
        var holder: RawConnection? = try RawConnection(port: daemon.port)
        try holder!.send("PUT /svc/a?hold HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        var lingerOff = linger(l_onoff: 1, l_linger: 0)
        setsockopt(holder!.fd, SOL_SOCKET, SO_LINGER, &lingerOff, socklen_t(MemoryLayout<linger>.size))
        holder = nil  // closes with a reset
        let answer = try watcher.readResponse()
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.text, "{}")
        XCTAssertNotEqual(answer.header("x-rarangi-index"), index)
        XCTAssertEqual(try watcher.request("GET", "/_status").status, 200, "the watcher's connection still answers")
    }
}
