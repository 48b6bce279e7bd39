import RarangiSeal
import XCTest

final class PeerHandshakeTests: XCTestCase {
    let k1 = ClusterKey(bytes: Array(repeating: 1, count: 32))
    let k2 = ClusterKey(bytes: Array(repeating: 2, count: 32))

    func nonce(_ b: UInt8) -> [UInt8] { Array(repeating: b, count: 32) }

    /// Runs a handshake to its end; returns both outcomes.
    func run(_ d: inout PeerHandshake, _ l: inout PeerHandshake) -> (PeerHandshake.Outcome, PeerHandshake.Outcome) {
        var dOut = PeerHandshake.Outcome.pending
        var lOut = PeerHandshake.Outcome.pending
        for _ in 0..<4 {
            let toL = d.takeOutgoing()
            if !toL.isEmpty { lOut = l.receive(toL) }
            let toD = l.takeOutgoing()
            if !toD.isEmpty { dOut = d.receive(toD) }
        }
        return (dOut, lOut)
    }

    func established(_ o: PeerHandshake.Outcome, file: StaticString = #filePath, line: UInt = #line) -> PeerHandshake.Established? {
        if case let .established(e) = o { return e }
        XCTFail("not established: \(o)", file: file, line: line)
        return nil
    }

    func failure(_ o: PeerHandshake.Outcome) -> HandshakeFailure? {
        if case let .failed(f) = o { return f }
        return nil
    }

    func testSameKey_bothSidesEstablish_andFramesOpenBothWays() throws {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        let (dO, lO) = run(&d, &l)
        var de = try XCTUnwrap(established(dO))
        var le = try XCTUnwrap(established(lO))
        XCTAssertEqual(de.peerName, "b")
        XCTAssertEqual(le.peerName, "a")
        var wire: [UInt8] = []
        de.channel.seal([1, 2, 3], into: &wire)
        de.channel.seal([4], into: &wire)
        le.channel.append(wire)
        XCTAssertEqual(try le.channel.open(), [1, 2, 3])
        XCTAssertEqual(try le.channel.open(), [4])
        XCTAssertNil(try le.channel.open())
        var back: [UInt8] = []
        le.channel.seal([5, 6], into: &back)
        de.channel.append(back)
        XCTAssertEqual(try de.channel.open(), [5, 6])
    }

    func testRotation_listenerAcceptsAnyKeyItHolds_diallerProvesWithItsFirst() throws {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k2, k1]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1, k2]), environment: "testing", name: "b", nonce: nonce(9))
        let (dO, lO) = run(&d, &l)
        XCTAssertEqual(try XCTUnwrap(established(dO)).keyID, k2.id)
        XCTAssertEqual(try XCTUnwrap(established(lO)).keyID, k2.id)
    }

    func testUnknownKey_refusedOnBothSides() {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k2]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        let (dO, lO) = run(&d, &l)
        XCTAssertEqual(failure(lO), .unknownKey(k2.id))
        XCTAssertEqual(failure(dO), .refusedByPeer(.unknownKey))
    }

    func testOtherEnvironment_refused() {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "staging", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        let (_, lO) = run(&d, &l)
        XCTAssertEqual(failure(lO), .environment("staging"))
    }

    /// A captured handshake replayed to either side fails: the other side's
    /// fresh nonce is in the transcript.
    func testReplayedProof_fromAnEarlierHandshake_isRefused() throws {
        // A capture of a complete handshake between a and b.
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        let hello = d.takeOutgoing()
        _ = l.receive(hello)
        let reply = l.takeOutgoing()
        _ = d.receive(reply)
        let proof = d.takeOutgoing()
        // Replayed to b, whose new nonce differs: the old proof fails.
        var l2 = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(10))
        guard case .pending = l2.receive(hello) else { return XCTFail("the hello alone was refused") }
        XCTAssertEqual(failure(l2.receive(proof)), .badProof)
        // The old reply replayed to a new dialler (new nonce) fails too.
        var d2 = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "a", nonce: nonce(8))
        XCTAssertEqual(failure(d2.receive(reply)), .badProof)
    }

    /// A listener's reply reflected back as a dialler's proof (both are MACs
    /// over the same transcript) fails: the two proofs are labelled apart.
    func testReflectedReplyMac_isNotAProof() throws {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        _ = l.receive(d.takeOutgoing())
        let reply = l.takeOutgoing()
        let mac = Array(reply.suffix(32))
        let forged: [UInt8] = [0, 0, 0, 33, 0xA3] + mac
        XCTAssertEqual(failure(l.receive(forged)), .badProof)
    }

    func testSealedFrame_flippedByte_replayed_reordered_injected_allFail() throws {
        var d = PeerHandshake(role: .dialler, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "a", nonce: nonce(7))
        var l = PeerHandshake(role: .listener, keyring: ClusterKeyring(keys: [k1]), environment: "testing", name: "b", nonce: nonce(9))
        let (dO, lO) = run(&d, &l)
        var sender = try XCTUnwrap(established(dO)).channel
        let receiver = try XCTUnwrap(established(lO)).channel
        var f1: [UInt8] = [], f2: [UInt8] = []
        sender.seal([1, 2, 3, 4], into: &f1)
        sender.seal([5, 6, 7, 8], into: &f2)

        func opens(_ bytes: [UInt8]...) -> Result<[[UInt8]], SealError> {
            var r = receiver
            var got: [[UInt8]] = []
            for b in bytes {
                r.append(b)
                do {
                    while let f = try r.open() { got.append(f) }
                } catch {
                    return .failure(error)
                }
            }
            return .success(got)
        }
        XCTAssertEqual(try opens(f1, f2).get(), [[1, 2, 3, 4], [5, 6, 7, 8]])
        var flipped = f1
        flipped[6] ^= 0x01
        XCTAssertThrowsError(try opens(flipped).get())
        XCTAssertThrowsError(try opens(f1, f1).get(), "a replayed frame")
        XCTAssertThrowsError(try opens(f2, f1).get(), "reordered frames")
        // A frame sealed by the receiver's own sending key (a reflection) does not open either.
        var own = receiver
        var reflected: [UInt8] = []
        own.seal([1, 2, 3, 4], into: &reflected)
        XCTAssertThrowsError(try opens(reflected).get(), "a reflected frame")
        XCTAssertThrowsError(try opens([0, 0, 0, 3, 1, 2, 3]).get(), "a frame shorter than a tag")
    }

    func testKeyFile_parsesKeysAndComments_refusesGarbageWithoutEchoingIt() throws {
        let ring = try ClusterKeyring.parse("# keys\n\n\(k1.text)\n  \(k2.text)  \n")
        XCTAssertEqual(ring.keys, [k1, k2])
        XCTAssertEqual(ring.primary, k1)
        XCTAssertThrowsError(try ClusterKeyring.parse("secret-but-wrong\n")) { e in
            let message = (e as? KeyFileError)?.message ?? ""
            XCTAssertTrue(message.contains("line 1"))
            XCTAssertFalse(message.contains("secret"))
        }
        XCTAssertThrowsError(try ClusterKeyring.parse("# nothing\n"))
        XCTAssertNotEqual(ClusterKey.generate().text, ClusterKey.generate().text)
        XCTAssertEqual(ClusterKey(text: Substring(k1.text)), k1)
    }
}
