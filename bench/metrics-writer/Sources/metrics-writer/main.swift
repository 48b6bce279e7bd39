import Foundation
import Prometheus
import RarangiWire

// The daemon's workload: a counter bumped on every request (millions per
// second on the reactor thread), and a scrape every few seconds of about
// 60 families with per-link and per-origin series.
let increments = 20_000_000
let links = 8
let origins = 200
let scrapes = 2_000

func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

// 1. The hot path: one increment per request.
// The daemon's counters are plain fields of values its one thread owns.
final class Counters { var requests = 0 }
@inline(never) func bump(_ c: Counters) { c.requests &+= 1 }
let counters = Counters()
let tPlain = seconds {
    for _ in 0..<increments { bump(counters) }
}
let plain = counters.requests
let registry = PrometheusCollectorRegistry()
let counter = registry.makeCounter(name: "rarangi_http_requests_total", labels: [("route", "lookup"), ("code", "200")])
let tLibrary = seconds {
    for _ in 0..<increments { counter.increment() }
}

// 2. A scrape: the same families and series both ways.
for i in 0..<links {
    for name in ["rarangi_peer_link_up", "rarangi_peer_link_backlog_bytes"] {
        registry.makeGauge(name: name, labels: [("link", "out\(i)"), ("peer", "peer\(i)")]).set(to: Double(i))
    }
    for name in ["rarangi_peer_link_frames_sent_total", "rarangi_peer_link_frames_received_total", "rarangi_peer_link_sent_bytes_total"] {
        registry.makeCounter(name: name, labels: [("link", "out\(i)"), ("peer", "peer\(i)")]).increment(by: Int64(i))
    }
}
for i in 0..<origins {
    for name in ["rarangi_origin_records", "rarangi_origin_tombstones", "rarangi_origin_newest_change_age_seconds"] {
        registry.makeGauge(name: name, labels: [("origin", "daemon-\(i)")]).set(to: Double(i))
    }
}
for i in 0..<40 { registry.makeGauge(name: "rarangi_gauge_\(i)").set(to: Double(i)) }
let hist = registry.makeDurationHistogram(name: "rarangi_http_request_duration_seconds", labels: [("route", "lookup")],
                                          buckets: Histogram.microseconds.map { .microseconds($0) })
for i in 0..<1000 { hist.recordNanoseconds(Int64(i * 1000)) }
var libraryBytes = 0
let tLibraryScrape = seconds {
    for _ in 0..<scrapes {
        var out: [UInt8] = []
        registry.emit(into: &out)
        libraryBytes = out.count
    }
}
var h = Histogram(bounds: Histogram.microseconds)
for i in 0..<1000 { h.observe(Int64(i)) }
var ownBytes = 0
let tOwnScrape = seconds {
    for _ in 0..<scrapes {
        var p = PrometheusText()
        p.family("rarangi_http_requests_total", .counter, "Requests.")
        p.sample("rarangi_http_requests_total", [("route", "lookup"), ("code", "200")], plain)
        for name in ["rarangi_peer_link_up", "rarangi_peer_link_backlog_bytes", "rarangi_peer_link_frames_sent_total",
                     "rarangi_peer_link_frames_received_total", "rarangi_peer_link_sent_bytes_total"] {
            p.family(name, .gauge, "Per link.")
            for i in 0..<links { p.sample(name, [("link", "out\(i)"), ("peer", "peer\(i)")], i) }
        }
        for name in ["rarangi_origin_records", "rarangi_origin_tombstones", "rarangi_origin_newest_change_age_seconds"] {
            p.family(name, .gauge, "Per origin.")
            for i in 0..<origins { p.sample(name, [("origin", "daemon-\(i)")], i) }
        }
        for i in 0..<40 { p.family("rarangi_gauge_\(i)", .gauge, "A gauge."); p.sample("rarangi_gauge_\(i)", [], i) }
        p.family("rarangi_http_request_duration_seconds", .histogram, "Durations.")
        p.histogram("rarangi_http_request_duration_seconds", [("route", "lookup")], h, perUnit: 1_000_000)
        ownBytes = p.bytes.count
    }
}
func row(_ name: String, _ value: String, _ ratio: String) {
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + value.padding(toLength: 18, withPad: " ", startingAt: 0) + ratio)
}
print("\n/metrics writer: swift-prometheus 2.4.1 against PrometheusText (release build, one thread)")
row("measure", "value", "ratio")
row("increment, plain Int (PrometheusText)", String(format: "%.2f ns", tPlain / Double(increments) * 1e9), "")
row("increment, swift-prometheus Counter", String(format: "%.2f ns", tLibrary / Double(increments) * 1e9),
    String(format: "%.0fx plain", tLibrary / max(tPlain, 1e-9)))
row("scrape, PrometheusText (\(ownBytes / 1024) KiB)", String(format: "%.1f us", tOwnScrape / Double(scrapes) * 1e6), "")
row("scrape, swift-prometheus (\(libraryBytes / 1024) KiB)", String(format: "%.1f us", tLibraryScrape / Double(scrapes) * 1e6),
    String(format: "%.2fx PrometheusText", tLibraryScrape / tOwnScrape))
print("(\(plain) plain increments kept the loop honest)")
