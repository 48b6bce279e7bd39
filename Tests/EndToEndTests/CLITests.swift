import Foundation
import XCTest

/// The `rarangi` command line against real daemons (MISSION B3, D3, D10).
final class CLITests: XCTestCase {
    var daemon: DaemonProcess!
    var port: Int { daemon.port }
    static var cli: String { DaemonProcess.productsDirectory.appendingPathComponent("rarangi").path }

    override func setUpWithError() throws {
        daemon = try DaemonProcess(["--env", "testing", "--name", "t1"])
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    func cli(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool(CLITests.cli, args)
    }

    func ids(_ service: String) throws -> [String] { try http("GET", port, "/\(service)").json.keys.sorted() }

    func test_run_holdsWhileTheChildRuns_forwardsSIGTERM_andExitsWithItsStatus() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.cli)
        p.arguments = ["run", "web", "--env", "testing", "--server", "127.0.0.1:\(port)", "--port", "8080",
                       "--id", "w1", "--meta", "v=2", "--", "sleep", "30"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        XCTAssertTrue(try eventually(within: 5) { try ids("web") == ["w1"] })
        XCTAssertEqual(try http("GET", port, "/web/w1").json["v"] as? String, "2")
        let started = Date()
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "sleep did not get the SIGTERM")
        XCTAssertEqual(p.terminationStatus, 128 + SIGTERM)
        XCTAssertTrue(try eventually(within: 1) { try ids("web").isEmpty })
    }

    func test_run_childInheritsOnlyStdio_soKillingRarangiEndsTheRegistrationAtOnce() throws {
        let (p, child) = try runChild(["run", "web", "--env", "testing", "--server", "127.0.0.1:\(port)", "--port", "8082",
                                       "--id", "w1", "--", "sleep", "30"], comm: "sleep")
        defer { kill(child, SIGKILL) }
        XCTAssertTrue(try eventually(within: 5) { try ids("web") == ["w1"] })
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child)/fd").compactMap(Int.init).sorted()
        let open = fds.map { fd in
            "\(fd)->" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/fd/\(fd)")) ?? "?")
        }
        XCTAssertEqual(fds, [0, 1, 2], "the child inherited descriptors of rarangi: \(open)")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(try eventually(within: 1) { try ids("web").isEmpty }, "the registration outlived rarangi")
        XCTAssertEqual(kill(child, 0), 0, "the command keeps running")
        XCTAssertNotEqual(CLITests.state(child), "Z", "the command keeps running")
    }

    /// Starts `rarangi ARGS` and returns it with the command it spawned,
    /// once that command runs `comm` (before its exec it is still a copy of rarangi).
    func runChild(_ args: [String], comm: String) throws -> (Process, pid_t) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.cli)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        try p.run()
        // The command is spawned from one of rarangi's threads: look at each.
        func children() -> [pid_t] {
            let tasks = "/proc/\(p.processIdentifier)/task"
            return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).flatMap { t in
                ((try? String(contentsOfFile: "\(tasks)/\(t)/children", encoding: .utf8)) ?? "")
                    .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { pid_t($0) }
            }
        }
        XCTAssertTrue(eventually(within: 5) { !children().isEmpty })
        let child = try XCTUnwrap(children().first, "no child of rarangi")
        XCTAssertTrue(eventually(within: 5) {
            (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) == comm + "\n"
        })
        return (p, child)
    }

    /// A process's state letter (R, S, Z, ...), nil once it is reaped.
    static func state(_ pid: pid_t) -> String? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else { return nil }
        return s[s.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }

    func test_run_withADeathSignal_theCommandIsSignalledWhenRarangiDies() throws {
        let (p, child) = try runChild(["run", "web", "--env", "testing", "--server", "127.0.0.1:\(port)", "--port", "8083",
                                       "--id", "w2", "--death-signal", "TERM", "--", "sleep", "30"], comm: "sleep")
        defer { kill(child, SIGKILL) }
        XCTAssertTrue(try eventually(within: 5) { try ids("web") == ["w2"] })
        // Healthy while rarangi lives (the spawning thread stays up).
        usleep(300_000)
        XCTAssertNotEqual(CLITests.state(child), "Z")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(eventually(within: 2) { [nil, "Z"].contains(CLITests.state(child)) }, "the command outlived rarangi")
        XCTAssertTrue(try eventually(within: 1) { try ids("web").isEmpty })
        // A bad signal name is a usage error.
        XCTAssertNotEqual(try cli(["run", "web", "--env", "testing", "--port", "1", "--death-signal", "NOPE", "--", "true"]).status, 0)
    }

    func test_run_exitStatusPropagates_andTheInstanceIsGoneAfterTheChildExits() throws {
        let r = try cli(["run", "job", "--env", "testing", "--server", "127.0.0.1:\(port)", "--port", "9",
                         "--", "sh", "-c", "sleep 0.3; exit 7"])
        XCTAssertEqual(r.status, 7, r.err)
        XCTAssertTrue(try eventually(within: 1) { try ids("job").isEmpty })
        XCTAssertTrue(daemon.log.contains("event=held service=job"), daemon.log)
    }

    func test_run_withNoDaemonReachable_startsTheCommandAnyway_andRetries() throws {
        let dead = try DaemonProcess(["--env", "testing"])
        let deadPort = dead.port
        dead.stop()
        let r = try cli(["run", "web", "--env", "testing", "--server", "127.0.0.1:\(deadPort)", "--port", "1",
                         "--", "sh", "-c", "exit 3"])
        XCTAssertEqual(r.status, 3, r.err)
        XCTAssertTrue(r.err.contains("event=registration_pending"), r.err)
    }

    func test_registerTTL_lookupTableAndJSON_deregister_status() throws {
        let server = ["--server", "127.0.0.1:\(port)"]
        var r = try cli(["register", "db", "d1", "--ttl", "60", "--host", "10.0.0.1", "--port", "5432", "--meta", "role=primary"] + server + ["--env", "testing"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try runTool("/usr/bin/env", ["RARANGI_ENV=testing", CLITests.cli, "lookup", "db"] + server)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("d1"), r.out)
        XCTAssertTrue(r.out.contains("10.0.0.1"), r.out)
        XCTAssertTrue(r.out.contains("role=primary"), r.out)
        r = try cli(["lookup", "db", "--json", "--env", "testing"] + server)
        XCTAssertEqual(r.out, #"{"d1":{"host":"10.0.0.1","port":5432,"role":"primary"}}"# + "\n")
        r = try cli(["status", "--env", "testing"] + server)
        XCTAssertTrue(r.out.contains("environment  testing"), r.out)
        r = try cli(["deregister", "db", "d1", "--env", "testing"] + server)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try ids("db"), [])
        r = try cli(["deregister", "db", "d1", "--env", "testing"] + server)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("not_found"), r.err)
    }

    func test_testingCLI_atAProductionDaemon_failsNamingBoth_andWritesNothing() throws {
        let production = try DaemonProcess(["--env", "production"])
        defer { production.stop() }
        let server = ["--server", "127.0.0.1:\(production.port)", "--env", "testing"]
        for args in [["register", "web", "a", "--port", "1"], ["register", "web", "b", "--ttl", "30"],
                     ["run", "web", "--port", "2", "--", "true"], ["lookup", "web"], ["status"]] {
            // Options go before `--`; what follows it is the child's command.
            let split = args.firstIndex(of: "--") ?? args.count
            let r = try cli(Array(args[..<split]) + server + Array(args[split...]))
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains("level=error event=environment_mismatch expected=testing found=production"), r.err)
            XCTAssertTrue(r.err.contains("'testing'") && r.err.contains("'production'"), r.err)
        }
        XCTAssertEqual(try http("GET", production.port, "/_status").json["instances"] as? Int, 0)
        XCTAssertFalse(production.log.contains("event=registered"))
        XCTAssertFalse(production.log.contains("event=held"))
    }

    func test_registerHeld_untilInterrupted_andWatchPrintsEachChange() throws {
        let server = ["--env", "testing", "--server", "127.0.0.1:\(port)"]
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: CLITests.cli)
        watch.arguments = ["watch", "api", "--json"] + server
        let out = Pipe()
        watch.standardOutput = out
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        defer { watch.terminate() }
        let reader = LineReader(out.fileHandleForReading)
        XCTAssertEqual(reader.next(within: 5), "{}")

        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: CLITests.cli)
        holder.arguments = ["register", "api", "a1", "--host", "h", "--port", "7"] + server
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        let added = reader.next(within: 5) ?? ""
        XCTAssertTrue(added.hasPrefix(#"{"a1":{"host":"h","port":7,"#), added)
        kill(holder.processIdentifier, SIGINT)
        holder.waitUntilExit()
        XCTAssertEqual(holder.terminationStatus, 0)
        XCTAssertEqual(reader.next(within: 5), "{}")
        XCTAssertEqual(try ids("api"), [])
    }

    func test_noEnvironment_isAClearError() throws {
        let r = try runTool("/usr/bin/env", ["-u", "RARANGI_ENV", CLITests.cli, "lookup", "web"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("no environment"), r.err)
    }
}

/// Lines from a pipe, with a timeout.
final class LineReader: @unchecked Sendable {
    private let lock = NSCondition()
    private var lines: [String] = []
    private var partial = ""

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.partial += String(decoding: data, as: UTF8.self)
            while let nl = self.partial.firstIndex(of: "\n") {
                self.lines.append(String(self.partial[..<nl]))
                self.partial = String(self.partial[self.partial.index(after: nl)...])
            }
            self.lock.broadcast()
            self.lock.unlock()
        }
    }

    /// The next line, or nil after `seconds`.
    func next(within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        lock.lock()
        defer { lock.unlock() }
        while lines.isEmpty {
            if !lock.wait(until: deadline) { return nil }
        }
        return lines.removeFirst()
    }
}
