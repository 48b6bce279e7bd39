/// A response the core hands to the shell: status, body, and any headers
/// beyond the ones every response carries.
public struct HTTPResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The body bytes (shared, never copied, when they come from a cache).
    public var body: [UInt8]
    /// Headers particular to this response, e.g. `Allow` on a 405.
    public var headers: [(String, String)]
    /// Whether the connection closes after this response.
    public var close: Bool
    /// What the body is: JSON unless said otherwise.
    public var contentType: ContentType

    /// The media types the daemon serves.
    public enum ContentType: Sendable {
        /// `application/json`: every catalogue answer and error.
        case json
        /// Prometheus's text exposition format 0.0.4 (`/metrics`).
        case prometheusText
        /// `text/html; charset=utf-8` (the status page).
        case html

        var header: [UInt8] {
            switch self {
            case .json: return ContentType.jsonHeader
            case .prometheusText: return ContentType.prometheusHeader
            case .html: return ContentType.htmlHeader
            }
        }
        private static let jsonHeader: [UInt8] = Array("Content-Type: application/json\r\n".utf8)
        private static let prometheusHeader: [UInt8] = Array("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n".utf8)
        private static let htmlHeader: [UInt8] = Array("Content-Type: text/html; charset=utf-8\r\n".utf8)
    }

    /// Creates a response, JSON unless `contentType` says otherwise.
    public init(status: Int, body: [UInt8], headers: [(String, String)] = [], close: Bool = false,
                contentType: ContentType = .json) {
        self.status = status
        self.body = body
        self.headers = headers
        self.close = close
        self.contentType = contentType
    }

    /// The JSON error body every error carries: `{"error": code, "message": sentence}`.
    public static func error(_ status: Int, _ code: String, _ message: String,
                             headers: [(String, String)] = [], close: Bool = false) -> HTTPResponse {
        var body: [UInt8] = Array(#"{"error":"#.utf8)
        JSON.appendString(code, to: &body)
        body.append(contentsOf: #","message":"#.utf8)
        JSON.appendString(message, to: &body)
        body.append(contentsOf: "}\n".utf8)
        return HTTPResponse(status: status, body: body, headers: headers, close: close)
    }

    /// A response for a parser error.
    public static func error(_ e: HTTPError) -> HTTPResponse {
        .error(e.status, e.code, e.message, close: true)
    }
}

/// Serialises responses; the identity headers (environment, cluster, node)
/// are encoded once at start-up and copied into every response.
public struct ResponseEncoder: Sendable {
    let fixed: [UInt8]
    /// The head up to the particular headers of the commonest answer, a
    /// JSON 200 over HTTP/1.1, encoded once (every lookup gets one).
    let okJSONHead: [UInt8]

    /// Creates an encoder whose responses name the daemon's environment, cluster and node.
    public init(environment: String, cluster: String, node: String, server: String) {
        var f: [UInt8] = []
        f.append(contentsOf: "Server: \(server)\r\n".utf8)
        f.append(contentsOf: "\(ResponseEncoder.environmentHeader): \(environment)\r\n".utf8)
        f.append(contentsOf: "X-Rarangi-Cluster: \(cluster)\r\n".utf8)
        f.append(contentsOf: "X-Rarangi-Node: \(node)\r\n".utf8)
        fixed = f
        var ok: [UInt8] = []
        ResponseEncoder.appendHead(status: 200, contentType: .json, isHTTP11: true, fixed: f, to: &ok)
        okJSONHead = ok
    }

    /// The header naming the environment on every response (MISSION D10).
    public static let environmentHeader = "X-Rarangi-Env"

    /// Appends the encoded response to `out`.
    public func encode(_ r: HTTPResponse, keepAlive: Bool, isHTTP11: Bool, headOnly: Bool, into out: inout [UInt8]) {
        if r.status == 200, r.contentType == .json, isHTTP11 {
            out.append(contentsOf: okJSONHead)
        } else {
            ResponseEncoder.appendHead(status: r.status, contentType: r.contentType, isHTTP11: isHTTP11, fixed: fixed, to: &out)
        }
        for (name, value) in r.headers {
            appendUTF8(name, to: &out)
            out.append(contentsOf: ResponseEncoder.colon)
            appendUTF8(value, to: &out)
            out.append(contentsOf: ResponseEncoder.crlf)
        }
        if !keepAlive || r.close {
            out.append(contentsOf: ResponseEncoder.connectionClose)
        } else if !isHTTP11 {
            out.append(contentsOf: ResponseEncoder.connectionKeepAlive)
        }
        out.append(contentsOf: ResponseEncoder.contentLength)
        appendInt(r.body.count, to: &out)
        out.append(contentsOf: ResponseEncoder.crlfcrlf)
        if !headOnly { out.append(contentsOf: r.body) }
    }

    /// The status line, the identity headers and the content type.
    private static func appendHead(status: Int, contentType: HTTPResponse.ContentType, isHTTP11: Bool, fixed: [UInt8],
                                   to out: inout [UInt8]) {
        out.append(contentsOf: isHTTP11 ? ResponseEncoder.v11 : ResponseEncoder.v10)
        appendInt(status, to: &out)
        out.append(0x20)
        out.append(contentsOf: ResponseEncoder.reason(status).utf8)
        out.append(contentsOf: ResponseEncoder.crlf)
        out.append(contentsOf: fixed)
        out.append(contentsOf: contentType.header)
    }

    /// Appends a string's bytes from its contiguous storage.
    private func appendUTF8(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    /// The interim response to `Expect: 100-continue`.
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static let v11: [UInt8] = Array("HTTP/1.1 ".utf8)
    private static let v10: [UInt8] = Array("HTTP/1.0 ".utf8)
    private static let crlf: [UInt8] = [13, 10]
    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]
    private static let colon: [UInt8] = [58, 32]
    private static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    private static let contentLength: [UInt8] = Array("Content-Length: ".utf8)

    /// The reason phrase for a status code.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 421: return "Misdirected Request"
        case 426: return "Upgrade Required"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status"
        }
    }
}

/// Appends the decimal digits of a non-negative integer.
@inline(__always)
public func appendInt(_ value: Int, to out: inout [UInt8]) {
    if value < 10, value >= 0 { out.append(UInt8(48 + value)); return }
    if value < 0 { out.append(UInt8(ascii: "-")) }
    // The magnitude as unsigned: -Int.min has no Int.
    let n = value.magnitude
    var scale: UInt = 1
    while scale <= n / 10 { scale *= 10 }
    // Digit by digit from the most significant: a few bytes, no buffer.
    while scale > 0 {
        out.append(UInt8(48 + n / scale % 10))
        scale /= 10
    }
}

/// A response can stand as the failure of a decoding step (`Router.route`).
extension HTTPResponse: Error {}
