#!/usr/bin/env bash
# The daemon's footprint beside a reference build, measured in the same run:
# the Debian package's size, the size of rarangid as packaged (stripped) and
# as built (static Swift runtime, unstripped), ICU and Foundation symbols in
# it, the time from exec to the first answered GET (median of --runs) and
# the idle resident memory (VmRSS --idle seconds after the first answer,
# median of --runs). Starts and answers alternate between the two builds,
# so machine noise falls on both alike.
#
#     bench/footprint.sh                          # this checkout beside the last revision with Yams
#     bench/footprint.sh --ref REV                # ... beside revision REV
#     bench/footprint.sh --ref-deb DEB [--ref-bin BIN] [--deb DEB] [--bin BIN]
#     bench/footprint.sh --runs 10 --idle 3
#
# Without --deb, this checkout's package is built with packaging/build-deb.sh
# (root: it installs the build dependencies); without --ref-deb, REV's
# package is built the same way in a scratch copy (`git archive`). The
# default REV is the parent of the commit that took Yams out of
# Package.swift, or HEAD while it is still there. BIN is the unstripped
# static rarangid the package build leaves in .build-deb/; the daemons run
# from the package's stripped copy, on free loopback ports, with a small
# configuration file (so the YAML reader runs too), and are stopped by PID.
#
# bench/lib.sh is not sourced: its release build and benchmark tools are
# not what is measured here (the package build is), so the few helpers
# needed are below.
cd "$(dirname "$0")/.."
set -euo pipefail

ref="" ref_deb="" ref_bin="" deb="" bin="" runs=10 idle=3
while (($#)); do
  case $1 in
    --ref) ref=${2:?--ref needs a revision}; shift 2 ;;
    --ref-deb) ref_deb=$(realpath "${2:?--ref-deb needs a file}"); shift 2 ;;
    --ref-bin) ref_bin=$(realpath "${2:?--ref-bin needs a file}"); shift 2 ;;
    --deb) deb=$(realpath "${2:?--deb needs a file}"); shift 2 ;;
    --bin) bin=$(realpath "${2:?--bin needs a file}"); shift 2 ;;
    --runs) runs=${2:?--runs needs a count}; shift 2 ;;
    --idle) idle=${2:?--idle needs seconds}; shift 2 ;;
    -h | --help) sed -n '2,26s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "footprint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1 && runs <= 100)) || { echo "--runs: 1 to 100" >&2; exit 2; }
[[ $idle =~ ^[0-9]+$ ]] && ((idle <= 60)) || { echo "--idle: 0 to 60 seconds" >&2; exit 2; }

work=$(mktemp -d)
# Daemons the timing helper starts write their PIDs here, one a line.
: >"$work/pids"
cleanup() {
  local p
  while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$work/pids"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'footprint: %s\n' "$*" >&2; }

# Builds the package of the source tree DIR; prints the .deb's path.
build_deb() { # DIR
  local log=$work/build-$(basename "$1").log
  say "building the package of ${1} (log: packaging/build-deb.sh)"
  if ! "$1/packaging/build-deb.sh" --no-lintian >"$log" 2>&1; then
    tail -20 "$log" >&2; echo "footprint.sh: the package build of $1 failed" >&2; exit 1
  fi
  tail -1 "$log"
}
# The unstripped static rarangid the package build of DIR left behind.
built_bin() { # DIR
  find "$1/.build-deb/src" -path '*/.build-release/*/release/rarangid' -type f 2>/dev/null | head -1
}

# --- the two builds (this checkout first: it is the one being worked on) -----
if [[ -z $deb ]]; then
  thisname="this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ', with changes'))"
  deb=$(build_deb "$PWD")
  [[ -n $bin ]] || bin=$(built_bin "$PWD")
else
  thisname=$deb
fi

if [[ -z $ref_deb ]]; then
  if [[ -z $ref ]]; then
    if git show HEAD:Package.swift | grep -q 'jpsim/Yams'; then ref=HEAD
    else ref=$(git log -1 --format=%H -G 'jpsim/Yams' -- Package.swift)^; fi
  fi
  refname="$(git rev-parse --short "$ref") ($ref)"
  mkdir -p "$work/ref"
  git archive "$ref" | tar -C "$work/ref" -xf -
  # The same pins as this checkout, where they apply.
  [[ -f Package.resolved ]] && cp Package.resolved "$work/ref/"
  ref_deb=$(build_deb "$work/ref")
  ref_bin=$(built_bin "$work/ref")
else
  refname=$ref_deb
fi
for side in ref this; do
  d=ref_deb; [[ $side == this ]] && d=deb
  mkdir -p "$work/x-$side"
  dpkg-deb -x "${!d}" "$work/x-$side"
  [[ -x $work/x-$side/usr/sbin/rarangid ]] || { echo "footprint.sh: ${!d} has no usr/sbin/rarangid" >&2; exit 1; }
done

# --- start time and idle memory --------------------------------------------------
cat >"$work/config.yaml" <<'YAML'
# What a packaged daemon reads at start (packaging/debian/instance.yaml.in).
env: testing
slot: a
cluster: default
name: footprint
peers: []
master: false
liveness: 90
gossip_interval: 1s
YAML

# Prints, per run and build, "BUILD START_MS RSS_KIB".
/usr/bin/python3 - "$work/x-ref/usr/sbin/rarangid" "$work/x-this/usr/sbin/rarangid" "$work/config.yaml" "$work/pids" "$runs" "$idle" <<'PY' >"$work/runs"
import socket, subprocess, sys, time
ref, this, config, pidfile, runs, idle = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def answered(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def one(binary):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "--config", config, "--listen", f"127.0.0.1:{port}", "--log-level", "error"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(pidfile, "a") as f: f.write(f"{p.pid}\n")
    try:
        deadline = t0 + 10
        while not answered(port):
            if p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{binary} gave no answer on port {port} within 10 s")
            time.sleep(0.001)
        ms = (time.monotonic() - t0) * 1000
        if idle: time.sleep(idle)
        rss = next(int(l.split()[1]) for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS:"))
        return ms, rss
    finally:
        p.kill(); p.wait()

# One start of each, not counted, brings both binaries into the page cache;
# then the order alternates, so neither always starts right after the other.
pair = [("ref", ref), ("this", this)]
for _, binary in pair:
    one(binary)
for n in range(runs):
    for name, binary in (pair if n % 2 == 0 else pair[::-1]):
        ms, rss = one(binary)
        print(name, f"{ms:.2f}", rss, flush=True)
PY

# --- the table ---------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
spread() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
size() { stat -c %s "$1"; }
# Symbols of ICU (its data and the functions _FoundationICU renames) and of
# Foundation proper (FoundationEssentials, which carries no ICU, not counted).
icu_syms() { if [[ -n $1 ]]; then nm "$1" 2>/dev/null | grep -cE ' (icudt[0-9]+_dat|swift_u[a-z]+_[A-Za-z0-9_]+)$' || true; else echo "-"; fi; }
foundation_syms() { if [[ -n $1 ]]; then nm "$1" 2>/dev/null | grep -c '\$s10Foundation' || true; else echo "-"; fi; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sed 's/\.so.*//' | paste -sd' '; }

for side in ref this; do
  d=ref_deb b=ref_bin; [[ $side == this ]] && d=deb b=bin
  declare -A "m_$side"
  declare -n m="m_$side"
  m[deb]=$(mib "$(size "${!d}")")
  m[installed]=$(awk -v k="$(dpkg-deb --field "${!d}" Installed-Size)" 'BEGIN {printf "%.1f", k / 1024}')
  m[stripped]=$(mib "$(size "$work/x-$side/usr/sbin/rarangid")")
  m[cli]=$([[ -f $work/x-$side/usr/bin/rarangi ]] && mib "$(size "$work/x-$side/usr/bin/rarangi")" || echo "-")
  m[built]=$([[ -n ${!b} ]] && mib "$(size "${!b}")" || echo "-")
  m[icu]=$(icu_syms "${!b}")
  m[foundation]=$(foundation_syms "${!b}")
  m[start]=$(awk -v s=$side '$1==s {print $2}' "$work/runs" | median)
  m[start_spread]=$(awk -v s=$side '$1==s {print $2}' "$work/runs" | spread)
  m[rss]=$(awk -v s=$side '$1==s {print $3 / 1024}' "$work/runs" | median)
  m[needed]=$(needed "$work/x-$side/usr/sbin/rarangid")
  m[depends]=$(dpkg-deb --field "${!d}" Depends)
  unset -n m
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2f", b / a }'; }
row() { printf '%-52s %12s %12s %9s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
printf '\nreference: %s\nthis:      %s\n\n' "$refname" "$thisname"
printf '%-52s %12s %12s %9s\n' "rarangid footprint" "reference" "this" "this/ref"
row "Debian package (.deb), MiB" "${m_ref[deb]}" "${m_this[deb]}"
row "package installed size, MiB" "${m_ref[installed]}" "${m_this[installed]}"
row "rarangid in the package (stripped), MiB" "${m_ref[stripped]}" "${m_this[stripped]}"
row "rarangi, the client, in the package (stripped), MiB" "${m_ref[cli]}" "${m_this[cli]}"
row "rarangid static build (unstripped), MiB" "${m_ref[built]}" "${m_this[built]}"
row "ICU symbols in rarangid (nm)" "${m_ref[icu]}" "${m_this[icu]}"
row "Foundation symbols in rarangid (nm)" "${m_ref[foundation]}" "${m_this[foundation]}"
row "start to first answer, ms (median of $runs)" "${m_ref[start]}" "${m_this[start]}"
row "idle resident memory after ${idle} s, MiB (median of $runs)" "${m_ref[rss]}" "${m_this[rss]}"
printf '\nstart, ms, fastest-slowest: reference %s, this %s\n' "${m_ref[start_spread]}" "${m_this[start_spread]}"
printf 'NEEDED, reference: %s\nNEEDED, this:      %s\n' "${m_ref[needed]}" "${m_this[needed]}"
printf 'Depends, reference: %s\nDepends, this:      %s\n' "${m_ref[depends]}" "${m_this[depends]}"
