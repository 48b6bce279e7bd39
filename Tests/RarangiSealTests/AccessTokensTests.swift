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

    /// Found by attack: a CRLF file read as one line quoted the next line's
    /// token in its error; a repeated token silently kept its first line.
    func testCRLFFiles_readLikeAnyOther_andErrorsNeverQuoteTheFile() throws {
        let t = try AccessTokens.parse("tokenwebtokenweb01 web\r\nSECRETtoken-line2-XYZ *\r\n")
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t.authorize("SECRETtoken-line2-XYZ", .everything), .allowed)
        XCTAssertEqual(t.authorize("tokenwebtokenweb01", .service("web")), .allowed)
        // Columns swapped by mistake: the error names the field, not its text.
        XCTAssertThrowsError(try AccessTokens.parse("payments-service-* s3cr3t/Tok+en==0123456789\n")) { e in
            let m = (e as? KeyFileError)?.message ?? ""
            XCTAssertFalse(m.contains("s3cr3t"), m)
            XCTAssertTrue(m.contains("line 1"), m)
        }
        XCTAssertThrowsError(try AccessTokens.parse("tokenwebtokenweb01 web\ntokenwebtokenweb01 *\n")) { e in
            XCTAssertTrue(((e as? KeyFileError)?.message ?? "").contains("repeats the token of line 1"))
        }
        XCTAssertEqual(try AccessTokens.parse("tokenwebtokenweb01 **\n").authorize("tokenwebtokenweb01", .everything), .allowed)
        let k1 = ClusterKey(bytes: Array(repeating: 1, count: 32)), k2 = ClusterKey(bytes: Array(repeating: 2, count: 32))
        XCTAssertEqual(try ClusterKeyring.parse("\(k1.text)\r\n\(k2.text)\r\n").keys, [k1, k2])
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
