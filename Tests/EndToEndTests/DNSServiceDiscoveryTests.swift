import Foundation
import Glibc
import XCTest

/// Prometheus's `dns_sd_configs` (type SRV) finding targets through a
/// daemon that serves DNS on port 53 of a network namespace the test makes,
/// whose resolv.conf (`/etc/netns/NS/resolv.conf`) names it: targets appear
/// and disappear with registrations. Root only; the namespace and its
/// resolv.conf are removed even when the test fails.
final class DNSServiceDiscoveryTests: XCTestCase {
    func test_prometheusDNSSD_findsSRVTargets_andDropsADeregisteredOne() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for a network namespace") }
        for tool in ["/usr/sbin/ip", "/usr/bin/prometheus", "/usr/bin/curl"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("\(tool) is not installed") }
        }
        let ns = "rarangi-dnssd-\(getpid())"
        let etc = "/etc/netns/\(ns)"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rarangi-dnssd-\(UUID().uuidString)")
        var processes: [Process] = []
        defer {
            for p in processes where p.isRunning { p.terminate(); p.waitUntilExit() }
            _ = try? runTool("/usr/sbin/ip", ["netns", "delete", ns])
            try? FileManager.default.removeItem(atPath: etc)
            try? FileManager.default.removeItem(at: dir)
        }
        _ = try? runTool("/usr/sbin/ip", ["netns", "delete", ns])
        XCTAssertEqual(try runTool("/usr/sbin/ip", ["netns", "add", ns]).status, 0)
        XCTAssertEqual(try runTool("/usr/sbin/ip", ["-n", ns, "link", "set", "lo", "up"]).status, 0)
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n".write(toFile: "\(etc)/resolv.conf", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        func inside(_ args: [String], log: String) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", ns] + args
            let url = dir.appendingPathComponent(log)
            FileManager.default.createFile(atPath: url.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: url)
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            processes.append(p)
            return p
        }
        func curl(_ args: [String]) -> String {
            (try? runTool("/usr/sbin/ip", ["netns", "exec", ns, "/usr/bin/curl", "-s", "--max-time", "5"] + args).out) ?? ""
        }
        let daemon = try inside([DaemonProcess.binary.path, "--env", "development", "--name", "dns1",
                                 "--listen", "127.0.0.1:4740", "--dns-listen", "127.0.0.1:53"], log: "rarangid.log")
        let up = eventually(within: 10) { curl(["http://127.0.0.1:4740/_status"]).contains("\"dns\"") }
        XCTAssertTrue(up, "the daemon did not start in the namespace: \((try? String(contentsOf: dir.appendingPathComponent("rarangid.log"), encoding: .utf8)) ?? "")")
        XCTAssertTrue(daemon.isRunning)
        for (id, port) in [("w1", 9101), ("w2", 9102)] {
            XCTAssertTrue(curl(["-X", "PUT", "-d", #"{"host":"127.0.0.1","port":\#(port)}"#, "http://127.0.0.1:4740/web/\(id)"]).contains("\"created\":true"))
        }
        let config = """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: web
            dns_sd_configs:
              - names: ["_web._tcp.service.rarangi"]
                type: SRV
                refresh_interval: 1s
        """
        try config.write(to: dir.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        _ = try inside(["/usr/bin/prometheus", "--config.file=\(dir.path)/prometheus.yml", "--storage.tsdb.path=\(dir.path)/data",
                        "--web.listen-address=127.0.0.1:9090"], log: "prometheus.log")
        func targets() -> Set<String> {
            guard let doc = try? JSONSerialization.jsonObject(with: Data(curl(["http://127.0.0.1:9090/api/v1/targets?state=active"]).utf8)) as? [String: Any],
                  let active = (doc["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]] else { return [] }
            return Set(active.compactMap { ($0["labels"] as? [String: String])?["instance"] })
        }
        // SRV targets are the .addr. names of the hosts (as Consul's), which
        // resolve through the same daemon.
        let addr = "7f000001.addr.rarangi"
        XCTAssertTrue(eventually(within: 20) { targets() == ["\(addr):9101", "\(addr):9102"] },
                      "targets \(targets()); \((try? String(contentsOf: dir.appendingPathComponent("prometheus.log"), encoding: .utf8))?.suffix(1500) ?? "")")
        // A registration appears, a deregistration disappears, each within a refresh or two.
        XCTAssertTrue(curl(["-X", "PUT", "-d", #"{"host":"127.0.0.1","port":9103}"#, "http://127.0.0.1:4740/web/w3"]).contains("created"))
        XCTAssertTrue(eventually(within: 6) { targets().contains("\(addr):9103") }, "\(targets())")
        XCTAssertTrue(curl(["-X", "DELETE", "http://127.0.0.1:4740/web/w1"]).contains("deleted"))
        XCTAssertTrue(eventually(within: 6) { targets() == ["\(addr):9102", "\(addr):9103"] }, "\(targets())")
        // Prometheus resolved the target name: its scrape fails at the port
        // (nothing listens there), not at the name.
        let errors = curl(["http://127.0.0.1:9090/api/v1/targets?state=active"])
        XCTAssertTrue(errors.contains("127.0.0.1:9102") && errors.contains("connection refused"), errors)
    }
}
