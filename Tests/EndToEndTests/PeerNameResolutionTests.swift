import Foundation
import XCTest

/// Peers named by host name (the seed's own example uses EC2 names) are
/// resolved without blocking the reactor, afresh at every connect, and a
/// name that does not resolve is logged once per attempt.
final class PeerNameResolutionTests: XCTestCase {
    func test_aResolverThatNeverAnswers_doesNotStallClients_andIsLogged() throws {
        let dns = try FakeDNSServer(answer: nil)
        defer { dns.stop() }
        let conf = try dns.resolvConf(timeoutSeconds: 3)
        let daemon = try DaemonProcess(["--env", "testing", "--cluster", "eu", "--name", "n1", "--master",
                                        "--peer", "peer-a.rarangi.test:4730", "--resolv-conf", conf])
        defer { daemon.stop() }
        // A blocking lookup would stall every client for the resolver's 3 s
        // at each connect attempt; a lookup on the loop costs them nothing.
        let c = try RawConnection(port: daemon.port)
        var worst = 0.0
        let end = Date().addingTimeInterval(6)
        var answered = 0
        while Date() < end {
            let started = Date()
            XCTAssertEqual(try c.request("GET", "/_status").status, 200)
            worst = max(worst, Date().timeIntervalSince(started))
            answered += 1
            usleep(20_000)
        }
        XCTAssertGreaterThan(dns.queries(for: "peer-a.rarangi.test"), 0, "the daemon never asked the resolver")
        XCTAssertLessThan(worst, 0.5, "a client waited \(worst) s while a peer name was being resolved")
        XCTAssertGreaterThan(answered, 100)
        XCTAssertTrue(daemon.log.contains("event=peer_unresolvable"), daemon.log)
        XCTAssertTrue(daemon.log.contains("target=peer-a.rarangi.test:4730"), daemon.log)
        XCTAssertTrue(daemon.process.isRunning)
    }

    func test_aPeerNamedByHostName_isReached_andItsNameIsResolvedAgainAtEveryReconnect() throws {
        let dns = try FakeDNSServer(answer: "127.0.0.1")
        defer { dns.stop() }
        let conf = try dns.resolvConf(timeoutSeconds: 2)
        var b = try DaemonProcess(["--env", "testing", "--cluster", "eu", "--name", "b", "--master"])
        let portB = b.port
        let a = try DaemonProcess(["--env", "testing", "--cluster", "eu", "--name", "a", "--master",
                                   "--peer", "master-b.rarangi.test:\(portB)", "--resolv-conf", conf])
        defer { a.stop() }
        XCTAssertEqual(try http("PUT", a.port, "/web/i1", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        XCTAssertTrue(try eventually(within: 10) { try http("GET", portB, "/web").json.keys.contains("i1") }, a.log)
        let before = dns.queries(for: "master-b.rarangi.test")
        XCTAssertGreaterThan(before, 0)
        // The peer goes away and comes back on the same port: the link is
        // re-established, and the name was looked up again for it.
        b.stop()
        b = try DaemonProcess(["--env", "testing", "--cluster", "eu", "--name", "b", "--master",
                               "--listen", "127.0.0.1:\(portB)"])
        defer { b.stop() }
        XCTAssertTrue(try eventually(within: 15) { try http("GET", portB, "/web").json.keys.contains("i1") }, a.log)
        XCTAssertGreaterThan(dns.queries(for: "master-b.rarangi.test"), before)
        XCTAssertFalse(a.log.contains("event=peer_unresolvable"), a.log)
    }
}
