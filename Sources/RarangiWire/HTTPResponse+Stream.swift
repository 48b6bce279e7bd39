/// Streamed responses: the answer to a held registration stays open, framed
/// with chunked transfer coding (HTTP/1.1) or by the close (HTTP/1.0).
extension ResponseEncoder {
    /// Appends the head of a streamed response and its first chunk.
    public func encodeStreamStart(_ r: HTTPResponse, isHTTP11: Bool, into out: inout [UInt8]) {
        out.append(contentsOf: (isHTTP11 ? "HTTP/1.1 " : "HTTP/1.0 ").utf8)
        appendInt(r.status, to: &out)
        out.append(0x20)
        out.append(contentsOf: ResponseEncoder.reason(r.status).utf8)
        out.append(contentsOf: [13, 10])
        out.append(contentsOf: fixed)
        for (name, value) in r.headers {
            out.append(contentsOf: "\(name): \(value)\r\n".utf8)
        }
        out.append(contentsOf: "Cache-Control: no-store\r\n".utf8)
        if isHTTP11 {
            out.append(contentsOf: "Transfer-Encoding: chunked\r\n\r\n".utf8)
        } else {
            out.append(contentsOf: "Connection: close\r\n\r\n".utf8)
        }
        ResponseEncoder.appendChunk(r.body, isHTTP11: isHTTP11, to: &out)
    }

    /// Appends one chunk of a streamed response.
    public static func appendChunk(_ bytes: [UInt8], isHTTP11: Bool, to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        if isHTTP11 {
            out.append(contentsOf: String(bytes.count, radix: 16).utf8)
            out.append(contentsOf: [13, 10])
            out.append(contentsOf: bytes)
            out.append(contentsOf: [13, 10])
        } else {
            out.append(contentsOf: bytes)
        }
    }

    /// The keep-alive line the daemon writes on a held stream: one newline.
    public static let pingLine: [UInt8] = [10]
}
