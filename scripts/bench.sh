#!/usr/bin/env bash
# Times `tvault age encrypt/decrypt` against the reference `age` tool on the
# same random file and prints a Markdown report on standard output
# (progress goes to standard error).
#
#   scripts/bench.sh [SIZE_MIB [ROUNDS]]     default: 512 MiB, 5 rounds
#   BENCH_CASES="enc-null dec-null" scripts/bench.sh 2048 1   (a subset)
#
# Cases (both tools get identical inputs; the ciphertext that both decrypt
# is one file made by `age`):
#   enc-null   encrypt, ciphertext to standard output redirected to /dev/null
#   dec-null   decrypt, plaintext to standard output redirected to /dev/null
#   enc-file   encrypt with -o FILE on disk (what a user sees)
#   dec-file   decrypt with -o FILE on disk
#   enc-file-sync, dec-file-sync
#              the same, with age followed by `sync FILE`, so that both
#              tools leave durable output (tvault's -o always fsyncs)
# /dev/null cases measure the crypto engine and its I/O path; tvault's -o
# writes a temporary file beside the target, fsyncs it and renames it, so it
# is not given /dev/null as a target.
#
# Method: the input is warmed into the page cache; in each round the two
# tools run back to back, in alternating order (tvault first in odd rounds,
# age first in even ones). Untimed between runs: the output is removed and
# `sync` flushes dirty pages, so one run's writeback does not slow the next.
# Reported per case: median wall time (ns clock around the command),
# throughput in MiB/s of plaintext, age_time / tvault_time (> 1: tvault is
# faster), peak RSS (max over rounds, GNU time %M) and median CPU time
# (user + sys) of each tool.
#
# tvault is built in Release into build-bench if needed. Temporary files go
# to a fresh directory under ${TMPDIR:-/tmp} (it needs about 3× SIZE_MIB of
# space) and are removed on exit.
set -euo pipefail

size_mib=${1:-512}
rounds=${2:-5}
cases=${BENCH_CASES:-"enc-null dec-null enc-file dec-file enc-file-sync dec-file-sync"}

if ! [[ $size_mib =~ ^[0-9]+$ && $size_mib -gt 0 ]]; then
  echo "usage: $0 [SIZE_MIB [ROUNDS]]" >&2
  exit 2
fi
if ! [[ $rounds =~ ^[0-9]+$ && $rounds -gt 0 ]]; then
  echo "usage: $0 [SIZE_MIB [ROUNDS]]" >&2
  exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$root/build-bench}
tvault=${TVAULT:-$build_dir/client/tvault}
gnu_time=/usr/bin/time

log() { echo "bench: $*" >&2; }

for tool in age age-keygen "$gnu_time"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench: $tool not found; run scripts/setup.sh" >&2
    exit 1
  fi
done

# --- build ------------------------------------------------------------------
# TVAULT=/path/to/tvault skips the build and measures that binary.
if [[ -n ${TVAULT:-} ]]; then
  log "using TVAULT=$tvault (not rebuilt)"
elif [[ ! -f $build_dir/build.ninja ]]; then
  log "configuring a Release build in $build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    >/dev/null
fi
if [[ -z ${TVAULT:-} ]]; then
  log "building tvault (Release)"
  if ! ninja -C "$build_dir" tvault >"$build_dir/bench-build.log" 2>&1; then
    grep -E 'error|FAILED' "$build_dir/bench-build.log" | head -n 20 >&2
    echo "bench: the Release build failed (log: $build_dir/bench-build.log)" >&2
    exit 1
  fi
fi

# --- inputs -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tvault-bench.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

key=$work/key.txt
plain=$work/plain.bin
cipher=$work/cipher.age
out=$work/out.bin

age-keygen -o "$key" 2>/dev/null
recipient=$(age-keygen -y "$key")

log "writing ${size_mib} MiB of random data"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$plain"
age -r "$recipient" -o "$cipher" "$plain"

log "checking that each tool reads the other's output"
"$tvault" age decrypt -i "$key" "$cipher" | cmp -s - "$plain" ||
  { echo "bench: tvault cannot decrypt age's file" >&2; exit 1; }
"$tvault" age encrypt -r "$recipient" "$plain" | age -d -i "$key" |
  cmp -s - "$plain" ||
  { echo "bench: age cannot decrypt tvault's file" >&2; exit 1; }
sync

# --- measurement ----------------------------------------------------------------
# busy_jiffies: non-idle CPU time of the whole machine, in clock ticks.
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
ticks=$(getconf CLK_TCK)

# wait_idle: on a shared machine, waits (at most BENCH_IDLE_WAIT seconds,
# default 60) until the last half second was at least 90% idle, so that
# both tools get both cores. What other processes still use during a run
# is reported as "other CPU".
wait_idle() {
  local deadline=$((SECONDS + ${BENCH_IDLE_WAIT:-60})) a b
  while ((SECONDS < deadline)); do
    a=$(busy_jiffies)
    sleep 0.5
    b=$(busy_jiffies)
    # 2 cores × 0.5 s = 1 s of CPU; 10% of it.
    if (((b - a) * 10 < ticks * $(nproc) / 2)); then return 0; fi
  done
  log "machine still busy; measuring anyway (see the other-CPU column)"
}

# run_one TOOL CASE: runs one timed command; appends "wall_s cpu_s rss_kib"
# to $work/TOOL.CASE.
run_one() {
  local tool=$1 case=$2 in
  local -a cmd
  case $case in
    enc-*) in=$plain ;;
    dec-*) in=$cipher ;;
  esac
  case $tool.$case in
    tvault.enc-*) cmd=("$tvault" age encrypt -r "$recipient") ;;
    tvault.dec-*) cmd=("$tvault" age decrypt -i "$key") ;;
    age.enc-*) cmd=(age -e -r "$recipient") ;;
    age.dec-*) cmd=(age -d -i "$key") ;;
  esac
  if [[ $case == *-file* ]]; then cmd+=(-o "$out"); fi
  cmd+=("$in")
  # *-file-sync: the same work, to durable output for both tools. tvault's
  # -o always fsyncs before its atomic rename; age never does, so for age
  # the case adds `sync FILE` (coreutils fsyncs just that file).
  if [[ $tool.$case == age.*-file-sync ]]; then
    cmd=(sh -c '"$@" && sync -- "$0"' "$out" "${cmd[@]}")
  fi

  rm -f -- "$out"
  sync
  cat -- "$in" >/dev/null  # keep the input in the page cache
  wait_idle
  local t0 t1 j0 j1
  j0=$(busy_jiffies)
  t0=$(date +%s%N)
  "$gnu_time" -f '%U %S %M' -o "$work/time.txt" "${cmd[@]}" >/dev/null
  t1=$(date +%s%N)
  j1=$(busy_jiffies)
  if [[ $case == *-file* && ! -s $out ]]; then
    echo "bench: $tool $case wrote no output" >&2
    exit 1
  fi
  # GNU time may prefix a "Command exited…" line; the figures are the last.
  # Columns: wall s, CPU s (user + sys), peak RSS KiB, CPU s used by other
  # processes meanwhile (machine busy time minus ours; tick resolution).
  tail -n 1 "$work/time.txt" | awk -v ns="$((t1 - t0))" \
    -v other="$(((j1 - j0)))" -v hz="$ticks" \
    '{ o = other / hz - ($1 + $2); if (o < 0) o = 0;
       printf "%.6f %.3f %d %.3f\n", ns / 1e9, $1 + $2, $3, o }' \
    >>"$work/$tool.$case"
}

# median COLUMN FILE
median() {
  sort -g -k "$1,$1" "$2" | awk -v c="$1" '{ v[NR] = $c }
    END { if (NR % 2) print v[(NR + 1) / 2];
          else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maxcol() { sort -g -k "$1,$1" "$2" | tail -n 1 | awk -v c="$1" '{ print $c }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for case in $cases; do
  for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="tvault age"; else order="age tvault"; fi
    for tool in $order; do
      log "$case round $r/$rounds: $tool"
      run_one "$tool" "$case"
    done
  done
done
rm -f -- "$out"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "## tvault vs age: ${size_mib} MiB, ${rounds} rounds"
echo
echo "- Machine: ${cpu_model}, $(nproc) cores, Linux $(uname -r)," \
  "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "- Tools: $("$tvault" --version 2>/dev/null | head -n 1 || true)" \
  "($tvault), age $(age --version)"
echo "- Load average before/after: $load_before / $load_after"
echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "| Case | tvault s | age s | tvault MiB/s | age MiB/s | age/tvault | tvault RSS MiB | age RSS MiB | tvault CPU s | age CPU s | other CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for case in $cases; do
  tv=$work/tvault.$case
  ag=$work/age.$case
  tw=$(median 1 "$tv")
  aw=$(median 1 "$ag")
  tc=$(median 2 "$tv")
  ac=$(median 2 "$ag")
  tr=$(maxcol 3 "$tv")
  ar=$(maxcol 3 "$ag")
  oc=$(cat "$tv" "$ag" | sort -g -k 4,4 | tail -n 1 | awk '{ print $4 }')
  case $case in
    enc-null) label="encrypt → /dev/null" ;;
    dec-null) label="decrypt → /dev/null" ;;
    enc-file) label="encrypt → file" ;;
    dec-file) label="decrypt → file" ;;
    enc-file-sync) label="encrypt → file, durable (age + sync)" ;;
    dec-file-sync) label="decrypt → file, durable (age + sync)" ;;
    *) label=$case ;;
  esac
  awk -v l="$label" -v s="$size_mib" -v tw="$tw" -v aw="$aw" -v tc="$tc" \
    -v ac="$ac" -v tr="$tr" -v ar="$ar" -v oc="$oc" 'BEGIN {
      printf "| %s | %.3f | %.3f | %.0f | %.0f | **%.2f×** | %.1f | %.1f | %.2f | %.2f | %.2f |\n",
        l, tw, aw, s / tw, s / aw, aw / tw, tr / 1024, ar / 1024, tc, ac, oc }'
done
echo
echo "Wall times are medians; RSS is the maximum over rounds; CPU is the"
echo "median of user + sys. age/tvault > 1 means tvault is faster. Other"
echo "CPU is the most CPU time other processes used during one run of the"
echo "case (0.00 = the machine was otherwise idle)."
