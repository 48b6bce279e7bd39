import RarangiSeal
import XCTest

final class AccessTokensTests: XCTestCase {
    let file = """
    # ops
    0123456789abcdef-web web-* api
    0123456789abcdef-all *
    0123456789abcdef-mid a*b*c
    """

    func testPatternsCoverTheirServicesOnly() throws {
        let t = try AccessTokens.parse(file)
        XCTAssertEqual(t.count, 3)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("web-1")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("web-")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("api")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("api2")), .notCovered)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("db")), .notCovered)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .service("xweb-1")), .notCovered)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .everything), .notCovered)
        XCTAssertEqual(t.authorize("0123456789abcdef-web", .anyToken), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-all", .service("db")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-all", .everything), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-mid", .service("abc")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-mid", .service("a-b-c")), .allowed)
        XCTAssertEqual(t.authorize("0123456789abcdef-mid", .service("acb")), .notCovered)
        XCTAssertEqual(t.authorize("0123456789abcdef-mid", .service("ab")), .notCovered)
        XCTAssertEqual(t.authorize(nil, .service("web")), .missing)
        XCTAssertEqual(t.authorize("", .service("web")), .missing)
        XCTAssertEqual(t.authorize("0123456789abcdef-wex", .service("web-1")), .unknown)
        XCTAssertEqual(t.authorize("0123456789abcdef-web ", .service("web-1")), .unknown)
    }

    func testBadLines_areRefusedByNumber_withoutTheirText() {
        for (text, line) in [("short web\n", 1), ("# c\n0123456789abcdef-web\n", 2), ("0123456789abcdef-web we\"b\n", 1), ("# nothing\n", 0)] {
            XCTAssertThrowsError(try AccessTokens.parse(text)) { e in
                let m = (e as? KeyFileError)?.message ?? ""
                if line > 0 { XCTAssertTrue(m.contains("line \(line)"), m) }
                XCTAssertFalse(m.contains("0123456789abcdef"), m)
            }
        }
    }
}
