import Glibc
import RarangiCore

/// Reads the host's clocks; the shell calls it once per loop turn.
enum Clock {
    /// Milliseconds on the monotonic clock, and on the wall clock.
    static func now() -> Instant {
        var mono = timespec()
        var wall = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        clock_gettime(CLOCK_REALTIME, &wall)
        return Instant(ms: Int64(mono.tv_sec) * 1000 + Int64(mono.tv_nsec) / 1_000_000,
                       wallMs: Int64(wall.tv_sec) * 1000 + Int64(wall.tv_nsec) / 1_000_000)
    }

    /// A UTC timestamp with milliseconds for log lines.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let ms = Int(ts.tv_nsec) / 1_000_000
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return String(cString: buf) + ".\(msText)Z"
    }
}

/// Writes one `key=value` line per event to stderr (journald keeps them).
public final class Logger {
    /// The least severe level written.
    public var level: LogEvent.Level

    /// Creates a logger.
    public init(level: LogEvent.Level) { self.level = level }

    /// Writes `event` if it is severe enough.
    public func log(_ event: LogEvent) {
        guard event.level >= level else { return }
        let line = "ts=\(Clock.timestamp()) \(event.line)\n"
        line.utf8CString.withUnsafeBufferPointer { p in
            _ = write(2, p.baseAddress, p.count - 1)
        }
    }

    /// Convenience for the shell's own events.
    public func log(_ level: LogEvent.Level, _ event: String, _ fields: [(String, String)] = []) {
        log(LogEvent(level, event, fields))
    }
}

/// The text of the current `errno`.
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

extension Clock {
    /// Microseconds on the monotonic clock: for timing one request's
    /// handling, finer than a turn's `now`.
    static func monotonicMicros() -> Int64 {
        var mono = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return Int64(mono.tv_sec) * 1_000_000 + Int64(mono.tv_nsec) / 1000
    }
}
