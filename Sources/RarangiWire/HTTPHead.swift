/// The end of an HTTP head: the one scan for the blank line, shared by the
/// request parser and the peer upgrade's answer.
public enum HTTPHead {
    /// The index just past the `\r\n\r\n` that ends the head in `buf`, looking
    /// from `from` on (a resumed scan passes where it stopped), or nil.
    public static func end(in buf: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        var i = max(0, from)
        while i + 3 < buf.count {
            if buf[i + 3] == 10, buf[i + 2] == 13, buf[i + 1] == 10, buf[i] == 13 { return i + 4 }
            i += 1
        }
        return nil
    }
}

/// The HTTP upgrade that turns a connection into a peer link: the dialling
/// side sends `GET /_peer` with `Upgrade: rarangi-peer/1`, the listener
/// answers `101`, then both speak length-prefixed frames (`PeerCodec`).
public enum PeerUpgrade {
    /// The protocol token of the upgrade.
    public static let token = "rarangi-peer/1"
    /// The token of a sealed link: the key handshake follows the `101`
    /// (`PeerHandshake`), then every frame is sealed.
    public static let sealedToken = "rarangi-peer-sealed/1"
    /// The longest answer head accepted from a listener.
    public static let maxAnswerBytes = 8192

    /// The dialling side's request.
    public static func request(host: String, environment: String, sealed: Bool = false) -> [UInt8] {
        Array("GET /_peer HTTP/1.1\r\nHost: \(host)\r\nUpgrade: \(sealed ? sealedToken : token)\r\nConnection: Upgrade\r\n\(ResponseEncoder.environmentHeader): \(environment)\r\n\r\n".utf8)
    }

    /// The listener's `101` answer.
    public static func answer(environment: String, sealed: Bool = false) -> [UInt8] {
        Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: \(sealed ? sealedToken : token)\r\nConnection: Upgrade\r\n\(ResponseEncoder.environmentHeader): \(environment)\r\n\r\n".utf8)
    }

    /// What the listener's answer says so far.
    public enum Outcome: Equatable, Sendable {
        /// The head is not complete yet.
        case needMore
        /// `101`: frames start `headLength` bytes in.
        case accepted(headLength: Int)
        /// Anything else, with the status line (or why) for the log.
        case refused(String)
    }

    /// Reads the listener's answer at the start of `buf`: a `101` that
    /// switches to the protocol asked for (sealed or not) is accepted; for
    /// anything else the status line and what has arrived of the body (the
    /// JSON error saying why) are returned for the log.
    public static func parseAnswer(_ buf: UnsafeBufferPointer<UInt8>, sealed: Bool = false) -> Outcome {
        guard let end = HTTPHead.end(in: buf) else {
            return buf.count > maxAnswerBytes ? .refused("oversized") : .needMore
        }
        // The status line, up to its CR (bytes: Swift reads "\r\n" as one character).
        let line = String(decoding: buf[..<end].prefix { $0 != 13 }.map { $0 >= 32 && $0 < 127 ? $0 : 63 }, as: UTF8.self)
        guard line.hasPrefix("HTTP/1.1 101") else {
            // Printable ASCII only: these bytes come from an unauthenticated peer and go to the log.
            let body = String(decoding: buf[end...].prefix(240).prefix { $0 != 10 }.map { $0 >= 32 && $0 < 127 ? $0 : 63 },
                              as: UTF8.self)
            return .refused(body.isEmpty ? line : line + " " + body)
        }
        let head = String(decoding: buf[..<end], as: UTF8.self).lowercased()
        guard head.contains("\r\nupgrade: \(sealed ? sealedToken : token)\r\n") else {
            return .refused(line + " to another protocol than " + (sealed ? sealedToken : token))
        }
        return .accepted(headLength: end)
    }
}
