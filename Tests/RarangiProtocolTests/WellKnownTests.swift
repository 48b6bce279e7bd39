import RarangiProtocol
import XCTest

/// The one port table, shared by the daemon's defaults and the client's discovery.
final class WellKnownTests: XCTestCase {
    func test_wellKnownPorts_areDistinct() {
        let ports = WellKnown.table.flatMap { [$0.portA, $0.portB] }
        XCTAssertEqual(Set(ports).count, 8)
        XCTAssertEqual(WellKnown.port(environment: "development", slot: "b"), 4741)
        XCTAssertNil(WellKnown.port(environment: "dev", slot: "a"))
    }
}
