import Foundation
import XCTest

/// Deleted names leave nothing behind, on a daemon without peers too.
final class TombstoneCollectionTests: XCTestCase {
    func status(_ port: Int) throws -> [String: Any] { try http("GET", port, "/_status").json }

    /// Registers and deletes `count` times (`key` names the service of cycle i), pipelined.
    func churn(_ c: RawConnection, _ count: Int, key: (Int) -> String) throws {
        let body = #"{"host":"10.0.0.1","port":80}"#
        var i = 0
        while i < count {
            let n = min(250, count - i)
            var batch = ""
            for k in i..<(i + n) {
                batch += "PUT /\(key(k))/i HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                batch += "DELETE /\(key(k))/i HTTP/1.1\r\nHost: x\r\n\r\n"
            }
            try c.send(batch)
            for _ in 0..<(2 * n) { XCTAssertLessThan(try c.readResponse().status, 300) }
            i += n
        }
    }

    func test_aDaemonWithoutPeers_collectsItsTombstones_andOneKeysChurnDoesNotGrowIt() throws {
        let d = try DaemonProcess(["--env", "testing", "--name", "alone", "--origin-timeout", "1000",
                                   "--tombstone-ttl", "1000"])
        defer { d.stop() }
        let c = try RawConnection(port: d.port)
        try churn(c, 5000) { "svc\($0)" }
        XCTAssertGreaterThan(try status(d.port)["tombstones"] as? Int ?? 0, 0)
        XCTAssertTrue(eventually(within: 5) { (try? self.status(d.port)["tombstones"] as? Int) == 0 },
                      "tombstones of 5,000 deleted services were not collected: \((try? status(d.port)) ?? [:])")
        XCTAssertEqual(try status(d.port)["services"] as? Int, 0)
        // One key, registered and deleted 10,000 times, twice: the second
        // round (after collection) leaves memory where the first did.
        try churn(c, 10_000) { _ in "one" }
        XCTAssertTrue(eventually(within: 5) { (try? self.status(d.port)["tombstones"] as? Int) == 0 })
        let after1 = d.residentBytes
        try churn(c, 10_000) { _ in "one" }
        XCTAssertTrue(eventually(within: 5) { (try? self.status(d.port)["tombstones"] as? Int) == 0 })
        let after2 = d.residentBytes
        XCTAssertLessThan(after2 - after1, 1 << 20, "one key's churn grew the daemon from \(after1) to \(after2) bytes")
    }
}
