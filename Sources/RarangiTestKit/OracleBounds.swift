import RarangiCore
import RarangiProtocol

/// The bounds the oracle holds every daemon to, all derived from the
/// configuration (gossip interval G, link timeout L = max(3G, 1.5 s),
/// origin timeout O, reconnect back-off of MISSION D7) and the network
/// model (largest one-way delay d). With G = 1 s, O = 5 s, d = 30 ms:
/// link-up 5.1 s, propagation 7 s, loss 12.1 s, ghost 17 s, fresh grace
/// 12.1 s, purge lag 5 s, race window 12.1 s.
///
/// - link-up U = L + 2·base + 4d: a connect sent into a black hole is given
///   up after L, the first retry waits at most 2·base (1–2 s), then the
///   connect and the two hellos.
/// - back-off after a heal A(g): a link down for g ms retries after at most
///   min(5 min, 2g + 2·base) (delays double from 1 s: the wait in progress
///   is less than twice the time already waited). Master links too (D7): a
///   link whose peer others report alive is probed at the first step, but
///   a side cut off whole hears no such report.
/// - propagation P = 3 hops × 2G + G: leaf → master → master → leaf; each
///   hop repairs a lost push within two digest rounds; one round more for
///   where in its round a change lands. Slow links add 12 one-way extra
///   delays (digest, full digest, pull, records on each of 3 hops).
/// - loss: a live registration is served by every daemon that reached its
///   origin over usable links (up for A of their last gap) for U + P.
///   Its origin too (a DELETE from elsewhere may hide it until a refresh).
/// - ghost: an ended registration is gone from every daemon not stale —
///   and fresh for the grace U + P — within O + L + P + 2G of its end (the
///   origin's removal travels P; a dead origin is noticed within L, purged
///   O later at a round boundary, and its masters' death notices travel P).
///   A DELETE's end counts from when the daemon reached the deleter.
/// - purge lag L + 2G: a side that stops being a majority is noticed
///   within a link timeout and two rounds; a purge within that lag of
///   having been a majority is that majority's.
/// - race window U + P: a DELETE and a PUT of the same instance this close
///   in time are concurrent (the deleter may not have seen the PUT, the
///   registrar not the DELETE): either outcome is accepted, but every
///   daemon must end up agreeing. So are a DELETE and a registration the
///   deleter had not reached for U + P since its version was written, and
///   a refresh made before the deleter had been reached for U + P.
/// - convergence: once every fault has healed, within max(loss + A(longest
///   gap), ghost + grace) every daemon is fresh and serves exactly the
///   live set, and stays so.
public struct OracleBounds: Sendable {
    /// Milliseconds between gossip rounds (G).
    public var gossipMs: Int64 = 1000
    /// The origin timeout (O).
    public var originTimeoutMs: Int64 = 5000
    /// The network's largest one-way delay (d).
    public var maxDelayMs: Int64 = 30
    /// Every check instant is this far apart.
    public var checkEveryMs: Int64 = 100

    /// The default bounds.
    public init() {}

    /// The link timeout (L), as the core derives it.
    public var linkTimeoutMs: Int64 {
        NodeConfig(environment: "testing", name: "x", gossipIntervalMs: gossipMs, originTimeoutMs: originTimeoutMs).linkTimeoutMs
    }
    /// How long tombstones are kept, as the core derives it.
    public var tombstoneMs: Int64 {
        NodeConfig(environment: "testing", name: "x", gossipIntervalMs: gossipMs, originTimeoutMs: originTimeoutMs).tombstoneTTLMs
    }
    /// U: a link usable again after it can carry packets.
    public var linkUpMs: Int64 { linkTimeoutMs + 2 * Backoff.baseMs + 4 * maxDelayMs }
    /// P: a change crosses the whole topology once links are up.
    public var propagationMs: Int64 { 3 * 2 * gossipMs + gossipMs }
    /// A(g): the back-off allowance of a link after a gap of `gapMs`.
    public func backoffMs(afterGap gapMs: Int64) -> Int64 {
        guard gapMs > 0 else { return 0 }
        return min(Backoff.maxMs, 2 * gapMs + 2 * Backoff.baseMs)
    }
    /// Extra propagation while links are slowed by `extraMs` one way.
    public func slowAllowanceMs(_ extraMs: Int64) -> Int64 { 12 * extraMs }
    /// The loss bound after reachability over usable links.
    public var lossMs: Int64 { linkUpMs + propagationMs }
    /// The ghost bound after a registration's end.
    public var ghostMs: Int64 { originTimeoutMs + linkTimeoutMs + propagationMs + 2 * gossipMs }
    /// How long a daemon must be fresh before it is held to the ghost bound.
    public var freshGraceMs: Int64 { linkUpMs + propagationMs }
    /// How long after its side was a majority a purge still counts as the majority's.
    public var purgeLagMs: Int64 { linkTimeoutMs + 2 * gossipMs }
    /// DELETE and PUT closer than this are concurrent.
    public var raceWindowMs: Int64 { linkUpMs + propagationMs }
    /// The convergence bound once every fault has healed, after a longest link gap of `gapMs`.
    public func convergenceMs(longestGapMs gapMs: Int64) -> Int64 {
        max(lossMs + backoffMs(afterGap: gapMs), ghostMs + freshGraceMs)
    }
    /// The bounds, one line, for reports.
    public var summary: String {
        "G=\(gossipMs) L=\(linkTimeoutMs) O=\(originTimeoutMs) tombstones=\(tombstoneMs) U=\(linkUpMs) P=\(propagationMs) "
            + "loss=\(lossMs) ghost=\(ghostMs) grace=\(freshGraceMs) purgeLag=\(purgeLagMs) race=\(raceWindowMs) ms"
    }
}
