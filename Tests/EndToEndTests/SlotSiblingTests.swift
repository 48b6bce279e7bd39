import Foundation
import XCTest

/// With no peers configured, the two slots of an environment on one host
/// replicate with each other (MISSION D5): a client that fails over from
/// slot a to slot b while slot a restarts still finds every instance.
final class SlotSiblingTests: XCTestCase {
    func slot(_ s: String) throws -> DaemonProcess {
        let port = s == "a" ? 4720 : 4721
        return try DaemonProcess(["--env", "staging", "--slot", s, "--name", "host-staging-\(s)", "--listen", "127.0.0.1:\(port)"])
    }

    func ids(_ port: Int, _ service: String) -> [String] {
        ((try? http("GET", port, "/\(service)"))?.json.keys.sorted()) ?? []
    }

    func test_theTwoSlotsOfAHost_shareTheirCatalogue_andARestartedSlotCatchesUpFromItsSibling() throws {
        var a = try slot("a")
        let b = try slot("b")
        defer { a.stop(); b.stop() }
        XCTAssertEqual(try http("PUT", 4720, "/web/at-a", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        XCTAssertTrue(eventually(within: 5) { self.ids(4721, "web") == ["at-a"] }, "slot b does not serve slot a's registration: \(b.log)")
        XCTAssertEqual(try http("PUT", 4721, "/web/at-b", body: #"{"host":"10.0.0.2","port":80}"#).status, 201)
        XCTAssertTrue(eventually(within: 5) { self.ids(4720, "web") == ["at-a", "at-b"] })
        // Slot a restarts (what Restart=on-failure does): it catches up from slot b.
        a.kill9()
        a = try slot("a")
        XCTAssertTrue(eventually(within: 5) { self.ids(4720, "web").contains("at-b") }, "the restarted slot did not catch up: \(a.log)")
    }
}
