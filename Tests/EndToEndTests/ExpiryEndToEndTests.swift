import Foundation
import XCTest

/// Expiry with a short liveness, through the real binary (MISSION H2).
final class ExpiryEndToEndTests: XCTestCase {
    func test_registration_expiresAfterLiveness_unlessRefreshed() throws {
        let daemon = try DaemonProcess(["--env", "development", "--liveness", "1"])
        defer { daemon.stop() }
        let t0 = Date()
        XCTAssertEqual(try http("PUT", daemon.port, "/web/a", body: "{}").status, 201)
        XCTAssertEqual(try http("PUT", daemon.port, "/web/b", body: "{}").status, 201)
        usleep(600_000)
        XCTAssertEqual(try http("PUT", daemon.port, "/web/b", body: "{}").status, 200)  // refresh b only
        XCTAssertEqual(try http("GET", daemon.port, "/web").json.count, 2)
        // a goes at 1 s, without any request arriving to trigger it.
        XCTAssertTrue(eventually(within: 2) { daemon.log.contains("event=expired service=web id=a") })
        let gone = Date().timeIntervalSince(t0)
        XCTAssertGreaterThanOrEqual(gone, 0.95)
        XCTAssertLessThan(gone, 1.5)
        XCTAssertEqual(Array(try http("GET", daemon.port, "/web").json.keys), ["b"])
        XCTAssertTrue(eventually(within: 2) { (try? http("GET", daemon.port, "/web").text) == "{}" })
    }

    func test_perRegistrationTTL_overridesLiveness() throws {
        let daemon = try DaemonProcess(["--env", "development", "--liveness", "60"])
        defer { daemon.stop() }
        XCTAssertEqual(try http("PUT", daemon.port, "/web/short?ttl=1", body: "{}").json["ttl"] as? Int, 1)
        XCTAssertEqual(try http("PUT", daemon.port, "/web/long", body: "{}").json["ttl"] as? Int, 60)
        XCTAssertTrue(eventually(within: 2.5) { (try? http("GET", daemon.port, "/web").text) == #"{"long":{}}"# })
    }
}
