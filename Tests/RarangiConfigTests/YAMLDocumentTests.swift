@testable import RarangiConfig
import RarangiProtocol
import XCTest

/// The configuration file's YAML reader (libyaml's loader) and what
/// ConfigFile makes of the YAML forms an operator writes.
final class YAMLDocumentTests: XCTestCase {
    func parse(_ yaml: String) throws -> RawSettings {
        try ConfigFile.parse(yaml, source: "f.yaml", nameFromFlags: nil)
    }

    func message(_ yaml: String) -> String {
        do { _ = try parse(yaml); return "" } catch { return (error as? ConfigError)?.message ?? "\(error)" }
    }

    func test_emptyFileAndCommentsOnly_areNoSettings() throws {
        XCTAssertEqual(try parse(""), [:])
        XCTAssertEqual(try parse("# nothing yet\n\n"), [:])
        // An explicit document with nothing in it holds one empty value (as with Yams).
        XCTAssertTrue(message("---\n").contains("must be a mapping"))
    }

    func test_scalars_areTheirText_inEveryStyle() throws {
        let raw = try parse("""
        name: 'quoted-name'
        log_level: "warn"
        liveness: 45   # seconds
        master: yes
        """)
        XCTAssertEqual(raw["name"], ["quoted-name"])
        XCTAssertEqual(raw["log-level"], ["warn"])
        XCTAssertEqual(raw["liveness"], ["45"])
        XCTAssertEqual(raw["master"], ["true"])
    }

    func test_peers_asBlockAndFlowSequences_andAsOneString() throws {
        XCTAssertEqual(try parse("peers:\n  - m1:4730\n  - m2:4730\n")["peer"], ["m1:4730", "m2:4730"])
        XCTAssertEqual(try parse("peers: [m1:4730, \"[::1]:4730\"]\n")["peer"], ["m1:4730", "[::1]:4730"])
        XCTAssertEqual(try parse("peer: m1:4730\n")["peer"], ["m1:4730"])
        XCTAssertEqual(try parse("peers: []\n")["peer"], [], "an empty list names no peer")
        XCTAssertTrue(message("peers: [[a]]\n").contains("peers must be HOST:PORT strings"))
        XCTAssertTrue(message("peers: {a: 1}\n").contains("peers must be a list"))
    }

    func test_clusterMembers_inBlockOrFlowForm_andThroughAnchors() throws {
        let raw = try parse("""
        name: a
        cluster:
          a: &own {host: h1.example, port: 4730}
          b:
            host: h2.example
            port: 4731
          c: *own
        """)
        XCTAssertEqual(raw["listen"], ["0.0.0.0:4730"], "its own entry gives the port")
        XCTAssertEqual(raw["peer"], ["h2.example:4731", "h1.example:4730"], "every other entry, in file order")
    }

    func test_anchorsAndAliases_resolveToTheNodeTheyName() throws {
        let root = try XCTUnwrap(YAMLDocument.parse("""
        base: &b {host: h1, port: 4730}
        cluster:
          a: *b
          b: {host: h2, port: 4731}
        """)?.root)
        XCTAssertEqual(root["cluster"]?["a"]?["host"]?.string, "h1")
        XCTAssertEqual(root["cluster"]?["b"]?["port"]?.string, "4731")
        // An alias of an enclosing node is a cycle, which indices carry.
        let cyclic = try XCTUnwrap(YAMLDocument.parse("&r [*r]\n")?.root)
        XCTAssertNotNil(cyclic.sequence?.first?.sequence?.first?.sequence)
    }

    func test_repeatedKey_isRefused_atItsSecondPlace() {
        let m = message("liveness: 5\nname: a\nliveness: 6\n")
        XCTAssertTrue(m.contains("not valid YAML: line 3, column 1: the key 'liveness' appears twice in the same mapping"), m)
        let nested = message("cluster:\n  a: {host: h, port: 1, host: i}\n")
        XCTAssertTrue(nested.contains("line 2, column 25: the key 'host' appears twice"), nested)
        XCTAssertEqual(try parse("log_level: warn\nname: a\n")["log-level"], ["warn"])
    }

    func test_badYAML_namesLineAndColumn() {
        let unclosed = message("name: [unclosed\n")
        XCTAssertTrue(unclosed.hasPrefix("configuration file 'f.yaml' is not valid YAML: line 2, column 1: "), unclosed)
        XCTAssertTrue(unclosed.contains("while parsing a flow sequence that started at line 1, column 7"), unclosed)
        let tab = message("name: a\n\tliveness: 5\n")
        XCTAssertTrue(tab.contains("not valid YAML: line 2, column 1"), tab)
        let indent = message("cluster:\n  a: 1\n b: 2\n")
        XCTAssertTrue(indent.contains("not valid YAML: line 3, column 2"), indent)
        let colon = message("name: a: b\n")
        XCTAssertTrue(colon.contains("line 1, column 8: mapping values are not allowed in this context"), colon)
        let undefined = message("name: *nowhere\n")
        XCTAssertTrue(undefined.contains("found undefined alias"), undefined)
    }

    func test_moreThanOneDocument_isRefused() {
        let m = message("name: a\n---\nname: b\n")
        XCTAssertTrue(m.contains("not valid YAML: line 3, column 1: expected a single document"), m)
    }

    func test_notAMapping_andNonScalarKeys_areRefusedAsBefore() {
        XCTAssertTrue(message("just text\n").contains("must be a mapping of setting names to values"))
        XCTAssertTrue(message("? [a]\n: 1\n").contains("keys must be strings"))
        XCTAssertTrue(message("cluster:\n  a: {host: h}\n").contains("each cluster member needs a host and a port"))
    }

    func test_unreadableFile_namesTheSystemsReason() {
        XCTAssertThrowsError(try ConfigFile.load(path: "/nonexistent/rarangid.yaml", nameFromFlags: nil)) {
            let m = ($0 as? ConfigError)?.message ?? ""
            XCTAssertEqual(m, "cannot read configuration file '/nonexistent/rarangid.yaml': No such file or directory")
        }
        XCTAssertThrowsError(try ConfigFile.load(path: "/", nameFromFlags: nil)) {
            XCTAssertTrue((($0 as? ConfigError)?.message ?? "").hasSuffix("Is a directory"), "\($0)")
        }
    }
}
