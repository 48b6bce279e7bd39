// The client-side benchmark of RarangiRatonga (run by bench/client.sh):
//   1. kill -9 of a holding client → the instance gone from the daemon
//      (measured with a blocking query parked on the same daemon);
//   2. watch notification latency: a PUT sent → the parked query answered;
//   3. 10,000 held registrations through RarangiClient: daemon memory per
//      held registration (and per parked watch), and the time to re-register them all after the
//      daemon holding them stops (failover to slot b) and after a restart
//      of a lone daemon (the client's back-off included).
import Foundation
import RarangiClient

setvbuf(stdout, nil, _IOLBF, 0)
let args = CommandLine.arguments
func arg(_ name: String, _ fallback: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return fallback
}
let rarangid = arg("--rarangid", ".build/release/rarangid")
let curl = arg("--curl", "/usr/bin/curl")
let rounds = Int(arg("--rounds", "200"))!
let holders = Int(arg("--holders", "10000"))!

var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// A daemon process on loopback.
final class Daemon {
    let process = Process()
    let port: Int
    init(_ extra: [String], port: Int) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: rarangid)
        process.arguments = ["--env", "development", "--listen", "127.0.0.1:\(port)", "--log-level", "warn",
                             "--max-connections", "19000", "--max-connections-per-address", "19000"] + extra
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<500 {
            if (try? Raw(port: port)) != nil { return }
            usleep(10_000)
        }
        fatalError("rarangid did not start on \(port)")
    }
    var rssBytes: Int {
        let s = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/statm", encoding: .utf8)) ?? "0 0"
        return (Int(s.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// A blocking loopback HTTP connection for measuring (the bench's own thread).
final class Raw {
    let fd: Int32
    var buf: [UInt8] = []
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); throw NSError(domain: "connect", code: Int(errno)) }
    }
    deinit { close(fd) }
    func send(_ s: String) { _ = s.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
    /// Reads one Content-Length response; returns (headers, body).
    func read() -> (String, String) {
        while true {
            if let r = buf.firstRange(of: [13, 10, 13, 10]) {
                let head = String(decoding: buf[..<r.lowerBound], as: UTF8.self)
                let len = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if buf.count >= r.upperBound + len {
                    let body = String(decoding: buf[r.upperBound..<(r.upperBound + len)], as: UTF8.self)
                    buf.removeFirst(r.upperBound + len)
                    return (head, body)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return ("", "") }
            buf += chunk[0..<n]
        }
    }
    func request(_ method: String, _ path: String, body: String = "") -> (String, String) {
        send("\(method) \(path) HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return read()
    }
}

func index(_ head: String) -> String {
    head.split(separator: "\r\n").first { $0.hasPrefix("X-Rarangi-Index:") }.map { String($0.dropFirst(17)) } ?? "0"
}
func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p + 0.5))]
}
func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
var rows: [(String, String)] = []
func row(_ name: String, _ value: String) {
    rows.append((name, value))
    print("  \(name): \(value)")
}

// 1. kill -9 → gone.
do {
    let d = try Daemon([], port: 5840)
    let c = try Raw(port: d.port)
    var samples: [Double] = []
    for i in 0..<rounds {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        p.arguments = ["-sN", "-X", "PUT", "-d", #"{"host":"h","port":1}"#, "http://127.0.0.1:\(d.port)/k/i\(i)?hold"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var (head, body) = c.request("GET", "/k")
        while !body.contains("i\(i)") {
            (head, body) = c.request("GET", "/k?index=\(index(head))&wait=5s")
        }
        c.send("GET /k?index=\(index(head))&wait=5s HTTP/1.1\r\n\r\n")
        usleep(2_000)
        let t0 = nowNs()
        kill(p.processIdentifier, SIGKILL)
        let (_, after) = c.read()
        let t1 = nowNs()
        precondition(!after.contains("i\(i)"), "still listed: \(after)")
        samples.append(ms(t1 - t0))
        p.waitUntilExit()
    }
    row("kill -9 -> gone, local (ms)", String(format: "p50 %.2f  p99 %.2f  max %.2f  (n=%d)", percentile(samples, 0.5), percentile(samples, 0.99), samples.max()!, samples.count))
    d.stop()
}

// 2. watch notification latency.
do {
    let d = try Daemon([], port: 5841)
    let w = try Raw(port: d.port)
    let writer = try Raw(port: d.port)
    var samples: [Double] = []
    var (head, _) = w.request("GET", "/w")
    for i in 0..<(rounds * 5) {
        w.send("GET /w?index=\(index(head))&wait=10s HTTP/1.1\r\n\r\n")
        usleep(500)
        let t0 = nowNs()
        writer.send("PUT /w/x HTTP/1.1\r\nContent-Length: \(String(i).count + 8)\r\n\r\n{\"n\":\"\(i)\"}")
        (head, _) = w.read()
        let t1 = nowNs()
        _ = writer.read()
        samples.append(ms(t1 - t0))
    }
    // Reference, same daemon, same run: a PUT's own round trip.
    var rtt: [Double] = []
    for i in 0..<(rounds * 5) {
        let t0 = nowNs()
        _ = writer.request("PUT", "/ref/x", body: "{\"n\":\(i)}")
        rtt.append(ms(nowNs() - t0))
    }
    row("reference: PUT round trip on the same daemon (ms)", String(format: "p50 %.3f  p99 %.3f  (n=%d)", percentile(rtt, 0.5), percentile(rtt, 0.99), rtt.count))
    row("watch notification, PUT sent -> watcher answered (ms)", String(format: "p50 %.3f  p99 %.3f  (n=%d)", percentile(samples, 0.5), percentile(samples, 0.99), samples.count))

    // The same through the library's AsyncSequence.
    let client = RarangiClient(Configuration(environment: "development", servers: [Endpoint(host: "127.0.0.1", port: d.port)], log: { _ in }))
    var it = client.watch("lib").makeAsyncIterator()
    _ = try await it.next()
    var lib: [Double] = []
    for i in 0..<rounds {
        try await Task.sleep(nanoseconds: 2_000_000)
        let t0 = nowNs()
        _ = writer.request("PUT", "/lib/x", body: "{\"n\":\(i)}")
        _ = try await it.next()
        lib.append(ms(nowNs() - t0))
    }
    row("watch notification via RarangiClient.watch (ms)", String(format: "p50 %.3f  p99 %.3f  (n=%d)", percentile(lib, 0.5), percentile(lib, 0.99), lib.count))
    d.stop()
}

// 3. 10,000 held registrations.
do {
    let a = try Daemon([], port: 5842)
    let b = try Daemon(["--slot", "b"], port: 5843)
    let rssBefore = a.rssBytes
    setenv("RARANGI_PORTS_DEVELOPMENT", "5842,5843", 1)
    let client = RarangiClient(Configuration(environment: "development", log: { _ in }))
    let status = try Raw(port: b.port)
    func held(_ port: Int) -> Int {
        guard let c = try? Raw(port: port) else { return -1 }
        let (_, body) = c.request("GET", "/_status")
        let o = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return o?["held"] as? Int ?? -1
    }
    let t0 = nowNs()
    var regs: [Registration] = []
    try await withThrowingTaskGroup(of: Registration.self) { group in
        for i in 0..<holders {
            group.addTask { try await client.register(service: "many", id: "i\(i)", host: "10.0.0.1", port: 1000 + i % 50000) }
            if i % 500 == 499 { for _ in 0..<500 { regs.append(try await group.next()!) } }
        }
        for try await r in group { regs.append(r) }
    }
    let registerMs = ms(nowNs() - t0)
    while held(a.port) < holders { usleep(10_000) }
    let rssAfter = a.rssBytes
    row("\(holders) held registrations: first registration (ms)", String(format: "%.0f", registerMs))
    row("daemon memory per held registration (bytes, RSS delta / n)", "\((rssAfter - rssBefore) / holders)")

    let t1 = nowNs()
    kill(a.process.processIdentifier, SIGTERM)
    while held(b.port) < holders { usleep(5_000) }
    row("slot a stopped -> all \(holders) re-held on slot b (ms)", String(format: "%.0f", ms(nowNs() - t1)))
    _ = status
    a.stop()

    // A lone daemon restarts: the clients retry after their 1-2 s back-off.
    let t2 = nowNs()
    b.stop()
    let b2 = try Daemon(["--slot", "b"], port: 5843)
    let restartMs = ms(nowNs() - t2)
    while held(b2.port) < holders { usleep(10_000) }
    row("lone daemon restarted (\(String(format: "%.0f", restartMs)) ms down) -> all re-held (ms)", String(format: "%.0f", ms(nowNs() - t2)))
    await withTaskGroup(of: Void.self) { g in for r in regs { g.addTask { await r.cancel() } } }
    b2.stop()

    // The daemon's side alone: N holds arriving at once on raw sockets.
    let c = try Daemon([], port: 5844)
    var socks: [Raw] = []
    let rawBefore = c.rssBytes
    let t3 = nowNs()
    for i in 0..<holders {
        let r = try Raw(port: c.port)
        r.send("PUT /raw/i\(i)?hold HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        socks.append(r)
    }
    while held(c.port) < holders { usleep(2_000) }
    row("daemon alone: \(holders) holds sent at once on raw sockets -> all held (ms)", String(format: "%.0f", ms(nowNs() - t3)))
    row("daemon memory per held registration on a raw socket (bytes, RSS delta / n)", "\((c.rssBytes - rawBefore) / holders)")
    let t4 = nowNs()
    socks.removeAll()
    while held(c.port) > 0 { usleep(2_000) }
    row("daemon alone: \(holders) holders close -> all released (ms)", String(format: "%.0f", ms(nowNs() - t4)))
    c.stop()

    // Parked watches: N blocking queries waiting on one service.
    let p = try Daemon([], port: 5845)
    func watchers(_ port: Int) -> Int {
        guard let c = try? Raw(port: port) else { return -1 }
        let (_, body) = c.request("GET", "/_status")
        let o = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return o?["watchers"] as? Int ?? -1
    }
    let (head, _) = try Raw(port: p.port).request("GET", "/parked")
    let parkedBefore = p.rssBytes
    var parked: [Raw] = []
    for _ in 0..<holders {
        let r = try Raw(port: p.port)
        r.send("GET /parked?index=\(index(head))&wait=300s HTTP/1.1\r\n\r\n")
        parked.append(r)
    }
    while watchers(p.port) < holders { usleep(2_000) }
    row("daemon memory per parked watch (bytes, RSS delta / n)", "\((p.rssBytes - parkedBefore) / holders)")
    parked.removeAll()
    p.stop()
}

print("\n| measure | result |\n|---|---|")
for (k, v) in rows { print("| \(k) | \(v) |") }
