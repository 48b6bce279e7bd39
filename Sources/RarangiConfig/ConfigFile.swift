import struct RarangiProtocol.Endpoint
import enum RarangiSeal.TextFile

/// Reads the YAML configuration file (MISSION H6). Every key is a setting of
/// the table (`log_level` and `log-level` both work); in addition the seed's
/// format is understood: `port` sets the listening port, and `cluster` may be
/// a mapping of daemon names to `{host, port}` — every entry but this
/// daemon's own becomes a peer, and its own entry gives the listening port.
public enum ConfigFile {
    /// Loads `path` into raw settings. `nameFromFlags` identifies this daemon's
    /// own entry in a seed-style `cluster` mapping when the file has no `name`.
    public static func load(path: String, nameFromFlags: String?) throws(ConfigError) -> RawSettings {
        let text: String
        do {
            text = try TextFile.read(path: path)
        } catch {
            throw ConfigError("cannot read configuration file '\(path)': \(error)")
        }
        return try parse(text, source: path, nameFromFlags: nameFromFlags)
    }

    /// Parses YAML text into raw settings (see `load`).
    public static func parse(_ text: String, source: String, nameFromFlags: String?) throws(ConfigError) -> RawSettings {
        let document: YAMLDocument?
        do {
            document = try YAMLDocument.parse(text)
        } catch {
            throw ConfigError("configuration file '\(source)' is not valid YAML: \(error.message)")
        }
        guard let root = document?.root else { return [:] }
        guard let mapping = root.mapping else {
            throw ConfigError("configuration file '\(source)' must be a mapping of setting names to values")
        }
        var raw: RawSettings = [:]
        var clusterMembers: [(String, Endpoint)] = []
        var port: Int? = nil
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw ConfigError("\(source): keys must be strings") }
            let name = String(key.map { $0 == "_" ? "-" : $0 })
            switch name {
            case "port":
                guard let p = value.string.flatMap({ Int($0) }), (1...65535).contains(p) else {
                    throw ConfigError("\(source): port must be a whole number from 1 to 65535")
                }
                port = p
            case "cluster" where value.mapping != nil:
                for (memberKey, member) in value.mapping! {
                    guard let memberName = memberKey.string, member.mapping != nil,
                          let host = member["host"]?.string, let p = member["port"]?.string.flatMap({ Int($0) }),
                          (1...65535).contains(p) else {
                        throw ConfigError("\(source): each cluster member needs a host and a port from 1 to 65535")
                    }
                    clusterMembers.append((memberName, Endpoint(host: host, port: p)))
                }
            case "peers", "peer":
                if let seq = value.sequence {
                    raw["peer", default: []] += try seq.map { (item: YAMLNode) throws(ConfigError) -> String in
                        guard let s = item.string else { throw ConfigError("\(source): peers must be HOST:PORT strings") }
                        return s
                    }
                } else if let s = value.string {
                    raw["peer", default: []].append(s)
                } else {
                    throw ConfigError("\(source): peers must be a list of HOST:PORT strings")
                }
            case "environment":
                raw["env"] = [try scalar(value, key, source)]
            case "gossip-interval":
                raw["gossip-interval"] = [try milliseconds(scalar(value, key, source), key, source)]
            default:
                guard let setting = Settings.named(name), setting.inFile else {
                    throw ConfigError("\(source): unknown setting '\(key)'")
                }
                raw[name] = [try scalar(value, key, source)]
            }
        }
        let ownName = nameFromFlags ?? raw["name"]?.last
        for (memberName, endpoint) in clusterMembers {
            if memberName == ownName {
                if port == nil { port = endpoint.port }
            } else {
                raw["peer", default: []].append(endpoint.description)
            }
        }
        if let port, raw["listen"] == nil {
            raw["listen"] = ["0.0.0.0:\(port)"]
        }
        return raw
    }

    private static func scalar(_ node: YAMLNode, _ key: String, _ source: String) throws(ConfigError) -> String {
        guard let s = node.string else { throw ConfigError("\(source): '\(key)' must be a single value") }
        switch s.lowercased() {
        case "yes", "on": return "true"
        case "no", "off": return "false"
        default: return s
        }
    }

    /// Accepts `1500`, `1500ms` or `1.5s`.
    private static func milliseconds(_ s: String, _ key: String, _ source: String) throws(ConfigError) -> String {
        if let n = Int(s) { return String(n) }
        if s.hasSuffix("ms"), let n = Int(s.dropLast(2)) { return String(n) }
        if s.hasSuffix("s"), let n = Double(s.dropLast()) { return String(Int(n * 1000)) }
        throw ConfigError("\(source): '\(key)' must be milliseconds, or a duration such as 500ms or 2s")
    }
}
