import RarangiWire
import XCTest

final class RouterTests: XCTestCase {
    let router = Router(environment: "testing", maxTTLSeconds: 100)

    func fullRoute(_ method: HTTPMethod, _ target: String, _ body: String = "", env: String? = nil) -> Result<Route, HTTPResponse> {
        router.route(method, target, body, env: env)
    }

    func route(_ method: HTTPMethod, _ target: String, _ body: String = "", env: String? = nil) -> Result<CatalogueRequest, HTTPResponse> {
        router.catalogueRoute(method, target, body, env: env)
    }

    func errorCode(_ r: Result<CatalogueRequest, HTTPResponse>) -> String? {
        guard case let .failure(resp) = r else { return nil }
        let text = String(decoding: resp.body, as: UTF8.self)
        return text.split(separator: "\"").dropFirst(3).first.map(String.init)
    }

    func test_routes() {
        guard case .success(.services(pretty: false)) = route(.get, "/") else { return XCTFail() }
        guard case .success(.status(pretty: true)) = fullRoute(.get, "/_status?pretty") else { return XCTFail() }
        guard case .failure = fullRoute(.get, "/_peer", env: "production") else { return XCTFail("a /_peer without Upgrade") }
        guard case .success(.lookup("web", true)) = route(.get, "/web?pretty=1") else { return XCTFail() }
        guard case .success(.lookup("web", false)) = route(.head, "/web?pretty=0") else { return XCTFail() }
        guard case .success(.instance("web", "a:1", false)) = route(.get, "/web/a:1") else { return XCTFail() }
        guard case .success(.deregister("web", "a")) = route(.delete, "/web/a") else { return XCTFail() }
        guard case let .success(.register("web", "a", body, ttl)) = route(.put, "/web/a?ttl=7", " { \"port\" : 1 } ") else { return XCTFail() }
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"port":1}"#)
        XCTAssertEqual(ttl, 7)
    }

    func test_errors() {
        XCTAssertEqual(errorCode(route(.put, "/web/a", "{}", env: "production")), "wrong_environment")
        XCTAssertEqual(errorCode(route(.put, "/web/a?ttl=101", "{}")), "invalid_ttl")
        XCTAssertEqual(errorCode(route(.put, "/web/a", #"{"host":""}"#)), "invalid_host")
        XCTAssertEqual(errorCode(route(.put, "/web/a", #"{"port":70000}"#)), "invalid_port")
        XCTAssertEqual(errorCode(route(.put, "/web/a", "[]")), "not_an_object")
        XCTAssertEqual(errorCode(route(.put, "/web/a", "{")), "invalid_json")
        XCTAssertEqual(errorCode(route(.put, "/we b/a", "{}")), "invalid_service")
        XCTAssertEqual(errorCode(route(.put, "/web/a/", "{}")), "not_found")
        XCTAssertEqual(errorCode(route(.put, "/web//a", "{}")), "not_found")
        XCTAssertEqual(errorCode(route(.post, "/web/a", "{}")), "method_not_allowed")
        XCTAssertEqual(errorCode(route(.get, "/_deltas/x")), "not_found")
    }

    func test_forgetMember_routesADeleteOfAValidName_andRefusesTheRest() {
        guard case .success(.forget(name: "m-3.eu_1")) = fullRoute(.delete, "/_members/m-3.eu_1") else { return XCTFail() }
        guard case .success(.forget(name: "m3")) = fullRoute(.delete, "/_members/m3", env: "testing") else { return XCTFail() }
        func failure(_ r: Result<Route, HTTPResponse>) -> (Int, String)? {
            guard case let .failure(resp) = r else { return nil }
            let text = String(decoding: resp.body, as: UTF8.self)
            return (resp.status, text.split(separator: "\"").dropFirst(3).first.map(String.init) ?? "")
        }
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/bad%20name")).map(\.0), 400)
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/bad%20name")).map(\.1), "invalid_name")
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/")).map(\.1), "invalid_name")
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/a/b")).map(\.1), "invalid_name")
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/" + String(repeating: "x", count: 64))).map(\.1), "invalid_name")
        XCTAssertEqual(failure(fullRoute(.get, "/_members/m3")).map(\.0), 405)
        XCTAssertEqual(failure(fullRoute(.put, "/_members/m3", "{}")).map(\.1), "method_not_allowed")
        XCTAssertEqual(failure(fullRoute(.delete, "/_members/m3", env: "production")).map(\.1), "wrong_environment")
        XCTAssertEqual(failure(fullRoute(.delete, "/_members")).map(\.1), "not_found")
    }
}
