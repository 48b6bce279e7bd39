import Foundation

/// The little JSON the client reads and writes, through Foundation.
enum JSONText {
    /// `error` and `message` of a daemon's JSON error body.
    static func errorFields(_ body: [UInt8]) -> (String?, String?) {
        guard let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return (nil, nil) }
        return (o["error"] as? String, o["message"] as? String)
    }

    /// A JSON object as text, keys sorted.
    static func encode(_ object: [String: Any]) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// A JSON object parsed from bytes.
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
    }
}
