/// The HTTP methods the catalogue distinguishes; anything else is `.other`.
public enum HTTPMethod: Equatable, Sendable {
    /// Read a service, an instance or a status document.
    case get
    /// Like GET, without the body.
    case head
    /// Register or refresh an instance.
    case put
    /// Deregister an instance.
    case delete
    /// Not used by the catalogue; answered with 405.
    case post
    /// Any other token; answered with 405 or 501.
    case other(String)

    /// Reads the method from its bytes, compared byte by byte (no string
    /// is made for the methods the catalogue knows).
    init<C: Collection>(_ token: C) where C.Element == UInt8 {
        if bytesEqual(token, "GET") {
            self = .get
        } else if bytesEqual(token, "HEAD") {
            self = .head
        } else if bytesEqual(token, "PUT") {
            self = .put
        } else if bytesEqual(token, "DELETE") {
            self = .delete
        } else if bytesEqual(token, "POST") {
            self = .post
        } else {
            self = .other(String(decoding: token, as: UTF8.self))
        }
    }

    /// The method's name as sent on the wire.
    public var name: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .post: return "POST"
        case let .other(s): return s
        }
    }
}

/// One parsed HTTP/1.x request with the few headers the daemon acts on.
public struct HTTPRequest: Sendable {
    /// The request method.
    public var method: HTTPMethod
    /// The path, without the query, still percent-encoded.
    public var path: String
    /// The query string after `?`, if any (without the `?`).
    public var query: String?
    /// True for HTTP/1.1, false for HTTP/1.0.
    public var isHTTP11: Bool
    /// Whether the client wants the connection kept open after the response.
    public var keepAlive: Bool
    /// The `X-Rarangi-Env` header: the environment the client believes it talks to.
    public var declaredEnvironment: String?
    /// The `Upgrade` header: the protocol a `GET /_peer` asks for.
    public var upgrade: String?
    /// The write token sent as `Authorization: Bearer TOKEN`, `X-Rarangi-Token`
    /// or `X-Consul-Token` (never logged).
    public var token: String?
    /// The request body (already de-chunked).
    public var body: [UInt8]

    /// Creates a request; used by tests and by the parser.
    public init(method: HTTPMethod, path: String, query: String? = nil, isHTTP11: Bool = true,
                keepAlive: Bool = true, declaredEnvironment: String? = nil, upgrade: String? = nil,
                token: String? = nil, body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.isHTTP11 = isHTTP11
        self.keepAlive = keepAlive
        self.declaredEnvironment = declaredEnvironment
        self.upgrade = upgrade
        self.token = token
        self.body = body
    }
}

/// A request the parser refuses; the connection answers with `status` and closes.
public struct HTTPError: Error, Equatable, Sendable {
    /// The HTTP status to answer with.
    public var status: Int
    /// A short machine-readable code for the JSON error body.
    public var code: String
    /// A sentence for the human reading the error.
    public var message: String

    /// Creates an error.
    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}
