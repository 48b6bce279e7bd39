import RarangiWire
import XCTest

final class HTTPParserTests: XCTestCase {
    func feed(_ parser: inout HTTPParser, _ text: String) -> HTTPParser.Outcome {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { parser.parse($0) }
    }

    func test_requestSplitAcrossReads_isAssembled() {
        var p = HTTPParser()
        let full = "PUT /web/a?ttl=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        let bytes = Array(full.utf8)
        for cut in 1..<bytes.count {
            let outcome = bytes[0..<cut].withUnsafeBufferPointer { p.parse($0) }
            guard case .needMore = outcome else { return XCTFail("complete at \(cut)") }
        }
        guard case let .request(r, consumed) = feed(&p, full) else { return XCTFail() }
        XCTAssertEqual(consumed, full.utf8.count)
        XCTAssertEqual(r.method, .put)
        XCTAssertEqual(r.path, "/web/a")
        XCTAssertEqual(r.query, "ttl=5")
        XCTAssertEqual(r.body, Array("{}".utf8))
        XCTAssertTrue(r.keepAlive)
    }

    func test_connectionHeaders_andHTTP10() {
        var p = HTTPParser()
        guard case let .request(r, _) = feed(&p, "GET / HTTP/1.0\r\n\r\n") else { return XCTFail() }
        XCTAssertFalse(r.keepAlive)
        guard case let .request(k, _) = feed(&p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") else { return XCTFail() }
        XCTAssertTrue(k.keepAlive)
        guard case let .request(c, _) = feed(&p, "GET / HTTP/1.1\r\nconnection: close\r\nX-Rarangi-Env: testing\r\n\r\n") else { return XCTFail() }
        XCTAssertFalse(c.keepAlive)
        XCTAssertEqual(c.declaredEnvironment, "testing")
    }

    func test_limits_andMalformedHeads() {
        func status(_ text: String, _ p: HTTPParser = HTTPParser(maxHeadBytes: 64, maxBodyBytes: 10)) -> Int? {
            var p = p
            if case let .failure(e) = feed(&p, text) { return e.status }
            return nil
        }
        XCTAssertEqual(status("GET /" + String(repeating: "a", count: 100)), 431)
        XCTAssertEqual(status("PUT /a/b HTTP/1.1\r\nContent-Length: 11\r\n\r\n"), 413)
        XCTAssertEqual(status("PUT /a/b HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400)
        XCTAssertEqual(status("PUT /a/b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400)
        XCTAssertEqual(status("PUT /a/b HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501)
        XCTAssertEqual(status("GET a HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/3\r\n\r\n"), 505)
        XCTAssertEqual(status("get / HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), 400)
    }

    func test_chunkedBody_isDecoded_andItsLimitEnforced() {
        var p = HTTPParser(maxBodyBytes: 8)
        guard case let .request(r, _) = feed(&p, "PUT /a/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), #"{"a":1}"#)
        var q = HTTPParser(maxBodyBytes: 8)
        guard case let .failure(e) = feed(&q, "PUT /a/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n0\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(e.status, 413)
    }

    func test_expectContinue_isSignalledOnceBeforeTheBody() {
        var p = HTTPParser()
        let head = "PUT /a/b HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        guard case .sendContinue = feed(&p, head) else { return XCTFail() }
        guard case .needMore = feed(&p, head) else { return XCTFail() }
        guard case .request = feed(&p, head + "{}") else { return XCTFail() }
    }
}
