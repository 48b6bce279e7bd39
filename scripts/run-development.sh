#!/usr/bin/env bash
# Installs what is needed, builds rarangid in release mode and runs both slots
# of the development environment on their well-known ports (4740 and 4741).
# Ctrl-C stops both. Extra arguments go to both daemons (e.g. --liveness 30).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
swift build -c release --product rarangid
bin=$(swift build -c release --show-bin-path)/rarangid
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT
"$bin" --env development --slot a --name "$(hostname -s)-development-a" "$@" & pids+=($!)
"$bin" --env development --slot b --name "$(hostname -s)-development-b" "$@" & pids+=($!)
echo "development catalogue on http://localhost:4740 (slot a) and http://localhost:4741 (slot b); Ctrl-C stops" >&2
wait -n "${pids[@]}"
