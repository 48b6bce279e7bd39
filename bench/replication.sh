#!/bin/sh
# Replication benchmark (six daemons on loopback); prints a table of the
# four figures with their targets. Builds rarangid in release first.
# Usage: bench/replication.sh [--quick]
set -e
cd "$(dirname "$0")/.."
swift build -c release --product rarangid >/dev/null
exec python3 bench/replication.py .build/release/rarangid "$@"
