import Foundation
import XCTest

/// The Consul API subset through a client nobody here wrote (py-consul,
/// Debian's python3-consul) and through raw HTTP for the blocking-query
/// rules Consul's watchers rely on.
final class ConsulAPITests: XCTestCase {
    var daemons: [DaemonProcess] = []
    override func tearDown() {
        for d in daemons { d.stop() }
        daemons = []
    }

    func start(_ args: [String] = []) throws -> DaemonProcess {
        let d = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n1"] + args)
        daemons.append(d)
        return d
    }

    func python(_ script: String, _ args: [String], interpreter: String = "/usr/bin/python3") throws -> String {
        let r = try runTool(interpreter, ["-c", script] + args)
        XCTAssertEqual(r.status, 0, r.err)
        return r.out
    }

    /// Debian's python-consul (0.7) and PyPI's py-consul (in .build/venv-test, made by scripts/install-deps.sh test).
    static var clients: [(name: String, python: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [("python-consul", "/usr/bin/python3"), ("py-consul", root.appendingPathComponent(".build/venv-test/bin/python").path)]
    }

    func test_pyConsul_registersWithATTLCheck_discovers_blocksOnAChangeElsewhere_andDeregisters_andOurAPISeesTheSame() throws {
        for client in Self.clients {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: client.python), "\(client.name): run scripts/install-deps.sh test")
            try consulClientRun(client.name, client.python)
            tearDown()
        }
    }

    func consulClientRun(_ name: String, _ interpreter: String) throws {
        let d = try start()
        let other = try DaemonProcess(["--env", "development", "--cluster", "eu", "--name", "n2", "--peer", "127.0.0.1:\(d.port)"])
        daemons.append(other)
        XCTAssertTrue(eventually(within: 10) {
            ((try? http("GET", other.port, "/_status").json["links"] as? [[String: Any]])?.first?["state"] as? String) == "up"
        })
        // Registered through our API: seen through Consul's.
        XCTAssertEqual(try http("PUT", d.port, "/api/api-1", body: #"{"host":"10.9.0.1","port":9000,"tags":["blue"],"team":"core","weight":3}"#).status, 201)
        let script = """
        import consul, sys, threading, time
        c = consul.Consul(host="127.0.0.1", port=int(sys.argv[1]))
        elsewhere = consul.Consul(host="127.0.0.1", port=int(sys.argv[2]))
        me = c.agent.self()
        print("self", me["Config"]["Datacenter"], me["Config"]["NodeName"])
        print("dcs", c.catalog.datacenters())
        i, nodes = c.health.service("api", passing=True)
        s = nodes[0]["Service"]
        print("api", s["ID"], s["Address"], s["Port"], s["Tags"], sorted(s["Meta"].items()), nodes[0]["Node"]["Node"], nodes[0]["Checks"][1]["Status"])
        print("register", c.agent.service.register("web", service_id="web-1", address="10.0.0.1", port=8080, tags=["a", "b"], check=consul.Check.ttl("3s")))
        print("pass", c.agent.check.ttl_pass("service:web-1"))
        i, svcs = c.catalog.services()
        print("services", sorted((k, sorted(v)) for k, v in svcs.items()), int(i) > 0)
        i, nodes = c.health.service("web", tag="a")
        print("web", [(n["Service"]["ID"], n["Service"]["Port"]) for n in nodes], int(i) > 0)
        print("web tag c", c.health.service("web", tag="c")[1])
        # A blocking query here returns when the other daemon registers.
        i, _ = c.health.service("web", passing=True)
        out = {}
        def block():
            t = time.time()
            out["r"] = c.health.service("web", index=i, wait="10s", passing=True)
            out["t"] = time.time() - t
        th = threading.Thread(target=block); th.start()
        time.sleep(0.5)
        elsewhere.agent.service.register("web", service_id="web-2", address="10.0.0.2", port=8081, check=consul.Check.ttl("30s"))
        th.join()
        r = out["r"][1]
        print("blocked", round(out["t"], 1) < 2.5, int(out["r"][0]) != int(i), sorted((n["Service"]["ID"], n["Node"]["Node"]) for n in r))
        # Passing the TTL check keeps web-1; web-1 lives while it passes.
        for _ in range(4):
            time.sleep(1); c.agent.check.ttl_pass("service:web-1")
        print("alive", sorted(n["Service"]["ID"] for n in c.health.service("web")[1]))
        print("not here", c.agent.service.deregister("web-2"))
        print("deregister", elsewhere.agent.service.deregister("web-2"))
        for _ in range(50):
            if [n["Service"]["ID"] for n in c.health.service("web")[1]] == ["web-1"]: break
            time.sleep(0.1)
        print("after", sorted(n["Service"]["ID"] for n in c.health.service("web")[1]))
        """
        let out = try python(script, ["\(d.port)", "\(other.port)"], interpreter: interpreter)
        func has(_ s: String, _ why: String = "") { XCTAssertTrue(out.contains(s), "\(name): \(why) expected '\(s)' in:\n\(out)") }
        has("self eu n1")
        has("dcs ['eu']")
        has("api api-1 10.9.0.1 9000 ['blue'] [('team', 'core')] n1 passing")
        has("register True")
        has("pass True")
        has("services [('api', ['blue']), ('web', ['a', 'b'])] True")
        has("web [('web-1', 8080)] True")
        has("web tag c []")
        has("blocked True True [('web-1', 'n1'), ('web-2', 'n2')]", "a blocking query returns at a change at another daemon")
        has("alive ['web-1', 'web-2']", "a passing TTL check keeps the instance past its TTL")
        has("not here False", "an agent deregisters only its own")
        has("deregister True")
        has("after ['web-1']")
        // Registered through Consul's API: seen through ours.
        let ours = try http("GET", d.port, "/web/web-1").json
        XCTAssertEqual(ours["host"] as? String, "10.0.0.1")
        XCTAssertEqual(ours["port"] as? Int, 8080)
        XCTAssertEqual(ours["tags"] as? [String], ["a", "b"])
        XCTAssertEqual(ours["check_ttl"] as? Int, 3)
        // Its TTL check not passed: gone within the TTL and a second.
        XCTAssertTrue(eventually(within: 5) { (try? http("GET", d.port, "/web/web-1").status) == 404 }, name)
    }

    func test_consulIndex_neverZero_movesOnlyWithTheAnswer_andBlockingQueriesWaitOrReturnAtTheChange() throws {
        let d = try start()
        func get(_ path: String) throws -> (index: UInt64, body: String, headers: Response) {
            let r = try http("GET", d.port, path)
            XCTAssertEqual(r.status, 200, path)
            return (UInt64(r.header("X-Consul-Index") ?? "") ?? 0, r.text.trimmingCharacters(in: .whitespacesAndNewlines), r)
        }
        // An unknown service: an empty answer whose index is not 0.
        let empty = try get("/v1/health/service/web")
        XCTAssertEqual(empty.body, "[]")
        XCTAssertGreaterThan(empty.index, 0)
        XCTAssertEqual(empty.headers.header("X-Consul-KnownLeader"), "true")
        XCTAssertEqual(empty.headers.header("X-Consul-LastContact"), "0")
        // Another service's change does not move web's index.
        XCTAssertEqual(try http("PUT", d.port, "/db/d1", body: #"{"host":"10.0.0.9","port":5432}"#).status, 201)
        XCTAssertEqual(try get("/v1/health/service/web").index, empty.index)
        XCTAssertEqual(try http("PUT", d.port, "/web/w1", body: #"{"host":"10.0.0.1","port":80}"#).status, 201)
        let one = try get("/v1/health/service/web")
        XCTAssertGreaterThan(one.index, empty.index)
        // A refresh that changes nothing changes no index.
        XCTAssertEqual(try http("PUT", d.port, "/web/w1", body: #"{"host":"10.0.0.1","port":80}"#).status, 200)
        XCTAssertEqual(try get("/v1/health/service/web").index, one.index)
        // The list of services: a port change of web leaves it as it was.
        let list = try get("/v1/catalog/services")
        XCTAssertEqual(try http("PUT", d.port, "/web/w1", body: #"{"host":"10.0.0.1","port":81}"#).status, 200)
        XCTAssertEqual(try get("/v1/catalog/services").index, list.index, "the list did not change, nor may its index")
        let moved = try get("/v1/health/service/web")
        XCTAssertGreaterThan(moved.index, one.index)

        // A blocking query at the current index waits out its wait (1 s, plus at most 1/16)...
        var started = Date()
        let waited = try get("/v1/health/service/web?index=\(moved.index)&wait=1s")
        let took = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(took, 0.95)
        XCTAssertLessThan(took, 1.6)
        XCTAssertEqual(waited.index, moved.index)
        // ...an old index returns at once...
        started = Date()
        _ = try get("/v1/health/service/web?index=\(one.index)&wait=5s")
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.3)
        // ...and one parked returns at the change, not before and not after.
        let parked = try RawConnection(port: d.port, timeoutSeconds: 10)
        try parked.send("GET /v1/health/service/web?index=\(moved.index)&wait=8s HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(300_000)
        XCTAssertEqual(try http("PUT", d.port, "/db/d2", body: #"{"host":"10.0.0.8"}"#).status, 201)  // another service
        usleep(300_000)
        started = Date()
        XCTAssertEqual(try http("DELETE", d.port, "/web/w1").status, 200)
        let woken = try parked.readResponse()
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.5)
        XCTAssertEqual(woken.text.trimmingCharacters(in: .whitespacesAndNewlines), "[]")
        let gone = UInt64(woken.header("X-Consul-Index") ?? "") ?? 0
        XCTAssertGreaterThan(gone, moved.index)
        // The empty answer keeps its index until web changes again.
        XCTAssertEqual(try http("PUT", d.port, "/db/d3", body: #"{"host":"10.0.0.7"}"#).status, 201)
        XCTAssertEqual(try get("/v1/health/service/web").index, gone)
        // A wait beyond ten minutes is ten minutes; a malformed one is refused.
        XCTAssertEqual(try http("GET", d.port, "/v1/health/service/web?index=1&wait=soon").status, 400)
    }

    func test_badInput_getsConsulsStatusCodes_andChangesNothing_andTokensApply() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rarangi-consul-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokens = dir.appendingPathComponent("tokens")
        try "s3cret-web-0123456789 web-*\ns3cret-all-0123456789 *\n".write(to: tokens, atomically: true, encoding: .utf8)
        let d = try start(["--token-file", tokens.path])
        func register(_ body: String, token: String? = "s3cret-all-0123456789") throws -> Response {
            try http("PUT", d.port, "/v1/agent/service/register", body: body, headers: token.map { ["X-Consul-Token": $0] } ?? [:])
        }
        XCTAssertEqual(try register(#"{"ID":"x"}"#).status, 400)
        XCTAssertEqual(try register(#"{"Name":"web","Port":70000}"#).status, 400)
        XCTAssertEqual(try register(#"{"Name":"web","Check":{"HTTP":"http://x/","Interval":"10s"}}"#).json["error"] as? String, "unsupported_check")
        XCTAssertEqual(try register(#"{"Name":"web","Meta":{"host":"evil"}}"#).json["error"] as? String, "invalid_meta")
        XCTAssertEqual(try register(#"{"Name":"bad name"}"#).status, 400)
        XCTAssertEqual(try register("{").status, 400)
        XCTAssertEqual(try http("GET", d.port, "/").text.trimmingCharacters(in: .whitespacesAndNewlines), "{}", "nothing registered")
        // Tokens: none → 401; one for web-* cannot register db; X-Consul-Token and ?token= both count.
        XCTAssertEqual(try register(#"{"Name":"web-a","Address":"10.0.0.1","Port":1}"#, token: nil).status, 401)
        XCTAssertEqual(try register(#"{"Name":"db","Address":"10.0.0.1","Port":1}"#, token: "s3cret-web-0123456789").status, 403)
        XCTAssertEqual(try register(#"{"Name":"web-a","Address":"10.0.0.1","Port":1}"#, token: "s3cret-web-0123456789").status, 200)
        XCTAssertEqual(try http("PUT", d.port, "/v1/agent/service/register?token=s3cret-web-0123456789", body: #"{"Name":"web-b","Port":2}"#).status, 200)
        XCTAssertEqual(try http("PUT", d.port, "/v1/agent/service/deregister/web-a").status, 401)
        XCTAssertEqual(try http("PUT", d.port, "/v1/agent/service/deregister/nosuch", headers: ["X-Consul-Token": "s3cret-all-0123456789"]).status, 404)
        XCTAssertEqual(try http("PUT", d.port, "/v1/agent/service/deregister/web-a", headers: ["X-Consul-Token": "s3cret-web-0123456789"]).status, 200)
        XCTAssertEqual(try http("GET", d.port, "/web-a").text.trimmingCharacters(in: .whitespacesAndNewlines), "{}")
        // Methods and paths: GET on a write is 405, an unknown endpoint 404, a service named v1 refused.
        XCTAssertEqual(try http("GET", d.port, "/v1/agent/service/register").status, 405)
        XCTAssertEqual(try http("GET", d.port, "/v1/kv/anything").status, 404)
        XCTAssertEqual(try http("PUT", d.port, "/v1/i1", body: #"{"host":"h"}"#, headers: ["X-Consul-Token": "s3cret-all-0123456789"]).status, 404)
        XCTAssertEqual(try http("PUT", d.port, "/v1x/i1", body: #"{"host":"h"}"#, headers: ["X-Consul-Token": "s3cret-all-0123456789"]).status, 201)
        XCTAssertTrue(d.process.isRunning)
    }

    func test_agentIDs_areOnePerAgent_checkIDsWithColons_filterKeysApart_andBadTTLsRefused() throws {
        let d = try start()
        func put(_ path: String, _ body: String = "") throws -> Int { try http("PUT", d.port, path, body: body).status }
        // A check_ttl written through our API that Consul's would refuse: a check pass is refused, the daemon lives.
        XCTAssertEqual(try put("/boom/b1", #"{"host":"10.10.0.1","check_ttl":9223372036854775807}"#), 201)
        XCTAssertEqual(try put("/v1/agent/check/pass/service:b1"), 400)
        XCTAssertEqual(try put("/boom/b2", #"{"host":"10.10.0.2","check_ttl":0}"#), 201)
        XCTAssertEqual(try put("/v1/agent/check/pass/service:b2"), 400)
        XCTAssertTrue(d.process.isRunning)
        // An ID holding ':' is its own check, not the ID before the colon.
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"red","ID":"red:6379","Port":6379,"Check":{"TTL":"2s"}}"#), 200)
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"red","ID":"red","Port":6380,"Check":{"TTL":"2s"}}"#), 200)
        for _ in 0..<4 {
            usleep(800_000)
            XCTAssertEqual(try put("/v1/agent/check/pass/service:red:6379"), 200)
        }
        XCTAssertEqual(try http("GET", d.port, "/red/red:6379").status, 200, "the instance whose check passed is alive")
        XCTAssertEqual(try http("GET", d.port, "/red/red").status, 404, "the other expired")
        XCTAssertEqual(try put("/v1/agent/check/pass/service:red:6379:1"), 200, "service:ID:N names one of several checks")
        // The same ID under another name replaces the registration, as Consul's agent does.
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"zeta","ID":"svc1","Port":1}"#), 200)
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"alpha","ID":"svc1","Port":2}"#), 200)
        XCTAssertEqual(try http("GET", d.port, "/zeta/svc1").status, 404)
        XCTAssertEqual(try http("GET", d.port, "/alpha/svc1").status, 200)
        // Tag filters that differ only in where a comma falls are different queries.
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"tg","ID":"tg1","Tags":["a","b"]}"#), 200)
        XCTAssertEqual(try put("/v1/agent/service/register", #"{"Name":"tg","ID":"tg2","Tags":["a,b"]}"#), 200)
        for endpoint in ["catalog/service", "health/service"] {
            let both = try http("GET", d.port, "/v1/\(endpoint)/tg?tag=a&tag=b").text
            let comma = try http("GET", d.port, "/v1/\(endpoint)/tg?tag=a,b").text
            XCTAssertTrue(both.contains("tg1") && !both.contains("tg2"), both)
            XCTAssertTrue(comma.contains("tg2") && !comma.contains("tg1"), comma)
        }
    }
}
