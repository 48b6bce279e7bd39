/// IP literals as DNS needs them: the 4 or 16 bytes of a registration's
/// `host` when it is an address, and back to text. Pure parsing, no
/// resolver: a `host` that is a name stays a name.
public enum IPAddress {
    /// The 4 bytes of a dotted-quad IPv4 literal.
    public static func v4(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    /// The 16 bytes of an IPv6 literal (RFC 4291 text, `::` and a trailing
    /// dotted quad allowed; brackets and zone ids are not).
    public static func v6(_ s: String) -> [UInt8]? {
        guard s.contains(":"), s.utf8.count <= 45 else { return nil }
        let u = Array(s.utf8)
        var halves: [String] = []
        var start = 0, i = 0
        while i + 1 < u.count {
            if u[i] == 0x3A, u[i + 1] == 0x3A {
                halves.append(String(decoding: u[start..<i], as: UTF8.self))
                i += 2
                start = i
                continue
            }
            i += 1
        }
        halves.append(String(decoding: u[start...], as: UTF8.self))
        guard halves.count <= 2, !halves.contains(where: { $0.hasPrefix(":") || $0.hasSuffix(":") }) || halves.count == 1 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if i == fields.count - 1, f.contains("."), let v4 = v4(String(f)) { out += v4; continue }
                guard !f.isEmpty, f.count <= 4, let v = UInt16(f, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    /// Lower-case hex of the bytes (the `.addr.` names of SRV targets).
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The bytes of a hex `.addr.` label: 8 digits for IPv4, 32 for IPv6.
    public static func fromHex(_ s: String) -> [UInt8]? {
        guard s.count == 8 || s.count == 32 else { return nil }
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            guard let h = hi.hexDigitValue, let l = lo.hexDigitValue else { return nil }
            out.append(UInt8(h << 4 | l))
        }
        return out
    }
}
