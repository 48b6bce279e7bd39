#!/bin/sh
# The scale simulation (MISSION B9): real cores in virtual time, 1 ms per
# hop plus queueing at each sender (1 Gbit/s). Prints one table per shape:
# hops and time for a change to reach 50/99/100 % of daemons, record frames
# a master sends per change, idle bytes per connection, a silent leaf's
# registration gone, a 10 % partition's heal, wall time and peak memory.
# Usage: bench/simulate.sh [SHAPE...]   SHAPE = CLUSTERSxLEAVES (default: 20x48 20x98)
#        extra flags for rarangi-sim go in RARANGI_SIM_FLAGS (e.g. "--seed 7 --probes 10")
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product rarangi-sim >/dev/null
bin=$(swift build -c release --show-bin-path)/rarangi-sim
[ $# -gt 0 ] || set -- 20x48 20x98
for shape in "$@"; do
  clusters=${shape%x*} leaves=${shape#*x}
  # shellcheck disable=SC2086
  "$bin" --clusters "$clusters" --leaves "$leaves" --quiet ${RARANGI_SIM_FLAGS:-}
done
