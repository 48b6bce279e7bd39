import Foundation
import XCTest

/// The short chaos run (the replication issue's CI version of
/// `bench/chaos.sh`): ten real daemons in a network namespace of their own,
/// seeded silent cuts, kill -9, restarts, a clock step and slow links while
/// clients register, refresh, hold, delete and look up; the checker must
/// find no loss, no ghost beyond its bounds, and convergence after the last
/// heal. Needs root (namespace, iptables, tc); skipped without it.
final class ChaosRunTests: XCTestCase {
    func test_aShortChaosRun_losesNothing_servesNoGhost_andConverges() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for a network namespace, iptables and tc") }
        for tool in ["/usr/sbin/iptables", "/usr/sbin/tc", "/usr/bin/python3", "/usr/bin/curl", "/usr/bin/cc"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("\(tool) is not installed") }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let seed = ProcessInfo.processInfo.environment["RARANGI_CHAOS_SEED"] ?? "2027"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.currentDirectoryURL = root
        p.arguments = ["bench/chaos.sh", "--duration", "75", "--seed", seed, "--bin", DaemonProcess.binary.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        XCTAssertTrue(text.contains("verdict: PASS"), "the chaos run failed:\n\(text.suffix(6000))")
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(text.contains("registrations checked"), "no table printed")
    }
}
