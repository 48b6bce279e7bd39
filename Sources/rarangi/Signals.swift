import Dispatch
import Foundation

/// Signals delivered as async events: the default action of each is turned
/// off in this process only (children get the defaults back when spawned).
enum Signals {
    /// Installs handlers for `signals` and returns a stream of their numbers.
    static func stream(_ signals: [Int32]) -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        var sources: [DispatchSourceSignal] = []
        for s in signals {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { continuation.yield(s) }
            source.resume()
            sources.append(source)
        }
        let keep = sources
        continuation.onTermination = { _ in for s in keep { s.cancel() } }
        return stream
    }
}
