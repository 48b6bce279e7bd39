import Glibc
import RarangiCore
import RarangiWire

/// `GET /metrics`: the core's figures (the status snapshot) and the
/// shell's own, in Prometheus's text format, written at scrape time from
/// plain counters, so serving lookups costs nothing extra between scrapes.
extension Daemon {
    func metricsResponse() -> HTTPResponse {
        let s = node.statusSnapshot
        let t = now
        var p = PrometheusText()
        let id = s.identity

        p.family("rarangi_build_info", .gauge, "The daemon's version and identity; always 1.")
        p.sample("rarangi_build_info", [("version", options.version), ("environment", id.environment), ("cluster", id.cluster),
                                        ("name", id.name), ("master", id.master ? "true" : "false")], 1)
        p.family("rarangi_uptime_seconds", .gauge, "Seconds since the daemon started.")
        p.sample("rarangi_uptime_seconds", [], Double(t.ms - startedAt.ms) / 1000)

        // HTTP
        p.family("rarangi_http_requests_total", .counter, "HTTP requests answered, by route and status code (rejected: refused before routing).")
        for a in httpMetrics.answerCounts {
            p.sample("rarangi_http_requests_total", [("route", a.route.name), ("code", String(a.status))], a.count)
        }
        p.family("rarangi_http_request_duration_seconds", .histogram,
                 "Time from a request's arrival to its answer being queued, by route (a watch's includes its wait).")
        for route in HTTPMetrics.RouteLabel.allCases where route != .rejected {
            let h = httpMetrics.durations[Int(route.rawValue)]
            if h.count > 0 { p.histogram("rarangi_http_request_duration_seconds", [("route", route.name)], h, perUnit: 1_000_000) }
        }

        if let dns {
            p.family("rarangi_dns_queries_total", .counter, "DNS queries answered, by transport and response code.")
            for a in dns.answerCounts { p.sample("rarangi_dns_queries_total", [("transport", a.transport), ("rcode", a.rcode)], a.count) }
        }

        // Catalogue
        let r = s.registrations
        counter(&p, "rarangi_registrations_total", "Registrations created at this daemon.", r.registered)
        counter(&p, "rarangi_refreshes_total", "Refreshes of existing registrations at this daemon.", r.refreshed)
        counter(&p, "rarangi_deregistrations_total", "Explicit deregistrations at this daemon.", r.deregistered)
        counter(&p, "rarangi_expiries_total", "Registrations whose liveness ran out at this daemon.", r.expired)
        counter(&p, "rarangi_lookups_total", "Lookups answered.", r.lookups)
        gauge(&p, "rarangi_instances", "Live instances served.", r.instances)
        gauge(&p, "rarangi_services", "Services with at least one instance.", r.services)
        gauge(&p, "rarangi_held_sessions", "Registrations held by open connections.", s.sessions.held)
        counter(&p, "rarangi_held_released_total", "Held registrations released because their connection closed.", s.sessions.released)
        gauge(&p, "rarangi_parked_watches", "Blocking queries waiting for a change.", s.sessions.watchers)
        counter(&p, "rarangi_watches_answered_total", "Blocking queries answered, by a change or their wait running out.", s.sessions.watchesAnswered)

        // Connections
        gauge(&p, "rarangi_connections", "Open connections, clients and peer links.", table.count)
        gauge(&p, "rarangi_connections_max", "The connection cap (--max-connections).", maxConnections)
        counter(&p, "rarangi_connections_accepted_total", "Connections accepted.", table.accepted)
        p.family("rarangi_connections_refused_total", .counter, "Connections answered 503 and closed, by the cap they met.")
        p.sample("rarangi_connections_refused_total", [("cap", "total")], table.rejected)
        p.sample("rarangi_connections_refused_total", [("cap", "per_address")], table.rejectedPerAddress)
        counter(&p, "rarangi_connections_idle_closed_at_cap_total",
                "Idle keep-alive connections closed to make room for a new one at the cap.", table.evictedIdle)
        p.family("rarangi_connections_timed_out_total", .counter,
                 "Connections closed by a timer: request (408), idle keep-alive, not_reading (answers unread).")
        for reason in HTTPMetrics.Timeout.allCases {
            p.sample("rarangi_connections_timed_out_total", [("reason", reason.name)], httpMetrics.timeouts[reason.rawValue])
        }

        // Peer links
        var conns: [String: Connection] = [:]
        for c in table.links { if let l = c.link { conns[l.description] = c } }
        let links = s.links.map { l in (l, [("link", l.id), ("peer", l.peer), ("direction", l.inbound ? "inbound" : "outbound")]) }
        p.family("rarangi_peer_link_up", .gauge, "1 while the peer link is up.")
        for (l, labels) in links { p.sample("rarangi_peer_link_up", labels, l.state == "up" ? 1 : 0) }
        p.family("rarangi_peer_link_reconnects_total", .counter, "Times the link came up again after its first time.")
        for (l, labels) in links { p.sample("rarangi_peer_link_reconnects_total", labels, max(0, l.ups - 1)) }
        p.family("rarangi_peer_link_frames_received_total", .counter, "Frames received on the link.")
        for (l, labels) in links { p.sample("rarangi_peer_link_frames_received_total", labels, l.messagesIn) }
        p.family("rarangi_peer_link_frames_sent_total", .counter, "Frames sent on the link.")
        for (l, labels) in links { p.sample("rarangi_peer_link_frames_sent_total", labels, l.messagesOut) }
        p.family("rarangi_peer_link_received_bytes_total", .counter, "Bytes received on the link's current connection.")
        for (l, labels) in links { p.sample("rarangi_peer_link_received_bytes_total", labels, conns[l.id]?.bytesIn ?? 0) }
        p.family("rarangi_peer_link_sent_bytes_total", .counter, "Bytes written to the link's current connection.")
        for (l, labels) in links { p.sample("rarangi_peer_link_sent_bytes_total", labels, conns[l.id]?.bytesOut ?? 0) }
        p.family("rarangi_peer_link_backlog_bytes", .gauge, "Bytes queued for the link and not yet written.")
        for (l, labels) in links { p.sample("rarangi_peer_link_backlog_bytes", labels, conns[l.id]?.backlog ?? 0) }
        p.family("rarangi_peer_link_coalesced_pushes_total", .counter, "Pushes to the link replaced by a newer one of the same key while it was slow.")
        for (l, labels) in links { p.sample("rarangi_peer_link_coalesced_pushes_total", labels, l.coalesced) }
        p.family("rarangi_peer_link_last_heard_age_seconds", .gauge, "Seconds since the peer last sent anything (links that are up).")
        for (l, labels) in links where l.state == "up" { p.sample("rarangi_peer_link_last_heard_age_seconds", labels, Double(max(0, t.ms - l.lastHeardMs)) / 1000) }

        // Origins (MISSION B10)
        let origins = s.origins.map { o in (o, [("origin", o.name)]) }
        p.family("rarangi_origin_records", .gauge, "Live records held of each origin daemon.")
        for (o, labels) in origins { p.sample("rarangi_origin_records", labels, o.records) }
        p.family("rarangi_origin_tombstones", .gauge, "Tombstones held of each origin daemon.")
        for (o, labels) in origins { p.sample("rarangi_origin_tombstones", labels, o.tombstones) }
        p.family("rarangi_origin_newest_change_age_seconds", .gauge,
                 "Age of the newest change held of each origin (by the origin's clock): how stale this daemon's view of it can be.")
        for (o, labels) in origins where o.newestChangeWallMs > 0 {
            p.sample("rarangi_origin_newest_change_age_seconds", labels, Double(max(0, t.wallMs - o.newestChangeWallMs)) / 1000)
        }
        p.family("rarangi_origin_last_heard_age_seconds", .gauge, "Seconds since anything of each origin last arrived (its own records included).")
        for (o, labels) in origins where o.lastHeardMs > 0 {
            p.sample("rarangi_origin_last_heard_age_seconds", labels, Double(max(0, t.ms - o.lastHeardMs)) / 1000)
        }
        p.family("rarangi_origin_alive", .gauge, "1 while the origin counts as alive (no purge clock runs for it).")
        for (o, labels) in origins { p.sample("rarangi_origin_alive", labels, o.alive ? 1 : 0) }

        // Replication and the partition verdict
        let rep = s.replication
        counter(&p, "rarangi_origins_purged_total", "Origins purged as dead.", rep.originsPurged)
        gauge(&p, "rarangi_tombstones", "Tombstones held, all origins.", rep.tombstones)
        counter(&p, "rarangi_tombstones_collected_total", "Tombstones collected after their time.", rep.tombstonesCollected)
        counter(&p, "rarangi_pushes_coalesced_total", "Pushes to slow links replaced by a newer one of the same key.", rep.pushesCoalesced)
        counter(&p, "rarangi_peer_frames_received_total", "Peer frames received, all links.", rep.peerMessagesIn)
        counter(&p, "rarangi_peer_frames_sent_total", "Peer frames sent, all links.", rep.peerMessagesOut)
        counter(&p, "rarangi_peer_sent_bytes_total", "Peer bytes sent, all links.", rep.peerBytesOut)
        let part = s.partition
        gauge(&p, "rarangi_stale", "1 while this daemon is cut off from the majority or still catching up (answers carry X-Rarangi-Stale).", part.stale ? 1 : 0)
        gauge(&p, "rarangi_catching_up", "1 until the first sync with a peer after start or after rejoining.", part.catchingUp ? 1 : 0)
        gauge(&p, "rarangi_partition_components", "Components of the members' graph as this daemon sees it.", part.components)
        p.family("rarangi_partition_members", .gauge, "Members in this daemon's component and in the largest.")
        p.sample("rarangi_partition_members", [("component", "mine")], part.mine)
        p.sample("rarangi_partition_members", [("component", "largest")], part.largest)
        gauge(&p, "rarangi_known_members", "Members heard of, masters and leaves (retired ones not counted).", part.knownMembers)
        gauge(&p, "rarangi_known_masters", "Masters heard of.", part.knownMasters)
        gauge(&p, "rarangi_retired_members", "Daemons retired for good.", part.retired.count)
        p.family("rarangi_propagation_delay_seconds", .histogram,
                 "Time from a change's write at its origin to its arrival here, for pushes that brought something new (origin and local clocks).")
        p.histogram("rarangi_propagation_delay_seconds", [], s.propagation, perUnit: 1000)

        // Process
        let process = ProcessFigures.read()
        gauge(&p, "process_resident_memory_bytes", "Resident memory size in bytes.", process.residentBytes)
        gauge(&p, "process_virtual_memory_bytes", "Virtual memory size in bytes.", process.virtualBytes)
        gauge(&p, "process_open_fds", "Open file descriptors.", process.openFDs)
        gauge(&p, "process_max_fds", "The file descriptor limit.", process.maxFDs)
        p.family("process_cpu_seconds_total", .counter, "User and system CPU time spent, in seconds.")
        p.sample("process_cpu_seconds_total", [], process.cpuSeconds)
        p.family("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch, in seconds.")
        p.sample("process_start_time_seconds", [], Double(startedAt.wallMs) / 1000)
        return HTTPResponse(status: 200, body: p.bytes, contentType: .prometheusText)
    }

    private func counter(_ p: inout PrometheusText, _ name: String, _ help: String, _ value: Int) {
        p.family(name, .counter, help)
        p.sample(name, [], value)
    }

    private func gauge(_ p: inout PrometheusText, _ name: String, _ help: String, _ value: Int) {
        p.family(name, .gauge, help)
        p.sample(name, [], value)
    }
}

/// The process's own figures, read from /proc and getrusage at scrape time.
struct ProcessFigures {
    var residentBytes = 0
    var virtualBytes = 0
    var openFDs = 0
    var maxFDs = 0
    var cpuSeconds = 0.0

    static func read() -> ProcessFigures {
        var f = ProcessFigures()
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = fopen("/proc/self/statm", "r") {
            var size = 0, resident = 0
            if fscanf_ints(statm, &size, &resident) {
                f.virtualBytes = size * page
                f.residentBytes = resident * page
            }
            fclose(statm)
        }
        if let dir = opendir("/proc/self/fd") {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { f.openFDs += 1 }
            }
            closedir(dir)
            f.openFDs -= 1  // the directory stream's own descriptor
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { f.maxFDs = Int(limit.rlim_cur) }
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            f.cpuSeconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        }
        return f
    }

    /// The first two numbers of /proc/self/statm.
    private static func fscanf_ints(_ file: UnsafeMutablePointer<FILE>, _ a: inout Int, _ b: inout Int) -> Bool {
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        let parts = String(cString: line).split(separator: " ")
        guard parts.count >= 2, let x = Int(parts[0]), let y = Int(parts[1]) else { return false }
        a = x
        b = y
        return true
    }
}
