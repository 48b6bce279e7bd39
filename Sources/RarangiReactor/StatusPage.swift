/// `GET /_ui`: one self-contained page (no external assets) that shows the
/// daemon's identity, its links, origins and their staleness, the partition
/// verdict and the services with their instances. It polls `/_status` and
/// `/_sd/prometheus` every two seconds, so it updates without a reload; a
/// token for daemons that require one on reads is taken from the URL's
/// fragment (`/_ui#token=…`) and never leaves the browser but as a header.
enum StatusPage {
    static let html: [UInt8] = Array(text.utf8)

    private static let text = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rarangid</title>
<style>
:root { --fg:#1d2329; --muted:#5b6670; --bg:#f6f7f8; --card:#fff; --line:#dde1e5; --ok:#1a7f37; --bad:#c62828; --warn:#b26a00; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { padding:14px 16px; background:var(--card); border-bottom:1px solid var(--line); display:flex; flex-wrap:wrap; gap:8px 16px; align-items:baseline; }
h1 { font-size:20px; margin:0; }
h2 { font-size:16px; margin:0 0 8px; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:2px 10px; border-radius:999px; font-weight:600; font-size:13px; color:#fff; }
.ok { background:var(--ok); } .bad { background:var(--bad); } .warn { background:var(--warn); }
main { padding:12px; display:grid; gap:12px; grid-template-columns:repeat(auto-fit, minmax(min(100%, 440px), 1fr)); }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px; overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:4px 8px 4px 0; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:600; }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.svc { font-weight:600; padding-top:8px; }
#error { color:var(--bad); padding:0 16px; }
</style>
</head>
<body>
<header>
  <h1 id="name">rarangid</h1>
  <span id="identity" class="muted"></span>
  <span id="verdict" class="badge warn">loading</span>
  <span id="updated" class="muted"></span>
</header>
<div id="error"></div>
<main>
  <section><h2>Partition</h2><table id="partition"></table></section>
  <section><h2>Links</h2><table id="links"><tr><td class="muted">none</td></tr></table></section>
  <section><h2>Origins</h2><table id="origins"></table></section>
  <section><h2>Services</h2><div id="services" class="muted">none</div></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { "Authorization": "Bearer " + token } : {};
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function row(table, cells, head) {
  const tr = el("tr");
  for (const c of cells) { const td = el(head ? "th" : "td", String(c.v ?? c), c.cls); tr.appendChild(td); }
  table.appendChild(tr);
}
function age(ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return ms + " ms";
  const s = ms / 1000;
  if (s < 120) return s.toFixed(1) + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  return Math.round(s / 3600) + " h";
}
function render(st, targets) {
  document.getElementById("name").textContent = st.name;
  document.title = st.name + " · rarangid";
  document.getElementById("identity").textContent =
    "environment " + st.environment + " · cluster " + st.cluster + " · " + (st.master ? "master" : "leaf") +
    " · " + st.instances + " instances · version " + st.version;
  const v = document.getElementById("verdict");
  const p = st.partition;
  v.textContent = p.catching_up ? "catching up" : (p.stale ? "stale: cut off from the majority" : "fresh");
  v.className = "badge " + (p.stale ? (p.catching_up ? "warn" : "bad") : "ok");
  const pt = document.getElementById("partition"); pt.replaceChildren();
  row(pt, ["components", { v: p.components, cls: "num" }]);
  row(pt, ["members in mine / largest", { v: p.mine + " / " + p.largest, cls: "num" }]);
  row(pt, ["known members / masters", { v: p.known_members + " / " + p.known_masters, cls: "num" }]);
  if (p.retired.length) row(pt, ["retired", p.retired.join(", ")]);
  const lt = document.getElementById("links"); lt.replaceChildren();
  if (st.links.length) {
    row(lt, ["link", "peer", "state", "up for", "last heard"], true);
    for (const l of st.links) {
      row(lt, [l.id + (l.target ? " → " + l.target : ""), l.peer || "—", l.state + (l.slow ? " (slow)" : ""),
               l.state === "up" ? age(st.now_ms - l.up_since_ms) : "—",
               l.last_heard_ms ? age(st.now_ms - l.last_heard_ms) + " ago" : "—"]);
    }
  } else row(lt, [{ v: "no links", cls: "muted" }]);
  const ot = document.getElementById("origins"); ot.replaceChildren();
  row(ot, ["origin", { v: "records", cls: "num" }, { v: "tombstones", cls: "num" }, "newest change", "alive"], true);
  for (const o of st.origins) {
    row(ot, [o.name, { v: o.records, cls: "num" }, { v: o.tombstones, cls: "num" },
             o.newest_change_ms ? age(st.now_wall_ms - o.newest_change_ms) + " ago" : "—", o.alive ? "yes" : "no"]);
  }
  const sv = document.getElementById("services"); sv.replaceChildren();
  const by = new Map();
  for (const g of targets) {
    const s = g.labels.__meta_rarangi_service;
    if (!by.has(s)) by.set(s, []);
    by.get(s).push(g);
  }
  if (!by.size) { sv.textContent = "none"; sv.className = "muted"; return; }
  sv.className = "";
  const t = el("table"); sv.appendChild(t);
  row(t, ["instance", "address", "origin"], true);
  for (const [s, gs] of [...by.entries()].sort()) {
    const tr = el("tr"); const td = el("td", s + " (" + gs.length + ")", "svc"); td.colSpan = 3; tr.appendChild(td); t.appendChild(tr);
    for (const g of gs) row(t, [g.labels.__meta_rarangi_id, g.targets[0], g.labels.__meta_rarangi_origin]);
  }
}
async function refresh() {
  try {
    const [st, targets] = await Promise.all([
      fetch("/_status", { headers, cache: "no-store" }).then(r => { if (!r.ok) throw new Error("/_status: " + r.status); return r.json(); }),
      fetch("/_sd/prometheus", { headers, cache: "no-store" }).then(r => { if (!r.ok) throw new Error("/_sd/prometheus: " + r.status); return r.json(); }),
    ]);
    render(st, targets);
    document.getElementById("error").textContent = "";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach the daemon: " + e.message;
  }
  setTimeout(refresh, 2000);
}
refresh();
</script>
</body>
</html>
"""#
}
