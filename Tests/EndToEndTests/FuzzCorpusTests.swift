import Foundation
import XCTest

/// Every input in the fuzz corpus (the seeds, and each crash a fuzz run
/// found, kept as a regression) runs through its target in every test run.
final class FuzzCorpusTests: XCTestCase {
    func test_everyCorpusInput_passesItsTarget() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fuzz = DaemonProcess.productsDirectory.appendingPathComponent("rarangi-fuzz").path
        for target in ["http", "json", "peer", "handshake", "shell", "dns"] {
            let dir = root.appendingPathComponent("Fuzz/corpus/\(target)").path
            let files = try FileManager.default.contentsOfDirectory(atPath: dir)
            XCTAssertFalse(files.isEmpty, "no seed corpus for \(target)")
            let r = try runTool(fuzz, [target, dir])
            XCTAssertEqual(r.status, 0, "\(target): \(r.err)")
            XCTAssertTrue(r.out.contains("\(files.count) inputs replayed, none failed"), r.out + r.err)
        }
    }
}
