import Foundation
import XCTest

/// A client host that vanishes without closing (no FIN, no RST reaches the
/// daemon) loses its held registration within 10 s (MISSION D8): the
/// daemon's pings go unacknowledged and TCP_USER_TIMEOUT ends the
/// connection. Simulated by dropping, with iptables, everything the
/// client's socket sends to the daemon (root only).
final class VanishedHolderTests: XCTestCase {
    static let rule = "rarangi-vanished-holder-test"

    func iptables(_ args: [String]) -> Int32 {
        (try? runTool("/usr/sbin/iptables", args).status) ?? -1
    }

    /// Drops everything `c` (bound to `source`) sends to the daemon, then
    /// shuts it: the client host "vanishes", its FIN and any RST never
    /// arrive. Returns the rule to delete, nil when iptables cannot add it.
    func silence(_ c: RawConnection, from source: String, to port: Int) -> [String]? {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(c.fd, $0, &len) }
        }
        let clientPort = Int(UInt16(bigEndian: addr.sin_port))
        let spec = ["INPUT", "-p", "tcp", "-s", source, "--sport", "\(clientPort)", "--dport", "\(port)",
                    "-m", "comment", "--comment", Self.rule, "-j", "DROP"]
        guard iptables(["-I"] + spec) == 0 else { return nil }
        shutdown(c.fd, Int32(SHUT_RDWR))
        return spec
    }

    func test_holderThatVanishesWithoutAFIN_isDetectedWithin10s() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for iptables") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables") else { throw XCTSkip("iptables is not installed") }
        let daemon = try DaemonProcess(["--env", "development"])
        defer { daemon.stop() }
        // The holder connects from 127.0.0.2, so the rule that silences it
        // can never match the lookups this test makes from 127.0.0.1.
        let c = try RawConnection(port: daemon.port, source: "127.0.0.2")
        try c.send("PUT /web/ghost?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertTrue(try eventually(within: 2) { try http("GET", daemon.port, "/web").json.keys.sorted() == ["ghost"] })
        guard let spec = silence(c, from: "127.0.0.2", to: daemon.port) else { throw XCTSkip("iptables cannot add a rule here") }
        defer { _ = iptables(["-D"] + spec) }
        let vanished = Date()
        XCTAssertTrue(try eventually(within: 12) { try http("GET", daemon.port, "/web").json.isEmpty })
        let elapsed = Date().timeIntervalSince(vanished)
        XCTAssertLessThan(elapsed, 10, "detected after \(elapsed) s")
        print("vanished holder released after \(String(format: "%.2f", elapsed)) s")
        XCTAssertTrue(daemon.log.contains("event=released service=web id=ghost"), daemon.log)
    }

    /// The same for a parked blocking query: the watcher's host vanishes,
    /// and its parked query is freed within 10 s, not at the end of its wait.
    func test_parkedWatchOfAVanishedHost_isFreedWithin10s() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for iptables") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables") else { throw XCTSkip("iptables is not installed") }
        let daemon = try DaemonProcess(["--env", "development"])
        defer { daemon.stop() }
        func watchers() throws -> Int { try http("GET", daemon.port, "/_status").json["watchers"] as? Int ?? -1 }
        let index = try http("GET", daemon.port, "/web").header("X-Rarangi-Index") ?? "0"
        let c = try RawConnection(port: daemon.port, source: "127.0.0.3")
        try c.send("GET /web?index=\(index)&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(try eventually(within: 2) { try watchers() == 1 })
        guard let spec = silence(c, from: "127.0.0.3", to: daemon.port) else { throw XCTSkip("iptables cannot add a rule here") }
        defer { _ = iptables(["-D"] + spec) }
        let vanished = Date()
        XCTAssertTrue(try eventually(within: 12) { try watchers() == 0 }, "the parked query of a vanished host is kept")
        let elapsed = Date().timeIntervalSince(vanished)
        XCTAssertLessThan(elapsed, 10, "freed after \(elapsed) s")
        print("vanished watcher freed after \(String(format: "%.2f", elapsed)) s")
    }
}
