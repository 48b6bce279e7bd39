import Foundation
import XCTest

/// The seed's topology in its smallest form, with real daemons on loopback:
/// one cluster, two masters, three leaves linked to both. Losing either
/// master is survived (MISSION D6): no daemon turns stale, and a leaf
/// killed afterwards is still purged everywhere within the origin timeout.
final class TwoMasterClusterTests: XCTestCase {
    static let port = 20000 + Int((getpid() + 7919) % 20000)
    static let names = ["m1", "m2", "l1", "l2", "l3"]
    static func host(_ name: String) -> String { "127.0.32.\(names.firstIndex(of: name)! + 1)" }
    static let originTimeoutMs = 3000

    var daemons: [String: DaemonProcess] = [:]

    override func setUpWithError() throws {
        let m1 = "\(Self.host("m1")):\(Self.port)", m2 = "\(Self.host("m2")):\(Self.port)"
        for name in Self.names {
            let role: [String]
            switch name {
            case "m1": role = ["--master"]
            case "m2": role = ["--master", "--peer", m1]
            default: role = ["--peer", m1, "--peer", m2]
            }
            daemons[name] = try DaemonProcess(["--env", "testing", "--cluster", "a", "--name", name,
                                                "--listen", "\(Self.host(name)):\(Self.port)", "--gossip-interval", "300",
                                                "--origin-timeout", "\(Self.originTimeoutMs)"] + role)
        }
        let linked = eventually(within: 10) {
            Self.names.allSatisfy { (try? self.partition($0))?["known_members"] as? Int == 5 }
                && Self.names.allSatisfy { (try? self.partition($0))?["catching_up"] as? Bool == false }
                && ["l1", "l2", "l3"].allSatisfy { l in ((try? self.status(l))?["links"] as? [[String: Any]])?
                    .filter { $0["state"] as? String == "up" }.count == 2 }
        }
        XCTAssertTrue(linked, "the cluster did not link up: \(daemons["l1"]!.log.suffix(1500))")
    }

    override func tearDown() {
        for d in daemons.values { d.stop() }
        daemons = [:]
    }

    func request(_ method: String, _ name: String, _ path: String, body: String? = nil) throws -> Response {
        try RawConnection(port: Self.port, host: Self.host(name), timeoutSeconds: 5).request(method, path, body: body)
    }

    func status(_ name: String) throws -> [String: Any] { try request("GET", name, "/_status").json }
    func partition(_ name: String) throws -> [String: Any] { try status(name)["partition"] as? [String: Any] ?? [:] }
    func stale(_ name: String) -> Bool? { (try? partition(name))?["stale"] as? Bool }

    func served(_ name: String, _ service: String, _ id: String) -> Bool? {
        guard let r = try? request("GET", name, "/\(service)") else { return nil }
        if r.status == 404 { return false }
        return r.status == 200 ? r.json[id] != nil : nil
    }

    func losingAMaster_isSurvived(_ victim: String) throws {
        let survivors = Self.names.filter { $0 != victim }
        XCTAssertEqual(try request("PUT", "l1", "/web/on-l1", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        XCTAssertTrue(eventually(within: 3) { survivors.allSatisfy { self.served($0, "web", "on-l1") == true } })
        daemons[victim]!.kill9()
        // Well past the link timeout and the origin timeout: nobody turned stale.
        let deadline = Date().addingTimeInterval(Double(3 * Self.originTimeoutMs) / 1000)
        while Date() < deadline {
            for d in survivors { XCTAssertEqual(stale(d), false, "\(d) turned stale: \(daemons[d]!.log.suffix(1500))") }
            Thread.sleep(forTimeInterval: 0.5)
        }
        for d in survivors {
            let r = try request("GET", d, "/web")
            XCTAssertNil(r.header("X-Rarangi-Stale"), "\(d) answers as stale")
        }
        // A leaf killed afterwards is purged everywhere within the origin timeout and a few rounds.
        daemons["l1"]!.kill9()
        let rest = survivors.filter { $0 != "l1" }
        let purged = eventually(within: Double(Self.originTimeoutMs) / 1000 + 5) {
            rest.allSatisfy { self.served($0, "web", "on-l1") == false }
        }
        XCTAssertTrue(purged, "the killed leaf's registration stayed: \(rest.map { "\($0)=\(String(describing: self.served($0, "web", "on-l1")))" })"
                      + "\n\(daemons[rest[0]]!.log.suffix(2000))")
        for d in rest { XCTAssertEqual(stale(d), false, d) }
    }

    func testTheFirstMasterKilled_isSurvived_withoutStaleness_andALeafKilledAfterIsPurged() throws {
        try losingAMaster_isSurvived("m1")
    }

    func testTheSecondMasterKilled_isSurvived_withoutStaleness_andALeafKilledAfterIsPurged() throws {
        try losingAMaster_isSurvived("m2")
    }
}
