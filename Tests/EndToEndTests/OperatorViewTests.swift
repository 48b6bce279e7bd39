import Foundation
import Glibc
import XCTest

/// The operators' view through the real tools: `promtool` checks the
/// exposition, a real Prometheus scrapes two daemons and discovers targets
/// from `/_sd/prometheus`, headless Chromium renders `/_ui`, and a daemon
/// started under a notify socket says READY=1 only after its first sync.
final class OperatorViewTests: XCTestCase {
    var daemons: [DaemonProcess] = []
    var cleanups: [() -> Void] = []

    override func tearDown() {
        for c in cleanups.reversed() { c() }
        for d in daemons { d.stop() }
        cleanups = []
        daemons = []
    }

    /// Two linked daemons: n1, and n2 peering with it.
    func startPair(extra: [String] = []) throws -> (DaemonProcess, DaemonProcess) {
        let n1 = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1", "--gossip-interval", "300"] + extra)
        daemons.append(n1)
        let n2 = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n2", "--gossip-interval", "300",
                                    "--peer", "127.0.0.1:\(n1.port)"] + extra)
        daemons.append(n2)
        XCTAssertTrue(eventually(within: 10) {
            ((try? http("GET", n2.port, "/_status").json["links"] as? [[String: Any]])?.first?["state"] as? String) == "up"
        }, "n2 did not link to n1: \(n2.log)")
        return (n1, n2)
    }

    func metrics(_ port: Int) throws -> (Response, [String: Double]) {
        let r = try http("GET", port, "/metrics")
        var samples: [String: Double] = [:]
        for line in r.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return (r, samples)
    }

    func test_metrics_passPromtool_andCountWhatHappened() throws {
        let (n1, n2) = try startPair()
        for i in 0..<3 {
            XCTAssertEqual(try http("PUT", n1.port, "/web/w\(i)", body: #"{"host":"10.0.0.\#(i)","port":80}"#).status, 201)
        }
        XCTAssertEqual(try http("PUT", n1.port, "/web/bad", body: "{").status, 400)
        XCTAssertEqual(try http("DELETE", n1.port, "/web/w2").status, 200)
        XCTAssertEqual(try http("GET", n1.port, "/web").status, 200)
        XCTAssertTrue(eventually(within: 5) { (try? http("GET", n2.port, "/web").json.count) == 2 })

        let (r, m) = try metrics(n1.port)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        let check = try runTool("/usr/bin/promtool", ["check", "metrics"], stdin: r.text)
        XCTAssertEqual(check.status, 0, "promtool: \(check.out) \(check.err)")
        XCTAssertEqual((check.out + check.err).trimmingCharacters(in: .whitespacesAndNewlines), "", "promtool reports problems")

        XCTAssertEqual(m["rarangi_instances"], 2)
        XCTAssertEqual(m["rarangi_services"], 1)
        XCTAssertEqual(m["rarangi_registrations_total"], 3)
        XCTAssertEqual(m["rarangi_deregistrations_total"], 1)
        XCTAssertEqual(m[#"rarangi_http_requests_total{route="register",code="201"}"#], 3)
        XCTAssertEqual(m[#"rarangi_http_requests_total{route="register",code="400"}"#], 1)
        XCTAssertEqual(m[#"rarangi_http_requests_total{route="deregister",code="200"}"#], 1)
        XCTAssertEqual(m[#"rarangi_http_request_duration_seconds_count{route="register"}"#], 4)
        XCTAssertEqual(m[#"rarangi_origin_records{origin="n1"}"#], 2)
        XCTAssertEqual(m[#"rarangi_origin_tombstones{origin="n1"}"#], 1)
        XCTAssertEqual(m["rarangi_stale"], 0)
        XCTAssertGreaterThan(m["process_resident_memory_bytes"] ?? 0, 1_048_576)
        XCTAssertGreaterThan(m["process_open_fds"] ?? 0, 2)
        let inbound = m.first { $0.key.hasPrefix("rarangi_peer_link_up{") && $0.key.contains(#"peer="n2""#) }
        XCTAssertEqual(inbound?.value, 1, "n1's link from n2 is up: \(r.text.split(separator: "\n").filter { $0.contains("peer_link_up") })")

        // n2 received n1's changes by push: its view of n1 is seconds old at
        // most, and the propagation histogram counted them.
        let (_, m2) = try metrics(n2.port)
        XCTAssertEqual(m2["rarangi_instances"], 2)
        XCTAssertLessThan(m2[#"rarangi_origin_newest_change_age_seconds{origin="n1"}"#] ?? 99, 10)
        XCTAssertGreaterThanOrEqual(m2["rarangi_propagation_delay_seconds_count"] ?? 0, 3)
        XCTAssertGreaterThan(m2[#"rarangi_peer_link_received_bytes_total{link="out1",peer="n1",direction="outbound"}"#] ?? 0, 0)
    }

    func test_prometheus_scrapesTwoDaemons_andDiscoversTheCatalogueAsTargets() throws {
        let (n1, n2) = try startPair()
        XCTAssertEqual(try http("PUT", n1.port, "/api/a1", body: #"{"host":"127.0.0.1","port":9,"zone":"z1"}"#).status, 201)
        XCTAssertEqual(try http("PUT", n2.port, "/api/a2", body: #"{"host":"127.0.0.1","port":10,"zone":"z2"}"#).status, 201)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rarangi-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        cleanups.append { try? FileManager.default.removeItem(at: dir) }
        let promPort = try freeLoopbackPort()
        let config = """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: rarangi
            static_configs:
              - targets: ["127.0.0.1:\(n1.port)", "127.0.0.1:\(n2.port)"]
          - job_name: catalogue
            http_sd_configs:
              - url: "http://127.0.0.1:\(n1.port)/_sd/prometheus?service=api"
                refresh_interval: 1s
            relabel_configs:
              - source_labels: [__meta_rarangi_id]
                target_label: instance_id
              - source_labels: [__meta_rarangi_zone]
                target_label: zone
        """
        try config.write(to: dir.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let prom = Process()
        prom.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        prom.arguments = ["--config.file=\(dir.path)/prometheus.yml", "--storage.tsdb.path=\(dir.path)/data",
                          "--web.listen-address=127.0.0.1:\(promPort)"]
        let promLog = dir.appendingPathComponent("prometheus.log")
        FileManager.default.createFile(atPath: promLog.path, contents: nil)
        prom.standardError = try FileHandle(forWritingTo: promLog)
        prom.standardOutput = FileHandle.nullDevice
        try prom.run()
        cleanups.append { prom.terminate(); prom.waitUntilExit() }
        // curl: Prometheus answers large documents chunked.
        func api(_ path: String) -> [String: Any] {
            guard let r = try? runTool("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(promPort)\(path)"]), r.status == 0,
                  let doc = try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] else { return [:] }
            return (doc["data"] as? [String: Any]) ?? [:]
        }
        func activeTargets() -> [[String: Any]] { api("/api/v1/targets?state=active")["activeTargets"] as? [[String: Any]] ?? [] }
        func catalogueTargets() -> Set<String> {
            Set(activeTargets().filter { ($0["labels"] as? [String: String])?["job"] == "catalogue" }
                .compactMap { ($0["labels"] as? [String: String])?["instance"] })
        }
        let log = { (try? String(contentsOf: promLog, encoding: .utf8)) ?? "" }

        // Both daemons are scraped and up; a query sees the instance count.
        XCTAssertTrue(eventually(within: 20) {
            activeTargets().filter { ($0["labels"] as? [String: String])?["job"] == "rarangi" && ($0["health"] as? String) == "up" }.count == 2
        }, "Prometheus does not see both daemons up: \(activeTargets()) \(log().suffix(1500))")
        XCTAssertTrue(eventually(within: 10) {
            let result = api("/api/v1/query?query=rarangi_instances")["result"] as? [[String: Any]] ?? []
            return result.count == 2 && result.allSatisfy { (($0["value"] as? [Any])?.last as? String) == "2" }
        }, "rarangi_instances is not 2 at both: \(api("/api/v1/query?query=rarangi_instances"))")

        // Discovery: both instances are targets, with the body's labels.
        XCTAssertTrue(eventually(within: 10) { catalogueTargets() == ["127.0.0.1:9", "127.0.0.1:10"] },
                      "discovered \(catalogueTargets())")
        let a2 = activeTargets().first { ($0["labels"] as? [String: String])?["instance"] == "127.0.0.1:10" }
        XCTAssertEqual((a2?["labels"] as? [String: String])?["zone"], "z2")
        XCTAssertEqual((a2?["labels"] as? [String: String])?["instance_id"], "a2")
        XCTAssertEqual((a2?["discoveredLabels"] as? [String: String])?["__meta_rarangi_origin"], "n2")

        // A deregistration (at the other daemon) drops its target within a refresh or two.
        XCTAssertEqual(try http("DELETE", n2.port, "/api/a2").status, 200)
        XCTAssertTrue(eventually(within: 6) { catalogueTargets() == ["127.0.0.1:9"] }, "after the delete: \(catalogueTargets())")
    }

    func test_statusPage_inChromium_showsTheDaemon_andARegistrationElsewhere_withoutAReload() throws {
        let (n1, n2) = try startPair()
        XCTAssertEqual(try http("PUT", n1.port, "/web/first-1", body: #"{"host":"10.1.0.1","port":8080}"#).status, 201)
        let page = try http("GET", n1.port, "/_ui")
        XCTAssertEqual(page.header("Content-Type"), "text/html; charset=utf-8")
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "the page loads nothing from elsewhere")

        let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/cdp_page.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [helper.path, "http://127.0.0.1:\(n1.port)/_ui"]
        let toPage = Pipe(), fromPage = Pipe()
        p.standardInput = toPage
        p.standardOutput = fromPage
        p.standardError = FileHandle.nullDevice
        try p.run()
        cleanups.append { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        var pending = Data()
        func ask(_ command: String?) -> String {
            if let command { toPage.fileHandleForWriting.write((command + "\n").data(using: .utf8)!) }
            while true {
                if let nl = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending = pending[(nl + 1)...]
                    return line
                }
                let chunk = fromPage.fileHandleForReading.availableData
                if chunk.isEmpty { return "helper exited" }
                pending.append(chunk)
            }
        }
        XCTAssertEqual(ask(nil), "ready")
        // The daemon's name, a link's peer, a registered instance.
        XCTAssertEqual(ask("wait 15 first-1"), "ok")
        let text = ask("text")
        XCTAssertTrue(text.contains("n1"), text)
        XCTAssertTrue(text.contains("n2"), "the link's peer is shown: \(text)")
        XCTAssertTrue(text.contains("10.1.0.1:8080"), text)
        XCTAssertTrue(text.contains("fresh"), text)
        // A registration at the other daemon appears on the open page.
        XCTAssertEqual(try http("PUT", n2.port, "/db/later-1", body: #"{"host":"10.2.0.9","port":5432}"#).status, 201)
        XCTAssertEqual(ask("wait 10 later-1"), "ok")
        XCTAssertTrue(ask("text").contains("10.2.0.9:5432"))
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/test-output")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let shot = shots.appendingPathComponent("status-page.png")
        XCTAssertEqual(ask("shot \(shot.path)"), "ok")
        XCTAssertGreaterThan((try? Data(contentsOf: shot).count) ?? 0, 10_000)
        _ = ask("quit")
    }

    func test_readiness_isSentOnlyAfterTheFirstSync_withAStatusLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rarangi-notify-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(bound, 0)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        cleanups.append { close(fd); unlink(path) }
        var messages: [String] = []
        func receive(for seconds: Double) {
            let end = Date().addingTimeInterval(seconds)
            var buf = [UInt8](repeating: 0, count: 4096)
            while Date() < end {
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 { messages.append(String(decoding: buf[..<n], as: UTF8.self)) }
            }
        }
        // A peer that is not there yet: listening, but not ready.
        let peerPort = try freeLoopbackPort()
        let d = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "late", "--gossip-interval", "1000",
                                   "--peer", "127.0.0.1:\(peerPort)"], environment: ["NOTIFY_SOCKET": path])
        daemons.append(d)
        receive(for: 1.5)
        XCTAssertFalse(messages.contains { $0.contains("READY=1") }, "ready before any sync: \(messages)")
        XCTAssertTrue(messages.contains { $0.contains("STATUS=catching up") }, "\(messages)")
        XCTAssertEqual(try http("GET", d.port, "/_status").status, 200, "it serves meanwhile")
        // The peer comes up; the first sync ends the wait.
        let peer = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "early", "--listen", "127.0.0.1:\(peerPort)"])
        daemons.append(peer)
        XCTAssertEqual(try http("PUT", peer.port, "/web/w1", body: #"{"host":"h","port":1}"#).status, 201)
        receive(for: 4)
        let ready = messages.first { $0.contains("READY=1") }
        XCTAssertNotNil(ready, "no READY=1: \(messages) \(d.log.suffix(800))")
        XCTAssertTrue(ready?.contains("STATUS=") == true && ready?.contains("MAINPID=") == true, ready ?? "")
        XCTAssertTrue(d.log.contains("event=caught_up"))
        XCTAssertTrue(messages.last?.contains("links up 1/1; 1 instances of 1 services") == true, "\(messages)")
        XCTAssertEqual(messages.filter { $0.contains("READY=1") }.count, 1)
    }
}

/// A loopback TCP port that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw TestError("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
