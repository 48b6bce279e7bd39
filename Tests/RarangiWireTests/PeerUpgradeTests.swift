import RarangiWire
import XCTest

/// The peer upgrade's heads and the head-end scan shared with the HTTP parser.
final class PeerUpgradeTests: XCTestCase {
    func parse(_ text: String) -> PeerUpgrade.Outcome {
        Array(text.utf8).withUnsafeBufferPointer(PeerUpgrade.parseAnswer)
    }

    func test_theListenersAnswer_isAcceptedOnlyAs101_andFramesStartAfterItsHead() {
        let answer = String(decoding: PeerUpgrade.answer(environment: "testing"), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        XCTAssertTrue(answer.contains("Upgrade: rarangi-peer/1\r\n"))
        XCTAssertTrue(answer.contains("X-Rarangi-Env: testing\r\n"))
        XCTAssertEqual(parse(answer + "FRAMES"), .accepted(headLength: answer.utf8.count))
        XCTAssertEqual(parse(String(answer.dropLast(2))), .needMore)
        XCTAssertEqual(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), .refused("HTTP/1.1 404 Not Found"))
        XCTAssertEqual(parse(String(repeating: "x", count: PeerUpgrade.maxAnswerBytes + 1)), .refused("oversized"))
    }

    func test_theDiallersRequest_routesToThePeerUpgrade() {
        let request = PeerUpgrade.request(host: "10.0.0.1", environment: "testing")
        var parser = HTTPParser()
        guard case let .request(r, consumed) = request.withUnsafeBufferPointer({ parser.parse($0) }) else {
            return XCTFail("the upgrade request does not parse")
        }
        XCTAssertEqual(consumed, request.count)
        XCTAssertEqual(r.declaredEnvironment, "testing")
        guard case .success(.peerUpgrade) = Router(environment: "production", maxTTLSeconds: 10).route(r) else {
            return XCTFail("not routed to the upgrade (the hello refuses another environment, so both ends log it)")
        }
    }

    func test_headEnd_findsTheBlankLine_fromWhereAScanResumes() {
        let bytes = Array("GET / HTTP/1.1\r\nA: b\r\n\r\nbody".utf8)
        bytes.withUnsafeBufferPointer { b in
            XCTAssertEqual(HTTPHead.end(in: b), 24)
            XCTAssertEqual(HTTPHead.end(in: b, from: 20), 24)
            XCTAssertEqual(HTTPHead.end(in: b, from: -3), 24)
            XCTAssertNil(HTTPHead.end(in: UnsafeBufferPointer(rebasing: b[0..<23])))
        }
    }
}
