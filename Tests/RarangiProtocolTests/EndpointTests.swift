import RarangiProtocol
import XCTest

/// `HOST:PORT` as the daemon's flags, its configuration file and the
/// client's `--server` give it.
final class EndpointTests: XCTestCase {
    func test_parsing_hostAndPort_bracketedV6_andEmptyHost() {
        XCTAssertEqual(Endpoint(parsing: "m1:4720"), Endpoint(host: "m1", port: 4720))
        XCTAssertEqual(Endpoint(parsing: "10.0.0.5:80"), Endpoint(host: "10.0.0.5", port: 80))
        XCTAssertEqual(Endpoint(parsing: "[::1]:4721"), Endpoint(host: "::1", port: 4721))
        XCTAssertEqual(Endpoint(parsing: ":4740"), Endpoint(host: "", port: 4740))
        XCTAssertEqual(Endpoint(parsing: "h:0"), Endpoint(host: "h", port: 0), "a listener may ask for a free port")
        XCTAssertEqual(Endpoint(parsing: "h:65535")?.port, 65535)
    }

    func test_parsing_refusesMalformedText() {
        for text in ["h", "", "h:", "h:x", "h:-1", "h:65536", "::1:80", "[::1]", "[::1]4721", "[::1:4721",
                     "a b:1", "a/b:1"] {
            XCTAssertNil(Endpoint(parsing: text), text)
        }
    }

    func test_dialable_needsAHostAndANonZeroPort() {
        XCTAssertTrue(Endpoint(host: "h", port: 1).isDialable)
        XCTAssertFalse(Endpoint(host: "", port: 4740).isDialable)
        XCTAssertFalse(Endpoint(host: "h", port: 0).isDialable)
    }

    func test_description_bracketsV6_andParsesBack() {
        XCTAssertEqual(Endpoint(host: "::1", port: 4721).description, "[::1]:4721")
        XCTAssertEqual(Endpoint(host: "m1", port: 4720).description, "m1:4720")
        for e in [Endpoint(host: "::1", port: 4721), Endpoint(host: "m1", port: 4720), Endpoint(host: "", port: 1)] {
            XCTAssertEqual(Endpoint(parsing: e.description), e, e.description)
        }
    }
}
