/// DNS messages (RFC 1035, with EDNS(0) from RFC 6891 and SRV from RFC
/// 2782): a strict parser for the one-question queries a stub resolver
/// sends, and a writer of answers that compresses names and truncates to a
/// size with the counts kept right. Pure: no sockets, fuzzed like the other
/// codecs.
public enum DNS {
    /// Record types the daemon answers (others get an empty answer).
    public enum RRType: UInt16, Sendable {
        case a = 1, ns = 2, cname = 5, soa = 6, txt = 16, aaaa = 28, srv = 33, opt = 41, any = 255
    }

    /// Response codes.
    public enum RCode: UInt8, Sendable {
        case noError = 0, formErr = 1, servFail = 2, nxDomain = 3, notImp = 4, refused = 5
    }

    /// The classic limit of a UDP answer without EDNS.
    public static let classicUDPSize = 512
    /// The largest UDP answer we send whatever the client offers.
    public static let maxUDPSize = 4096

    /// A parsed query.
    public struct Query: Sendable, Equatable {
        public var id: UInt16
        /// The opcode (0 is a standard query).
        public var opcode: UInt8
        /// Recursion desired, echoed.
        public var recursionDesired: Bool
        /// The question's name, lower-cased labels, without the root.
        public var labels: [String]
        /// The question's type (raw, so unknown types can be answered empty).
        public var type: UInt16
        /// The question's class (1 = IN).
        public var qclass: UInt16
        /// The client's EDNS UDP payload size, nil without an OPT record.
        public var ednsSize: Int?
        /// The question as it arrived (echoed in the answer).
        var questionBytes: [UInt8]

        /// The name with dots, lower case, no trailing dot.
        public var name: String { labels.joined(separator: ".") }
    }

    /// Why a message is not a query we can parse; the id (when the header
    /// was there) lets the server still answer FORMERR.
    public struct ParseError: Error, Equatable, Sendable {
        public var id: UInt16?
        public var reason: String
    }

    /// Parses one query message.
    public static func parseQuery(_ b: [UInt8]) -> Result<Query, ParseError> {
        guard b.count >= 12 else { return .failure(ParseError(id: nil, reason: "shorter than a header")) }
        let id = UInt16(b[0]) << 8 | UInt16(b[1])
        func fail(_ r: String) -> Result<Query, ParseError> { .failure(ParseError(id: id, reason: r)) }
        // A response is never answered (RFC 1035): answering one would let a
        // forged source make two servers answer each other for ever.
        if b[2] & 0x80 != 0 { return .failure(ParseError(id: nil, reason: "a response, not a query")) }
        let opcode = (b[2] >> 3) & 0x0F
        let rd = b[2] & 0x01 != 0
        let qd = Int(b[4]) << 8 | Int(b[5])
        let an = Int(b[6]) << 8 | Int(b[7])
        let ns = Int(b[8]) << 8 | Int(b[9])
        let ar = Int(b[10]) << 8 | Int(b[11])
        guard qd == 1 else { return fail("\(qd) questions; exactly one is answered") }
        guard an == 0, ns == 0, ar <= 1 else { return fail("records beyond the question and one OPT") }
        var i = 12
        var labels: [String] = []
        var nameLength = 0
        while true {
            guard i < b.count else { return fail("name runs past the message") }
            let len = Int(b[i])
            if len == 0 { i += 1; break }
            guard len <= 63 else { return fail("a compressed or oversized label in the question") }
            guard i + 1 + len <= b.count else { return fail("label runs past the message") }
            nameLength += len + 1
            guard nameLength <= 254 else { return fail("name longer than 255 bytes") }
            var label = [UInt8](b[(i + 1)..<(i + 1 + len)])
            for k in label.indices where label[k] >= 0x41 && label[k] <= 0x5A { label[k] += 0x20 }
            guard let s = String(validating: label, as: UTF8.self) else { return fail("label is not UTF-8") }
            labels.append(s)
            i += 1 + len
        }
        guard i + 4 <= b.count else { return fail("question has no type and class") }
        let type = UInt16(b[i]) << 8 | UInt16(b[i + 1])
        let qclass = UInt16(b[i + 2]) << 8 | UInt16(b[i + 3])
        let question = Array(b[12..<(i + 4)])
        i += 4
        var edns: Int?
        if ar == 1 {
            // OPT: root name, type 41, class = payload size, TTL, rdata.
            guard i + 11 <= b.count, b[i] == 0, b[i + 1] == 0, b[i + 2] == 41 else { return fail("the additional record is not an OPT") }
            edns = max(classicUDPSize, Int(b[i + 3]) << 8 | Int(b[i + 4]))
            let rdlen = Int(b[i + 9]) << 8 | Int(b[i + 10])
            i += 11 + rdlen
            guard i <= b.count else { return fail("OPT data runs past the message") }
        }
        guard i == b.count else { return fail("bytes after the last record") }
        return .success(Query(id: id, opcode: opcode, recursionDesired: rd, labels: labels, type: type, qclass: qclass,
                              ednsSize: edns, questionBytes: question))
    }

    /// A resource record to answer with.
    public struct Record: Sendable, Equatable {
        public var name: [String]
        public var type: RRType
        public var ttl: UInt32
        public var data: RData

        public init(name: [String], type: RRType, ttl: UInt32, data: RData) {
            self.name = name
            self.type = type
            self.ttl = ttl
            self.data = data
        }
    }

    /// Record data.
    public enum RData: Sendable, Equatable {
        case a([UInt8])
        case aaaa([UInt8])
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: [String])
        case cname([String])
        case txt([String])
        case soa(mname: [String], rname: [String], serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    }

    /// An answer: the code and the three sections.
    public struct Answer: Sendable, Equatable {
        public var rcode: RCode
        public var answers: [Record] = []
        public var authority: [Record] = []
        public var additional: [Record] = []

        public init(rcode: RCode, answers: [Record] = [], authority: [Record] = [], additional: [Record] = []) {
            self.rcode = rcode
            self.answers = answers
            self.authority = authority
            self.additional = additional
        }
    }

    /// The answer to `query` in at most `limit` bytes: when the whole does
    /// not fit, as many answer records as fit, no authority or additional
    /// records, TC set, and the counts of what is there.
    public static func encode(_ answer: Answer, to query: Query, limit: Int = 65535) -> [UInt8] {
        var w = Writer(query: query)
        w.header(rcode: answer.rcode, truncated: false, counts: (answer.answers.count, answer.authority.count,
                                                                 answer.additional.count + (query.ednsSize != nil ? 1 : 0)))
        w.question()
        for r in answer.answers { w.record(r) }
        for r in answer.authority { w.record(r) }
        for r in answer.additional { w.record(r) }
        if query.ednsSize != nil { w.opt() }
        if w.out.count <= limit { return w.out }
        // Without the additional records (addresses of SRV targets, the
        // stale TXT): no TC, since what was asked is all there (RFC 2181 §9).
        var lean = Writer(query: query)
        lean.header(rcode: answer.rcode, truncated: false, counts: (answer.answers.count, answer.authority.count,
                                                                    query.ednsSize != nil ? 1 : 0))
        lean.question()
        for r in answer.answers { lean.record(r) }
        for r in answer.authority { lean.record(r) }
        if query.ednsSize != nil { lean.opt() }
        if lean.out.count <= limit { return lean.out }
        // Truncate: whole answer records while they fit (the OPT record too).
        var t = Writer(query: query)
        t.header(rcode: answer.rcode, truncated: true, counts: (0, 0, 0))
        t.question()
        let reserve = query.ednsSize != nil ? 11 : 0
        var kept = 0
        for r in answer.answers {
            var trial = t
            trial.record(r)
            if trial.out.count + reserve > limit { break }
            t = trial
            kept += 1
        }
        if query.ednsSize != nil { t.opt() }
        t.setCounts(kept, 0, query.ednsSize != nil ? 1 : 0)
        return t.out
    }

    /// Whether `labels` make a name DNS can carry: 1 to 63 bytes a label,
    /// at most 255 bytes in all on the wire.
    public static func isValidName(_ labels: [String]) -> Bool {
        var length = 1
        for l in labels {
            let n = l.utf8.count
            guard n >= 1, n <= 63 else { return false }
            length += n + 1
        }
        return length <= 255
    }

    /// A FORMERR (or other code) for a message that could not be parsed:
    /// the header alone, with the id when there was one.
    public static func error(id: UInt16, rcode: RCode) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0x80, rcode.rawValue, 0, 0, 0, 0, 0, 0, 0, 0]
    }

    struct Writer {
        var out: [UInt8] = []
        let query: Query
        /// Offsets of names written, by their labels (lower case) from each
        /// label on, for compression; labels, not a dotted string, so a
        /// label holding a dot is not taken for two.
        var offsets: [[String]: Int] = [:]

        init(query: Query) {
            self.query = query
            out.reserveCapacity(512)
        }

        mutating func header(rcode: RCode, truncated: Bool, counts: (Int, Int, Int)) {
            out.append(UInt8(query.id >> 8)); out.append(UInt8(query.id & 0xFF))
            // QR, opcode, AA; TC; RD echoed. RA is 0: we recurse for no one.
            out.append(0x80 | (query.opcode << 3) | 0x04 | (truncated ? 0x02 : 0) | (query.recursionDesired ? 1 : 0))
            out.append(rcode.rawValue)
            u16(1)
            u16(counts.0); u16(counts.1); u16(counts.2)
        }

        mutating func setCounts(_ an: Int, _ ns: Int, _ ar: Int) {
            out[6] = UInt8(an >> 8); out[7] = UInt8(an & 0xFF)
            out[8] = UInt8(ns >> 8); out[9] = UInt8(ns & 0xFF)
            out[10] = UInt8(ar >> 8); out[11] = UInt8(ar & 0xFF)
        }

        mutating func question() {
            // The question's name is at 12: record its suffixes for compression.
            var offset = 12
            for k in query.labels.indices {
                offsets[Array(query.labels[k...])] = offset
                offset += 1 + query.labels[k].utf8.count
            }
            out.append(contentsOf: query.questionBytes)
        }

        mutating func u16(_ v: Int) { out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF)) }
        mutating func u32(_ v: UInt32) { u16(Int(v >> 16)); u16(Int(v & 0xFFFF)) }

        mutating func name(_ labels: [String]) {
            for k in labels.indices {
                let suffix = labels[k...].map { $0.lowercased() }
                if let at = offsets[suffix] {
                    u16(0xC000 | at)
                    return
                }
                if out.count < 0x3FFF { offsets[suffix] = out.count }
                let bytes = Array(labels[k].utf8.prefix(63))
                out.append(UInt8(bytes.count))
                out.append(contentsOf: bytes)
            }
            out.append(0)
        }

        mutating func record(_ r: Record) {
            name(r.name)
            u16(Int(r.type.rawValue)); u16(1); u32(r.ttl)
            let lengthAt = out.count
            u16(0)
            switch r.data {
            case let .a(ip), let .aaaa(ip): out.append(contentsOf: ip)
            case let .srv(priority, weight, port, target):
                u16(Int(priority)); u16(Int(weight)); u16(Int(port))
                name(target)
            case let .cname(target): name(target)
            case let .txt(strings):
                for s in strings {
                    let bytes = Array(s.utf8.prefix(255))
                    out.append(UInt8(bytes.count)); out.append(contentsOf: bytes)
                }
            case let .soa(mname, rname, serial, refresh, retry, expire, minimum):
                name(mname); name(rname)
                u32(serial); u32(refresh); u32(retry); u32(expire); u32(minimum)
            }
            let length = out.count - lengthAt - 2
            out[lengthAt] = UInt8(length >> 8); out[lengthAt + 1] = UInt8(length & 0xFF)
        }

        mutating func opt() {
            // Root name, type OPT, our UDP size, no extended code, no options.
            out.append(0); u16(41); u16(DNS.maxUDPSize); u32(0); u16(0)
        }
    }
}
