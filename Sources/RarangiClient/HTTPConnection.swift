import RarangiProtocol
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 exchange with a daemon on the library's own event-loop
/// thread: the caller's threads only await. Every response head is checked
/// for the daemon's environment before anything else is read (MISSION D10).
final class HTTPConnection: @unchecked Sendable {
    /// What arrives on the connection, in order.
    enum Part {
        case head(status: Int, headers: HTTPHeaders)
        case body(ByteBuffer)
        case end
    }

    /// The library's one I/O thread.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    let server: Endpoint
    let channel: Channel
    let parts: AsyncThrowingStream<Part, Error>

    private init(server: Endpoint, channel: Channel, parts: AsyncThrowingStream<Part, Error>) {
        self.server = server
        self.channel = channel
        self.parts = parts
    }

    /// Connects to `server`; `idleMs` closes the connection when nothing
    /// arrives for that long (a held stream's missing pings).
    static func connect(to server: Endpoint, config: Configuration, idleMs: Int64? = nil) async throws -> HTTPConnection {
        let (stream, continuation) = AsyncThrowingStream<Part, Error>.makeStream()
        let handler = PartsHandler(continuation)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(config.connectTimeoutMs))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    try ops.addHTTPClientHandlers()
                    if let idleMs { try ops.addHandler(IdleStateHandler(readTimeout: .milliseconds(idleMs))) }
                    try ops.addHandler(handler)
                }
            }
        do {
            let channel = try await bootstrap.connect(host: server.host, port: server.port).get()
            return HTTPConnection(server: server, channel: channel, parts: stream)
        } catch {
            throw RarangiError.noDaemonReachable(tried: ["\(server) (\(error))"])
        }
    }

    /// Sends one request naming the client's environment.
    func send(method: HTTPMethod, path: String, body: [UInt8]? = nil, environment: String, token: String? = nil,
              keepOpen: Bool = false) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: server.description)
        head.headers.add(name: "X-Rarangi-Env", value: environment)
        if let token, !token.isEmpty { head.headers.add(name: "Authorization", value: "Bearer " + token) }
        head.headers.add(name: "User-Agent", value: "rarangi-client")
        if !keepOpen { head.headers.add(name: "Connection", value: "close") }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func close() { channel.close(promise: nil) }

    /// Checks the environment a response head names; on a mismatch closes
    /// the connection, logs an error naming both, and throws.
    func checkEnvironment(_ headers: HTTPHeaders, config: Configuration) throws {
        let found = headers.first(name: "X-Rarangi-Env") ?? "(none)"
        try HTTPConnection.checkEnvironment(found: found, server: server, config: config, close: close)
    }

    static func checkEnvironment(found: String, server: Endpoint, config: Configuration, close: () -> Void) throws {
        guard found != config.environment else { return }
        close()
        config.logLine("error", "environment_mismatch",
                       [("expected", config.environment), ("found", found), ("server", server.description)])
        throw RarangiError.environmentMismatch(expected: config.environment, found: found, server: server.description)
    }
}

/// A complete response.
struct Reply {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    /// Throws the daemon's JSON error for a non-2xx status.
    func requireSuccess() throws {
        guard status >= 300 else { return }
        let (code, message) = JSONText.errorFields(body)
        throw RarangiError.refused(status: status, code: code ?? "http_\(status)",
                                   message: message ?? String(decoding: body, as: UTF8.self))
    }
}

extension HTTPConnection {
    /// Reads one whole response, checking the environment first.
    func readReply(config: Configuration) async throws -> Reply {
        var reply: Reply?
        do {
            for try await part in parts {
                switch part {
                case let .head(status, headers):
                    try checkEnvironment(headers, config: config)
                    reply = Reply(status: status, headers: headers, body: [])
                case var .body(buffer):
                    reply?.body += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end:
                    close()
                    if let reply { return reply }
                    throw RarangiError.protocolError("a response ended before its head")
                }
            }
        } catch let e as RarangiError {
            throw e
        } catch {
            throw RarangiError.connectionLost("\(server): \(error)")
        }
        throw RarangiError.connectionLost("\(server) closed the connection before answering")
    }

    /// Sends a request on a fresh connection and reads the reply.
    static func exchange(_ server: Endpoint, config: Configuration, method: HTTPMethod, path: String,
                         body: [UInt8]? = nil, idleMs: Int64? = nil) async throws -> Reply {
        let conn = try await connect(to: server, config: config, idleMs: idleMs)
        return try await withTaskCancellationHandler {
            conn.send(method: method, path: path, body: body, environment: config.environment, token: config.token)
            return try await conn.readReply(config: config)
        } onCancel: {
            conn.close()
        }
    }
}

/// Forwards response parts into an AsyncThrowingStream; closes on silence.
private final class PartsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let continuation: AsyncThrowingStream<HTTPConnection.Part, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<HTTPConnection.Part, Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            continuation.yield(.head(status: Int(head.status.code), headers: head.headers))
        case let .body(buffer):
            continuation.yield(.body(buffer))
        case .end:
            continuation.yield(.end)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            continuation.finish(throwing: RarangiError.connectionLost("the daemon fell silent (no ping)"))
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
