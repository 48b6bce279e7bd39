import ArgumentParser
import Foundation
import RarangiClient
import RarangiProtocol
import RarangiSeal

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register an instance: held until interrupted, or once with --ttl.")

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Argument(help: "The instance id.") var id: String
    @Option(help: "The instance's host.") var host: String?
    @Option(help: "The instance's port.") var port: Int?
    @Option(help: ArgumentHelp("Extra metadata; repeatable.", valueName: "KEY=VALUE")) var meta: [String] = []
    @Option(help: "Register once with this TTL in seconds and exit, instead of holding.") var ttl: Int?

    func run() async throws {
        try await reporting {
            let client = try common.client()
            let metadata = try parseMeta(meta)
            if let ttl {
                var object: [String: Any] = metadata
                if let host { object["host"] = host }
                if let port { object["port"] = port }
                let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                let r = try await client.register(service: service, id: id, body: Array(body), lifetime: .heartbeat(ttlSeconds: ttl))
                // One PUT is the registration; stop the heartbeat without deleting.
                print("registered \(service)/\(id) ttl=\(ttl)s on \(r.server.map { "\($0)" } ?? "?")")
                r.detach()
                return
            }
            setvbuf(stdout, nil, _IOLBF, 0)
            // Caught before registering: an interrupt at any moment deregisters.
            let signals = Signals.stream([SIGINT, SIGTERM])
            let registration = try await client.register(service: service, id: id, host: host, port: port, metadata: metadata)
            print("holding \(service)/\(id) on \(registration.server.map { "\($0)" } ?? "?"); interrupt to deregister")
            for await _ in signals { break }
            await registration.cancel()
        }
    }
}

struct Deregister: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove an instance.")

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Argument(help: "The instance id.") var id: String

    func run() async throws {
        try await reporting {
            try await common.client().deregister(service: service, id: id)
            print("deregistered \(service)/\(id)")
        }
    }
}

struct Lookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the instances of a service.")

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Flag(help: "Print the daemon's JSON document instead of a table.") var json = false

    func run() async throws {
        try await reporting {
            let snapshot = try await common.client().snapshot(service)
            print(json ? Output.json(snapshot) : Output.table(snapshot.instances), terminator: "")
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a service's instances now and after every change, until interrupted.")

    @OptionGroup var common: Common
    @Argument(help: "The service.") var service: String
    @Flag(help: "Print one JSON document per line instead of tables.") var json = false

    func run() async throws {
        try await reporting {
            setvbuf(stdout, nil, _IOLBF, 0)
            for try await snapshot in try common.client().watch(service) {
                if json {
                    print(Output.json(snapshot).filter { $0 != "\n" })
                } else {
                    print("# \(service) index=\(snapshot.index) server=\(snapshot.server) instances=\(snapshot.instances.count)")
                    print(Output.table(snapshot.instances), terminator: "")
                }
            }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the status of the daemon the client finds.")

    @OptionGroup var common: Common
    @Flag(help: "Print the status document as JSON.") var json = false

    func run() async throws {
        try await reporting {
            let (doc, server) = try await common.client().status()
            if json {
                let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("server       \(server)")
            for key in ["environment", "cluster", "name", "version", "services", "instances", "held", "watchers", "index", "uptime_ms"] {
                if let v = doc[key] { print(key.padding(toLength: 13, withPad: " ", startingAt: 0) + "\(v)") }
            }
        }
    }
}

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retire a stopped daemon for good: its registrations are purged and it no longer counts.",
        discussion: """
        Asks the daemon the client finds to retire NAME's current life; the
        retirement floods to every daemon. A daemon that is alive (linked to the
        one asked, or in its part of the cluster) is refused: stop it first.
        """)

    @OptionGroup var common: Common
    @Argument(help: "The daemon's name (its --name).") var name: String

    func validate() throws {
        if !Names.isNodeName(name) { throw ValidationError("a daemon name is 1 to 63 letters, digits, '-', '_' or '.'") }
    }

    func run() async throws {
        try await reporting {
            let (generation, server) = try await common.client().forget(member: name)
            print("forgot \(name) generation=\(generation) on \(server)")
        }
    }
}

/// Printing lookups.
enum Output {
    /// `ID  HOST  PORT  METADATA` with aligned columns.
    static func table(_ instances: [Instance]) -> String {
        var rows = [["ID", "HOST", "PORT", "METADATA"]]
        for i in instances {
            let meta = i.metadata.keys.sorted().map { "\($0)=\(i.metadata[$0]!)" }.joined(separator: " ")
            rows.append([i.id, i.host ?? "-", i.port.map(String.init) ?? "-", meta])
        }
        var widths = [0, 0, 0, 0]
        for r in rows { for (c, cell) in r.enumerated() { widths[c] = max(widths[c], cell.count) } }
        return rows.map { r in
            r.enumerated().map { c, cell in c == 3 ? cell : cell.padding(toLength: widths[c] + 2, withPad: " ", startingAt: 0) }
                .joined().trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// `{"<id>": {…}, …}` as the daemon serves it, keys sorted.
    static func json(_ snapshot: ServiceSnapshot) -> String {
        "{" + snapshot.instances.map { "\"\($0.id)\":\($0.json)" }.joined(separator: ",") + "}\n"
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a fresh cluster key for rarangid's --cluster-key-file.",
        discussion: """
        Prints 32 random bytes from the system's random source as base64, one
        line. Put the same key in the key file of every daemon of the
        environment (mode 0640, owner root, group rarangi). To rotate: add the
        new key as a second line everywhere and reload (SIGHUP), move it first
        everywhere and reload, then remove the old line and reload. See
        rarangid(8) and rarangi-protocol(7).
        """)

    func run() throws {
        print(ClusterKey.generate().text)
    }
}
