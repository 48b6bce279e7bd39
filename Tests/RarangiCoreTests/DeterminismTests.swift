@testable import RarangiCore
import RarangiWire
import XCTest

/// The same inputs give the same effects in every process: nothing the core
/// does depends on the order a hashed collection happens to iterate in, so a
/// simulation replays exactly from its seed.
final class DeterminismTests: XCTestCase {
    let peer = LinkID(LinkID.inboundBit | 1)

    func connected(_ name: String) -> Node {
        var node = Node(config: NodeConfig(environment: "testing", cluster: "c", name: name))
        _ = node.handle(.peerConnected(peer, host: ""), now: Instant(ms: 0))
        _ = node.handle(.peerMessage(peer, .hello(PeerHello(environment: "testing", cluster: "c", name: "p", generation: 1,
                                                            master: true, host: "", port: 0))), now: Instant(ms: 0))
        return node
    }

    func batch(_ services: [String], ids: Int, version: UInt64) -> RecordBatch {
        var deltas: [Delta] = []
        var v = version
        for s in services {
            for i in 0..<ids {
                v += 1
                deltas.append(Delta(service: s, id: "i\(i)", version: v, kind: .put, body: Array(#"{"v":\#(v)}"#.utf8)))
            }
        }
        return RecordBatch(origin: "far", generation: 1, mode: .push(prev: 0), deltas: deltas)
    }

    func replyOrder(_ effects: [Effect]) -> [UInt64] {
        effects.compactMap { if case let .reply(c, _) = $0 { return c.raw } else { return nil } }
    }

    func test_watchersOfSeveralServices_areAnsweredInConnectionOrder() {
        var node = connected("n")
        let services = (0..<12).map { "s\($0)" }
        // Parked in a scrambled order across services.
        let conns: [UInt64] = (0..<36).map { ($0 * 23) % 36 + 1 }
        for (n, c) in conns.enumerated() {
            _ = node.handle(.request(ConnectionID(c), .watch(service: services[n % services.count], pretty: false, index: 0,
                                                             waitMs: 60_000)), now: Instant(ms: 1))
        }
        let effects = node.handle(.peerMessage(peer, .records([batch(services, ids: 2, version: 0)])), now: Instant(ms: 2))
        XCTAssertEqual(replyOrder(effects), conns.sorted())
    }

    func test_perServiceIndexes_afterAPurge_areTheSameInEveryReplica() {
        let services = (0..<40).map { "s\($0)" }
        var indexes: [[UInt64]] = []
        for _ in 0..<4 {
            var r = Replica(name: "me", generation: 1)
            var clock = HybridClock()
            r.apply(batch(services, ids: 3, version: 0), now: 0, clock: &clock)
            r.purge(r.originIDs["far"]!)
            indexes.append(services.map { r.view.serviceIndex($0) })
        }
        XCTAssertEqual(Set(indexes).count, 1, "the purge walked the records in a hash-dependent order")
    }

    func test_twoNodesFedTheSameInputs_produceTheSameEffects() {
        func run() -> [String] {
            var node = connected("n")
            var out: [String] = []
            let services = (0..<8).map { "s\($0)" }
            for c in 0..<16 {
                _ = node.handle(.request(ConnectionID(UInt64(100 - c)), .watch(service: services[c % 8], pretty: false, index: 0,
                                                                               waitMs: 60_000)), now: Instant(ms: 1))
            }
            let inputs: [Input] = [
                .peerMessage(peer, .records([batch(services, ids: 4, version: 0)])),
                .request(ConnectionID(1), .lookup(service: "s3", pretty: false)),
                .deadline,
            ]
            for (t, input) in inputs.enumerated() {
                out += node.handle(input, now: Instant(ms: Int64(10 + t))).map { "\($0)" }
            }
            for c in 0..<16 {
                _ = node.handle(.request(ConnectionID(UInt64(200 + c)), .watch(service: services[c % 8], pretty: false,
                                                                               index: node.catalogue.serviceIndex(services[c % 8]),
                                                                               waitMs: 60_000)), now: Instant(ms: 20))
            }
            // The master's verdict purges "far": every watcher wakes in the same turn.
            let notice = RecordBatch(origin: "far", generation: 1, mode: .deathNotice, deltas: [])
            out += node.handle(.peerMessage(peer, .records([notice])), now: Instant(ms: 21)).map { "\($0)" }
            out += node.handle(.deadline, now: Instant(ms: 22)).map { "\($0)" }
            out += services.map { "\($0)=\(node.catalogue.serviceIndex($0))" }
            return out
        }
        let first = run()
        XCTAssertTrue(first.contains { $0.contains("reply") })
        for _ in 0..<3 { XCTAssertEqual(run(), first) }
    }
}
