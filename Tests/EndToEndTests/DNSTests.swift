import Foundation
import Glibc
import XCTest

/// DNS through clients nobody here wrote: dig (BIND's), and dnspython's
/// resolver, against a real daemon on loopback.
final class DNSTests: XCTestCase {
    var daemons: [DaemonProcess] = []
    override func tearDown() {
        for d in daemons { d.stop() }
        daemons = []
    }

    /// A daemon answering DNS on a free port, and that port.
    func start(_ extra: [String] = []) throws -> (DaemonProcess, Int) {
        let d = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1", "--dns-listen", "127.0.0.1:0"] + extra)
        daemons.append(d)
        let port = try XCTUnwrap(((try http("GET", d.port, "/_status").json["dns"]) as? [String: Any])?["port"] as? Int)
        return (d, port)
    }

    func dig(_ port: Int, _ args: String) throws -> String {
        try runTool("/usr/bin/dig", ["@127.0.0.1", "-p", "\(port)", "+time=2", "+tries=1"] + args.split(separator: " ").map(String.init)).out
    }

    func status(_ out: String) -> String? {
        guard let r = out.range(of: "status: ") else { return nil }
        return String(out[r.upperBound...].prefix { $0 != "," })
    }

    func test_dig_A_SRV_node_addr_andTheErrorCodes() throws {
        let (d, dns) = try start()
        for (id, body) in [("w1", #"{"host":"10.0.0.1","port":8081}"#), ("w2", #"{"host":"10.0.0.2","port":8082}"#),
                           ("w3", #"{"host":"fd00::3","port":8083}"#), ("w4", #"{"host":"web4.example.net","port":8084}"#)] {
            XCTAssertEqual(try http("PUT", d.port, "/web/\(id)", body: body).status, 201)
        }
        XCTAssertEqual(try http("PUT", d.port, "/named/n1", body: #"{"host":"db.example.net","port":5432}"#).status, 201)

        // A: the IPv4 instances; AAAA: the IPv6 one; name hosts are left out.
        XCTAssertEqual(Set(try dig(dns, "web.service.rarangi A +short").split(separator: "\n")), ["10.0.0.1", "10.0.0.2"])
        XCTAssertEqual(try dig(dns, "web.service.rarangi AAAA +short").trimmingCharacters(in: .whitespacesAndNewlines), "fd00::3")
        // SRV, by both names: every instance with its port, IP targets under .addr. with the address in the additional section.
        for name in ["web.service.rarangi", "_web._tcp.service.rarangi"] {
            // dig aligns columns with tabs or spaces: compare with single spaces.
            let srv = try dig(dns, "\(name) SRV +noall +answer +additional").split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            XCTAssertTrue(srv.contains("SRV 1 1 8081 0a000001.addr.rarangi."), srv)
            XCTAssertTrue(srv.contains("SRV 1 1 8084 web4.example.net."), srv)
            XCTAssertTrue(srv.contains("SRV 1 1 8083 fd000000000000000000000000000003.addr.rarangi."), srv)
            XCTAssertTrue(srv.contains("0a000001.addr.rarangi. 0 IN A 10.0.0.1"), srv)
            XCTAssertTrue(srv.contains("fd000000000000000000000000000003.addr.rarangi. 0 IN AAAA fd00::3"), srv)
        }
        // The target resolves on its own, and the daemon's own name too.
        XCTAssertEqual(try dig(dns, "0a000002.addr.rarangi A +short").trimmingCharacters(in: .whitespacesAndNewlines), "10.0.0.2")
        XCTAssertEqual(try dig(dns, "n1.node.rarangi A +short").trimmingCharacters(in: .whitespacesAndNewlines), "127.0.0.1")
        // Case does not matter; TTL is 0 by default.
        XCTAssertTrue(try dig(dns, "WEB.Service.RARANGI A +noall +answer").contains("\t0\tIN\tA\t10.0.0."))

        // Unknown name: NXDOMAIN with the SOA; a known service without that kind of record: NOERROR, no answer, SOA.
        let nx = try dig(dns, "nosuch.service.rarangi A")
        XCTAssertEqual(status(nx), "NXDOMAIN")
        XCTAssertTrue(nx.contains("AUTHORITY: 1") && nx.contains("SOA\tn1.node.rarangi. hostmaster.rarangi."), nx)
        let nodata = try dig(dns, "named.service.rarangi A")
        XCTAssertEqual(status(nodata), "NOERROR")
        XCTAssertTrue(nodata.contains("ANSWER: 0") && nodata.contains("SOA"), nodata)
        // Outside the domain: REFUSED.
        XCTAssertEqual(status(try dig(dns, "example.com A")), "REFUSED")
        // Over TCP too.
        XCTAssertEqual(Set(try dig(dns, "web.service.rarangi A +tcp +short").split(separator: "\n")), ["10.0.0.1", "10.0.0.2"])
        // A deregistration is answered at once (the replica is current; nothing caches).
        XCTAssertEqual(try http("DELETE", d.port, "/web/w1").status, 200)
        XCTAssertEqual(try dig(dns, "web.service.rarangi A +short").trimmingCharacters(in: .whitespacesAndNewlines), "10.0.0.2")
    }

    func test_answersRotate_andLargeAnswersAreTruncatedOverUDP_withCountsRight_andWholeOverTCP() throws {
        let (d, dns) = try start(["--dns-ttl", "5"])
        for i in 0..<60 {
            XCTAssertEqual(try http("PUT", d.port, "/big/b\(i)", body: #"{"host":"10.1.0.\#(i + 1)","port":\#(9000 + i)}"#).status, 201)
        }
        // Rotation: the first address changes from one query to the next.
        let firsts = try (0..<6).map { _ in try dig(dns, "big.service.rarangi A +short +tcp").split(separator: "\n").first.map(String.init) ?? "" }
        XCTAssertGreaterThan(Set(firsts).count, 3, "\(firsts)")
        // UDP without EDNS: 512 bytes at most, TC, and as many records as the header counts.
        let udp = try dig(dns, "big.service.rarangi A +noedns +ignore")
        XCTAssertTrue(udp.contains("flags: qr aa tc"), udp)
        let counted = Int(udp.components(separatedBy: "ANSWER: ")[1].prefix { $0.isNumber })!
        XCTAssertEqual(udp.split(separator: "\n").filter { $0.hasPrefix("big.service.rarangi.") && $0.contains("\tA\t") }.count, counted)
        XCTAssertGreaterThan(counted, 10)
        XCTAssertLessThan(counted, 60)
        let size = Int(udp.components(separatedBy: "MSG SIZE  rcvd: ")[1].prefix { $0.isNumber })!
        XCTAssertLessThanOrEqual(size, 512)
        XCTAssertTrue(udp.contains("IN\tA\t10.1.0.") && udp.contains("\t5\tIN\t"), "TTL 5 as configured: \(udp)")
        // The client's EDNS size is the limit.
        let edns = try dig(dns, "big.service.rarangi SRV +bufsize=1232 +ignore")
        XCTAssertLessThanOrEqual(Int(edns.components(separatedBy: "MSG SIZE  rcvd: ")[1].prefix { $0.isNumber })!, 1232)
        XCTAssertTrue(edns.contains("flags: qr aa tc"), edns)
        // dig retries a truncated answer over TCP and gets everything.
        let whole = try dig(dns, "big.service.rarangi SRV +noedns")
        XCTAssertTrue(whole.contains("ANSWER: 60,"), whole)
        XCTAssertTrue(whole.contains("ADDITIONAL: 60"), whole)
    }

    func test_dnspython_resolvesSRV_andTheStaleFlagIsVisible() throws {
        // A peer that never answers keeps the daemon catching up: stale.
        let dead = try freeLoopbackPort()
        let (d, dns) = try start(["--peer", "127.0.0.1:\(dead)", "--gossip-interval", "5000"])
        XCTAssertEqual(try http("PUT", d.port, "/api/a1", body: #"{"host":"192.0.2.7","port":7000}"#).status, 201)
        let script = """
        import dns.resolver, sys
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]; r.port = int(sys.argv[1]); r.lifetime = 3
        srv = r.resolve("_api._tcp.service.rarangi.", "SRV")
        for rr in srv: print("srv", rr.port, rr.target)
        for rr in r.resolve(str(list(srv)[0].target), "A"): print("a", rr.address)
        print("status", [t.strings[0].decode() for t in r.resolve("status.rarangi.", "TXT")])
        a = r.resolve("api.service.rarangi.", "A")
        print("additional", [str(rr) for rrset in a.response.additional for rr in rrset])
        try:
            r.resolve("nope.service.rarangi.", "A")
        except dns.resolver.NXDOMAIN:
            print("nxdomain")
        """
        let out = try runTool("/usr/bin/python3", ["-c", script, "\(dns)"])
        XCTAssertEqual(out.status, 0, out.err)
        XCTAssertTrue(out.out.contains("srv 7000 c0000207.addr.rarangi."), out.out)
        XCTAssertTrue(out.out.contains("a 192.0.2.7"), out.out)
        XCTAssertTrue(out.out.contains("status ['stale']"), out.out)
        XCTAssertTrue(out.out.contains("additional ['\"stale\"']"), "a stale daemon says so in every answer: \(out.out)")
        XCTAssertTrue(out.out.contains("nxdomain"), out.out)
    }

    func test_namesDNSCannotCarry_labelsWithDots_andTCOnlyWhenAnswersAreCut() throws {
        let (d, dns) = try start()
        let long = String(repeating: "c", count: 63)
        XCTAssertEqual(try http("PUT", d.port, "/odd/toolong", body: #"{"host":"\#([long, long, long, long].joined(separator: "."))","port":1}"#).status, 201)
        XCTAssertEqual(try http("PUT", d.port, "/odd/biglabel", body: #"{"host":"\#(String(repeating: "b", count: 70)).example.com","port":2}"#).status, 201)
        XCTAssertEqual(try http("PUT", d.port, "/odd/fine", body: #"{"host":"ok.example.com","port":3}"#).status, 201)
        // Names DNS cannot carry are left out; the rest of the answer is readable.
        let srv = try dig(dns, "odd.service.rarangi SRV +short")
        XCTAssertEqual(srv.trimmingCharacters(in: .whitespacesAndNewlines), "1 1 3 ok.example.com.", srv)
        // A label holding a dot is one label, not two: compression keeps them apart.
        let soa = try dig(dns, #"q.n1\.node.rarangi SOA +noall +authority"#)
        XCTAssertTrue(soa.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ").contains("SOA n1.node.rarangi. hostmaster.rarangi."), soa)
        // When only the additional records do not fit, the answer is whole and TC is not set.
        for i in 0..<40 {
            XCTAssertEqual(try http("PUT", d.port, "/wide/w\(i)", body: #"{"host":"10.2.0.\#(i + 1)","port":\#(7000 + i)}"#).status, 201)
        }
        let lean = try dig(dns, "wide.service.rarangi SRV +bufsize=1400 +ignore")
        XCTAssertTrue(lean.contains("ANSWER: 40,"), lean)
        XCTAssertFalse(lean.contains(" tc"), "TC set although every answer record is there: \(lean)")
    }

    func test_tcpClients_areCappedPerAddress_andOneLeavingAnswersUnreadIsCut() throws {
        let (d, dns) = try start()
        XCTAssertEqual(try http("PUT", d.port, "/web/w1", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        var held: [RawConnection] = []
        for _ in 0..<32 { held.append(try RawConnection(port: dns, timeoutSeconds: 2)) }
        usleep(200_000)
        // The 33rd from the same address is closed at once.
        let extra = try RawConnection(port: dns, timeoutSeconds: 2)
        XCTAssertTrue(extra.readUntilClosed(), "a 33rd TCP client from one address was kept")
        // UDP and HTTP are served meanwhile.
        XCTAssertEqual(try dig(dns, "web.service.rarangi A +short").trimmingCharacters(in: .whitespacesAndNewlines), "10.0.0.1")
        held.removeAll()
        usleep(200_000)
        // A client that sends a thousand queries in one go and reads none is cut after about 1 MiB of answers.
        for i in 0..<100 {
            XCTAssertEqual(try http("PUT", d.port, "/many/m\(i)", body: #"{"host":"fd00::\#(String(i + 1, radix: 16))","port":\#(1000 + i)}"#).status, 201)
        }
        var q: [UInt8] = [0x00, 0x01, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for l in ["many", "service", "rarangi"] { q.append(UInt8(l.count)); q += Array(l.utf8) }
        q += [0, 0xFF, 0, 1]
        let framed = [UInt8(q.count >> 8), UInt8(q.count & 0xFF)] + q
        let greedy = try RawConnection(port: dns, timeoutSeconds: 20)
        let sender = Thread { try? greedy.send(Array((0..<1000).map { _ in framed }.joined())) }
        sender.start()
        let before = Date()
        XCTAssertEqual(try http("GET", d.port, "/web").status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(before), 2, "the loop was held up by one TCP client")
        XCTAssertTrue(d.process.isRunning)
    }

    func test_malformedQueries_getFORMERRorNothing_andTheDaemonServesOn() throws {
        let (d, dns) = try start()
        XCTAssertEqual(try http("PUT", d.port, "/web/w1", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(dns).bigEndian
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func exchange(_ bytes: [UInt8]) -> [UInt8]? {
            _ = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? Array(buf[..<n]) : nil
        }
        // Two questions: FORMERR with the id.
        let two = exchange([0xAB, 0xCD, 0x01, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(two.map { Array($0.prefix(4)) }, [0xAB, 0xCD, 0x80, 0x01])
        // A compression pointer in the question: FORMERR.
        let pointer = exchange([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01])
        XCTAssertEqual(pointer?[3], 1)
        // Not even a header: no answer.
        XCTAssertNil(exchange([1, 2, 3]))
        // An opcode other than QUERY: NOTIMP.
        var notify = [UInt8]([0x55, 0x66, 0x20, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 3]) + Array("web".utf8) + [7] + Array("service".utf8)
        notify += [7] + Array("rarangi".utf8) + [0, 0, 1, 0, 1]
        XCTAssertEqual(exchange(notify)?[3], 4)
        // A response is never answered (two servers would answer each other for ever).
        XCTAssertNil(exchange([0xAB, 0xCE, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]))
        // A TCP client that sends half a query and goes quiet holds nothing up.
        let tcp = try RawConnection(port: dns)
        try tcp.send([0x00, 0x40, 0x12])
        XCTAssertEqual(try dig(dns, "web.service.rarangi A +short").trimmingCharacters(in: .whitespacesAndNewlines), "10.0.0.1")
        XCTAssertEqual(try http("GET", d.port, "/web").status, 200)
        let (_, metrics) = (0, try http("GET", d.port, "/metrics").text)
        XCTAssertTrue(metrics.contains(#"rarangi_dns_queries_total{transport="udp",rcode="FORMERR"} 2"#), metrics)
        XCTAssertTrue(d.process.isRunning)
    }
}
