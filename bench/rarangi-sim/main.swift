// The scale simulation (bench/simulate.sh runs it in release): thousands of
// real cores in virtual time, and a table of what one change costs and how
// far it travels, idle traffic, a silent leaf, a partition's heal, and the
// simulation's own wall time and peak memory.
// Usage: rarangi-sim [--clusters N] [--leaves N] [--seed N] [--probes N]
//                    [--partition-seconds N] [--mbit N] [--quiet]
#if canImport(Glibc)
import Glibc
#endif
import RarangiTestKit

var clusters = 50, leaves = 198, probes = 5, partitionSeconds: Int64 = 30, mbit: Int64 = 1000
var seed: UInt64 = 2027
var quiet = false
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    /// The flag's value, a whole number of at least `least`.
    func value(least: Int64 = 1) -> Int64 {
        guard let v = args.popFirst(), let n = Int64(v), n >= least else {
            fputs("rarangi-sim: \(a) needs a whole number of at least \(least)\n", stderr)
            exit(2)
        }
        return n
    }
    switch a {
    case "--clusters": clusters = Int(value())
    case "--leaves": leaves = Int(value())
    case "--seed": seed = UInt64(value(least: 0))
    case "--probes": probes = Int(value())
    case "--partition-seconds": partitionSeconds = value()
    case "--mbit": mbit = value()
    case "--quiet": quiet = true
    default:
        fputs("usage: rarangi-sim [--clusters N] [--leaves N] [--seed N] [--probes N] [--partition-seconds N] [--mbit N] [--quiet]\n", stderr)
        exit(2)
    }
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let shape = ScaleRun.Shape(clusters: clusters, leaves: leaves)
let began = monotonicSeconds()
let scale = ScaleRun(shape: shape, seed: seed, bytesPerMs: mbit * 1000 / 8) { line in
    if !quiet { print("[\(fixed(monotonicSeconds() - began)) s] " + line) }
}
let f = scale.run(probes: probes, partitionMs: partitionSeconds * 1000)
let wall = monotonicSeconds() - began
var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)

/// `x` with `digits` decimals (no Foundation here).
func fixed(_ x: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int64((x * scale).rounded())
    let whole = "\(n / Int64(scale))"
    if digits == 0 { return whole }
    let frac = "\(abs(n) % Int64(scale))"
    return whole + "." + String(repeating: "0", count: digits - frac.count) + frac
}
func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

func ms(_ v: Int64?) -> String { v.map { "\($0) ms" } ?? "never" }
func spread(_ s: ScaleRun.Spread?, _ unit: String) -> String {
    s.map { "\($0.p50) / \($0.p99) / \($0.p100)\(unit)" } ?? "not all reached"
}
let rows: [(String, String, String)] = [
    ("daemons (clusters × (masters + leaves))", "\(f.daemons) = \(shape)", ""),
    ("peer connections", "\(f.connections)", ""),
    ("start-up: all hold the \(f.registrations) registrations", ms(f.settledMs), ""),
    ("hops to 50 / 99 / 100 % of daemons (worst of \(f.probes) changes)", spread(f.hops, ""), "100 %: ≤ 3"),
    ("virtual time to 50 / 99 / 100 %", spread(f.servedMs, " ms"), "100 %: < 1000 ms"),
    ("changes that reached every daemon", "\(f.probesReachingAll) of \(f.probes)", "all"),
    ("record frames / bytes (unsealed) per change, busiest master", "\(fixed(f.busiestMasterFrames)) / \(fixed(f.busiestMasterBytes, 0))", ""),
    ("record frames / bytes per change, average master", "\(fixed(f.averageMasterFrames)) / \(fixed(f.averageMasterBytes, 0))", ""),
    ("idle peer-frame bytes (unsealed) per connection per second", fixed(f.idleBytesPerLinkPerSecond), "≤ 1024"),
    ("idle peer-frame bytes per second, busiest connection", fixed(f.idleBusiestLinkBytesPerSecond), "≤ 1024"),
    ("idle frames per connection per second", fixed(f.idleFramesPerLinkPerSecond, 2), ""),
    ("silent leaf: its registration gone everywhere", f.silentLeafMeasured ? ms(f.silentLeafGoneMs) : "not measured", ""),
    ("\(f.partitionedDaemons) daemons (\(f.partitionedDaemons * 100 / max(1, f.daemons)) %) cut \(f.partitionMs / 1000) s, healed: gossip intervals to converge",
     f.healIntervals.map(String.init) ?? "never", ""),
    ("virtual time simulated", "\(f.virtualMs / 1000) s", ""),
    ("wall time", "\(fixed(wall)) s", ""),
    ("peak resident memory of the simulation", "\(usage.ru_maxrss / 1024) MiB", ""),
]
let w0 = rows.map { $0.0.count }.max()!, w1 = rows.map { $0.1.count }.max()!
print("\nrarangi scale simulation: \(shape) daemons, seed \(seed), 1 ms per hop, \(mbit) Mbit/s per sender")
for r in rows {
    print(pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + r.2)
}
