/// An incremental HTTP/1.x request parser. The connection appends bytes to its
/// buffer and calls `parse` until it answers `.needMore`; the parser keeps the
/// work it has done so a slowly arriving request is not scanned twice.
public struct HTTPParser: Sendable {
    /// The largest request line plus headers accepted (431 beyond).
    public var maxHeadBytes: Int
    /// The largest body accepted (413 beyond).
    public var maxBodyBytes: Int

    private var scanned = 0
    /// The head of a request whose body has not all arrived yet. Boxed:
    /// most requests arrive whole and never store one, and a connection
    /// between requests (thousands held or parked) carries a pointer here
    /// rather than a whole request.
    private var pending: PendingHead?
    private var continueSent = false

    private final class PendingHead: Sendable {
        let request: HTTPRequest
        let framing: Framing
        init(_ request: HTTPRequest, _ framing: Framing) {
            self.request = request
            self.framing = framing
        }
    }

    /// Where a request's body is and how it comes. Kept apart from the
    /// request, which thus moves out of the parser without being copied.
    private struct Framing: Sendable {
        var headLength: Int
        var contentLength: Int
        var chunked: Bool
        var expectContinue: Bool
    }

    /// What one call to `parse` found.
    public enum Outcome: Sendable {
        /// The buffer holds no complete request yet.
        case needMore
        /// The client asked for `100 Continue` before it sends the body; the
        /// request's head (no body yet), so a refusal can come instead.
        case sendContinue(HTTPRequest)
        /// A complete request, and how many bytes of the buffer it used.
        case request(HTTPRequest, consumed: Int)
        /// The request is unacceptable; answer and close.
        case failure(HTTPError)
    }

    /// Creates a parser with the given limits.
    public init(maxHeadBytes: Int = 8192, maxBodyBytes: Int = 65536) {
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// True once part of a request has arrived (for the request timeout).
    public var isMidRequest: Bool { scanned > 0 || pending != nil }

    /// Parses the request at the start of `buf`.
    public mutating func parse(_ buf: UnsafeBufferPointer<UInt8>) -> Outcome {
        if let p = pending { return withBody(p.request, p.framing, buf) }
        if buf.isEmpty { return .needMore }
        // Find the blank line ending the head, resuming where the last call stopped.
        guard let end = HTTPHead.end(in: buf, from: scanned - 3) else {
            scanned = buf.count
            if buf.count > maxHeadBytes {
                return fail(431, "headers_too_large", "the request line and headers exceed \(maxHeadBytes) bytes")
            }
            return .needMore
        }
        if end > maxHeadBytes {
            return fail(431, "headers_too_large", "the request line and headers exceed \(maxHeadBytes) bytes")
        }
        do {
            let (request, framing) = try parseHead(UnsafeBufferPointer(rebasing: buf[0..<end]))
            return withBody(request, framing, buf)
        } catch {
            return .failure(error)
        }
    }

    /// The request once its body is in `buf`; else the head is kept for
    /// the next call. The request is consumed: it moves into the outcome.
    private mutating func withBody(_ request: consuming HTTPRequest, _ h: Framing,
                                   _ buf: UnsafeBufferPointer<UInt8>) -> Outcome {
        if h.chunked {
            switch decodeChunked(buf, from: h.headLength) {
            case .incomplete:
                return awaitBody(request, h, available: buf.count - h.headLength)
            case let .error(e):
                if pending == nil { pending = PendingHead(request, h) }
                return .failure(e)
            case let .complete(body, end):
                request.body = body
                reset()
                return .request(consume request, consumed: end)
            }
        }
        let total = h.headLength + h.contentLength
        if buf.count < total { return awaitBody(request, h, available: buf.count - h.headLength) }
        if h.contentLength > 0 { request.body = Array(buf[h.headLength..<total]) }
        reset()
        return .request(consume request, consumed: total)
    }

    /// The body is not all here: keep the head for the next call.
    private mutating func awaitBody(_ request: HTTPRequest, _ h: Framing, available: Int) -> Outcome {
        if pending == nil { pending = PendingHead(request, h) }
        return continueIfWanted(request, h, available: available)
    }

    private mutating func continueIfWanted(_ request: HTTPRequest, _ h: Framing, available: Int) -> Outcome {
        if h.expectContinue, !continueSent, available == 0 {
            continueSent = true
            return .sendContinue(request)
        }
        return .needMore
    }

    private mutating func reset() {
        scanned = 0
        pending = nil
        continueSent = false
    }

    private mutating func fail(_ status: Int, _ code: String, _ message: String) -> Outcome {
        reset()
        return .failure(HTTPError(status: status, code: code, message: message))
    }

    /// The request and the framing of its body, from the head in `b`.
    private func parseHead(_ b: UnsafeBufferPointer<UInt8>) throws(HTTPError) -> (HTTPRequest, Framing) {
        func bad(_ msg: String) -> HTTPError {
            HTTPError(status: 400, code: "bad_request", message: msg)
        }
        // Request line: METHOD SP TARGET SP HTTP/1.x CRLF
        var lineEnd = 0
        while lineEnd + 1 < b.count, !(b[lineEnd] == 13 && b[lineEnd + 1] == 10) { lineEnd += 1 }
        guard let sp1 = b[0..<lineEnd].firstIndex(of: 32) else { throw bad("malformed request line") }
        guard let sp2 = b[(sp1 + 1)..<lineEnd].firstIndex(of: 32) else { throw bad("malformed request line") }
        let method = HTTPMethod(b[0..<sp1])
        if sp1 == 0 || b[0..<sp1].contains(where: { !($0 >= 65 && $0 <= 90) }) { throw bad("malformed method") }
        let target = b[(sp1 + 1)..<sp2]
        let versionBytes = b[(sp2 + 1)..<lineEnd]
        let isHTTP11: Bool
        if bytesEqual(versionBytes, "HTTP/1.1") {
            isHTTP11 = true
        } else if bytesEqual(versionBytes, "HTTP/1.0") {
            isHTTP11 = false
        } else {
            if String(decoding: versionBytes, as: UTF8.self).hasPrefix("HTTP/") {
                throw HTTPError(status: 505, code: "http_version_not_supported",
                                message: "only HTTP/1.0 and HTTP/1.1 are served")
            }
            throw bad("malformed request line")
        }
        guard target.first == UInt8(ascii: "/") else { throw bad("the request target must be an absolute path") }
        if target.contains(where: { $0 <= 32 || $0 >= 127 }) { throw bad("the request target holds invalid bytes") }
        let path: String
        var query: String? = nil
        if let q = target.firstIndex(of: UInt8(ascii: "?")) {
            path = String(decoding: target[target.startIndex..<q], as: UTF8.self)
            query = String(decoding: target[(q + 1)...], as: UTF8.self)
        } else {
            path = String(decoding: target, as: UTF8.self)
        }

        // The headers' values, made into the request once they are all read.
        var keepAlive = isHTTP11
        var declaredEnvironment: String? = nil
        var upgrade: String? = nil
        var token: String? = nil
        var contentLength: Int? = nil
        var chunked = false
        var expectContinue = false
        var pos = lineEnd + 2
        while pos + 1 < b.count {
            var end = pos
            while end + 1 < b.count, !(b[end] == 13 && b[end + 1] == 10) { end += 1 }
            if end == pos { break }  // the blank line
            let line = b[pos..<end]
            pos = end + 2
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw bad("malformed header line")
            }
            if line[line.startIndex] == 32 || line[line.startIndex] == 9 { throw bad("obsolete header folding is not accepted") }
            let nameBytes = line[line.startIndex..<colon]
            if nameBytes.contains(where: { $0 == 32 || $0 == 9 }) { throw bad("whitespace in a header name") }
            var vs = colon + 1
            var ve = line.endIndex
            while vs < ve, b[vs] == 32 || b[vs] == 9 { vs += 1 }
            while ve > vs, b[ve - 1] == 32 || b[ve - 1] == 9 { ve -= 1 }
            let value = b[vs..<ve]
            switch nameBytes.count {
            case 14 where asciiEqual(nameBytes, "content-length"):
                guard !value.isEmpty, value.count <= 18, value.allSatisfy(isDigit),
                      let n = Int(String(decoding: value, as: UTF8.self)) else {
                    throw bad("invalid Content-Length")
                }
                if let old = contentLength, old != n { throw bad("conflicting Content-Length headers") }
                contentLength = n
            case 17 where asciiEqual(nameBytes, "transfer-encoding"):
                if asciiEqual(value, "chunked") {
                    chunked = true
                } else {
                    throw HTTPError(status: 501, code: "not_implemented",
                                    message: "only the chunked transfer coding is supported")
                }
            case 10 where asciiEqual(nameBytes, "connection"):
                let v = String(decoding: value, as: UTF8.self).lowercased()
                if v.contains("close") { keepAlive = false }
                if v.contains("keep-alive") { keepAlive = true }
            case 6 where asciiEqual(nameBytes, "expect"):
                if asciiEqual(value, "100-continue") { expectContinue = true } else {
                    throw HTTPError(status: 417, code: "expectation_failed", message: "unsupported Expect header")
                }
            case 13 where asciiEqual(nameBytes, "x-rarangi-env"):
                declaredEnvironment = String(decoding: value, as: UTF8.self)
            case 7 where asciiEqual(nameBytes, "upgrade"):
                upgrade = String(decoding: value, as: UTF8.self)
            case 13 where asciiEqual(nameBytes, "authorization"):
                // Only the Bearer scheme carries a token; any other leaves it unset.
                if value.count > 7, asciiEqual(value[value.startIndex..<(value.startIndex + 6)], "bearer"),
                   b[value.startIndex + 6] == 32 || b[value.startIndex + 6] == 9 {
                    var t = value.startIndex + 7
                    while t < value.endIndex, b[t] == 32 || b[t] == 9 { t += 1 }
                    if let problem = setToken(&token, value[t...]) { throw bad(problem) }
                }
            case 15 where asciiEqual(nameBytes, "x-rarangi-token"), 14 where asciiEqual(nameBytes, "x-consul-token"):
                if let problem = setToken(&token, value) { throw bad(problem) }
            default:
                break
            }
        }
        if chunked, contentLength != nil { throw bad("both Content-Length and Transfer-Encoding were sent") }
        let length = contentLength ?? 0
        if length > maxBodyBytes {
            throw HTTPError(status: 413, code: "body_too_large",
                                      message: "the body of \(length) bytes exceeds the limit of \(maxBodyBytes) bytes")
        }
        return (HTTPRequest(method: method, path: path, query: query, isHTTP11: isHTTP11, keepAlive: keepAlive,
                            declaredEnvironment: declaredEnvironment, upgrade: upgrade, token: token),
                Framing(headLength: b.count, contentLength: length, chunked: chunked,
                        expectContinue: expectContinue && (chunked || length > 0)))
    }

    private enum Chunked {
        case incomplete
        case error(HTTPError)
        case complete([UInt8], Int)
    }

    private func decodeChunked(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Chunked {
        var body: [UInt8] = []
        var i = start
        while true {
            // chunk-size [; ext] CRLF
            var lineEnd = i
            while lineEnd + 1 < b.count, !(b[lineEnd] == 13 && b[lineEnd + 1] == 10) { lineEnd += 1 }
            if lineEnd + 1 >= b.count {
                return b.count - i > 64 ? .error(HTTPError(status: 400, code: "bad_request", message: "malformed chunk size")) : .incomplete
            }
            var sizeEnd = i
            while sizeEnd < lineEnd, isHex(b[sizeEnd]) { sizeEnd += 1 }
            guard sizeEnd > i, sizeEnd - i <= 8, let size = Int(String(decoding: b[i..<sizeEnd], as: UTF8.self), radix: 16) else {
                return .error(HTTPError(status: 400, code: "bad_request", message: "malformed chunk size"))
            }
            if body.count + size > maxBodyBytes {
                return .error(HTTPError(status: 413, code: "body_too_large",
                                        message: "the body exceeds the limit of \(maxBodyBytes) bytes"))
            }
            i = lineEnd + 2
            if size == 0 {
                // Trailers (ignored) up to the blank line.
                while true {
                    var e = i
                    while e + 1 < b.count, !(b[e] == 13 && b[e + 1] == 10) { e += 1 }
                    if e + 1 >= b.count { return .incomplete }
                    if e == i { return .complete(body, e + 2) }
                    i = e + 2
                }
            }
            if b.count < i + size + 2 { return .incomplete }
            body.append(contentsOf: b[i..<(i + size)])
            i += size
            guard b[i] == 13, b[i + 1] == 10 else {
                return .error(HTTPError(status: 400, code: "bad_request", message: "malformed chunk"))
            }
            i += 2
        }
    }
}

/// Sets the request's token; two different tokens in one request (say a
/// proxy's and the client's) are refused rather than one picked.
func setToken(_ token: inout String?, _ value: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
    let sent = String(decoding: value, as: UTF8.self)
    if let old = token, old != sent { return "two different tokens in one request" }
    token = sent
    return nil
}

/// Case-insensitive comparison of ASCII bytes with a lowercase literal.
@inline(__always)
func asciiEqual<C: Collection>(_ bytes: C, _ lower: StaticString) -> Bool where C.Element == UInt8 {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    let p = lower.utf8Start
    var k = 0
    for b in bytes {
        let l = (b >= 65 && b <= 90) ? b | 0x20 : b
        if l != p[k] { return false }
        k += 1
    }
    return true
}

/// Exact comparison of bytes with a literal.
@inline(__always)
func bytesEqual<C: Collection>(_ bytes: C, _ literal: StaticString) -> Bool where C.Element == UInt8 {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    let p = literal.utf8Start
    var k = 0
    for b in bytes {
        if b != p[k] { return false }
        k += 1
    }
    return true
}
