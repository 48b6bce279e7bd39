#!/usr/bin/env bash
# Fuzzes the codecs and the shell with libFuzzer (the Swift toolchain's
# -sanitize=fuzzer, with the address sanitizer):
#     scripts/fuzz.sh [SECONDS] [TARGET...]
# SECONDS per target (default 60); targets: http json peer handshake shell dns
# (default all). Starts from the seed corpus in Fuzz/corpus/TARGET; new
# inputs go to .build-fuzz/corpus/TARGET, never into the repository. A crash
# is saved as .build-fuzz/crash-TARGET-* and fails the run: add it to
# Fuzz/corpus/TARGET, where the test suite replays it (FuzzCorpusTests).
# Prints, per target, the executions and the coverage libFuzzer reached.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http json peer handshake shell dns)
scratch=$root/.build-fuzz

echo "fuzz: building rarangi-fuzz with -sanitize=fuzzer,address"
swift build -c debug --scratch-path "$scratch" --product rarangi-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|warning: unre|Compiling rarangi|Build" || true
bin=$(swift build -c debug --scratch-path "$scratch" --show-bin-path)/rarangi-fuzz
[ -x "$bin" ] || { echo "fuzz: the fuzz build failed"; exit 1; }

failed=0
printf '%-10s %12s %8s %8s %s\n' target execs cov ft result
for t in "${targets[@]}"; do
    mkdir -p "$scratch/corpus/$t"
    log=$scratch/fuzz-$t.log
    rc=0
    RARANGI_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=0 "$bin" "$scratch/corpus/$t" "Fuzz/corpus/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$scratch/crash-$t-" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -aEo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -aEo 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    result=ok
    if [ "$rc" != 0 ]; then
        result="CRASH (see $log)"
        failed=1
        grep -aE "ERROR|Fatal error|Test unit written" "$log" | head -5 | sed 's/^/    /'
    fi
    printf '%-10s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
