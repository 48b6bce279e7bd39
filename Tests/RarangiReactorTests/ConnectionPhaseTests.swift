@testable import RarangiReactor
import RarangiCore
import XCTest

/// The connection's one state machine, without sockets: which phases may
/// follow which, and what each phase lets the shell do.
final class ConnectionPhaseTests: XCTestCase {
    let link = LinkID(7)

    func test_aClientConnection_parksHoldsUpgradesOrCloses_andAParkedOneReturnsToHTTP() {
        let http = ConnectionPhase.http
        XCTAssertTrue(http.allows(.parked))
        XCTAssertTrue(http.allows(.held(lastPingMs: 0, http11: true)))
        XCTAssertTrue(http.allows(.peer(link)))
        XCTAssertTrue(http.allows(.closing))
        XCTAssertTrue(ConnectionPhase.parked.allows(.http))
        XCTAssertTrue(ConnectionPhase.parked.allows(.closing))
        XCTAssertTrue(ConnectionPhase.closing.allows(.draining))
        XCTAssertTrue(http.allows(.blocked))
        XCTAssertTrue(ConnectionPhase.blocked.allows(.http))
        XCTAssertFalse(ConnectionPhase.blocked.allows(.parked), "a blocked connection parses nothing")
    }

    func test_aBlockedConnection_writesButNeitherReadsRequestsNorTakesAnswers() {
        XCTAssertTrue(ConnectionPhase.blocked.writes)
        XCTAssertFalse(ConnectionPhase.blocked.readsRequests)
        XCTAssertFalse(ConnectionPhase.blocked.awaitsReply)
    }

    func test_aHeldStream_neverReadsRequestsAgain_norParks() {
        let held = ConnectionPhase.held(lastPingMs: 0, http11: true)
        XCTAssertFalse(held.allows(.http))
        XCTAssertFalse(held.allows(.parked))
        XCTAssertFalse(held.allows(.closing))
        XCTAssertTrue(held.allows(.held(lastPingMs: 2000, http11: true)), "a ping moves the ping clock")
        XCTAssertFalse(held.readsRequests)
        XCTAssertFalse(held.awaitsReply)
        XCTAssertTrue(held.inSession)
    }

    func test_aDialledLink_connectsThenUpgradesThenCarriesFrames_inThatOrderOnly() {
        XCTAssertTrue(ConnectionPhase.peerConnecting(link).allows(.peerUpgrading(link)))
        XCTAssertTrue(ConnectionPhase.peerUpgrading(link).allows(.peer(link)))
        XCTAssertFalse(ConnectionPhase.peerConnecting(link).allows(.peer(link)))
        XCTAssertFalse(ConnectionPhase.peerUpgrading(link).allows(.peer(LinkID(8))), "a link keeps its id")
        XCTAssertFalse(ConnectionPhase.peer(link).allows(.http))
        XCTAssertEqual(ConnectionPhase.peerUpgrading(link).link, link)
        XCTAssertNil(ConnectionPhase.http.link)
        XCTAssertFalse(ConnectionPhase.peer(link).awaitsReply, "a peer link gets no HTTP answers")
    }

    func test_everyPhaseCloses_andNothingFollowsClosed() {
        let all: [ConnectionPhase] = [.http, .parked, .blocked, .held(lastPingMs: 0, http11: false), .peerConnecting(link),
                                      .peerUpgrading(link), .peer(link), .closing, .draining]
        for phase in all {
            XCTAssertTrue(phase.allows(.closed), "\(phase)")
            XCTAssertFalse(ConnectionPhase.closed.allows(phase), "\(phase)")
        }
        XCTAssertFalse(ConnectionPhase.closed.allows(.closed), "a connection closes once")
        XCTAssertFalse(ConnectionPhase.draining.writes)
        XCTAssertFalse(ConnectionPhase.closed.writes)
        XCTAssertTrue(ConnectionPhase.closing.writes)
    }

    func test_onlyAnHTTPConnectionReadsRequests_andOnlyItOrAParkedOneAwaitsAReply() {
        let all: [ConnectionPhase] = [.http, .parked, .blocked, .held(lastPingMs: 0, http11: false), .peerConnecting(link),
                                      .peerUpgrading(link), .peer(link), .closing, .draining, .closed]
        XCTAssertEqual(all.filter(\.readsRequests), [.http])
        XCTAssertEqual(all.filter(\.awaitsReply), [.http, .parked])
    }
}
