import RarangiWire
import XCTest

/// The peer upgrade's heads and the head-end scan shared with the HTTP parser.
final class PeerUpgradeTests: XCTestCase {
    func parse(_ text: String, sealed: Bool = false) -> PeerUpgrade.Outcome {
        Array(text.utf8).withUnsafeBufferPointer { PeerUpgrade.parseAnswer($0, sealed: sealed) }
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
        // A refusal's JSON error is kept for the log.
        XCTAssertEqual(parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 30\r\n\r\n{\"error\":\"no_cluster_key\"}\n"),
                       .refused(#"HTTP/1.1 403 Forbidden {"error":"no_cluster_key"}"#))
    }

    func test_aSealedDialler_acceptsOnlyASealed101() {
        let plain = String(decoding: PeerUpgrade.answer(environment: "testing"), as: UTF8.self)
        let sealed = String(decoding: PeerUpgrade.answer(environment: "testing", sealed: true), as: UTF8.self)
        XCTAssertEqual(parse(sealed, sealed: true), .accepted(headLength: sealed.utf8.count))
        guard case .refused = parse(plain, sealed: true) else { return XCTFail("a plain 101 accepted by a sealed dialler") }
        guard case .refused = parse(sealed, sealed: false) else { return XCTFail("a sealed 101 accepted by a plain dialler") }
    }

    func test_theDiallersRequest_routesToThePeerUpgrade() {
        let request = PeerUpgrade.request(host: "10.0.0.1", environment: "testing")
        var parser = HTTPParser()
        guard case let .request(r, consumed) = request.withUnsafeBufferPointer({ parser.parse($0) }) else {
            return XCTFail("the upgrade request does not parse")
        }
        XCTAssertEqual(consumed, request.count)
        XCTAssertEqual(r.declaredEnvironment, "testing")
        XCTAssertEqual(r.upgrade, PeerUpgrade.token)
        guard case .success(.peerUpgrade(sealed: false)) = Router(environment: "testing", maxTTLSeconds: 10).route(r) else {
            return XCTFail("not routed to the upgrade")
        }
        // Another environment is answered 421 before any upgrade (the dialler logs the answer).
        guard case let .failure(refusal) = Router(environment: "production", maxTTLSeconds: 10).route(r) else {
            return XCTFail("an upgrade from another environment was accepted")
        }
        XCTAssertEqual(refusal.status, 421)
        var sealedParser = HTTPParser()
        let sealed = PeerUpgrade.request(host: "h", environment: "testing", sealed: true)
        guard case let .request(s, _) = sealed.withUnsafeBufferPointer({ sealedParser.parse($0) }),
              case .success(.peerUpgrade(sealed: true)) = Router(environment: "testing", maxTTLSeconds: 10).route(s) else {
            return XCTFail("the sealed upgrade is not routed as one")
        }
    }

    func test_aPeerGetWithoutTheUpgradeOrTheEnvironment_isAnsweredNotUpgraded() {
        let router = Router(environment: "testing", maxTTLSeconds: 10)
        func status(_ upgrade: String?, _ env: String?) -> Int? {
            guard case let .failure(r) = router.route(HTTPRequest(method: .get, path: "/_peer", declaredEnvironment: env, upgrade: upgrade)) else { return nil }
            return r.status
        }
        XCTAssertEqual(status(nil, "testing"), 426)
        XCTAssertEqual(status("websocket", "testing"), 426)
        XCTAssertEqual(status(PeerUpgrade.token, nil), 421)
        XCTAssertEqual(status(PeerUpgrade.token, "staging"), 421)
        XCTAssertNil(status(PeerUpgrade.token, "testing"))
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
