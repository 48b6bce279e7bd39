#!/bin/sh
# Client-side benchmark: kill -9 of a holder -> disappearance, watch
# notification latency, 10,000 held registrations (memory, re-register).
# Usage: bench/client.sh [--rounds N] [--holders N]
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product rarangid >/dev/null
swift build -c release --product rarangi-bench >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "rarangi client benchmark on $(nproc) cores, $(uname -sr)"
exec .build/release/rarangi-bench --rarangid .build/release/rarangid "$@"
