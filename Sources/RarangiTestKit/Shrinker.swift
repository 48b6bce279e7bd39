/// Shrinks a failing schedule to a shorter one that still fails the same
/// way (the same `Violation.family`): greedily removes steps (halves first, then one at a time), then
/// shortens durations (partitions, cuts, flaps, slow links, downtimes,
/// heartbeats, holds) while the failure persists.
public struct Shrinker {
    /// The runner every attempt is checked with.
    public var runner: ScheduleRunner
    /// Attempts at most (each is a whole run).
    public var maxRuns = 150

    /// Creates a shrinker.
    public init(runner: ScheduleRunner) { self.runner = runner }

    /// The result: the shortest failing schedule found and its first violation.
    public struct Result {
        /// The shrunk schedule.
        public var schedule: FaultSchedule
        /// Its first violation.
        public var violation: Violation
        /// Runs spent.
        public var runs: Int
    }

    /// Shrinks `schedule`, which fails first with `violation`.
    public func shrink(_ schedule: FaultSchedule, _ violation: Violation) -> Result {
        var best = schedule
        var first = violation
        var runs = 0
        func fails(_ s: FaultSchedule) -> Bool {
            guard runs < maxRuns else { return false }
            runs += 1
            guard let v = runner.run(s).first, v.family == violation.family else { return false }
            first = v
            return true
        }
        // Remove chunks, halving the chunk size down to single steps.
        var chunk = max(1, best.steps.count / 2)
        while chunk >= 1 {
            var i = 0
            while i < best.steps.count {
                var candidate = best
                candidate.steps.removeSubrange(i..<min(best.steps.count, i + chunk))
                let keep = first
                if fails(candidate) { best = candidate } else { first = keep; i += chunk }
            }
            if chunk == 1 { break }
            chunk /= 2
        }
        // Shorten durations while it still fails.
        var improved = true
        while improved && runs < maxRuns {
            improved = false
            for i in best.steps.indices {
                guard let shorter = Shrinker.shortened(best.steps[i]) else { continue }
                var candidate = best
                candidate.steps[i] = shorter
                let keep = first
                if fails(candidate) { best = candidate; improved = true } else { first = keep }
            }
        }
        // The violation of the final schedule, as replayed.
        if let v = runner.run(best).first { first = v }
        return Result(schedule: best, violation: first, runs: runs + 1)
    }

    /// The step with its duration halved, nil when it is as short as it goes.
    static func shortened(_ s: Step) -> Step? {
        func half(_ ms: Int64, min m: Int64 = 500) -> Int64? { ms / 2 >= m ? ms / 2 : nil }
        var s = s
        switch s.action {
        case let .partition(g, forMs): guard let h = half(forMs) else { return nil }; s.action = .partition(groups: g, forMs: h)
        case let .cutLink(a, b, forMs): guard let h = half(forMs) else { return nil }; s.action = .cutLink(a, b, forMs: h)
        case let .flap(a, b, p, times): guard times > 1 else { return nil }; s.action = .flap(a, b, periodMs: p, times: times / 2)
        case let .slow(a, b, e, forMs): guard let h = half(forMs) else { return nil }; s.action = .slow(a, b, extraMs: e, forMs: h)
        case let .kill(i, forMs?, step): guard let h = half(forMs, min: 200) else { return nil }; s.action = .kill(i, forMs: h, clockStepMs: step)
        case let .heartbeat(i, k, ttl, every, forMs):
            guard let h = half(forMs, min: 1000) else { return nil }
            s.action = .heartbeat(i, k, ttlMs: ttl, everyMs: every, forMs: h)
        case let .hold(i, k, forMs?): guard let h = half(forMs) else { return nil }; s.action = .hold(i, k, forMs: h)
        default: return nil
        }
        return s
    }
}
