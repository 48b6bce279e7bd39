import RarangiProtocol
import XCTest

/// The reconnect back-off with the random number given, as the core (a
/// seeded generator) and the client (the system's) give it.
final class BackoffTests: XCTestCase {
    /// Draws that hit the edges of the jitter range and a spread in between.
    let randoms: [UInt64] = [0, 1, 999, 1000, 1001, 1999, 2000, 123_456_789, 1 << 32, 1 << 63, .max - 1, .max]
        + (0..<200).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }

    func test_firstDelay_liesInOneToTwoSeconds() {
        for r in randoms {
            let d = Backoff.delay(attempt: 0, random: r)
            XCTAssertTrue((1000..<2000).contains(d), "random \(r): \(d)")
        }
        XCTAssertEqual(Backoff.delay(attempt: 0, random: 0), 1000)
        XCTAssertEqual(Backoff.delay(attempt: 0, random: 999), 1999)
        XCTAssertEqual(Backoff.delay(attempt: 0, random: 1000), 1000)
    }

    func test_eachAttempt_doublesTheRange_untilTheCap() {
        for attempt in 0..<8 {
            let low = Int64(1000) << Int64(attempt)
            for r in randoms {
                let d = Backoff.delay(attempt: attempt, random: r)
                XCTAssertTrue((low..<min(2 * low, 300_001)).contains(d), "attempt \(attempt), random \(r): \(d)")
            }
        }
    }

    func test_capIsFiveMinutes_reached_andNeverExceeded() {
        XCTAssertEqual(Backoff.maxMs, 300_000)
        XCTAssertEqual(Backoff.baseMs, 1000)
        for r in randoms {
            XCTAssertEqual(Backoff.delay(attempt: 9, random: r), 300_000, "a 512 s base is past the cap")
            for attempt in Array(0...100) + [1000, Int.max] {
                XCTAssertLessThanOrEqual(Backoff.delay(attempt: attempt, random: r), 300_000, "attempt \(attempt), random \(r)")
            }
            XCTAssertEqual(Backoff.delay(attempt: 40, random: r), 300_000)
            XCTAssertEqual(Backoff.delay(attempt: .max, random: r), 300_000)
        }
    }

    func test_instance_countsFailures_andResetStartsOver() {
        var b = Backoff()
        XCTAssertEqual(b.firstMs, Backoff.baseMs)
        XCTAssertEqual(b.maxMs, Backoff.maxMs)
        XCTAssertEqual(b.nextDelayMs(random: 0), 1000)
        XCTAssertEqual(b.nextDelayMs(random: 0), 2000)
        XCTAssertEqual(b.nextDelayMs(random: 3999), 7999)
        XCTAssertEqual(b.failures, 3)
        for r in randoms { XCTAssertLessThanOrEqual(b.nextDelayMs(random: r), 300_000) }
        b.reset()
        XCTAssertEqual(b.failures, 0)
        XCTAssertEqual(b.nextDelayMs(random: 999), 1999)
    }

    func test_instance_followsTheSamePolicy_asTheStaticForm() {
        for r in randoms {
            var b = Backoff()
            for attempt in 0..<30 {
                XCTAssertEqual(b.nextDelayMs(random: r), Backoff.delay(attempt: attempt, random: r), "attempt \(attempt)")
            }
        }
    }
}
