#!/usr/bin/env bash
# The long forms of the reliability tests (issue 8; RELIABILITY.md says what
# each checks and holds the last figures). CI runs the short forms.
#
#   scripts/campaign.sh NAME [DURATION]
#
# NAME      fuzz | crash | soak | faults | tamper | abuse | canaries | tsan
#           | all (each in turn, DURATION each)
# DURATION  seconds, or with a unit: 90s, 30m, 4h (default 30m; crash and
#           tamper turn it into a number of kills or flips, see below)
#
# Builds what it needs first: the release build in build/ and, for fuzz,
# the clang-14 ASan+UBSan+libFuzzer build in build-fuzz/. The driver's
# whole output goes to ${TVAULT_CAMPAIGN_DIR:-/tmp/tvault-campaign}/
# NAME-<UTC time>/output.log (fuzz also keeps its corpora and any crashing
# input there); the figures summary is printed last. Each driver prints its
# seed, and on a failure (any violated invariant, any fuzzer crash) exits
# non-zero saying where it kept the evidence.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
name=$1
duration=${2:-30m}

seconds_of() {
  local d=$1
  case $d in
    *[0-9]s) echo "${d%s}" ;;
    *[0-9]m) echo $((${d%m} * 60)) ;;
    *[0-9]h) echo $((${d%h} * 3600)) ;;
    *[0-9]) echo "$d" ;;
    *) echo "error: '$d' is not a duration (try 600, 30m or 4h)" >&2; return 1 ;;
  esac
}
secs=$(seconds_of "$duration")
if ((secs < 1)); then
  echo "error: the duration must be at least one second" >&2
  exit 2
fi

build_release() {
  if [[ ! -f build/build.ninja ]]; then
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  ninja -C build >/dev/null
}

build_fuzz() {
  if [[ ! -f build-fuzz/build.ninja ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTVAULT_SANITIZE=ON \
      -DTVAULT_FUZZ=ON -DTVAULT_BUILD_BENCHMARKS=OFF >/dev/null
  fi
  ninja -C build-fuzz >/dev/null
}

run_one() {
  local what=$1 dir
  dir=${TVAULT_CAMPAIGN_DIR:-/tmp/tvault-campaign}/$what-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$dir"
  echo "== campaign $what for $secs s (evidence in $dir)" >&2
  local status=0
  case $what in
    fuzz)
      build_fuzz
      TVAULT_FUZZ_OUT="$dir" scripts/fuzz.sh "$secs" 2>&1 |
        tee "$dir/output.log" || status=$?
      ;;
    crash)
      build_release
      # About one kill per 0.6 s of campaign time (a kill, a restart and
      # the checks take that long on two cores).
      build/tests/reliability/tvault_crash --kills $(((secs * 10 + 5) / 6)) 2>&1 |
        tee "$dir/output.log" || status=$?
      ;;
    soak)
      build_release
      build/tests/reliability/tvault_soak --duration "$secs" \
        --clients 64 2>&1 | tee "$dir/output.log" || status=$?
      ;;
    faults | tamper | abuse | canaries)
      build_release
      "build/tests/reliability/tvault_$what" --duration "$secs" \
        2>&1 | tee "$dir/output.log" || status=$?
      ;;
    tsan)
      build_release
      # The TSan suite repeated until the time is up.
      local end=$((SECONDS + secs)) rounds=0
      while ((SECONDS < end)); do
        (cd build && ctest -L tsan -j"$(nproc)" --output-on-failure) \
          >>"$dir/output.log" 2>&1 || {
          status=1
          break
        }
        rounds=$((rounds + 1))
      done
      echo "tsan: $rounds rounds of the TSan suite, status $status" |
        tee -a "$dir/output.log"
      ;;
    *)
      echo "error: no campaign named '$what'" >&2
      usage
      ;;
  esac
  if ((status != 0)); then
    echo "FAILED: campaign $what (exit $status); evidence in $dir" >&2
  fi
  return "$status"
}

if [[ $name == all ]]; then
  failed=()
  for n in fuzz crash soak faults tamper abuse canaries tsan; do
    run_one "$n" || failed+=("$n")
  done
  if ((${#failed[@]})); then
    echo "FAILED campaigns: ${failed[*]}" >&2
    exit 1
  fi
  echo "all campaigns passed" >&2
else
  run_one "$name"
fi
