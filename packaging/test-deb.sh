#!/usr/bin/env bash
# Install test of the Debian package, as an operator would use it.
#
#     packaging/test-deb.sh              # build the .deb, then test it
#     packaging/test-deb.sh --no-build   # test build/deb/rarangi_*.deb as it is
#     packaging/test-deb.sh --deb FILE   # test another .deb (implies --no-build)
#     packaging/test-deb.sh --no-boot    # plain chroot: skip the systemd checks
#
# Builds the package with packaging/build-deb.sh and runs lintian on it. Then
# it installs the package with apt-get into a fresh Debian minbase system
# (debootstrap, cached in .build-deb/chroot/; each run works on a copy),
# which proves the dependencies and leaves no user or file on this machine.
# That system is booted with systemd-nspawn, so the maintainer scripts and
# the rarangid@ unit run under a real systemd. Checks: the programs run,
# ldd finds only Debian libraries, man finds the pages, systemd-analyze
# verify says nothing, every shipped configuration file validates; a daemon
# started by hand from the installed configuration registers and looks up
# a service; both slots start under systemd as the rarangi user, reload
# applies a new log level, a crashed daemon is restarted, a bad
# configuration is not; an upgrade keeps edited configuration and restarts
# the running instances; remove stops them; purge leaves nothing of the
# package.
#
# Needs root. Installs on this machine, when missing: debootstrap,
# systemd-container, curl (and build-deb.sh's build dependencies). Talks to
# 127.0.0.1 only (and to the Debian mirror, for debootstrap and apt-get).
# Ends with the line "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=1 boot=1 deb=""
while [ $# -gt 0 ]; do
    arg=$1; shift
    case $arg in
    --no-build) build=0 ;;
    --deb) deb=$(realpath "${1:?--deb needs a file}"); shift; build=0 ;;
    --no-boot) boot=0 ;;
    -h | --help) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test-deb.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

passed=0 failed=0 skipped=0
started=$(date +%s)
work=$(mktemp -d)
chroots=$root/.build-deb/chroot
base="" sys="" nspawn_pid="" init_pid="" hand_pid=""

say() { printf '%s\n' "$*"; }
# check DESCRIPTION COMMAND...: runs COMMAND, counts it, shows its output when it fails.
check() {
    local what=$1; shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1)); say "ok    $what"
    else
        failed=$((failed + 1)); say "FAIL  $what"; sed -n '1,40s/^/      /p' "$work/out"
    fi
}
skip() { skipped=$((skipped + 1)); say "skip  $1"; }
finish() {
    local note=""
    [ "$skipped" = 0 ] || note=", $skipped skipped"
    say "test-deb: $(( $(date +%s) - started ))s in all$note"
    say "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

# --- cleanup, also on failure or interrupt --------------------------------
cleanup() {
    set +e
    if [ -n "$hand_pid" ]; then
        # Without a booted system the hand-started daemon is a process of
        # this machine: stop it (with one, shutting the system down does).
        if [ "$boot" = 0 ] && [ -s "$sys$T/hand.pid" ] && [ ! -s "$sys$T/hand.status" ]; then
            pid=$(cat "$sys$T/hand.pid"); [ "$pid" -gt 1 ] && kill -KILL "$pid" 2>/dev/null
        fi
        kill -KILL "$hand_pid" 2>/dev/null
    fi
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # SIGTERM asks nspawn to shut the container down in order.
        kill -TERM "$nspawn_pid"
        for _ in $(seq 1 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$nspawn_pid" 2>/dev/null
        wait "$nspawn_pid" 2>/dev/null
    fi
    if [ -n "$sys" ] && [ -d "$sys" ]; then
        mountpoint -q "$sys/proc" && umount "$sys/proc"
        if ! grep -q " $sys/" /proc/self/mounts; then rm -rf --one-file-system "$sys"
        else say "test-deb: $sys still has mounts; not removed"; fi
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { say "test-deb: needs root (apt-get, chroot, systemd-nspawn)"; failed=1; finish; }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
[ "$boot" = 1 ] && ! command -v systemd-nspawn >/dev/null && need+=(systemd-container)
if [ "${#need[@]}" -gt 0 ]; then
    say "test-deb: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- the package ------------------------------------------------------------
arch=$(dpkg --print-architecture)
if [ "$build" = 1 ]; then
    t=$(date +%s)
    check "build-deb.sh builds the package" "$root/packaging/build-deb.sh" --no-lintian
    say "      (build took $(( $(date +%s) - t ))s)"
fi
[ -n "$deb" ] || deb=$(ls "$root"/build/deb/rarangi_*_"$arch".deb 2>/dev/null | head -1)
if [ ! -f "$deb" ]; then say "FAIL  no build/deb/rarangi_*_$arch.deb"; failed=$((failed + 1)); finish; fi
version=$(dpkg-deb --field "$deb" Version)
say "test-deb: ${deb#"$root"/}, $(du -h "$deb" | cut -f1)B, installed size $(dpkg-deb --field "$deb" Installed-Size) KiB"
say "test-deb: Depends: $(dpkg-deb --field "$deb" Depends)"

t=$(date +%s)
lintian_clean() {
    command -v lintian >/dev/null || { echo "lintian is not installed"; return 1; }
    lintian --fail-on error,warning "$deb" >"$work/lintian" 2>&1
}
check "lintian reports no errors or warnings" lintian_clean
sed 's/^/      lintian: /' "$work/lintian"
say "      (lintian took $(( $(date +%s) - t ))s)"

check "Depends on libevent, derived by dpkg-shlibdeps" \
    sh -c "dpkg-deb --field '$deb' Depends | grep -Eq 'libevent-2\.[0-9]+-[0-9]+ \(>= '"
# libyaml's shlibs file names no version, so neither does the dependency.
check "Depends on libyaml, derived by dpkg-shlibdeps" \
    sh -c "dpkg-deb --field '$deb' Depends | grep -Eq '(^|, )libyaml-0-[0-9]+( |,|\$)'"
mkdir -p "$work/x" && dpkg-deb -x "$deb" "$work/x"
no_runpath() {
    local f rc=0
    for f in "$work"/x/usr/sbin/* "$work"/x/usr/bin/*; do
        [ -f "$f" ] || continue
        if readelf -d "$f" | grep -E 'RPATH|RUNPATH'; then echo "$f has a RUNPATH"; rc=1; fi
    done
    return $rc
}
check "programs have no RUNPATH (Swift runtime linked statically)" no_runpath
# ICU's data names itself (icudt<version><endianness>) all through; a daemon
# that links Foundation carries it, ours must not.
no_icu() { ! grep -c icudt "$work/x/usr/sbin/rarangid"; }
check "rarangid carries no ICU data (links no Foundation)" no_icu

# --- a fresh Debian system --------------------------------------------------
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror=${RARANGI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=$chroots/base-$suite
if [ ! -f "$base/.rarangi-base-complete" ]; then
    t=$(date +%s)
    say "test-deb: debootstrap --variant=minbase $suite into ${base#"$root"/} (cached for later runs)"
    rm -rf --one-file-system "$base"
    mkdir -p "$chroots"
    # systemd to boot it and man-db for man -w; neither is libevent or libyaml, which
    # apt-get must bring in because the package depends on them.
    if ! debootstrap --variant=minbase --include=systemd,man-db "$suite" "$base" "$mirror" >"$work/debootstrap.log" 2>&1; then
        tail -20 "$work/debootstrap.log"; say "FAIL  debootstrap"; failed=$((failed + 1)); finish
    fi
    touch "$base/.rarangi-base-complete"
    say "      (debootstrap took $(( $(date +%s) - t ))s)"
fi
# Copies left by a run that was killed outright (its trap never ran).
for old in "$chroots"/run-*; do
    [ -d "$old" ] || continue
    kill -0 "${old##*/run-}" 2>/dev/null && continue
    grep -q " $old/" /proc/self/mounts && umount -R "$old/proc" 2>/dev/null
    grep -q " $old/" /proc/self/mounts || rm -rf --one-file-system "$old"
done
sys=$chroots/run-$$
cp -a --reflink=auto "$base" "$sys"
cp /etc/resolv.conf "$sys/etc/resolv.conf"
# Files the test shares with the test system (not /tmp: nspawn mounts a tmpfs there).
T=/root/rarangi-test
mkdir -p "$sys$T"
cp "$deb" "$sys$T/"
pkgfile=$T/$(basename "$deb")

# inside COMMAND...: runs COMMAND inside the test system.
if [ "$boot" = 1 ]; then
    t=$(date +%s)
    systemd-nspawn --quiet --register=no --keep-unit --console=passive \
        --machine="rarangi-test-$$" -D "$sys" --boot >"$work/nspawn.log" 2>&1 &
    nspawn_pid=$!
    # The container's init is nspawn's child once that has become systemd.
    for _ in $(seq 1 60); do
        init_pid=$(pgrep -P "$nspawn_pid" | head -1)
        if [ -n "$init_pid" ] && [ "$(cat "/proc/$init_pid/comm" 2>/dev/null)" = systemd ] &&
           state=$(nsenter -t "$init_pid" -a systemctl is-system-running 2>/dev/null) &&
           { [ "$state" = running ] || [ "$state" = degraded ]; } &&
           nsenter -t "$init_pid" -a test -f "$pkgfile"; then break; fi
        init_pid=""; sleep 0.5
    done
    if [ -n "$init_pid" ]; then
        passed=$((passed + 1)); say "ok    test system boots with systemd ($(( $(date +%s) - t ))s)"
    else
        failed=$((failed + 1)); say "FAIL  test system boots with systemd"; tail -20 "$work/nspawn.log"
        kill -TERM "$nspawn_pid" 2>/dev/null; wait "$nspawn_pid" 2>/dev/null; nspawn_pid=""; boot=0
    fi
fi
if [ "$boot" = 1 ]; then
    inside() { timeout 120 nsenter -t "$init_pid" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
else
    mount -t proc proc "$sys/proc"
    inside() { timeout 120 chroot "$sys" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
fi
booted() { [ "$boot" = 1 ]; }

# --- install ----------------------------------------------------------------
has_libevent() { inside dpkg-query -W -f='${Package} ${Status}\n' 'libevent-2*' 2>&1 | grep 'ok installed'; }
check "libevent is not in the fresh system" eval '! has_libevent'
has_libyaml() { inside dpkg-query -W -f='${Package} ${Status}\n' 'libyaml-0-*' 2>&1 | grep 'ok installed'; }
check "libyaml is not in the fresh system" eval '! has_libyaml'
check "apt-get install ./$(basename "$deb")" \
    inside sh -c "apt-get update -qq && cd $T && apt-get install -y --no-install-recommends ./$(basename "$deb")"
check "apt-get brought in libevent" has_libevent
check "apt-get brought in libyaml" has_libyaml
inside dpkg -L rarangi >"$work/files" 2>/dev/null

version_ok() { inside rarangid --version | tee /dev/stderr | grep -qx "rarangid $version"; }
check "rarangid --version says $version" version_ok
if grep -qx /usr/bin/rarangi "$work/files"; then
    check "rarangi --help" inside rarangi --help
else
    skip "rarangi --help (the package has no rarangi yet)"
fi
ldd_ok() {
    inside ldd /usr/sbin/rarangid >"$work/ldd" 2>&1 || { cat "$work/ldd"; return 1; }
    ! grep -E 'not found|swift|/opt/' "$work/ldd"
}
check "ldd rarangid: only Debian libraries" ldd_ok
sed 's/^/      ldd: /' "$work/ldd"
man_ok() {
    local page rc=0
    inside man -w rarangid || rc=1
    for page in $(grep -E '^/usr/share/man/man[1-8]/.+\.[1-8]\.gz$' "$work/files"); do
        page=${page##*/}; page=${page%.gz}
        inside man -w "${page##*.}" "${page%.*}" || rc=1
    done
    return $rc
}
check "man -w finds rarangid and every installed page" man_ok
system_user() {
    inside getent passwd rarangi | tee /dev/stderr | awk -F: '$3 < 1000 && $7 ~ /nologin$/ { ok = 1 } END { exit !ok }'
}
check "rarangi is a system user without a login shell" system_user
nothing_enabled() {
    ! find "$sys/etc/systemd/system" -name 'rarangid*' | grep .
}
check "installing enabled no rarangid@ instance" nothing_enabled
if booted; then
    check "installing started no rarangid@ instance" \
        eval "! inside systemctl list-units --all --plain --no-legend 'rarangid@*' | grep ."
fi

verify_quiet() {
    # systemd-analyze verify exits 0 on unknown keys: any output is a failure.
    inside systemd-analyze verify rarangid@production-a.service rarangid@development-b.service >"$work/verify" 2>&1
    local rc=$?
    cat "$work/verify"
    [ $rc = 0 ] && [ ! -s "$work/verify" ]
}
if inside sh -c 'command -v systemd-analyze' >/dev/null; then
    check "systemd-analyze verify rarangid@.service prints nothing" verify_quiet
else
    skip "systemd-analyze verify (not installed in the test system)"
fi
unit_ok() {
    local u=$sys/lib/systemd/system/rarangid@.service
    grep -qx 'ExecStart=/usr/sbin/rarangid --config /etc/rarangi/%i.yaml' "$u" &&
    grep -qx 'User=rarangi' "$u" && grep -qx 'Restart=on-failure' "$u" &&
    grep -qx 'KillSignal=SIGTERM' "$u" && grep -qx 'WantedBy=multi-user.target' "$u"
}
check "rarangid@.service: /etc/rarangi/%i.yaml, user rarangi, restart on failure, SIGTERM" unit_ok

# Every shipped configuration file validates and listens on its slot's well-known port.
configs_ok() {
    local table env pa pb slot port n=0 rc=0
    table=$(inside rarangid --help | sed -n 's|^  \([a-z][a-z]*\)  *\([0-9][0-9]*\) / \([0-9][0-9]*\)$|\1 \2 \3|p')
    while read -r env pa pb; do
        for slot in a b; do
            if [ $slot = a ]; then port=$pa; else port=$pb; fi
            n=$((n + 1))
            inside rarangid --check-config --config "/etc/rarangi/$env-$slot.yaml" | tee /dev/stderr |
                grep -q "env=$env slot=$slot .*listen=0\.0\.0\.0:$port .*cluster_keys=1" || rc=1
        done
    done <<<"$table"
    [ $n -ge 8 ] && [ $rc = 0 ]
}
check "every /etc/rarangi/ENV-SLOT.yaml passes --check-config on its well-known port, with the cluster key" configs_ok
secrets_private() {
    local f rc=0 n=0
    for f in "$sys"/etc/rarangi/*.yaml "$sys"/etc/rarangi/cluster.key; do
        n=$((n + 1))
        inside stat -c '%a %U %G %n' "${f#"$sys"}" | tee /dev/stderr | grep -q '^640 root rarangi ' || rc=1
    done
    inside sh -c 'grep -v "^#" /etc/rarangi/cluster.key | grep -Eqx "[A-Za-z0-9+/]{43}="' || { echo "no key in cluster.key"; rc=1; }
    [ $n -ge 9 ] && [ $rc = 0 ]
}
check "configuration files and the cluster key are 0640 root:rarangi" secrets_private
bad_config() {
    printf 'env: production\nliveness: 0\n' >"$sys$T/bad.yaml"
    local out rc
    out=$(inside rarangid --check-config --config $T/bad.yaml 2>&1); rc=$?
    echo "exit $rc: $out"
    [ $rc != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q liveness
}
check "--check-config rejects a bad file with one line naming the problem" bad_config

# --- a daemon started by hand with the installed configuration -------------
# A loopback port nothing listens on, below the ephemeral range, so that no
# outgoing connection of another program on this machine holds it either.
free_port() {
    local p low
    low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 1 50); do
        p=$((10000 + RANDOM % (low - 10000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    return 1
}
wait_port() {
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done
    return 1
}
register_and_lookup() { # PORT SERVICE ID
    curl -sS -f -X PUT -H 'Content-Type: application/json' \
        -d "{\"host\":\"127.0.0.1\",\"port\":8080,\"site\":\"test\"}" "http://127.0.0.1:$1/$2/$3" && echo &&
    curl -sS -f "http://127.0.0.1:$1/$2" | tee /dev/stderr | grep -q "\"$3\":{[^}]*\"port\":8080"
}
# A shell inside the test system starts it as the rarangi user and records
# its pid and, once it ends, its exit status.
port=$(free_port)
inside sh -c "setpriv --reuid=rarangi --regid=rarangi --init-groups \
    rarangid --config /etc/rarangi/development-a.yaml --listen 127.0.0.1:$port >$T/hand.log 2>&1 &
    echo \$! >$T/hand.pid; wait \$!; echo \$? >$T/hand.status" &
hand_pid=$!
check "rarangid (as rarangi, /etc/rarangi/development-a.yaml) listens on 127.0.0.1:$port" wait_port "$port"
check "PUT /web/web-1 then GET /web returns it" register_and_lookup "$port" web web-1
stop_by_term() {
    inside sh -c "pid=\$(cat $T/hand.pid) && [ \"\$pid\" -gt 1 ] && kill -TERM \"\$pid\""
    for _ in $(seq 1 50); do [ -s "$sys$T/hand.status" ] && break; sleep 0.2; done
    wait "$hand_pid"; hand_pid=""
    cat "$sys$T/hand.log"; echo "exit status $(cat "$sys$T/hand.status")"
    [ "$(cat "$sys$T/hand.status")" = 0 ]
}
check "SIGTERM stops it with exit status 0" stop_by_term

# --- both slots under systemd ----------------------------------------------
prop() { inside systemctl show -p "$2" --value "rarangid@$1.service"; }
main_pid() { prop "$1" MainPID; }
wait_active() {
    for _ in $(seq 1 50); do [ "$(prop "$1" ActiveState)" = active ] && return 0; sleep 0.2; done
    inside systemctl show -p ActiveState,SubState,Result,ExecMainStatus,NRestarts "rarangid@$1.service"
    inside journalctl --no-pager -n 30 -u "rarangid@$1.service"
    return 1
}
runs_as_rarangi() {
    local pid; pid=$(main_pid "$1")
    [ "${pid:-0}" != 0 ] && inside sh -c "grep '^Uid:' /proc/$pid/status; id -u rarangi" |
        awk 'NR == 1 { uid = $2 } NR == 2 { exit !($1 == uid) }'
}
if booted; then
    port_a=$(free_port) port_b=$(free_port)
    while [ "$port_b" = "$port_a" ]; do port_b=$(free_port); done
    # The operator's way: edit the instance's file, then enable and start it.
    printf '\n# test-deb.sh\nlisten: 127.0.0.1:%s\n' "$port_a" >>"$sys/etc/rarangi/development-a.yaml"
    printf '\n# test-deb.sh\nlisten: 127.0.0.1:%s\n' "$port_b" >>"$sys/etc/rarangi/development-b.yaml"
    check "systemctl enable --now rarangid@development-a rarangid@development-b" \
        inside systemctl enable --now rarangid@development-a rarangid@development-b
    check "both slots active" eval 'wait_active development-a && wait_active development-b'
    check "slot a runs as user rarangi" runs_as_rarangi development-a
    check "slot a: register and look up on 127.0.0.1:$port_a" eval 'wait_port $port_a && register_and_lookup $port_a api api-1'
    check "slot b: register and look up on 127.0.0.1:$port_b" eval 'wait_port $port_b && register_and_lookup $port_b api api-2'
    reload_log_level() {
        local pid; pid=$(main_pid development-a)
        printf 'log-level: debug\n' >>"$sys/etc/rarangi/development-a.yaml"
        inside systemctl reload rarangid@development-a || return 1
        for _ in $(seq 1 25); do
            inside journalctl --no-pager -u rarangid@development-a | grep -q 'event=reloaded log_level=debug' && break
            sleep 0.2
        done
        inside journalctl --no-pager -u rarangid@development-a | grep 'event=reload' || return 1
        [ "$(main_pid development-a)" = "$pid" ] && [ "$(prop development-a ActiveState)" = active ]
    }
    check "systemctl reload applies the file's log level without a restart" reload_log_level
    crash_restart() {
        local old new
        old=$(main_pid development-a)
        [ "${old:-0}" -gt 1 ] || { echo "no MainPID"; return 1; }
        inside sh -c "kill -KILL $old"
        for _ in $(seq 1 50); do
            new=$(main_pid development-a)
            [ "${new:-0}" != 0 ] && [ "$new" != "$old" ] && [ "$(prop development-a ActiveState)" = active ] && break
            sleep 0.2
        done
        echo "MainPID $old -> $new, NRestarts=$(prop development-a NRestarts)"
        [ "${new:-0}" != 0 ] && [ "$new" != "$old" ] && wait_port "$port_a"
    }
    check "slot a killed with SIGKILL is restarted by systemd" crash_restart
    no_restart_on_bad_config() {
        printf 'env: testing\nslot: a\nliveness: 0\n' >"$sys/etc/rarangi/testing-a.yaml"
        inside systemctl start rarangid@testing-a
        sleep 3
        local status restarts state
        status=$(prop testing-a ExecMainStatus) restarts=$(prop testing-a NRestarts) state=$(prop testing-a ActiveState)
        echo "state=$state ExecMainStatus=$status NRestarts=$restarts"
        inside journalctl --no-pager -u rarangid@testing-a | tail -3
        [ "$state" = failed ] && [ "$status" = 2 ] && [ "$restarts" = 0 ]
    }
    check "a bad configuration fails the unit with status 2, no restart loop" no_restart_on_bad_config
    inside systemctl reset-failed rarangid@testing-a >/dev/null 2>&1
    # Type=notify: a daemon whose only peer does not answer listens at once
    # but is not ready until its catch-up wait ends; systemd shows it
    # activating, with the daemon's STATUS= line, then active.
    ready_only_after_notify() {
        local port dead state status seen_activating=0
        port=$(free_port) dead=$(free_port)
        printf 'env: testing\nslot: b\nlisten: 127.0.0.1:%s\npeers: [127.0.0.1:%s]\n' "$port" "$dead" \
            >"$sys/etc/rarangi/testing-b.yaml"
        inside systemctl start --no-block rarangid@testing-b || return 1
        for _ in $(seq 1 150); do
            state=$(prop testing-b ActiveState)
            if [ "$state" = activating ]; then
                status=$(prop testing-b StatusText)
                case $status in *"catching up"*) seen_activating=1 ;; esac
            fi
            [ "$state" = active ] && break
            sleep 0.2
        done
        status=$(inside systemctl status --no-pager rarangid@testing-b | grep -E '^ +Status:')
        echo "seen activating with 'catching up': $seen_activating; then $state; $status"
        [ "$seen_activating" = 1 ] && [ "$state" = active ] && wait_port "$port" &&
            case $status in *"links up 0/1"*) true ;; *) false ;; esac
    }
    check "Type=notify: activating (STATUS= catching up) until READY=1, then active with its STATUS= line" ready_only_after_notify
    inside systemctl stop rarangid@testing-b >/dev/null 2>&1

    pids_before="$(main_pid development-a) $(main_pid development-b)"
    check "upgrade (apt-get install --reinstall) succeeds" \
        inside sh -c "cd $T && apt-get install -y --reinstall ./$(basename "$deb")"
    restarted() {
        local pids_after; pids_after="$(main_pid development-a) $(main_pid development-b)"
        echo "MainPIDs before $pids_before, after $pids_after"
        local a b; read -r a b <<<"$pids_before"; local a2 b2; read -r a2 b2 <<<"$pids_after"
        [ "$a" != "$a2" ] && [ "$b" != "$b2" ] && [ "$a2" != 0 ] && [ "$b2" != 0 ] &&
            wait_active development-a && wait_active development-b
    }
    check "the upgrade restarted both running slots" restarted
    check "the upgrade kept the edited configuration and the enabled instances" eval \
        'grep -qx "listen: 127.0.0.1:$port_a" "$sys/etc/rarangi/development-a.yaml" &&
         [ -L "$sys/etc/systemd/system/multi-user.target.wants/rarangid@development-a.service" ]'
    check "after the upgrade slot a still answers" eval 'wait_port $port_a && register_and_lookup $port_a api api-3'
else
    skip "systemd checks: both slots, crash restart, bad configuration, upgrade restart (--no-boot)"
    printf '\n# test-deb.sh\nlisten: 127.0.0.1:1\n' >>"$sys/etc/rarangi/development-a.yaml"
    check "upgrade (apt-get install --reinstall) succeeds" inside sh -c "cd $T && apt-get install -y --reinstall ./$(basename "$deb")"
    check "the upgrade kept the edited configuration" grep -qx 'listen: 127.0.0.1:1' "$sys/etc/rarangi/development-a.yaml"
fi

# --- remove, then purge -----------------------------------------------------
check "apt-get remove rarangi" inside apt-get remove -y rarangi
# Processes of the test system running the package's rarangid (seen from
# inside, so a rarangid elsewhere on this machine does not count).
no_daemon_left() {
    ! inside sh -c 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(readlink $p/exe)"; done' 2>/dev/null |
        grep -E ' /usr/sbin/rarangid( \(deleted\))?$'
}
if booted; then
    check "remove stopped every rarangid@ instance" no_daemon_left
fi
kept_config() {
    local state; state=$(inside dpkg-query -W -f='${db:Status-Status}' rarangi)
    echo "package state: $state"
    [ "$state" = config-files ] && [ -f "$sys/etc/rarangi/development-a.yaml" ] && [ ! -e "$sys/usr/sbin/rarangid" ]
}
check "remove kept the configuration (package state config-files)" kept_config
check "apt-get purge rarangi" inside apt-get purge -y rarangi
purged() {
    local f rc=0
    if inside dpkg-query -W -f='${db:Status-Status}\n' rarangi 2>/dev/null | grep -vx not-installed; then
        echo "dpkg still knows rarangi"; rc=1
    fi
    while read -r f; do
        [ -e "$sys$f" ] || [ -L "$sys$f" ] || continue
        # A directory that still holds other packages' files (/usr/sbin,
        # /lib/systemd/system) is not the package's to remove.
        if [ -d "$sys$f" ] && [ -n "$(ls -A "$sys$f")" ]; then continue; fi
        echo "left behind: $f"; rc=1
    done <"$work/files"
    if [ -e "$sys/etc/rarangi" ]; then echo "left behind: /etc/rarangi"; ls -la "$sys/etc/rarangi"; rc=1; fi
    if find "$sys/etc/systemd" -name 'rarangid*' | grep .; then echo "left behind: the links above"; rc=1; fi
    return $rc
}
check "purge left no file, configuration or enabled instance of the package" purged
check "no rarangid process is left" no_daemon_left

finish
