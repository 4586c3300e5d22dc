#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (issue 8), two at a time.
#
#   scripts/fuzz.sh [--build] [SECONDS] [TARGET...]
#
# SECONDS per target (default 45); TARGETs without the fuzz_ prefix
# (default: all eight). The short form is the CI stage; a long campaign is
# the same with a long duration (scripts/campaign.sh fuzz DURATION).
#
# The targets come from the clang build with -DTVAULT_FUZZ=ON in
# $TVAULT_FUZZ_BUILD (default build-fuzz); nothing is built unless --build
# is given (then `ninja -j2` of the targets, after configuring the directory
# if it has never been). Each target starts from a scratch copy of its seed
# corpus and regression inputs, so the committed corpora stay small; the
# copies, the logs and anything found are kept under $TVAULT_FUZZ_OUT
# (default $TVAULT_FUZZ_BUILD/fuzz-runs/<UTC time>).
#
# Fails (exit 1) on any crash, leak, timeout (-timeout=10), out-of-memory
# (-rss_limit_mb=2048) or invariant failure, naming the input that caused
# it. Reproduce one with $TVAULT_FUZZ_BUILD/tests/fuzz/fuzz_<target> INPUT;
# once the bug is fixed, add the input to tests/fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(age_header age_armor age_stream record statement invite
  log_entry vault_dispatch)
# Largest input per target: room for the seeds that matter (a 64 KiB
# payload chunk and more for the stream, a whole record for the record and
# an upload), no more.
declare -A max_len=(
  [age_header]=16384 [age_armor]=8192 [age_stream]=70000 [record]=80000
  [statement]=8192 [invite]=4096 [log_entry]=16384 [vault_dispatch]=140000
)

build_first=0
if [[ "${1:-}" == "--build" ]]; then
  build_first=1
  shift
fi
seconds=${1:-45}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: $0 [--build] [SECONDS] [TARGET...]" >&2
  exit 2
fi
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  if [[ -z "${max_len[$t]:-}" ]]; then
    echo "error: unknown target '$t' (one of: ${all_targets[*]})" >&2
    exit 2
  fi
done

build=${TVAULT_FUZZ_BUILD:-build-fuzz}
if ((build_first)); then
  if [[ ! -f "$build/build.ninja" ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTVAULT_SANITIZE=ON \
      -DTVAULT_FUZZ=ON -DTVAULT_BUILD_BENCHMARKS=OFF >/dev/null
  fi
  ninja -C "$build" -j2 "${targets[@]/#/fuzz_}"
fi
for t in "${targets[@]}"; do
  if [[ ! -x "$build/tests/fuzz/fuzz_$t" ]]; then
    echo "error: $build/tests/fuzz/fuzz_$t is missing: configure $build with" \
      "-DTVAULT_FUZZ=ON (clang-14) and build it, or pass --build" >&2
    exit 2
  fi
done

out=${TVAULT_FUZZ_OUT:-$build/fuzz-runs/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# One target: scratch corpus, libFuzzer, its log. The vault's own log lines
# and protobuf's complaints go to the closed standard error
# (-close_fd_mask=2); libFuzzer's output, the sanitizers' reports and the
# harnesses' invariant messages still reach the log.
run_one() {
  local t=$1 dir="$out/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # The vault target copies a database per input and fsyncs every commit:
  # memory-backed scratch space when there is some.
  local scratch
  scratch=$(mktemp -d /dev/shm/tvault-fuzz.XXXXXX 2>/dev/null ||
    mktemp -d "${TMPDIR:-/tmp}/tvault-fuzz.XXXXXX")
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  if [[ -d tests/fuzz/regressions/$t ]]; then
    find tests/fuzz/regressions/"$t" -maxdepth 1 -type f \
      -exec cp {} "$dir/corpus/" \;
  fi
  local code=0
  TVAULT_FUZZ_SCRATCH="$scratch" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$t]}" -dict="tests/fuzz/$t.dict" \
    -detect_leaks=1 -print_final_stats=1 -close_fd_mask=2 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" \
    >"$dir/log" 2>&1 || code=$?
  echo "$code" >"$dir/exit"
  rm -rf "$scratch"
}

start=$SECONDS
echo "fuzz: ${targets[*]}, $seconds s each, two at a time; output in $out"
running=0
for t in "${targets[@]}"; do
  if ((running == 2)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
failed=0
printf '\n%-15s %10s %8s %8s %8s %6s  %s\n' target runs exec/s cov ft new result
for t in "${targets[@]}"; do
  dir="$out/$t"
  log="$dir/log"
  runs=$(final_stat number_of_executed_units "$log")
  speed=$(final_stat average_exec_per_sec "$log")
  added=$(final_stat new_units_added "$log")
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  code=$(cat "$dir/exit" 2>/dev/null || echo "?")
  found=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  result=ok
  if [[ "$code" != 0 || -n "$found" ]]; then
    result="FAILED (exit $code)"
    failed=1
  fi
  printf '%-15s %10s %8s %8s %8s %6s  %s\n' "$t" "${runs:-?}" "${speed:-?}" \
    "${cov:-?}" "${ft:-?}" "${added:-?}" "$result"
  if [[ "$result" != ok ]]; then
    grep -E 'ERROR: |invariant failed|SUMMARY: ' "$log" | head -5 | sed 's/^/    /'
    for f in $found; do echo "    input saved: $f"; done
    echo "    log: $log"
  fi
done
echo "fuzz: $((SECONDS - start)) s; logs and corpora in $out"
if ((failed)); then
  echo "fuzz: FAILED; reproduce with $build/tests/fuzz/fuzz_<target> INPUT" >&2
  exit 1
fi
