#!/usr/bin/env bash
# RarangiRatonga beside etcd and ZooKeeper, all started by this script on
# loopback and measured in the same run:
#   - six rarangid (clusters a and b, each two masters and a leaf),
#   - a 3-member etcd cluster (Debian etcd-server, default heartbeat 100 ms,
#     election timeout 1 s),
#   - a 3-server ZooKeeper ensemble (Debian zookeeper, tickTime 2000 ms,
#     run with java directly, -Xmx1000m as upstream zkEnv.sh sets it).
# Prints one table (bench/peers.py): propagation to a watcher, kill -9 of a
# held registration / lease keepalive / ephemeral node's session to gone at
# another member, resident memory per record, lookups/s and registrations/s.
# Usage: bench/peers.sh [SECONDS per wrk run, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}

# The peers and the Python client of ZooKeeper, from Debian; nothing when present.
need=()
for p in etcd-server etcd-client zookeeper python3-kazoo default-jre-headless wrk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
. bench/lib.sh
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

fail() { # MESSAGE LOG...
  echo "peers.sh: $1" >&2; shift
  for f in "$@"; do echo "--- tail of $(basename "$f")" >&2; tail -n 30 "$f" >&2 || true; done
  exit 1
}
# Waits up to SECONDS for COMMAND to succeed.
wait_for() { # SECONDS COMMAND...
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < end)) || return 1; sleep 0.1; done
}

# --- etcd: three members, each with its own data directory.
cluster="" ec=() ep=()
for i in 1 2 3; do
  ec[$i]=$(free_port); ep[$i]=$(free_port)
  cluster+="${cluster:+,}e$i=http://127.0.0.1:${ep[$i]}"
done
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$work/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${ec[$i]}" --advertise-client-urls "http://127.0.0.1:${ec[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${ep[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${ep[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token rarangi-bench \
    --log-level warn 2>"$work/etcd$i.log" &
  pids+=($!); epid[$i]=$!
done
etcd_endpoints="127.0.0.1:${ec[1]},127.0.0.1:${ec[2]},127.0.0.1:${ec[3]}"
wait_for 30 etcdctl --endpoints "$etcd_endpoints" endpoint health \
  || fail "etcd did not become healthy in 30 s" "$work"/etcd{1,2,3}.log

# --- ZooKeeper: three servers, each with its own configuration and data.
zk_cp="/usr/share/java/zookeeper.jar"
[[ -r $zk_cp ]] || fail "no $zk_cp (Debian package zookeeper)"
zc=() zq=() zl=() servers=""
for i in 1 2 3; do
  zc[$i]=$(free_port); zq[$i]=$(free_port); zl[$i]=$(free_port)
  servers+="server.$i=127.0.0.1:${zq[$i]}:${zl[$i]}"$'\n'
done
for i in 1 2 3; do
  d="$work/zk$i"; mkdir -p "$d/data" "$d/conf"
  echo "$i" >"$d/data/myid"
  cat >"$d/conf/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$d/data
clientPort=${zc[$i]}
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
$servers
CFG
  cp /etc/zookeeper/conf/log4j.properties "$d/conf/" 2>/dev/null || true
  java -Xmx1000m -cp "$d/conf:$zk_cp" -Dzookeeper.log.dir="$d" -Dzookeeper.root.logger=WARN,CONSOLE \
    -Dzookeeper.console.threshold=WARN org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/conf/zoo.cfg" \
    >"$work/zk$i.log" 2>&1 &
  pids+=($!); zpid[$i]=$!
done
zk_mode() { python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),2); s.sendall(b"srvr"); d=b"";
while True:
  c=s.recv(4096)
  if not c: break
  d+=c
m=[l for l in d.decode().splitlines() if l.startswith("Mode:")]; sys.exit(0 if m and m[0].split()[1] in ("leader","follower") else 1)' "$1"; }
for i in 1 2 3; do
  wait_for 60 zk_mode "${zc[$i]}" || fail "ZooKeeper server $i did not join a quorum in 60 s" "$work"/zk{1,2,3}.log
done

# --- rarangid: clusters a and b, each two masters and a leaf (bench/replication.py's topology).
declare -A rp rpid
for n in ma1 ma2 la mb1 mb2 lb; do rp[$n]=$(free_port); done
start_daemon() { # NAME ARGS...
  local n=$1; shift
  "$bin" --env testing --name "$n" --listen "127.0.0.1:${rp[$n]}" --gossip-interval 1000 --liveness 3600 \
    --log-level warn "$@" 2>"$work/rarangid-$n.log" &
  pids+=($!); rpid[$n]=$!
}
start_daemon ma1 --cluster a --master
start_daemon ma2 --cluster a --master --peer "127.0.0.1:${rp[ma1]}"
start_daemon la --cluster a --peer "127.0.0.1:${rp[ma1]}" --peer "127.0.0.1:${rp[ma2]}"
start_daemon mb1 --cluster b --master --peer "127.0.0.1:${rp[ma1]}"
start_daemon mb2 --cluster b --master --peer "127.0.0.1:${rp[mb1]}"
start_daemon lb --cluster b --peer "127.0.0.1:${rp[mb1]}" --peer "127.0.0.1:${rp[mb2]}"
for n in ma1 ma2 la mb1 mb2 lb; do
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:${rp[$n]}/_status" || fail "rarangid $n did not answer in 10 s" "$work/rarangid-$n.log"
done
meshed() { # every master reaches the three others, and both leaves have their two links up
  for n in ma1 ma2 mb1 mb2; do
    curl -sf "http://127.0.0.1:${rp[$n]}/_status" | python3 -c 'import json,sys; n=sys.argv[1]; d=json.load(sys.stdin); sys.exit(0 if len(d["masters"].get(n,{}).get("reaches",[]))==3 else 1)' "$n" || return 1
  done
  for n in la lb; do
    curl -sf "http://127.0.0.1:${rp[$n]}/_status" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if sum(1 for l in d["links"] if l["state"]=="up")>=2 else 1)' || return 1
  done
}
wait_for 20 meshed || fail "the six rarangid did not mesh in 20 s" "$work"/rarangid-*.log

cat >"$work/endpoints.json" <<JSON
{"work": "$work", "secs": $secs,
 "rarangi": {"ports": {"ma1": ${rp[ma1]}, "ma2": ${rp[ma2]}, "la": ${rp[la]}, "mb1": ${rp[mb1]}, "mb2": ${rp[mb2]}, "lb": ${rp[lb]}},
             "pids": {"ma1": ${rpid[ma1]}, "ma2": ${rpid[ma2]}, "la": ${rpid[la]}, "mb1": ${rpid[mb1]}, "mb2": ${rpid[mb2]}, "lb": ${rpid[lb]}}},
 "etcd": {"ports": [${ec[1]}, ${ec[2]}, ${ec[3]}], "pids": [${epid[1]}, ${epid[2]}, ${epid[3]}]},
 "zookeeper": {"ports": [${zc[1]}, ${zc[2]}, ${zc[3]}], "pids": [${zpid[1]}, ${zpid[2]}, ${zpid[3]}]}}
JSON
/usr/bin/python3 bench/peers.py "$work/endpoints.json"
