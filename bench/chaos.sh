#!/usr/bin/env bash
# Chaos run of real daemons: ten rarangid (clusters a and b, two masters and
# three leaves each) in a network namespace of their own, with silent cuts,
# isolation, master splits, kill -9, restarts, a wall clock stepped back and
# slow links drawn from a seed, while clients register, refresh, hold, delete
# and look up. Prints one table (registrations checked, faults, lost, ghosts,
# longest ghost/loss/staleness, convergence after the last heal) and every
# violation; exits 1 when any was found or convergence failed. Needs root.
# The faults end 25 s before --duration; the run then waits for convergence
# (at most its bound + 5 s), so the default run takes about 100 s; the
# whole run is bounded by --duration + 180 s.
# Usage: bench/chaos.sh [--duration SECONDS] [--seed N] [--faults all|none] [--keep] [--no-build] [--bin RARANGID]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=120 seed="" faults=all keep=0 build=1 bin=""
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    --bin) bin=$2; build=0; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] || { echo "--duration takes seconds" >&2; exit 2; }
[[ $faults == all || $faults == none ]] || { echo "--faults takes all or none" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench/chaos.sh needs root (network namespace, iptables, tc)" >&2; exit 2; }
[[ -n $seed ]] || seed=$(( $(date +%s) % 100000 ))
for tool in ip iptables tc curl python3 cc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-deps.sh bench" >&2; exit 2; }
done
if ((build)); then swift build -c release --product rarangid >/dev/null; fi
[[ -n $bin ]] || bin=$(pwd)/.build/release/rarangid
[[ $bin == /* ]] || bin=$(pwd)/$bin
[[ -x $bin ]] || { echo "no $bin: build it first" >&2; exit 2; }
rundir=$(mktemp -d "${TMPDIR:-/tmp}/rarangi-chaos.XXXXXX")
ns="rarangi-chaos-$$"
cc -shared -fPIC -O2 -o "$rundir/walloffset.so" bench/chaos/walloffset.c -ldl
ftlib=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
         /usr/lib/faketime/libfaketime.so.1; do
  [[ -e $f ]] && { ftlib=$f; break; }
done
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Every process the run started, by PID (the run writes them to $rundir/pids).
  if [[ -f $rundir/pids ]]; then  # anything left, by PID
    while read -r pid; do [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true; done < "$rundir/pids"
  fi
  if [[ -n ${runpid:-} ]] && kill -0 "$runpid" 2>/dev/null; then
    kill -TERM "$runpid" 2>/dev/null || true   # timeout passes it on: the run undoes its faults
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$runpid" 2>/dev/null || break; sleep 0.5; done
  fi
  # Rules and qdiscs live in the namespace and go with it.
  ip netns del "$ns" 2>/dev/null || true
  if ((keep)) || ((rc != 0)); then echo "run directory (logs, record.json, violations.txt): $rundir" >&2
  else rm -rf "$rundir"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
replay="bench/chaos.sh --duration $duration --seed $seed --faults $faults"
echo "seed $seed; replay with: $replay"
set +e
timeout --signal=TERM --kill-after=15 $((duration + 180)) \
  ip netns exec "$ns" python3 bench/chaos/run.py --bin "$bin" --rundir "$rundir" --duration "$duration" \
    --seed "$seed" --faults "$faults" --faketime-lib "$ftlib" --shim "$rundir/walloffset.so" --replay "$replay" &
runpid=$!
wait "$runpid"
rc=$?
set -e
exit "$rc"
