import RarangiCore
import RarangiWire

/// The frames a lying or broken peer sends (`Lie`), and the instances they
/// name: the oracle knows those as never live.
enum CraftedFrames {
    /// The instance a lie's records name.
    static let key = Oracle.Key("lie", "x")

    /// The frames of `lie` against a daemon of `cluster`; `origins` are
    /// the names the daemon may hold (an oversized pull asks for them all).
    static func frames(_ lie: Lie, cluster: String, origins: [String]) -> [[UInt8]] {
        let hello = PeerCodec.encode(.hello(PeerHello(environment: "testing", cluster: cluster, name: "liar", generation: 1,
                                                      master: false, host: "", port: 0)))
        func record(_ version: UInt64) -> [[UInt8]] {
            let delta = Delta(service: key.service, id: key.id, version: version, kind: .put, body: Array(#"{"lie":true}"#.utf8))
            return [
                PeerCodec.encode(.records([RecordBatch(origin: "liar", generation: 1, mode: .push(prev: 0), deltas: [delta])])),
                PeerCodec.encode(.digest(hash: 1, membersHash: 1, entries: [DigestEntry(name: "liar", generation: 1, version: version)])),
                PeerCodec.encode(.records([RecordBatch(origin: "liar", generation: 1,
                                                       mode: .sync(since: 0, upTo: version, reset: true), deltas: [delta])])),
            ]
        }
        switch lie {
        case .versionOutOfRange:
            return [hello] + record(Node.versionLimit + 77)
        case .versionNearMax:
            return [hello] + record(UInt64.max - 1)
        case .oversizedFrame:
            return [hello, [0x7f, 0xff, 0xff, 0xff, 3, 0, 0, 0]]
        case .oversizedPull:
            let many = (0..<100_000).map { PullEntry(name: "o\($0)", generation: 1, since: 0) }
            let all = origins.map { PullEntry(name: $0, generation: 0, since: 0) }
            return [hello, PeerCodec.encode(.pull(many))] + Array(repeating: PeerCodec.encode(.pull(all)), count: 20)
        }
    }
}
