import Foundation
import XCTest

/// Flags, configuration files and the port table, through the real binary.
final class StartupTests: XCTestCase {
    var bin: String { DaemonProcess.binary.path }

    func test_unknownEnvironment_exitsNonZeroWithOneLine() throws {
        let r = try runTool(bin, ["--env", "prod"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("invalid --env 'prod'"), r.err)
        XCTAssertTrue(r.err.contains("production, staging, testing, development"), r.err)
    }

    func test_missingEnvironment_andUnknownFlag_areUsageErrors() throws {
        XCTAssertEqual(try runTool(bin, []).status, 2)
        let r = try runTool(bin, ["--env", "testing", "--bogus"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("unknown option '--bogus'"), r.err)
        XCTAssertEqual(try runTool(bin, ["--env", "testing", "--liveness", "0"]).status, 2)
    }

    func test_portInUse_exitsNonZeroWithOneLine() throws {
        let first = try DaemonProcess(["--env", "development"])
        defer { first.stop() }
        let r = try runTool(bin, ["--env", "development", "--listen", "127.0.0.1:\(first.port)"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("Address already in use"), r.err)
    }

    func test_unreadableConfig_exitsNonZeroWithOneLine() throws {
        let r = try runTool(bin, ["--env", "testing", "--config", "/nonexistent/rarangid.yaml"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("cannot read configuration file '/nonexistent/rarangid.yaml'"), r.err)
        let bad = try temporaryFile("name: [unclosed\n")
        let b = try runTool(bin, ["--env", "testing", "--config", bad])
        XCTAssertEqual(b.status, 2)
        XCTAssertTrue(b.err.contains("not valid YAML"), b.err)
        let unknown = try temporaryFile("colour: blue\n")
        XCTAssertTrue(try runTool(bin, ["--env", "testing", "--config", unknown]).err.contains("unknown setting 'colour'"))
    }

    func test_wellKnownPort_isUsedWithoutListen() throws {
        // Slot b of testing: 4731 (the port table in rarangid(8)).
        let daemon = try DaemonProcess(["--env", "testing", "--slot", "b"], listen: false)
        defer { daemon.stop() }
        XCTAssertEqual(daemon.port, 4731)
        XCTAssertEqual(try http("GET", 4731, "/").header("x-rarangi-env"), "testing")
    }

    func test_seedConfigurationFile_isRead_andFlagsOverrideIt() throws {
        let config = try temporaryFile("""
        name: sr-sto-1
        env: testing
        liveness: 1
        gossip_interval: 2s
        cluster:
          sr-sto-1:
            host: 127.0.0.1
            port: 3222
          sr-ash-1:
            host: 127.0.0.2
            port: 3222
        """)
        let check = try runTool(bin, ["--config", config, "--check-config"])
        XCTAssertEqual(check.status, 0, check.err)
        XCTAssertTrue(check.out.contains("name=sr-sto-1"), check.out)
        XCTAssertTrue(check.out.contains("listen=0.0.0.0:3222"), check.out)
        XCTAssertTrue(check.out.contains("liveness=1"), check.out)
        XCTAssertTrue(check.out.contains("peers=127.0.0.2:3222"), check.out)

        let daemon = try DaemonProcess(["--config", config, "--listen", "127.0.0.1:0", "--cluster", "eu"], listen: false)
        defer { daemon.stop() }
        let r = try http("PUT", daemon.port, "/web/a", body: "{}")
        XCTAssertEqual(r.header("x-rarangi-node"), "sr-sto-1")
        XCTAssertEqual(r.header("x-rarangi-cluster"), "eu")
        XCTAssertEqual(r.json["ttl"] as? Int, 1)
    }

    func test_help_andVersion() throws {
        let h = try runTool(bin, ["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.out.contains("Usage: rarangid --env ENV"))
        let v = try runTool(bin, ["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.out.hasPrefix("rarangid "))
    }

    func temporaryFile(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rarangid-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }
}

extension StartupTests {
    func test_sighup_reappliesTheLogLevel_andKeepsRegistrations() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rarangid-\(UUID().uuidString).yaml")
        try "env: testing\nlog_level: warn\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let daemon = try DaemonProcess(["--config", url.path, "--listen", "127.0.0.1:0", "--log-level", "info"], listen: false)
        defer { daemon.stop() }
        XCTAssertEqual(try http("PUT", daemon.port, "/web/a", body: "{}").status, 201)
        try "env: testing\nlog_level: debug\n".write(to: url, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        // Flags still win over the file: the level stays info.
        XCTAssertTrue(eventually(within: 2) { daemon.log.contains("event=reloaded log_level=info") }, daemon.log)
        try "env: testing\nlog_level: loud\n".write(to: url, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        XCTAssertTrue(eventually(within: 2) { daemon.log.contains("event=reload_failed") }, daemon.log)
        XCTAssertEqual(try http("GET", daemon.port, "/web").text, #"{"a":{}}"#)
    }

    func test_sighup_withoutFlagOverride_takesTheFilesLevel() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rarangid-\(UUID().uuidString).yaml")
        try "env: testing\nlog_level: info\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let daemon = try DaemonProcess(["--config", url.path, "--listen", "127.0.0.1:0"], listen: false)
        defer { daemon.stop() }
        try "env: testing\nlog_level: error\n".write(to: url, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        XCTAssertTrue(eventually(within: 2) { daemon.log.contains("event=reloaded log_level=error previous_log_level=info") }, daemon.log)
        _ = try http("PUT", daemon.port, "/web/a", body: "{}")
        usleep(100_000)
        XCTAssertFalse(daemon.log.contains("event=registered"), "info lines are still written at level error")
    }
}
