import Foundation
import XCTest

/// The single-daemon HTTP catalogue through the real binary (MISSION H1–H3, D3, D10).
final class CatalogueEndToEndTests: XCTestCase {
    var daemon: DaemonProcess!

    override func setUpWithError() throws {
        daemon = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "sr-sto-1"])
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    var port: Int { daemon.port }

    func test_seedCurlExamples_registerThenLookup_returnsTheObjectAsSent() throws {
        let curl = "/usr/bin/curl"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: curl), "curl is not installed")
        let body = """
        {
          "site": "eu-1b",
          "host": "ec2-54-1-2-3.compute-1.amazonaws.com",
          "port": 1232,
          "updated_at": "2026-11-21T10:00:30Z",
          "started_at": "2026-11-21T09:58:00Z"
        }
        """
        let put = try runTool(curl, ["-s", "-w", "\n%{http_code}", "-X", "PUT", "-d", body, "http://127.0.0.1:\(port)/search/i-1"])
        XCTAssertTrue(put.out.hasSuffix("201"), put.out)
        let get = try runTool(curl, ["-s", "http://127.0.0.1:\(port)/search"])
        let object = try JSONSerialization.jsonObject(with: Data(get.out.utf8)) as! [String: [String: Any]]
        XCTAssertEqual(Array(object.keys), ["i-1"])
        XCTAssertEqual(object["i-1"]?["site"] as? String, "eu-1b")
        XCTAssertEqual(object["i-1"]?["host"] as? String, "ec2-54-1-2-3.compute-1.amazonaws.com")
        XCTAssertEqual(object["i-1"]?["port"] as? Int, 1232)
        XCTAssertEqual(object["i-1"]?["updated_at"] as? String, "2026-11-21T10:00:30Z")
        XCTAssertEqual(object["i-1"]?["started_at"] as? String, "2026-11-21T09:58:00Z")
        // Member order is kept as sent.
        XCTAssertTrue(get.out.contains(#"{"i-1":{"site":"eu-1b","host":"#), get.out)
    }

    func test_put_createsWith201_refreshesWith200() throws {
        let first = try http("PUT", port, "/web/i1", body: #"{"host":"10.0.0.1","port":80}"#)
        XCTAssertEqual(first.status, 201)
        XCTAssertEqual(first.json["created"] as? Bool, true)
        let again = try http("PUT", port, "/web/i1", body: #"{"host":"10.0.0.1","port":81}"#)
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(again.json["created"] as? Bool, false)
        let got = try http("GET", port, "/web")
        XCTAssertEqual(got.text, #"{"i1":{"host":"10.0.0.1","port":81}}"#)
    }

    func test_lookup_ofUnknownService_isEmptyObject() throws {
        let r = try http("GET", port, "/nothing-here")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "{}")
    }

    func test_lookup_pretty_indentsTheSameDocument() throws {
        _ = try http("PUT", port, "/web/a", body: #"{"port":1,"tags":["x","y"]}"#)
        _ = try http("PUT", port, "/web/b", body: #"{"port":2}"#)
        let pretty = try http("GET", port, "/web?pretty")
        XCTAssertEqual(pretty.text, """
        {
          "a": {
            "port": 1,
            "tags": [
              "x",
              "y"
            ]
          },
          "b": {
            "port": 2
          }
        }

        """)
        let compact = try http("GET", port, "/web")
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(pretty.body)) as? NSDictionary,
                       try JSONSerialization.jsonObject(with: Data(compact.body)) as? NSDictionary)
    }

    func test_delete_deregisters_andUnknownDeleteIs404() throws {
        _ = try http("PUT", port, "/web/a", body: #"{"port":1}"#)
        _ = try http("PUT", port, "/web/b", body: #"{"port":2}"#)
        XCTAssertEqual(try http("DELETE", port, "/web/a").status, 200)
        XCTAssertEqual(try http("GET", port, "/web").text, #"{"b":{"port":2}}"#)
        let missing = try http("DELETE", port, "/web/a")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.json["error"] as? String, "not_found")
    }

    func test_root_listsServicesWithInstanceCounts() throws {
        _ = try http("PUT", port, "/web/a", body: "{}")
        _ = try http("PUT", port, "/web/b", body: "{}")
        _ = try http("PUT", port, "/db/a", body: "{}")
        let r = try http("GET", port, "/")
        XCTAssertEqual(r.json as NSDictionary, ["web": 2, "db": 1] as NSDictionary)
    }

    func test_singleInstance_getAndHead() throws {
        _ = try http("PUT", port, "/web/a", body: #"{"port":7}"#)
        XCTAssertEqual(try http("GET", port, "/web/a").json["port"] as? Int, 7)
        XCTAssertEqual(try http("GET", port, "/web/zz").status, 404)
        let c = try RawConnection(port: port)
        let head = try c.request("HEAD", "/web")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-length"), String(#"{"a":{"port":7}}"#.utf8.count))
        // The connection is still usable: no body was sent after the HEAD response.
        XCTAssertEqual(try c.request("GET", "/web/a").status, 200)
    }

    func test_everyResponse_namesEnvironmentClusterAndNode() throws {
        for r in [try http("GET", port, "/web"), try http("PUT", port, "/web/x", body: "nope"),
                  try http("POST", port, "/web"), try http("GET", port, "/_status")] {
            XCTAssertEqual(r.header("x-rarangi-env"), "development")
            XCTAssertEqual(r.header("x-rarangi-cluster"), "eu")
            XCTAssertEqual(r.header("x-rarangi-node"), "sr-sto-1")
        }
    }

    func test_requestDeclaringAnotherEnvironment_isRefused_andChangesNothing() throws {
        let r = try http("PUT", port, "/web/a", body: "{}", headers: ["X-Rarangi-Env": "production"])
        XCTAssertEqual(r.status, 421)
        XCTAssertEqual(r.json["error"] as? String, "wrong_environment")
        XCTAssertTrue((r.json["message"] as? String ?? "").contains("production"))
        XCTAssertEqual(try http("GET", port, "/web").text, "{}")
        XCTAssertEqual(try http("PUT", port, "/web/a", body: "{}", headers: ["X-Rarangi-Env": "development"]).status, 201)
    }

    func test_keepAlive_andPipelinedRequests_areAnsweredInOrder() throws {
        let c = try RawConnection(port: port)
        try c.send("PUT /p/1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /p HTTP/1.1\r\n\r\nGET /nope/x HTTP/1.1\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 201)
        XCTAssertEqual(try c.readResponse().text, #"{"1":{}}"#)
        XCTAssertEqual(try c.readResponse().status, 404)
    }

    func test_chunkedBody_andExpectContinue_areAccepted() throws {
        let c = try RawConnection(port: port)
        try c.send("PUT /c/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 201)
        try c.send("PUT /c/2 HTTP/1.1\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 100)
        try c.send(#"{"b":2}"#)
        XCTAssertEqual(try c.readResponse().status, 201)
        XCTAssertEqual(try http("GET", port, "/c").text, #"{"1":{"a":1},"2":{"b":2}}"#)
    }

    func test_sigterm_stopsCleanly() throws {
        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertTrue(daemon.log.contains("event=stopped"), daemon.log)
    }
}
