#!/usr/bin/env bash
# The choice of /metrics writer, measured: swift-prometheus against the
# daemon's PrometheusText for an increment on the request path and for one
# scrape of the daemon's families. Prints a table with the ratios.
set -euo pipefail
cd "$(dirname "$0")/metrics-writer"
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product metrics-writer >/dev/null
"$(swift build -c release --show-bin-path)/metrics-writer"
