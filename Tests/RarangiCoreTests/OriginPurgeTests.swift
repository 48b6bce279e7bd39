@testable import RarangiCore
import RarangiWire
import XCTest

/// The origin purge's conditions and clocks, and the liveness machine around them.
final class OriginPurgeTests: XCTestCase {
    let judge = OriginPurge.Judge(stale: false, freshSince: 0, master: true, knowsMasters: true,
                                  originTimeoutMs: 5000, gossipIntervalMs: 1000)

    func origins(_ names: [String], generation: UInt64 = 1) -> [OriginState?] {
        [OriginState(name: "me", generation: 1)] + names.map { OriginState(name: $0, generation: generation) }
    }

    func test_whoMayPurge_aStaleDaemonNever_aLeafOnlyWithoutMasters_andNotRightAfterAHeal() {
        XCTAssertTrue(OriginPurge.mayPurge(judge, now: 0))
        var j = judge
        j.stale = true
        XCTAssertFalse(OriginPurge.mayPurge(j, now: 0))
        j = judge
        j.master = false
        XCTAssertFalse(OriginPurge.mayPurge(j, now: 0))
        j.knowsMasters = false
        XCTAssertTrue(OriginPurge.mayPurge(j, now: 0))
        j = judge
        j.freshSince = 10_000
        XCTAssertFalse(OriginPurge.mayPurge(j, now: 11_999))
        XCTAssertTrue(OriginPurge.mayPurge(j, now: 12_000))
    }

    func test_clock_startsWhenNotAlive_purgesAtTheTimeout_andAnotherLifeStartsAfresh() {
        var p = OriginPurge()
        var o = origins(["far"])
        XCTAssertEqual(p.scan(o, selfID: 0, vouched: [], judge: judge, now: 100).dead, [])
        XCTAssertEqual(p.clock(1, o[1]!)?.since, 100)
        XCTAssertEqual(p.scan(o, selfID: 0, vouched: [], judge: judge, now: 5099).dead, [])
        let last = p.scan(o, selfID: 0, vouched: [], judge: judge, now: 5100)
        XCTAssertEqual(last.dead, [1])
        XCTAssertTrue(last.running)
        o[1] = OriginState(name: "far", generation: 2)
        XCTAssertNil(p.clock(1, o[1]!), "a new life has no clock of the old one")
    }

    func test_clock_isForgivenOnlyAfterTheOriginStayedAliveForTwoRounds() {
        var p = OriginPurge()
        let o = origins(["far"])
        _ = p.scan(o, selfID: 0, vouched: [], judge: judge, now: 0)
        _ = p.scan(o, selfID: 0, vouched: ["far"], judge: judge, now: 1000)
        XCTAssertNotNil(p.clock(1, o[1]!))
        _ = p.scan(o, selfID: 0, vouched: ["far"], judge: judge, now: 2999)
        XCTAssertNotNil(p.clock(1, o[1]!))
        let forgiven = p.scan(o, selfID: 0, vouched: ["far"], judge: judge, now: 3000)
        XCTAssertNil(p.clock(1, o[1]!))
        XCTAssertFalse(forgiven.running)
    }

    func test_liveness_rescansOnlyWhenAskedOrWhileAClockRuns_andKeepsABuriedLifeOut() {
        var l = Liveness()
        let o = origins(["far", "near"])
        var vouchedCalls = 0
        func round(_ now: Int64) -> [Int32] {
            l.round(name: "me", upPeers: ["near"], vouched: { vouchedCalls += 1; return [] }, origins: o, selfID: 0,
                    judge: judge, now: now)
        }
        XCTAssertEqual(round(0), [])
        XCTAssertEqual(vouchedCalls, 1)
        XCTAssertEqual(round(5000), [1], "far's clock ran: scanned without being asked")
        XCTAssertEqual(vouchedCalls, 1, "the alive set is rebuilt only when links changed")
        var effects: [Effect] = []
        l.bury(1, o[1]!, now: 5000, keepOutMs: 60_000, effects: &effects)
        XCTAssertEqual(l.purged, 1)
        XCTAssertTrue(l.keepsOut("far", generation: 1))
        XCTAssertFalse(l.keepsOut("far", generation: 2), "a newer life is not kept out")
        l.forgetBurials(now: 65_000)
        XCTAssertFalse(l.keepsOut("far", generation: 1))
        l.linksChanged()
        _ = round(65_001)
        XCTAssertEqual(vouchedCalls, 2)
    }
}
