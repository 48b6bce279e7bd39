import Foundation
import XCTest

/// Six real daemons on loopback: clusters a and b, each with two masters
/// and a leaf. Each daemon has its own 127.0.31.x address, so a test can
/// cut the network between the clusters with iptables (root only).
final class ReplicationEndToEndTests: XCTestCase {
    static let port = 20000 + Int(getpid() % 20000)
    static let rule = "rarangi-e2e-replication"

    struct Member {
        var name: String
        var host: String
        var args: [String]
    }

    static let members: [Member] = [
        Member(name: "ma1", host: "127.0.31.1", args: ["--cluster", "a", "--master"]),
        Member(name: "ma2", host: "127.0.31.2", args: ["--cluster", "a", "--master", "--peer", "127.0.31.1:\(port)"]),
        Member(name: "la", host: "127.0.31.3", args: ["--cluster", "a", "--peer", "127.0.31.1:\(port)", "--peer", "127.0.31.2:\(port)"]),
        // Naming one master is enough: mb1 learns ma2 and mb2 from ma1.
        Member(name: "mb1", host: "127.0.31.4", args: ["--cluster", "b", "--master", "--peer", "127.0.31.1:\(port)"]),
        Member(name: "mb2", host: "127.0.31.5", args: ["--cluster", "b", "--master", "--peer", "127.0.31.4:\(port)"]),
        Member(name: "lb", host: "127.0.31.6", args: ["--cluster", "b", "--peer", "127.0.31.4:\(port)", "--peer", "127.0.31.5:\(port)"]),
    ]

    var daemons: [String: DaemonProcess] = [:]

    override func setUpWithError() throws {
        for m in Self.members {
            daemons[m.name] = try DaemonProcess(["--env", "testing", "--name", m.name, "--listen", "\(m.host):\(Self.port)",
                                                 "--gossip-interval", "300", "--origin-timeout", "3000"] + m.args)
        }
        // Every daemon links up: each master reaches the three others.
        let meshed = eventually(within: 10) {
            Self.members.filter { $0.name.hasPrefix("m") }.allSatisfy { m in
                ((try? self.status(m.name)["masters"] as? [String: Any])?[m.name] as? [String: Any])?["reaches"].map { ($0 as? [Any])?.count == 3 } ?? false
            }
        }
        XCTAssertTrue(meshed, "masters did not form a full mesh: \(daemons["mb2"]!.log)")
    }

    override func tearDown() {
        Self.removeRules()
        for d in daemons.values { d.stop() }
        daemons = [:]
    }

    func host(_ name: String) -> String { Self.members.first { $0.name == name }!.host }

    func request(_ method: String, _ name: String, _ path: String, body: String? = nil) throws -> Response {
        let c = try RawConnection(port: Self.port, host: host(name), timeoutSeconds: 5)
        return try c.request(method, path, body: body)
    }

    func status(_ name: String) throws -> [String: Any] { try request("GET", name, "/_status").json }

    func instance(_ name: String, _ service: String, _ id: String) -> String? {
        guard let r = try? request("GET", name, "/\(service)"), r.status == 200 else { return nil }
        return (r.json[id] as? [String: Any]).map { "\($0["host"] ?? "")" }
    }

    func testRegistrationAtOneLeaf_appearsAtTheLeafOfTheOtherCluster_andDeleteRemovesItEverywhere() throws {
        XCTAssertEqual(try request("PUT", "la", "/web/i1", body: #"{"host":"h1","port":80}"#).status, 201)
        XCTAssertTrue(eventually(within: 2) { self.instance("lb", "web", "i1") == "h1" }, "not replicated to lb")
        for m in ["ma1", "ma2", "mb1", "mb2"] { XCTAssertEqual(instance(m, "web", "i1"), "h1", m) }
        // The seed's delta query answers in the seed's format.
        let deltas = try request("GET", "lb", "/_deltas?la=0").json
        XCTAssertEqual(((deltas["la"] as? [[Any]])?.first?[1]) as? String, "i1")
        XCTAssertEqual(try request("DELETE", "lb", "/web/i1").status, 200)
        XCTAssertTrue(eventually(within: 2) { self.instance("la", "web", "i1") == nil && self.instance("ma1", "web", "i1") == nil })
    }

    func testKill9OfAMaster_isSurvived_andItsRecordsArePurged() throws {
        XCTAssertEqual(try request("PUT", "ma1", "/db/m", body: #"{"host":"on-ma1"}"#).status, 201)
        XCTAssertTrue(eventually(within: 2) { self.instance("lb", "db", "m") == "on-ma1" })
        daemons["ma1"]!.kill9()
        // The leaf of cluster a still reaches the world through ma2.
        XCTAssertEqual(try request("PUT", "la", "/web/after", body: #"{"host":"h2"}"#).status, 201)
        XCTAssertTrue(eventually(within: 3) { self.instance("lb", "web", "after") == "h2" }, "not replicated after the kill")
        // ma1 is dead: its records leave the view everywhere after the origin timeout.
        XCTAssertTrue(eventually(within: 8) { self.instance("lb", "db", "m") == nil && self.instance("la", "db", "m") == nil },
                      "the dead master's record survived: \(daemons["lb"]!.log.suffix(2000))")
        XCTAssertEqual((try status("la")["partition"] as? [String: Any])?["stale"] as? Bool, false)
    }

    // MARK: network cut

    static func iptables(_ args: [String]) -> Int32 {
        (try? runTool("/usr/sbin/iptables", args).status) ?? -1
    }

    static func removeRules() {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables"),
              let listing = try? runTool("/usr/sbin/iptables", ["-S", "INPUT"]) else { return }
        for line in listing.out.split(separator: "\n") where line.contains(rule) && line.hasPrefix("-A ") {
            // "-A INPUT -s … -j DROP" → "-D INPUT -s … -j DROP"; values hold no spaces or quotes.
            let args = ["-D"] + line.dropFirst(3).split(separator: " ").map { String($0).replacingOccurrences(of: "\"", with: "") }
            _ = iptables(args)
        }
    }

    func cut(_ a: [String], from b: [String]) throws {
        for x in a { for y in b {
            for (s, d) in [(host(x), host(y)), (host(y), host(x))] {
                let rc = Self.iptables(["-A", "INPUT", "-s", s, "-d", d, "-p", "tcp", "-m", "comment", "--comment", Self.rule, "-j", "DROP"])
                guard rc == 0 else { throw TestError("iptables failed (\(rc))") }
            }
        } }
    }

    func testNetworkCutBetweenClusters_isDetected_aTwoTwoSplitLeavesBothSidesStale_andHealingMerges() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for iptables") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables") else { throw XCTSkip("iptables is not installed") }
        Self.removeRules()
        defer { Self.removeRules() }
        XCTAssertEqual(try request("PUT", "la", "/web/a", body: #"{"host":"ha"}"#).status, 201)
        XCTAssertEqual(try request("PUT", "lb", "/web/b", body: #"{"host":"hb"}"#).status, 201)
        XCTAssertTrue(eventually(within: 2) { self.instance("la", "web", "b") == "hb" && self.instance("lb", "web", "a") == "ha" })

        try cut(["ma1", "ma2", "la"], from: ["mb1", "mb2", "lb"])
        // A 2–2 split of four masters: neither side is more than half, so
        // both are stale, and neither purges the other's live registrations.
        for d in ["la", "lb"] {
            XCTAssertTrue(eventually(within: 6) {
                (try? self.request("GET", d, "/web"))?.header("X-Rarangi-Stale") == "true"
            }, "\(d) not marked stale: \(daemons[d]!.log.suffix(1500))")
        }
        for d in ["ma1", "mb1"] {
            XCTAssertTrue(eventually(within: 3) {
                ((try? self.status(d))?["partition"] as? [String: Any])?["stale"] as? Bool == true
            }, "\(d) not stale")
        }
        // Past the origin timeout (10 s), both sides still serve all they knew.
        usleep(11_000_000)
        XCTAssertEqual(instance("la", "web", "b"), "hb", "a side that is not a majority purged the other's records")
        XCTAssertEqual(instance("lb", "web", "a"), "ha", "a side that is not a majority purged the other's records")
        XCTAssertEqual(try request("PUT", "lb", "/web/b2", body: #"{"host":"hb2"}"#).status, 201)

        Self.removeRules()
        XCTAssertTrue(eventually(within: 8) {
            self.instance("la", "web", "b") == "hb" && self.instance("la", "web", "b2") == "hb2"
                && self.instance("lb", "web", "a") == "ha"
                && (try? self.request("GET", "lb", "/web"))?.header("X-Rarangi-Stale") == nil
        }, "did not heal: \(daemons["lb"]!.log.suffix(1500))")
    }
}

extension ReplicationEndToEndTests {
    /// MISSION D8: a held registration goes everywhere the moment its holder dies.
    func testHeldRegistration_killedHolder_isGoneFromEveryDaemon() throws {
        let curl = "/usr/bin/curl"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: curl), "curl is not installed")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: curl)
        holder.arguments = ["-s", "-N", "-X", "PUT", "-d", #"{"host":"held","port":9}"#,
                            "http://\(host("la")):\(Self.port)/held/h1?hold"]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        XCTAssertTrue(eventually(within: 3) { self.instance("lb", "held", "h1") == "held" }, "not replicated to lb")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let killedAt = Date()
        XCTAssertTrue(eventually(within: 1) {
            ["la", "ma1", "ma2", "mb1", "mb2", "lb"].allSatisfy { self.instance($0, "held", "h1") == nil }
        }, "the held registration outlived its holder somewhere")
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 1)
    }

    /// The trap of MISSION.md: an expiry at one daemon removes only that
    /// daemon's record, never the same instance registered live elsewhere.
    func testExpiryAtOneDaemon_keepsTheSameInstanceHeldAtAnother() throws {
        XCTAssertEqual(try request("PUT", "lb", "/both/x?ttl=60", body: #"{"host":"from-lb"}"#).status, 201)
        XCTAssertTrue(eventually(within: 2) { self.instance("la", "both", "x") == "from-lb" })
        XCTAssertEqual(try request("PUT", "la", "/both/x?ttl=1", body: #"{"host":"from-la"}"#).status, 200)
        XCTAssertTrue(eventually(within: 2) { self.instance("lb", "both", "x") == "from-la" }, "newest record not shown at lb")
        // la's record expires after 1 s; lb's, older but live, is shown again everywhere.
        XCTAssertTrue(eventually(within: 4) {
            self.instance("la", "both", "x") == "from-lb" && self.instance("lb", "both", "x") == "from-lb"
                && self.instance("mb1", "both", "x") == "from-lb"
        }, "an expiry at la hid lb's live registration")
    }
}
