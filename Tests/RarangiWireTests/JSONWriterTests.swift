import RarangiWire
import Foundation
import XCTest

final class JSONWriterTests: XCTestCase {
    func test_nestedDocument_hasCommasAndEscapesInPlace() {
        var w = JSONWriter()
        w.object { w in
            w.member("name", "n\"1")
            w.member("count", 3)
            w.member("stale", false)
            w.member("links") { w in
                w.array(["a", "b"]) { w, name in w.object { w in w.member("peer", name) } }
            }
            w.member("empty") { w in w.array { _ in } }
            w.key("body")
            w.rawValue(Array(#"{"x":1}"#.utf8))
        }
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self),
                       #"{"name":"n\"1","count":3,"stale":false,"links":[{"peer":"a"},{"peer":"b"}],"empty":[],"body":{"x":1}}"#)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(w.document(pretty: true))))
        XCTAssertEqual(w.document(pretty: false).last, 10)
    }
}
