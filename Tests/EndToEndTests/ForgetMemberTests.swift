import Foundation
import XCTest

/// Retiring a daemon for good with real daemons and the real `rarangi`:
/// three masters on loopback, one killed with SIGKILL and forgotten. The
/// origin timeout is ten minutes, so only the retirement can purge the dead
/// daemon's registration within the test.
final class ForgetMemberTests: XCTestCase {
    static let port = 20000 + Int((getpid() + 104_729) % 20000)
    static let names = ["m1", "m2", "m3"]
    static func host(_ name: String) -> String { "127.0.33.\(names.firstIndex(of: name)! + 1)" }
    static func server(_ name: String) -> [String] { ["--env", "testing", "--server", "\(host(name)):\(port)"] }

    var daemons: [String: DaemonProcess] = [:]

    override func setUpWithError() throws {
        let m1 = "\(Self.host("m1")):\(Self.port)"
        for name in Self.names {
            daemons[name] = try DaemonProcess(["--env", "testing", "--cluster", "a", "--name", name, "--master",
                                                "--listen", "\(Self.host(name)):\(Self.port)", "--gossip-interval", "300",
                                                "--origin-timeout", "600000"] + (name == "m1" ? [] : ["--peer", m1]))
        }
        let linked = eventually(within: 10) {
            Self.names.allSatisfy { n in
                (try? self.partition(n))?["known_members"] as? Int == 3
                    && ((try? self.status(n))?["links"] as? [[String: Any]])?.filter { $0["state"] as? String == "up" }.count == 2
            }
        }
        XCTAssertTrue(linked, "the masters did not link up: \(daemons["m1"]!.log.suffix(1500))")
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

    func served(_ name: String, _ id: String) -> Bool? {
        guard let r = try? request("GET", name, "/web"), r.status == 200 else { return nil }
        return r.json[id] != nil
    }

    func forget(_ member: String, on name: String) throws -> (status: Int32, out: String, err: String) {
        try runTool(CLITests.cli, ["forget", member] + Self.server(name))
    }

    func testAKilledDaemon_forgottenWithTheCLI_isPurgedAtOnce_andNoLongerCounted_butALiveOneIsRefused() throws {
        XCTAssertEqual(try request("PUT", "m3", "/web/on-m3", body: #"{"host":"10.0.0.3","port":80}"#).status, 201)
        XCTAssertTrue(eventually(within: 3) { ["m1", "m2"].allSatisfy { self.served($0, "on-m3") == true } })

        // Alive: refused, and nothing changes.
        var r = try forget("m3", on: "m1")
        XCTAssertEqual(r.status, 1, r.out)
        XCTAssertTrue(r.err.contains("409") && r.err.contains("member_alive"), r.err)
        r = try forget("m1", on: "m1")
        XCTAssertTrue(r.status == 1 && r.err.contains("member_alive"), r.err)
        r = try forget("nobody", on: "m1")
        XCTAssertTrue(r.status == 1 && r.err.contains("not_found"), r.err)
        XCTAssertEqual(try partition("m1")["retired"] as? [String], [])
        XCTAssertEqual(served("m1", "on-m3"), true)

        daemons["m3"]!.kill9()
        // Until m1 and m2 both drop their links to it, it is in their component.
        let apart = eventually(within: 5) {
            guard let masters = (try? self.status("m1"))?["masters"] as? [String: [String: Any]] else { return false }
            return masters["m3"]?["component"] as? Int != masters["m1"]?["component"] as? Int
                && (masters["m2"]?["reaches"] as? [String]).map { !$0.contains("m3") } == true
        }
        XCTAssertTrue(apart, "m3 stayed in m1's component: \(daemons["m1"]!.log.suffix(1500))")
        XCTAssertEqual(served("m1", "on-m3"), true, "nothing purges m3 before the origin timeout but the retirement")

        r = try forget("m3", on: "m1")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("forgot m3 generation="), r.out)
        XCTAssertEqual(served("m1", "on-m3"), false, "purged on the daemon asked before it answered")
        XCTAssertTrue(eventually(within: 1) { self.served("m2", "on-m3") == false },
                      "m2 kept the forgotten daemon's registration: \(daemons["m2"]!.log.suffix(1500))")
        for name in ["m1", "m2"] {
            let p = try partition(name)
            XCTAssertEqual(p["retired"] as? [String], ["m3"], name)
            XCTAssertEqual(p["known_members"] as? Int, 2, "\(name): a retired daemon is no member")
            XCTAssertEqual(p["known_masters"] as? Int, 2, name)
            XCTAssertEqual(p["stale"] as? Bool, false, name)
            XCTAssertNil((try status(name)["masters"] as? [String: Any])?["m3"], name)
        }
        XCTAssertTrue(daemons["m2"]!.log.contains("event=member_retired member=m3"), daemons["m2"]!.log)

        // The survivors are each other's links: still refused.
        r = try forget("m2", on: "m1")
        XCTAssertTrue(r.status == 1 && r.err.contains("member_alive"), r.err)
        XCTAssertEqual(try partition("m1")["retired"] as? [String], ["m3"])
        // A bad name is refused by the CLI before any request.
        r = try forget("bad name", on: "m1")
        XCTAssertEqual(r.status, 64, r.err)
    }
}
