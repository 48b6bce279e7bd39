import RarangiWire
import XCTest

final class JSONTests: XCTestCase {
    func parse(_ s: String) throws -> JSON.Object { try JSON.parseObject(Array(s.utf8)) }

    func test_object_isCompacted_keepingMemberOrderAndStrings() throws {
        let o = try parse(" {\n \"b\" : [1, 2.5e3, -0, true, null],\n \"a\": \"x y\\n\\u00e9\", \"c\": {} } ")
        XCTAssertEqual(String(decoding: o.compact, as: UTF8.self), #"{"b":[1,2.5e3,-0,true,null],"a":"x y\n\u00e9","c":{}}"#)
    }

    func test_hostAndPort_areReported() throws {
        let o = try parse(#"{"host":"h\u0031","port":8080,"nested":{"port":"x"}}"#)
        XCTAssertEqual(o.host, .string("h1"))
        XCTAssertEqual(o.port, .integer(8080))
        XCTAssertEqual(try parse(#"{"port":8.5}"#).port, .other)
        XCTAssertEqual(try parse(#"{"port":-1}"#).port, .other)
        XCTAssertEqual(try parse(#"{}"#).port, .absent)
    }

    func test_invalidDocuments_areRejectedWithAReason() {
        let cases: [(String, JSONError)] = [
            ("", .empty), ("  ", .empty), ("[]", .notAnObject), ("1", .notAnObject),
            ("{} x", .trailingData(offset: 3)),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text)) { XCTAssertEqual($0 as? JSONError, expected, text) }
        }
        for text in [#"{"a":}"#, #"{"a":1,}"#, #"{a:1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":"\x"}"#,
                     #"{"a":tru}"#, "{\"a\":\"\u{7}\"}", #"{"a":[1,]}"#, #"{"a":"\u12"}"#, "{\"a\":1"] {
            XCTAssertThrowsError(try parse(text), text)
        }
        XCTAssertThrowsError(try JSON.parseObject([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])) {
            XCTAssertEqual($0 as? JSONError, .invalidUTF8)
        }
    }

    func test_trailingComma_isNamedInTheMessage() {
        XCTAssertThrowsError(try parse(#"{"a":1,}"#)) { XCTAssertTrue("\($0)".contains("trailing comma"), "\($0)") }
    }

    func test_nestingBeyondTheLimit_isRejected() {
        let deep = String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70)
        XCTAssertThrowsError(try parse(deep)) { XCTAssertEqual($0 as? JSONError, .tooDeep) }
        let ok = String(repeating: "{\"a\":", count: 60) + "1" + String(repeating: "}", count: 60)
        XCTAssertNoThrow(try parse(ok))
    }

    func test_pretty_indentsAndKeepsStringsIntact() {
        let pretty = JSONPretty.indent(Array(#"{"a":[1,{"b":"x,{y}:"}],"c":{},"d":[]}"#.utf8))
        XCTAssertEqual(String(decoding: pretty, as: UTF8.self), """
        {
          "a": [
            1,
            {
              "b": "x,{y}:"
            }
          ],
          "c": {},
          "d": []
        }

        """)
    }
}
