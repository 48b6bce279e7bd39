/// When a link is given up for taking too long: a connect or a handshake
/// past its deadline (`PeerLinks.fireDeadlines`), or an up link whose peer
/// has been silent for longer than `NodeConfig.linkTimeoutMs` — three
/// missed gossip rounds. The silent link cut is decided here; the node cuts
/// it in its gossip round, because a link that was up changes membership.
extension PeerLinks {
    /// An up link that heard nothing for too long.
    struct SilentLink {
        /// The link.
        var id: LinkID
        /// The peer's name, for the log.
        var peer: String
        /// How long it has been silent.
        var silentMs: Int64
    }

    /// The up links silent for longer than `limitMs`, in id order.
    func silentLinks(now: Int64, limitMs: Int64) -> [SilentLink] {
        ordered.compactMap { id, link in
            guard link.isUp, now - link.lastHeard > limitMs else { return nil }
            return SilentLink(id: id, peer: link.peer?.name ?? "-", silentMs: now - link.lastHeard)
        }
    }
}
