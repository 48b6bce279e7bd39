#!/usr/bin/env bash
# Installs the Debian packages RarangiRatonga needs. Usage:
#   scripts/install-deps.sh run    # building and running the daemon
#   scripts/install-deps.sh test   # plus everything the test suite uses
#   scripts/install-deps.sh bench  # plus the benchmark tools and reference
set -euo pipefail
what=${1:-run}
packages=(libevent-dev libyaml-dev pkg-config curl ca-certificates)
case "$what" in
  run) ;;
  test) packages+=(mandoc iproute2 iptables procps python3 faketime gcc libc6-dev coreutils prometheus chromium dnsutils python3-dnspython python3-consul python3-venv) ;;
  bench) packages+=(mandoc iproute2 iptables procps wrk nginx python3 faketime gcc libc6-dev coreutils dnsperf dnsmasq-base dnsutils) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The tests also drive the Consul API with py-consul from PyPI (Debian ships
# the older python-consul as python3-consul): a virtual environment of our
# own under .build, made once.
if [[ $what == test ]]; then
  venv="$(cd "$(dirname "$0")/.." && pwd)/.build/venv-test"
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import consul' 2>/dev/null; then
    echo "installing: py-consul (PyPI) into .build/venv-test" >&2
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check py-consul
  fi
fi
