import Foundation
import XCTest

/// A client that pipelines requests and does not read the answers stops
/// being read once its unsent answers pass the cap: the daemon's memory
/// stays bounded, everyone else is served, and the client still gets every
/// answer, in order, once it reads.
final class BackpressureTests: XCTestCase {
    func test_aClientThatPipelinesWithoutReading_isPausedNotBuffered_andGetsEveryAnswerWhenItReads() throws {
        let daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"])
        defer { daemon.stop() }
        let filler = String(repeating: "x", count: 900)
        for i in 0..<100 {
            XCTAssertEqual(try http("PUT", daemon.port, "/big/i\(i)?ttl=3600", body: #"{"f":"\#(filler)"}"#).status, 201)
        }
        let one = try http("GET", daemon.port, "/big")
        XCTAssertGreaterThan(one.body.count, 90_000)
        let before = daemon.residentBytes
        // 1,000 lookups of ~90 KB (90 MB of answers, far more than the
        // kernel's socket buffers hold) in one go, nothing read.
        let slow = try RawConnection(port: daemon.port, timeoutSeconds: 20)
        let count = 1000
        let request = Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let all = Array((0..<count).map { _ in request }.joined())
        let sender = Thread { try? slow.send(all) }
        sender.start()
        usleep(1_500_000)
        let grown = daemon.residentBytes - before
        XCTAssertLessThan(grown, 32 << 20, "the daemon buffered \(grown >> 20) MiB for a client that does not read")
        // Everyone else is served at once.
        let started = Date()
        XCTAssertEqual(try http("GET", daemon.port, "/_status").status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.5)
        // The client reads: every answer arrives, complete and in order.
        for n in 0..<count {
            let r = try slow.readResponse()
            XCTAssertEqual(r.status, 200, "answer \(n)")
            XCTAssertEqual(r.body.count, one.body.count, "answer \(n)")
            if r.status != 200 { break }
        }
        XCTAssertTrue(daemon.process.isRunning)
    }

    /// A client that never reads its answers is cut once nothing could be
    /// written to it for the idle timeout, and the cut is logged with its
    /// address; the daemon's memory for it stayed at the cap meanwhile.
    func test_aClientThatNeverReads_isCutAfterTheIdleTimeout_andTheCutIsLogged() throws {
        let daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1", "--idle-timeout", "2"])
        defer { daemon.stop() }
        let filler = String(repeating: "x", count: 900)
        for i in 0..<100 {
            XCTAssertEqual(try http("PUT", daemon.port, "/big/i\(i)?ttl=3600", body: #"{"f":"\#(filler)"}"#).status, 201)
        }
        let slow = try RawConnection(port: daemon.port, timeoutSeconds: 20)
        let request = Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        try slow.send(Array((0..<200).map { _ in request }.joined()))
        XCTAssertTrue(eventually(within: 8) { daemon.log.contains("event=client_cut") },
                      "no client_cut logged: \(daemon.log.suffix(600))")
        let line = daemon.log.split(separator: "\n").first { $0.contains("event=client_cut") } ?? ""
        XCTAssertTrue(line.contains("address=127.0.0.1") && line.contains("kind=not_reading"), String(line))
        // Its socket is closed: reading drains what the kernel holds, then
        // ends (EOF, or a reset for the requests never read) long before
        // the client's own 20-second read timeout.
        let reading = Date()
        _ = slow.readUntilClosed()
        XCTAssertLessThan(Date().timeIntervalSince(reading), 10, "the daemon kept the connection of a client that never reads")
        XCTAssertEqual(try http("GET", daemon.port, "/_status").status, 200)
    }
}
