import RarangiWire
import XCTest

/// `?hold` and blocking-query parameters are decoded, or refused with a JSON error.
final class RouterHoldWatchTests: XCTestCase {
    let router = Router(environment: "testing", maxTTLSeconds: 100)

    func route(_ method: HTTPMethod, _ target: String, _ body: String = "") -> Result<CatalogueRequest, HTTPResponse> {
        router.catalogueRoute(method, target, body)
    }

    func status(_ r: Result<CatalogueRequest, HTTPResponse>) -> Int? {
        if case let .failure(resp) = r { return resp.status }
        return nil
    }

    func test_hold_isDecoded_andRefusesATTL() {
        guard case let .success(.hold("web", "i1", body)) = route(.put, "/web/i1?hold", #"{"host":"h","port":1}"#) else { return XCTFail() }
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"host":"h","port":1}"#)
        XCTAssertEqual(status(route(.put, "/web/i1?hold&ttl=5", "{}")), 400)
        XCTAssertEqual(status(route(.put, "/web/i1?hold", "[]")), 400)
        guard case .success(.register) = route(.put, "/web/i1?hold=0", "{}") else { return XCTFail() }
    }

    func test_watch_decodesIndexAndWait_withDefaultsAndBounds() {
        guard case .success(.watch("web", false, 7, 30_000)) = route(.get, "/web?index=7") else { return XCTFail() }
        guard case .success(.watch("web", true, 0, 250)) = route(.get, "/web?index=0&wait=250ms&pretty") else { return XCTFail() }
        guard case .success(.watch("web", false, 3, 120_000)) = route(.get, "/web?index=3&wait=2m") else { return XCTFail() }
        guard case .success(.watch("web", false, 3, 9_000)) = route(.get, "/web?index=3&wait=9") else { return XCTFail() }
        XCTAssertEqual(status(route(.get, "/web?index=3&wait=6m")), 400)
        XCTAssertEqual(status(route(.get, "/web?index=3&wait=abc")), 400)
        XCTAssertEqual(status(route(.get, "/web?index=-1")), 400)
        XCTAssertEqual(status(route(.get, "/web?wait=1s")), 400)
        guard case .success(.lookup("web", false)) = route(.get, "/web") else { return XCTFail() }
    }

    func test_parseDuration() {
        XCTAssertEqual(Router.parseDuration("0"), 0)
        XCTAssertEqual(Router.parseDuration("15s"), 15_000)
        XCTAssertNil(Router.parseDuration(""))
        XCTAssertNil(Router.parseDuration("ms"))
        XCTAssertNil(Router.parseDuration("1h"))
        XCTAssertNil(Router.parseDuration("9999999999s"))
    }
}
