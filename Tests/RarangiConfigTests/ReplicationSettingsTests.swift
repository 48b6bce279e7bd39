@testable import RarangiConfig
import RarangiCore
import XCTest

/// The replication settings reach the core's configuration.
final class ReplicationSettingsTests: XCTestCase {
    func testPeersMasterGossipAndOriginTimeout_reachTheNodeConfig() throws {
        let (_, flags) = try FlagParser.parse(["--env", "testing", "--name", "m1", "--master", "--listen", "127.0.0.5:4730",
                                               "--peer", "127.0.0.6:4730", "--peer", "127.0.0.7:4730",
                                               "--gossip-interval", "500", "--origin-timeout", "4000"])
        let config = try FlagParser.resolve(flags: flags, file: [:], hostname: "h").nodeConfig
        XCTAssertTrue(config.master)
        XCTAssertEqual(config.peers, [.init(host: "127.0.0.6", port: 4730), .init(host: "127.0.0.7", port: 4730)])
        XCTAssertEqual(config.gossipIntervalMs, 500)
        XCTAssertEqual(config.originTimeoutMs, 4000)
        XCTAssertEqual(config.advertiseHost, "127.0.0.5")
        XCTAssertEqual(config.advertisePort, 4730)
    }

    func testTombstoneTTL_defaultsToThreeOriginTimeouts_isSettable_andNotShorterThanTheOriginTimeout() throws {
        func resolve(_ args: [String]) throws -> NodeConfig {
            let (_, flags) = try FlagParser.parse(["--env", "testing", "--name", "m1"] + args)
            return try FlagParser.resolve(flags: flags, file: [:], hostname: "h").nodeConfig
        }
        XCTAssertEqual(try resolve([]).tombstoneTTLMs, 60_000)
        XCTAssertEqual(try resolve(["--origin-timeout", "40000"]).tombstoneTTLMs, 120_000)
        XCTAssertEqual(try resolve(["--tombstone-ttl", "900000"]).tombstoneTTLMs, 900_000)
        XCTAssertThrowsError(try resolve(["--origin-timeout", "20000", "--tombstone-ttl", "15000"])) { error in
            XCTAssertTrue("\(error)".contains("--tombstone-ttl 15000 is shorter than --origin-timeout 20000"), "\(error)")
        }
        XCTAssertThrowsError(try resolve(["--tombstone-ttl", "10"]))
        XCTAssertTrue(Settings.helpText.contains("--tombstone-ttl MS"))
    }

    func testOriginTimeout_isInTheSettingsTableAndHelp() {
        XCTAssertNotNil(Settings.named("origin-timeout"))
        XCTAssertTrue(Settings.helpText.contains("--origin-timeout MS"))
    }

    func testForgetAfter_defaultsTo72Hours_isSettable_andNotShorterThanTheOriginTimeout() throws {
        func resolve(_ args: [String]) throws -> NodeConfig {
            let (_, flags) = try FlagParser.parse(["--env", "testing", "--name", "m1"] + args)
            return try FlagParser.resolve(flags: flags, file: [:], hostname: "h").nodeConfig
        }
        XCTAssertEqual(try resolve([]).forgetAfterMs, 259_200_000)
        XCTAssertEqual(try resolve(["--forget-after", "600000"]).forgetAfterMs, 600_000)
        XCTAssertEqual(try resolve(["--forget-after", "31536000000"]).forgetAfterMs, 31_536_000_000)
        XCTAssertThrowsError(try resolve(["--forget-after", "59999"]))
        XCTAssertThrowsError(try resolve(["--forget-after", "31536000001"]))
        XCTAssertThrowsError(try resolve(["--origin-timeout", "120000", "--forget-after", "60000"])) { error in
            XCTAssertTrue("\(error)".contains("--forget-after 60000 is shorter than --origin-timeout 120000"), "\(error)")
        }
        XCTAssertTrue(Settings.helpText.contains("--forget-after MS"))
    }
}
