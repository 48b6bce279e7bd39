import RarangiProtocol
import XCTest

/// The name rules the daemon enforces and a client can check before sending.
final class NamesTests: XCTestCase {
    func test_names() {
        XCTAssertNil(Names.serviceProblem("web-1.prod_x"))
        XCTAssertNotNil(Names.serviceProblem("_web"))
        XCTAssertNotNil(Names.serviceProblem(""))
        XCTAssertNotNil(Names.serviceProblem(Substring(String(repeating: "a", count: 64))))
        XCTAssertNil(Names.instanceProblem("host-1:8080@eu"))
        XCTAssertNotNil(Names.instanceProblem("a/b"))
        XCTAssertNotNil(Names.instanceProblem("é"))
    }
}
