#!/usr/bin/env bash
# Installs what the tests need and runs every test: unit, simulation and
# end-to-end tests of the real binaries (swift test), plus the man page lint.
# Some end-to-end tests need root (network cuts); they skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
swift build --build-tests
lint=$(mandoc -Tlint -W warning man/*.[1-8] 2>&1 || true)
if [[ -n $lint ]]; then
  echo "man page lint failed:" >&2
  echo "$lint" >&2
  exit 1
fi
swift test --skip-build "$@"
