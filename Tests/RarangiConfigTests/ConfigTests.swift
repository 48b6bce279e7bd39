import Foundation
import RarangiConfig
import RarangiProtocol
import XCTest

final class ConfigTests: XCTestCase {
    func resolve(_ flags: [String], file: String? = nil) throws -> DaemonConfig {
        let (_, raw) = try FlagParser.parse(flags)
        let fileRaw = try file.map { try ConfigFile.parse($0, source: "test.yaml", nameFromFlags: raw["name"]?.last) } ?? [:]
        return try FlagParser.resolve(flags: raw, file: fileRaw, hostname: "host1")
    }

    func test_defaults_comeFromTheTableAndThePortTable() throws {
        let c = try resolve(["--env", "production"])
        XCTAssertEqual(c.listen, Endpoint(host: "0.0.0.0", port: 4710))
        XCTAssertEqual(c.name, "host1-production-a")
        XCTAssertEqual(c.cluster, "default")
        XCTAssertEqual(c.livenessSeconds, 90)
        let b = try resolve(["--env=staging", "--slot", "b", "--master", "--peer", "m1:4720", "--peer", "[::1]:4721"])
        XCTAssertEqual(b.listen.port, 4721)
        XCTAssertTrue(b.master)
        XCTAssertEqual(b.peers, [Endpoint(host: "m1", port: 4720), Endpoint(host: "::1", port: 4721)])
    }

    func test_withNoPeers_aSlotOnItsWellKnownPort_peersWithItsSibling() throws {
        XCTAssertEqual(try resolve(["--env", "production"]).peers, [Endpoint(host: "127.0.0.1", port: 4711)])
        XCTAssertEqual(try resolve(["--env", "production", "--slot", "b", "--listen", "10.0.0.7:4711"]).peers,
                       [Endpoint(host: "10.0.0.7", port: 4710)])
        XCTAssertEqual(try resolve(["--env", "production", "--listen", "127.0.0.1:0"]).peers, [], "not on its well-known port")
        XCTAssertEqual(try resolve(["--env", "production", "--peer", "m1:4710"]).peers, [Endpoint(host: "m1", port: 4710)],
                       "configured peers replace the default")
    }

    func test_badFlags_giveOneClearMessage() {
        func message(_ flags: [String]) -> String {
            do { _ = try resolve(flags); return "" } catch { return (error as? ConfigError)?.message ?? "" }
        }
        XCTAssertTrue(message([]).contains("no environment given"))
        XCTAssertTrue(message(["--env", "qa"]).contains("invalid --env 'qa'"))
        XCTAssertTrue(message(["--env", "testing", "--slot", "c"]).contains("expected one of a, b"))
        XCTAssertTrue(message(["--env", "testing", "--liveness", "-1"]).contains("from 1 to 86400"))
        XCTAssertTrue(message(["--env", "testing", "--peer", "nohost"]).contains("invalid --peer"))
        XCTAssertTrue(message(["--env", "testing", "--peer", "h:0"]).contains("invalid --peer"))
        XCTAssertTrue(message(["--env", "testing", "--name", "a b"]).contains("invalid --name"))
        XCTAssertTrue(message(["--env", "testing", "--env", "testing"]).contains("more than once"))
        XCTAssertTrue(message(["--env"]).contains("needs a value"))
        XCTAssertTrue(message(["stray"]).contains("unexpected argument"))
    }

    func test_seedYAML_becomesPeersAndPort_andFlagsWin() throws {
        let yaml = """
        name: sr-sto-1
        env: production
        liveness: 45
        gossip_interval: 2s
        cluster:
          sr-sto-1: {host: ec2-a.example.com, port: 3222}
          sr-ash-1: {host: ec2-b.example.com, port: 3223}
          sr-lon-1: {host: ec2-c.example.com, port: 3224}
        """
        let c = try resolve([], file: yaml)
        XCTAssertEqual(c.name, "sr-sto-1")
        XCTAssertEqual(c.listen.port, 3222)
        XCTAssertEqual(Set(c.peers.map(\.description)), ["ec2-b.example.com:3223", "ec2-c.example.com:3224"])
        XCTAssertEqual(c.livenessSeconds, 45)
        XCTAssertEqual(c.gossipIntervalMs, 2000)
        let o = try resolve(["--liveness", "5", "--env", "testing"], file: yaml)
        XCTAssertEqual(o.livenessSeconds, 5)
        XCTAssertEqual(o.environment, "testing")
    }

    func test_yamlErrors_nameTheProblem() {
        for (yaml, expected) in [("- a\n- b\n", "must be a mapping"), ("port: 70000\n", "port must be"),
                                 ("liveness: [1]\n", "must be a single value"), ("bogus: 1\n", "unknown setting 'bogus'"),
                                 ("gossip_interval: soon\n", "duration")] {
            XCTAssertThrowsError(try ConfigFile.parse(yaml, source: "f.yaml", nameFromFlags: nil), yaml) {
                XCTAssertTrue(($0 as? ConfigError)?.message.contains(expected) ?? false, "\($0)")
            }
        }
    }

    /// `--help` and rarangid(8) cannot drift apart: every flag of the table is
    /// in both, and the man page documents no flag the table lacks.
    func test_helpAndManPage_listTheSameFlags() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let man = try String(contentsOf: root.appendingPathComponent("man/rarangid.8"), encoding: .utf8)
        var manFlags = Set<String>()
        for line in man.split(separator: "\n") where line.hasPrefix(".It Fl ") {
            let word = line.dropFirst(7).split(separator: " ").first ?? ""
            // `Fl` prints one dash itself: `.It Fl \\-env` reads `--env`.
            manFlags.insert("-" + word.replacingOccurrences(of: "\\-", with: "-"))
        }
        let tableFlags = Set(Settings.all.map { "--" + $0.name })
        XCTAssertEqual(manFlags, tableFlags, "man page vs settings table")
        let help = Settings.helpText
        for s in Settings.all { XCTAssertTrue(help.contains("--\(s.name)"), s.name) }
        for e in WellKnown.table {
            XCTAssertTrue(man.contains("\(e.environment)") && man.contains("\(e.portA)") && man.contains("\(e.portB)"), e.environment)
        }
    }
}
