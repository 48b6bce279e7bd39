import Foundation
import XCTest

/// Peer links under a cluster key, through the real binaries: `rarangi
/// keygen` makes the keys, `rarangid --cluster-key-file` uses them.
final class ClusterKeyTests: XCTestCase {
    var dir: URL!
    var daemons: [DaemonProcess] = []
    var proxies: [TCPProxy] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rarangi-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in proxies { p.stop() }
        for d in daemons { d.stop() }
        daemons = []
        try? FileManager.default.removeItem(at: dir)
    }

    /// A fresh key from `rarangi keygen`.
    func keygen() throws -> String {
        let r = try runTool(CLITests.cli, ["keygen"])
        XCTAssertEqual(r.status, 0, r.err)
        let key = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(Data(base64Encoded: key)?.count, 32, "keygen prints base64 of 32 bytes")
        return key
    }

    /// Writes a key file holding these keys (first line first).
    @discardableResult
    func keyFile(_ name: String, _ keys: [String]) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try ("# cluster keys\n" + keys.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func daemon(_ name: String, keyFile: String?, peers: [Int] = []) throws -> DaemonProcess {
        var args = ["--env", "testing", "--name", name, "--gossip-interval", "200"]
        if let keyFile { args += ["--cluster-key-file", keyFile] }
        for p in peers { args += ["--peer", "127.0.0.1:\(p)"] }
        let d = try DaemonProcess(args)
        daemons.append(d)
        return d
    }

    func register(_ d: DaemonProcess, _ service: String, _ id: String) throws {
        let r = try http("PUT", d.port, "/\(service)/\(id)", body: #"{"host":"10.1.1.1","port":80}"#)
        XCTAssertEqual(r.status, 201, r.text)
    }

    func has(_ d: DaemonProcess, _ service: String, _ id: String) -> Bool {
        guard let r = try? http("GET", d.port, "/\(service)"), r.status == 200 else { return false }
        return r.json[id] != nil
    }

    func sealedLinks(_ d: DaemonProcess) -> Int {
        guard let r = try? http("GET", d.port, "/_status") else { return -1 }
        return ((r.json["cluster_key"] as? [String: Any])?["sealed_links"] as? Int) ?? 0
    }

    func test_sameKey_linksAndReplicates_otherKeyOrNoKey_getsNothing_andBothSidesLogWhy() throws {
        let k1 = try keygen(), k2 = try keygen()
        let f1 = try keyFile("k1", [k1]), f2 = try keyFile("k2", [k2])
        let a = try daemon("a", keyFile: f1)
        let b = try daemon("b", keyFile: f1, peers: [a.port])
        let c = try daemon("c", keyFile: f2, peers: [a.port])
        let d = try daemon("d", keyFile: nil, peers: [a.port])
        // A keyed daemon dialling the keyless one is refused the other way round.
        let e = try daemon("e", keyFile: f1, peers: [d.port])
        try register(b, "web", "from-b")
        try register(c, "web", "from-c")
        try register(d, "web", "from-d")
        try register(e, "web", "from-e")
        XCTAssertTrue(eventually(within: 5) { self.has(a, "web", "from-b") && self.has(b, "web", "from-b") }, a.log)
        XCTAssertTrue(eventually(within: 5) { a.log.contains("kind=unknown_key") && a.log.contains("kind=cluster_key_required") }, a.log)
        XCTAssertTrue(eventually(within: 5) { d.log.contains("kind=no_cluster_key") && e.log.contains("kind=upgrade_refused") }, d.log + e.log)
        // Several gossip rounds later nothing has crossed a refused link, either way.
        usleep(1_500_000)
        for id in ["from-c", "from-d", "from-e"] { XCTAssertFalse(has(a, "web", id), "\(id) reached a") }
        XCTAssertFalse(has(c, "web", "from-b"))
        XCTAssertFalse(has(d, "web", "from-b"))
        XCTAssertFalse(has(d, "web", "from-e"))
        XCTAssertEqual(sealedLinks(a), 1)
        XCTAssertTrue(c.log.contains("kind=refused_by_peer"), c.log)
        XCTAssertTrue(d.log.contains("kind=upgrade_refused reason=\"the peer answered the upgrade with: HTTP/1.1 403"), d.log)
        // A keyless daemon says what it exposes, at start and in /_status.
        XCTAssertTrue(d.log.contains("event=no_cluster_key"), d.log)
        XCTAssertFalse(a.log.contains("event=no_cluster_key"), a.log)
        let status = try http("GET", d.port, "/_status").json["cluster_key"] as? [String: Any]
        XCTAssertEqual(status?["configured"] as? Bool, false)
        XCTAssertNotNil(status?["warning"])
        // Refusals repeat every reconnect, but each address and kind is logged once a minute.
        XCTAssertEqual(a.log.components(separatedBy: "kind=unknown_key").count - 1, 1, a.log)
        XCTAssertFalse(a.log.contains(k1) || a.log.contains(k2), "a key was logged")
    }

    /// Starts a listener `a` and a dialler `b` whose link runs through a
    /// proxy; returns them once the link is up and carries b's registration.
    func proxiedPair() throws -> (DaemonProcess, DaemonProcess, TCPProxy) {
        let f = try keyFile("k", [try keygen()])
        let a = try daemon("a", keyFile: f)
        let proxy = try TCPProxy(to: a.port)
        proxies.append(proxy)
        let b = try daemon("b", keyFile: f, peers: [proxy.port])
        try register(b, "web", "first")
        XCTAssertTrue(eventually(within: 5) { self.has(a, "web", "first") }, a.log + b.log)
        return (a, b, proxy)
    }

    func linkUps(_ d: DaemonProcess) -> Int { d.log.components(separatedBy: "event=link_up").count - 1 }

    func test_aReplayedHandshake_isRefused_andLinksNothing() throws {
        let (a, _, proxy) = try proxiedPair()
        let capture = try XCTUnwrap(proxy.captures.first)
        let ups = linkUps(a)
        // The whole captured stream of the real link, replayed on a new connection.
        let replay = try RawConnection(port: a.port, timeoutSeconds: 5)
        try replay.send(capture)
        XCTAssertTrue(replay.readUntilClosed(), "the listener kept a replayed handshake open")
        XCTAssertTrue(eventually(within: 3) { a.log.contains("kind=bad_proof") }, a.log)
        XCTAssertEqual(linkUps(a), ups, "a replayed handshake brought a link up")
        XCTAssertEqual(sealedLinks(a), 1)
    }

    func test_aFlippedByteInASealedFrame_cutsTheLink_andTheFrameIsNotApplied() throws {
        let (a, b, proxy) = try proxiedPair()
        let downs = a.log.components(separatedBy: "event=link_down").count
        proxy.flipNextChunk(at: 6)  // inside the ciphertext of the next frame b sends
        try register(b, "web", "second")
        XCTAssertTrue(eventually(within: 5) { a.log.contains("does not open") }, a.log)
        // The cut's own line follows the refusal's; the test may read between the two writes.
        XCTAssertTrue(eventually(within: 2) { a.log.components(separatedBy: "event=link_down").count > downs }, a.log)
        // The link comes back under the key, and anti-entropy brings the registration honestly.
        XCTAssertTrue(eventually(within: 8) { self.has(a, "web", "second") }, a.log)
    }

    func test_aFrameInjectedMidStream_cutsTheLink() throws {
        let (a, _, proxy) = try proxiedPair()
        // Looks like a sealed frame: a length and 40 bytes no key made.
        proxy.inject([0, 0, 0, 40] + (0..<40).map { UInt8($0) })
        XCTAssertTrue(eventually(within: 5) { a.log.contains("does not open") }, a.log)
        XCTAssertTrue(eventually(within: 8) { self.sealedLinks(a) == 1 }, "the real link did not come back: \(a.log)")
    }

    func test_keyRotation_acrossThreeDaemons_neverStopsReplication() throws {
        let old = try keygen(), new = try keygen()
        let files = ["a", "b", "c"].map { dir.appendingPathComponent("keys-\($0)").path }
        for f in files { try ("\(old)\n").write(toFile: f, atomically: true, encoding: .utf8) }
        let a = try daemon("a", keyFile: files[0])
        let b = try daemon("b", keyFile: files[1], peers: [a.port])
        let c = try daemon("c", keyFile: files[2], peers: [b.port])
        var step = 0
        func propagates() throws {
            step += 1
            try register(c, "rot", "s\(step)")
            try register(a, "rot", "r\(step)")
            XCTAssertTrue(eventually(within: 3) { self.has(a, "rot", "s\(step)") && self.has(c, "rot", "r\(step)") },
                          "step \(step): replication stopped\n\(a.log)\n\(b.log)\n\(c.log)")
        }
        try propagates()
        // Each stage is applied daemon by daemon, replication checked between each.
        for (n, stage) in [[old, new], [new, old], [new]].enumerated() {
            for (i, d) in [a, b, c].enumerated() {
                try (stage.joined(separator: "\n") + "\n").write(toFile: files[i], atomically: true, encoding: .utf8)
                kill(d.process.processIdentifier, SIGHUP)
                XCTAssertTrue(eventually(within: 2) {
                    d.log.components(separatedBy: "event=reloaded").count - 1 == n + 1
                }, d.log)
                try propagates()
            }
        }
        // Under the new key alone a daemon holding only the old one is shut out.
        let stale = try daemon("stale", keyFile: try keyFile("old-only", [old]), peers: [a.port])
        try register(stale, "rot", "stale")
        XCTAssertTrue(eventually(within: 3) { stale.log.contains("kind=refused_by_peer") }, stale.log)
        XCTAssertFalse(has(a, "rot", "stale"))
        XCTAssertEqual(sealedLinks(b), 2)
    }
}
