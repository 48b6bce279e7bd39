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
        // From its first answer on: either it has caught up, or it says its
        // answer is not current — never an unmarked empty catalogue.
        let deadline = Date().addingTimeInterval(5)
        var caughtUp = false
        while Date() < deadline, !caughtUp {
            let r = try http("GET", 4720, "/web")
            let stale = r.header("X-Rarangi-Stale") == "true"
            caughtUp = !stale
            if !stale { XCTAssertTrue(r.json.keys.contains("at-b"), "answered as current without slot b's registration: \(r.text)") }
            usleep(20_000)
        }
        XCTAssertTrue(caughtUp, "the restarted slot did not catch up: \(a.log)")
        XCTAssertTrue(a.log.contains("event=caught_up"), a.log)
    }

    func test_aSlotWhoseSiblingIsDown_answersAsCurrentAlone_afterTwoLinkTimeouts() throws {
        let a = try slot("a")
        defer { a.stop() }
        let first = try http("GET", 4720, "/web")
        XCTAssertEqual(first.header("X-Rarangi-Stale"), "true", "not yet caught up with a sibling that may come")
        XCTAssertTrue(eventually(within: 10) { (try? http("GET", 4720, "/web"))?.header("X-Rarangi-Stale") == nil },
                      "still stale with nobody to catch up from: \(a.log)")
        XCTAssertTrue(a.log.contains("event=caught_up reason=no_peer_answered") || a.log.contains("reason=no_peer_answered"), a.log)
    }
}
