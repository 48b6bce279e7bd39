# Shared by the benchmark scripts (sourced after `cd` to the project root):
# a release rarangid in $bin, a scratch directory $work, servers started
# into $pids and stopped on exit, and small helpers.
set -euo pipefail
scripts/install-deps.sh bench
swift build -c release --product rarangid >/dev/null
bin=$(swift build -c release --show-bin-path)/rarangid
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A loopback port free for both TCP and UDP.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", s.getsockname()[1])); print(s.getsockname()[1])'; }
# Waits (up to SECONDS, default 5) for an HTTP server on PORT.
wait_port() { local n=$(( ${2:-5} * 20 )); for _ in $(seq "$n"); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; exit 1; }
# Requests/s from wrk's output.
rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p'; }

# Registers the three instances of `web` every benchmark looks up, at PORT.
register_web() {
  for i in 1 2 3; do
    curl -s -o /dev/null -X PUT -d "{\"site\":\"eu-1b\",\"host\":\"ip-10-0-12-3$i.eu-west-1.compute.internal\",\"port\":3123$i,\"updated_at\":\"2026-11-21T10:00:30Z\",\"started_at\":\"2026-11-21T09:58:00Z\"}" "http://127.0.0.1:$1/web/i-$i"
  done
}

# Writes the whole answer (head and body) of rarangid at PORT to GET /web
# into FILE, and its body alone into BODY_FILE when given.
fetch_response() { # PORT FILE [BODY_FILE]
  python3 - "$1" "$2" "${3:-}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /web HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data: data += s.recv(65536)
head, _, rest = data.partition(b"\r\n\r\n")
length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
while len(rest) < length: rest += s.recv(65536)
open(sys.argv[2], "wb").write(head + b"\r\n\r\n" + rest[:length])
if sys.argv[3]: open(sys.argv[3], "wb").write(rest[:length])
PY
}

# Writes $work/nginx.conf: one worker serving $work/www/web at GET /web on
# PORT; with "one-process", no master either (for callgrind).
nginx_conf() { # PORT [one-process]
  { [[ ${2:-} == one-process ]] && echo "master_process off;"
    cat <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$1;
    location = /web { default_type application/json; alias $work/www/web; }
  }
}
NGINX
  } >"$work/nginx.conf"
}
