import RarangiWire
import XCTest

/// The peer framing: every message round-trips; any damaged frame fails
/// cleanly instead of crashing or allocating without bound.
final class PeerCodecTests: XCTestCase {
    let samples: [PeerMessage] = [
        .hello(PeerHello(environment: "production", cluster: "eu", name: "m1", generation: 1_700_000_000_000,
                         master: true, host: "10.0.0.1", port: 4710)),
        .digest(hash: 0xdead_beef, membersHash: 7, entries: nil),
        .digest(hash: 1, membersHash: 2, entries: [DigestEntry(name: "a", generation: 3, version: 1 << 50)]),
        .pull([PullEntry(name: "a", generation: 3, since: 99)]),
        .records([RecordBatch(origin: "a", generation: 3, mode: .push(prev: 5),
                              deltas: [Delta(service: "web", id: "i1", version: 6, kind: .put, body: Array(#"{"port":80}"#.utf8)),
                                       Delta(service: "web", id: "i2", version: 7, kind: .kill, body: [],
                                             causes: [DeltaCause(name: "b", generation: 2, version: 4),
                                                      DeltaCause(name: "c", generation: 1, version: 1 << 40)])]),
                  RecordBatch(origin: "b", generation: 1, mode: .sync(since: 0, upTo: 9, reset: true), deltas: []),
                  RecordBatch(origin: "c", generation: 2, mode: .coalescedPush, deltas: []),
                  RecordBatch(origin: "d", generation: 4, mode: .deathNotice, deltas: [])]),
        .members([MemberEntry(name: "m1", generation: 1, seq: 4, cluster: "eu", host: "h", port: 1,
                              master: true, masters: ["m2", "m3"], leaves: ["l1"]),
                  MemberEntry(name: "l1", generation: 2, seq: 1, cluster: "eu", host: "h2", port: 2,
                              master: false, masters: ["m1"], leaves: [])]),
        .verdict(MemberVerdict(stale: true, members: 10_000, components: 2, largest: 9_800, mine: 200)),
    ]

    /// Tag 2, a DELETE that hid records by version alone, is retired: a frame
    /// carrying it is refused whole.
    func testRetiredDeleteTag_isRefused() {
        // type 3 (records), 1 batch, origin "o", generation 3, push from 0, 1 delta:
        // service "w", id "i", version 5, tag 2, empty body.
        let payload: [UInt8] = [3, 1, 1, UInt8(ascii: "o"), 3, 0, 0, 1, 1, UInt8(ascii: "w"), 1, UInt8(ascii: "i"), 5, 2, 0]
        XCTAssertThrowsError(try PeerCodec.decode(frame: [0, 0, 0, UInt8(payload.count)] + payload))
        var kill = payload
        kill[13] = 3
        XCTAssertThrowsError(try PeerCodec.decode(frame: [0, 0, 0, UInt8(kill.count)] + kill), "a kill without its causes count is cut short")
        kill += [1, 1, UInt8(ascii: "x"), 1, 4]
        XCTAssertEqual(try PeerCodec.decode(frame: [0, 0, 0, UInt8(kill.count)] + kill),
                       .records([RecordBatch(origin: "o", generation: 3, mode: .push(prev: 0), deltas: [
                           Delta(service: "w", id: "i", version: 5, kind: .kill, body: [],
                                 causes: [DeltaCause(name: "x", generation: 1, version: 4)])])]))
    }

    /// The named modes travel as the very bytes daemons sent before they had names.
    func testDeathNoticeAndCoalescedPush_keepTheOldBytes_bothWays() throws {
        let max: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        // type 3 (records), 1 batch, origin "o", generation 3, mode tag, fields, 0 deltas.
        let notice: [UInt8] = [3, 1, 1, UInt8(ascii: "o"), 3, 2] + max + [0, 0]
        let coalesced: [UInt8] = [3, 1, 1, UInt8(ascii: "o"), 3, 0] + max + [0]
        func frame(_ payload: [UInt8]) -> [UInt8] { [0, 0, 0, UInt8(payload.count)] + payload }
        let named: [(RecordBatch.Mode, [UInt8])] = [(.deathNotice, notice), (.coalescedPush, coalesced)]
        for (mode, payload) in named {
            let message = PeerMessage.records([RecordBatch(origin: "o", generation: 3, mode: mode, deltas: [])])
            XCTAssertEqual(PeerCodec.encode(message), frame(payload), "\(mode) encodes to the old bytes")
            XCTAssertEqual(try PeerCodec.decode(frame: frame(payload)), message, "the old bytes decode to \(mode)")
        }
        // The neighbours of the reserved values stay ordinary pushes and syncs.
        let push = PeerMessage.records([RecordBatch(origin: "o", generation: 3, mode: .push(prev: UInt64.max - 1), deltas: [])])
        XCTAssertEqual(try PeerCodec.decode(frame: PeerCodec.encode(push)), push)
        let sync = PeerMessage.records([RecordBatch(origin: "o", generation: 3, mode: .sync(since: UInt64.max, upTo: 0, reset: false), deltas: [])])
        XCTAssertEqual(try PeerCodec.decode(frame: PeerCodec.encode(sync)), sync)
    }

    /// A retirement is bit 1 of the role byte: 2 a retired leaf, 3 a retired
    /// master; entries not retired keep their old bytes (0 and 1), and any
    /// other role is refused.
    func testRetiredEntries_roundTripAsRoleBits_andAnUnknownRoleIsRefused() throws {
        func frame(_ payload: [UInt8]) -> [UInt8] { [0, 0, 0, UInt8(payload.count)] + payload }
        // type 4 (members), 1 entry: name "n", generation 2, seq 3, cluster "c", host "h", port 1, role, no links.
        func payload(role: UInt8) -> [UInt8] {
            [4, 1, 1, UInt8(ascii: "n"), 2, 3, 1, UInt8(ascii: "c"), 1, UInt8(ascii: "h"), 1, role, 0, 0]
        }
        for (master, retired, role) in [(false, false, 0), (true, false, 1), (false, true, 2), (true, true, 3)] as [(Bool, Bool, UInt8)] {
            let message = PeerMessage.members([MemberEntry(name: "n", generation: 2, seq: 3, cluster: "c", host: "h", port: 1,
                                                           master: master, masters: [], leaves: [], retired: retired)])
            XCTAssertEqual(PeerCodec.encode(message), frame(payload(role: role)), "role byte \(role)")
            XCTAssertEqual(try PeerCodec.decode(frame: frame(payload(role: role))), message)
        }
        XCTAssertThrowsError(try PeerCodec.decode(frame: frame(payload(role: 4))))
        XCTAssertThrowsError(try PeerCodec.decode(frame: frame(payload(role: 0xff))))
    }

    func testEveryMessage_roundTrips() throws {
        for m in samples {
            XCTAssertEqual(try PeerCodec.decode(frame: PeerCodec.encode(m)), m)
        }
    }

    func testFrames_splitAnywhere_decodeInOrder() throws {
        let stream = samples.flatMap { PeerCodec.encode($0) }
        for cut in [1, 3, 7, 50] {
            var d = PeerFrameDecoder()
            var out: [PeerMessage] = []
            var i = 0
            while i < stream.count {
                d.append(stream[i..<min(stream.count, i + cut)])
                i += cut
                while let m = try d.next() { out.append(m) }
            }
            XCTAssertEqual(out, samples)
        }
    }

    func testOversizedLengthPrefix_isRefusedBeforeBuffering() {
        var d = PeerFrameDecoder()
        d.append([0x7f, 0xff, 0xff, 0xff, 1])
        XCTAssertThrowsError(try d.next())
    }

    func testTruncatedOrMutatedFrames_failCleanly() {
        var rng = SystemRandomNumberGenerator()
        for m in samples {
            let frame = PeerCodec.encode(m)
            for n in 5..<frame.count {
                var cut = Array(frame[0..<n])
                let len = UInt32(n - 4)
                cut[0] = UInt8(len >> 24); cut[1] = UInt8((len >> 16) & 0xff); cut[2] = UInt8((len >> 8) & 0xff); cut[3] = UInt8(len & 0xff)
                XCTAssertThrowsError(try PeerCodec.decode(frame: cut), "truncated at \(n)")
            }
            for _ in 0..<300 {
                var bad = frame
                bad[4 + Int.random(in: 0..<(frame.count - 4), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                _ = try? PeerCodec.decode(frame: bad)  // must not crash
            }
        }
    }

    func testUnknownType_isRefused() {
        XCTAssertThrowsError(try PeerCodec.decode(frame: [0, 0, 0, 1, 99]))
    }
}
