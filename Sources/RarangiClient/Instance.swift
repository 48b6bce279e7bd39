import RarangiProtocol
import Foundation

/// One registered instance of a service, as a lookup returns it.
public struct Instance: Sendable, Equatable, CustomStringConvertible {
    /// The instance id (unique within its service).
    public var id: String
    /// The `host` member, when registered.
    public var host: String?
    /// The `port` member, when registered.
    public var port: Int?
    /// Every member as compact JSON text, keys sorted.
    public var json: String
    /// Every member other than host and port, as text (strings unquoted).
    public var metadata: [String: String]

    public var description: String { "\(id) \(host ?? "-"):\(port.map(String.init) ?? "-")" }

    /// Decodes a lookup body `{"<id>": {…}, …}` into instances sorted by id.
    static func decodeList(_ body: [UInt8]) throws -> [Instance] {
        guard let object = JSONText.object(body) else {
            throw RarangiError.protocolError("a lookup answer is not a JSON object")
        }
        return object.keys.sorted().map { id in
            let fields = object[id] as? [String: Any] ?? [:]
            var metadata: [String: String] = [:]
            for (k, v) in fields where k != "host" && k != "port" {
                if let s = v as? String {
                    metadata[k] = s
                } else if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
                    metadata[k] = String(decoding: data, as: UTF8.self)
                }
            }
            return Instance(id: id, host: fields["host"] as? String, port: (fields["port"] as? NSNumber)?.intValue,
                            json: String(decoding: JSONText.encode(fields), as: UTF8.self), metadata: metadata)
        }
    }
}

/// A service's instances as one daemon saw them at one index.
public struct ServiceSnapshot: Sendable, Equatable {
    /// The service.
    public var service: String
    /// Its instances, sorted by id.
    public var instances: [Instance]
    /// The daemon's `X-Rarangi-Index` for the service (daemon-local).
    public var index: UInt64
    /// The daemon that answered.
    public var server: Endpoint

    /// The ids of the instances.
    public var ids: [String] { instances.map(\.id) }
}

/// How a registration stays alive.
public enum Lifetime: Sendable, Equatable {
    /// For exactly as long as a connection to a daemon stays open (`?hold`);
    /// re-registered through another daemon when that one goes away.
    case held
    /// Refreshed by a heartbeat PUT every third of `ttlSeconds`.
    case heartbeat(ttlSeconds: Int)
}
