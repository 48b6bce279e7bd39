#!/bin/sh
# Replication benchmark (six daemons on loopback); prints a table of the
# four figures with their targets. Builds rarangid in release first.
# Usage: bench/replication.sh [--quick] [--sealed | --compare]
# (--compare: without and with a cluster key, side by side)
set -e
cd "$(dirname "$0")/.."
swift build -c release --product rarangid >/dev/null
swift build -c release --product rarangi >/dev/null
exec python3 bench/replication.py .build/release/rarangid "$@"
