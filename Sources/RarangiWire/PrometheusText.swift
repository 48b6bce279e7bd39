/// Prometheus's text exposition format, version 0.0.4: one `# HELP` and one
/// `# TYPE` line per family, then its samples. Names are the caller's (they
/// are constants); label values and help text are escaped here, so any
/// service or daemon name is safe in a label.
public struct PrometheusText: Sendable {
    /// The document so far.
    public private(set) var bytes: [UInt8] = []

    /// A metric family's type.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// Creates an empty document.
    public init() { bytes.reserveCapacity(16 << 10) }

    /// Starts a family: its help and type lines. Every sample after it, up
    /// to the next family, must belong to it (a histogram's `_bucket`,
    /// `_sum` and `_count` do).
    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        append("# HELP ")
        append(name)
        bytes.append(0x20)
        for b in help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            default: bytes.append(b)
            }
        }
        append("\n# TYPE ")
        append(name)
        bytes.append(0x20)
        append(kind.rawValue)
        bytes.append(0x0A)
    }

    /// One sample with an integer value.
    public mutating func sample<T: BinaryInteger>(_ name: String, _ labels: [(String, String)] = [], _ value: T) {
        head(name, labels)
        if let v = Int(exactly: value) { appendInt(v, to: &bytes) } else { append(String(value)) }
        bytes.append(0x0A)
    }

    /// One sample with a real value (seconds, ratios).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        head(name, labels)
        append(PrometheusText.format(value))
        bytes.append(0x0A)
    }

    /// A histogram's samples: cumulative buckets (`le`), `+Inf`, sum and count.
    /// `perUnit` converts the histogram's unit to the family's (1000 for
    /// milliseconds recorded, seconds exposed); dividing keeps `le` exact.
    public mutating func histogram(_ name: String, _ labels: [(String, String)] = [], _ h: Histogram, perUnit: Double = 1) {
        var cumulative: UInt64 = 0
        let bucket = name + "_bucket"
        var withLe = labels + [("le", "")]
        for (i, bound) in h.bounds.enumerated() {
            cumulative += h.counts[i]
            withLe[withLe.count - 1].1 = PrometheusText.format(Double(bound) / perUnit)
            sample(bucket, withLe, cumulative)
        }
        withLe[withLe.count - 1].1 = "+Inf"
        sample(bucket, withLe, h.count)
        sample(name + "_sum", labels, Double(h.sum) / perUnit)
        sample(name + "_count", labels, h.count)
    }

    private mutating func head(_ name: String, _ labels: [(String, String)]) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                append(k)
                bytes.append(UInt8(ascii: "="))
                bytes.append(UInt8(ascii: "\""))
                let utf8 = v.utf8
                // Most values need no escape: copied whole.
                if utf8.withContiguousStorageIfAvailable({ p in !p.contains { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A } }) == true {
                    bytes.append(contentsOf: utf8)
                } else {
                    for b in utf8 {
                        switch b {
                        case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                        case 0x22: bytes.append(0x5C); bytes.append(0x22)
                        case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                        default: bytes.append(b)
                        }
                    }
                }
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(0x20)
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// A float as Prometheus reads it: integers without a fraction, `+Inf`,
    /// `-Inf` and `NaN` spelled its way.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

/// Counts of observations in fixed buckets (upper bounds, inclusive), with
/// their sum: what a Prometheus histogram exposes. A plain value, updated by
/// the one thread that owns it.
public struct Histogram: Sendable, Equatable {
    /// The buckets' upper bounds, ascending, in the unit observed.
    public let bounds: [Int64]
    /// Observations per bucket (not cumulative); those above every bound
    /// are only in `count`.
    public private(set) var counts: [UInt64]
    /// All observations.
    public private(set) var count: UInt64 = 0
    /// Their sum.
    public private(set) var sum: Int64 = 0

    /// A histogram over `bounds` (ascending).
    public init(bounds: [Int64]) {
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds ascend")
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    /// Records one observation (negative ones count as 0).
    public mutating func observe(_ value: Int64) {
        let v = max(0, value)
        count += 1
        sum &+= v
        // Few buckets: a linear scan beats a binary search.
        for i in bounds.indices where v <= bounds[i] {
            counts[i] += 1
            return
        }
    }

    /// Milliseconds from 1 ms to a minute: propagation delays.
    public static let milliseconds: [Int64] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000]
    /// Microseconds from 10 µs to 5 s: request handling.
    public static let microseconds: [Int64] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000, 1_000_000, 5_000_000]
}
