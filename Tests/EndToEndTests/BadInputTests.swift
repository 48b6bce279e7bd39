import Foundation
import XCTest

/// Bad input gets the right 4xx, a JSON error, and changes nothing.
final class BadInputTests: XCTestCase {
    var daemon: DaemonProcess!
    var port: Int { daemon.port }

    override func setUpWithError() throws {
        daemon = try DaemonProcess(["--env", "testing", "--max-body", "1024"])
        XCTAssertEqual(try http("PUT", port, "/web/keep", body: #"{"host":"a","port":1}"#).status, 201)
    }

    override func tearDown() {
        daemon?.stop()
    }

    /// The catalogue as a client sees it, plus the change index.
    func snapshot() throws -> String {
        let status = try http("GET", port, "/_status").json
        return try http("GET", port, "/").text + (try http("GET", port, "/web").text) + "\(status["index"] ?? "?")"
    }

    func assertRefused(_ method: String, _ path: String, body: String?, status: Int, error: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try snapshot()
        let r = try http(method, port, path, body: body)
        XCTAssertEqual(r.status, status, r.text, file: file, line: line)
        XCTAssertEqual(r.json["error"] as? String, error, r.text, file: file, line: line)
        XCTAssertFalse((r.json["message"] as? String ?? "").isEmpty, file: file, line: line)
        XCTAssertEqual(r.header("content-type"), "application/json", file: file, line: line)
        XCTAssertEqual(try snapshot(), before, "state changed", file: file, line: line)
    }

    func test_malformedJSON_is400() throws {
        try assertRefused("PUT", "/web/keep", body: #"{"host": "a",}"#, status: 400, error: "invalid_json")
        try assertRefused("PUT", "/web/new", body: #"{"host": "a""#, status: 400, error: "invalid_json")
        try assertRefused("PUT", "/web/new", body: "", status: 400, error: "invalid_json")
        try assertRefused("PUT", "/web/new", body: "{} {}", status: 400, error: "invalid_json")
        try assertRefused("PUT", "/web/new", body: "{\"a\":\"\u{1}\"}", status: 400, error: "invalid_json")
    }

    func test_nonObject_is400() throws {
        for body in ["[1,2]", "\"text\"", "42", "null", "true"] {
            try assertRefused("PUT", "/web/new", body: body, status: 400, error: "not_an_object")
        }
    }

    func test_hostAndPortOfTheWrongShape_are400() throws {
        try assertRefused("PUT", "/web/new", body: #"{"host":5}"#, status: 400, error: "invalid_host")
        try assertRefused("PUT", "/web/new", body: #"{"port":"80"}"#, status: 400, error: "invalid_port")
        try assertRefused("PUT", "/web/new", body: #"{"port":0}"#, status: 400, error: "invalid_port")
        try assertRefused("PUT", "/web/new", body: #"{"port":65536}"#, status: 400, error: "invalid_port")
        try assertRefused("PUT", "/web/new", body: #"{"port":80.5}"#, status: 400, error: "invalid_port")
    }

    func test_namesOutsideTheCharacterSetOrLength_are400() throws {
        try assertRefused("PUT", "/we%20b/x", body: "{}", status: 400, error: "invalid_service")
        try assertRefused("PUT", "/-web/x", body: "{}", status: 400, error: "invalid_service")
        try assertRefused("PUT", "/" + String(repeating: "s", count: 64) + "/x", body: "{}", status: 400, error: "invalid_service")
        try assertRefused("PUT", "/web/a$b", body: "{}", status: 400, error: "invalid_id")
        try assertRefused("PUT", "/web/" + String(repeating: "i", count: 129), body: "{}", status: 400, error: "invalid_id")
        try assertRefused("GET", "/web/a/b", body: nil, status: 404, error: "not_found")
        XCTAssertEqual(try http("PUT", port, "/" + String(repeating: "s", count: 63) + "/" + String(repeating: "i", count: 128), body: "{}").status, 201)
    }

    func test_oversizedBody_is413_andTheResponseArrivesBeforeTheClose() throws {
        let big = "{\"pad\":\"" + String(repeating: "x", count: 2000) + "\"}"
        try assertRefused("PUT", "/web/new", body: big, status: 413, error: "body_too_large")
        let chunked = try RawConnection(port: port)
        try chunked.send("PUT /web/new HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "x", count: 2048) + "\r\n0\r\n\r\n")
        XCTAssertEqual(try chunked.readResponse().status, 413)
    }

    func test_unsupportedMethods_are405_withAllow() throws {
        let r = try http("POST", port, "/web/keep", body: "{}")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("allow"), "GET, HEAD, PUT, DELETE")
        try assertRefused("PATCH", "/web/keep", body: "{}", status: 405, error: "method_not_allowed")
        try assertRefused("DELETE", "/web", body: nil, status: 405, error: "method_not_allowed")
        try assertRefused("PUT", "/", body: "{}", status: 405, error: "method_not_allowed")
    }

    func test_badTTL_is400() throws {
        try assertRefused("PUT", "/web/new?ttl=0", body: "{}", status: 400, error: "invalid_ttl")
        try assertRefused("PUT", "/web/new?ttl=abc", body: "{}", status: 400, error: "invalid_ttl")
        try assertRefused("PUT", "/web/new?ttl=99999999", body: "{}", status: 400, error: "invalid_ttl")
    }

    func test_garbageRequestLine_is400_andClosesTheConnection() throws {
        let c = try RawConnection(port: port)
        try c.send("HELLO\r\n\r\n")
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.header("connection"), "close")
        XCTAssertTrue(c.readUntilClosed())
        let v = try RawConnection(port: port)
        try v.send("GET / HTTP/2.0\r\n\r\n")
        XCTAssertEqual(try v.readResponse().status, 505)
    }

    func test_oversizedHeaders_are431() throws {
        let c = try RawConnection(port: port)
        try c.send("GET /web HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: 9000) + "\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 431)
    }

    func test_unknownReservedEndpoint_is404() throws {
        try assertRefused("GET", "/_nope", body: nil, status: 404, error: "not_found")
    }
}
