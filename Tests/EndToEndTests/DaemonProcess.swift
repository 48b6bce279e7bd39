import Foundation
import XCTest

/// A real `rarangid` process on a loopback port, for end-to-end tests.
/// Started with `--listen 127.0.0.1:0` unless the arguments say otherwise;
/// the port is read from the daemon's `event=listening` log line.
final class DaemonProcess {
    let process = Process()
    let logURL: URL
    private(set) var port = 0
    let arguments: [String]

    /// The `rarangid` binary next to the test bundle (or `$RARANGID_BIN`).
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["RARANGID_BIN"] { return URL(fileURLWithPath: path) }
        return productsDirectory.appendingPathComponent("rarangid")
    }

    /// The build products folder holding the test bundle and the executables.
    static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// `launcher` runs another program (e.g. a shell setting limits) whose
    /// arguments then hold the daemon's command line.
    init(_ arguments: [String], listen: Bool = true, launcher: String? = nil, environment: [String: String] = [:],
         file: StaticString = #filePath, line: UInt = #line) throws {
        var args = launcher != nil ? Array(arguments.dropFirst()) : arguments
        if launcher == nil, listen, !args.contains(where: { $0.hasPrefix("--listen") }) {
            args += ["--listen", "127.0.0.1:0"]
        }
        self.arguments = args
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("rarangid-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = launcher.map { URL(fileURLWithPath: $0) } ?? DaemonProcess.binary
        process.arguments = args
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let p = DaemonProcess.listeningPort(in: log) {
                port = p
                return
            }
            if !process.isRunning { break }
            usleep(10_000)
        }
        process.terminate()
        XCTFail("rarangid did not start: \(log)", file: file, line: line)
        throw TestError("rarangid did not start")
    }

    static func listeningPort(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("event=listening") {
            if let r = line.range(of: " port=") {
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            }
        }
        return nil
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Sends SIGKILL and waits.
    func kill9() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// User plus system CPU seconds the daemon has used (from /proc).
    var cpuSeconds: Double {
        guard let s = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = s.lastIndex(of: ")") else { return 0 }
        let fields = s[s.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory of the daemon in bytes (from /proc).
    var residentBytes: Int {
        guard let s = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    deinit {
        kill9()
        try? FileManager.default.removeItem(at: logURL)
    }
}

/// Runs a command line tool to completion and returns (status, stdout, stderr).
func runTool(_ path: String, _ args: [String], stdin: String? = nil,
             environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    if let stdin {
        let inPipe = Pipe()
        p.standardInput = inPipe
        try p.run()
        inPipe.fileHandleForWriting.write(stdin.data(using: .utf8)!)
        try inPipe.fileHandleForWriting.close()
    } else {
        p.standardInput = FileHandle.nullDevice
        try p.run()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Polls `condition` every 5 ms until it holds or `seconds` pass.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        usleep(5_000)
    } while Date() < deadline
    return try condition()
}
