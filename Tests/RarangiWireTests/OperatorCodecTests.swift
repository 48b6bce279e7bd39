import XCTest
@testable import RarangiWire

/// The pure pieces behind /metrics, /_sd/prometheus, DNS and the Consul API.
final class OperatorCodecTests: XCTestCase {
    func test_prometheusText_escapesLabelsAndHelp_andWritesCumulativeHistograms() {
        var p = PrometheusText()
        p.family("x_total", .counter, "a \\ help\nline")
        p.sample("x_total", [("name", "a\"b\\c\nd")], 3)
        var h = Histogram(bounds: [1, 10])
        for v in [0, 1, 5, 50] { h.observe(Int64(v)) }
        p.family("d_seconds", .histogram, "durations")
        p.histogram("d_seconds", [], h, perUnit: 1000)
        let text = String(decoding: p.bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n"), text)
        XCTAssertTrue(text.contains(#"x_total{name="a\"b\\c\nd"} 3"#), text)
        XCTAssertTrue(text.contains(#"d_seconds_bucket{le="0.001"} 2"#), text)
        XCTAssertTrue(text.contains(#"d_seconds_bucket{le="0.01"} 3"#), text)
        XCTAssertTrue(text.contains(#"d_seconds_bucket{le="+Inf"} 4"#), text)
        XCTAssertTrue(text.contains("d_seconds_sum 0.056\nd_seconds_count 4\n"), text)
    }

    func test_jsonFields_readTopLevelMembers_unescaped() {
        let body = Array(#"{"host":"a\"b\u00e9\ud83d\ude00","port":80,"tags":["x","y\n"],"o":{"k":[1,"}"]},"n":null}"#.utf8)
        let m = JSONFields.members(of: body)
        XCTAssertEqual(m.map(\.name), ["host", "port", "tags", "o", "n"])
        XCTAssertEqual(m[0].value, .string("a\"bé😀"))
        XCTAssertEqual(m[1].value, .raw(Array("80".utf8)))
        XCTAssertEqual(m[3].value, .raw(Array(#"{"k":[1,"}"]}"#.utf8)))
        XCTAssertEqual(JSONFields.strings(ofArray: Array(#"["x","y\n"]"#.utf8)), ["x", "y\n"])
        XCTAssertNil(JSONFields.strings(ofArray: Array(#"["x",1]"#.utf8)))
    }

    func test_ipAddresses_parseAndSpellAsAddrLabels() {
        XCTAssertEqual(IPAddress.v4("10.0.0.255"), [10, 0, 0, 255])
        for bad in ["10.0.0", "10.0.0.256", "01.2.3.4", "1.2.3.4.5", "a.b.c.d", ""] { XCTAssertNil(IPAddress.v4(bad), bad) }
        XCTAssertEqual(IPAddress.v6("::1"), [UInt8](repeating: 0, count: 15) + [1])
        XCTAssertEqual(IPAddress.v6("fd00::3")?.prefix(2), [0xFD, 0x00])
        XCTAssertEqual(IPAddress.v6("::ffff:10.0.0.1")?.suffix(4), [10, 0, 0, 1])
        for bad in ["1::2::3", "12345::", ":::1", "fd00", "g::1"] { XCTAssertNil(IPAddress.v6(bad), bad) }
        XCTAssertEqual(IPAddress.hex([10, 0, 0, 1]), "0a000001")
        XCTAssertEqual(IPAddress.fromHex("0a000001"), [10, 0, 0, 1])
        XCTAssertNil(IPAddress.fromHex("0a0001"))
    }

    func test_dns_parsesAQuery_andTruncatesWholeRecordsWithCountsRight() throws {
        // id 0x1234, RD, one question web.service.rarangi A IN, an OPT of 1232.
        var q: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        for l in ["web", "service", "rarangi"] { q.append(UInt8(l.count)); q += Array(l.utf8) }
        q += [0, 0, 1, 0, 1]
        q += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        let query = try DNS.parseQuery(q).get()
        XCTAssertEqual(query.name, "web.service.rarangi")
        XCTAssertEqual(query.ednsSize, 1232)
        let records = (0..<100).map { i in DNS.Record(name: query.labels, type: .a, ttl: 0, data: .a([10, 0, 0, UInt8(i)])) }
        let whole = DNS.encode(DNS.Answer(rcode: .noError, answers: records), to: query)
        XCTAssertEqual(Int(whole[6]) << 8 | Int(whole[7]), 100)
        XCTAssertEqual(whole[2] & 0x02, 0)
        let cut = DNS.encode(DNS.Answer(rcode: .noError, answers: records), to: query, limit: 512)
        XCTAssertLessThanOrEqual(cut.count, 512)
        XCTAssertEqual(cut[2] & 0x02, 0x02, "TC")
        let kept = Int(cut[6]) << 8 | Int(cut[7])
        // Header 12, question 25, OPT 11; each compressed A record 16 bytes.
        XCTAssertEqual(kept, (512 - 12 - 25 - 11) / 16)
        XCTAssertEqual(cut.count, 12 + 25 + kept * 16 + 11)
        XCTAssertEqual(Int(cut[10]) << 8 | Int(cut[11]), 1, "the OPT record is counted")
        // Malformed: a pointer in the question, two questions, trailing bytes.
        var pointer: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1]
        XCTAssertEqual(try? DNS.parseQuery(pointer).get(), nil)
        pointer[5] = 2
        if case let .failure(e) = DNS.parseQuery(pointer) { XCTAssertEqual(e.id, 1) } else { XCTFail() }
        XCTAssertNil(try? DNS.parseQuery(Array(q.dropLast(11)) + [0]).get(), "bytes after the records")
    }

    func test_consulRegistration_mapsToOurBody_andRefusesWhatItCannotMap() throws {
        let router = Router(environment: "testing", maxTTLSeconds: 3600)
        func register(_ body: String) -> Result<Route, HTTPResponse> {
            router.route(HTTPRequest(method: .put, path: "/v1/agent/service/register", body: Array(body.utf8)))
        }
        guard case let .success(.consul(.register(service, id, body, ttl))) =
            register(#"{"name":"web","id":"w1","address":"10.0.0.1","port":80,"tags":["a"],"meta":{"zone":"z"},"checks":[{"ttl":"1m"},{"TTL":"15s"}]}"#) else {
            return XCTFail("not decoded")
        }
        XCTAssertEqual(service, "web")
        XCTAssertEqual(id, "w1")
        XCTAssertEqual(ttl, 15)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"host":"10.0.0.1","port":80,"tags":["a"],"zone":"z","check_ttl":15}"#)
        XCTAssertEqual(try JSON.parseObject(body).compact, body, "the body is stored compact, as peers require")
        for (bad, code) in [(#"{"ID":"x"}"#, "invalid_service"), (#"{"Name":"web","Port":-1}"#, "invalid_port"),
                            (#"{"Name":"web","Check":{"TCP":"h:1","Interval":"5s"}}"#, "unsupported_check"),
                            (#"{"Name":"web","Check":{"TTL":"2h"}}"#, "invalid_ttl"), (#"{"Name":"web","Tags":[1]}"#, "invalid_tags")] {
            guard case let .failure(r) = register(bad) else { XCTFail(bad); continue }
            XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains(code), bad)
        }
        XCTAssertEqual(Router.parseGoDuration("1m30s"), 90_000)
        XCTAssertEqual(Router.parseGoDuration("250ms"), 250)
        XCTAssertNil(Router.parseGoDuration("5 minutes"))
    }
}
