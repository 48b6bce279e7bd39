import Foundation

/// A result delivered once from a background task to one waiter.
final class OneShot: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Void, Error>?
    private var waiter: CheckedContinuation<Void, Error>?

    /// Whether a result was delivered.
    var isResolved: Bool { lock.withLock { result != nil } }

    func resolve(_ r: Result<Void, Error>) {
        let w: CheckedContinuation<Void, Error>? = lock.withLock {
            guard result == nil else { return nil }
            result = r
            defer { waiter = nil }
            return waiter
        }
        w?.resume(with: r)
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            let r: Result<Void, Error>? = lock.withLock {
                if let result { return result }
                waiter = c
                return nil
            }
            if let r { c.resume(with: r) }
        }
    }
}
