#!/usr/bin/env bash
# `tvault submit` and `tvault records get` of one large file over TLS on
# loopback, against `age` encrypting and decrypting the same file in the
# same run, with each command's peak RSS (GNU time %M). Prints a Markdown
# table on standard output; progress on standard error.
#
#   bench/client_bench.sh [SIZE_MIB]        default 1024
#
# Setup: scripts/demo.sh builds the organisation, the vault and the case in
# a temporary directory (TVAULT_DEMO_DIR); the vault is then restarted from
# that data directory. Cases:
#   submit (account)  encrypt into the outbox (fsynced) + upload + receipt
#   submit (invite)   two encryption passes (hash, then stream), nothing on disk
#   get               download + decrypt + verify + write the file (fsynced)
#   age -e / age -d   the age tool on the same plaintext / an age file of it
# Needs about 4x SIZE_MIB of free space under ${TMPDIR:-/tmp}.
set -euo pipefail
size_mib=${1:-1024}
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
tvault=$build/client/tvault
tvaultd=$build/vault/tvaultd
work=$(mktemp -d)
server_pid=
trap '[[ -n $server_pid ]] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT

echo "setting up with scripts/demo.sh..." >&2
TVAULT_DEMO_SKIP_BUILD=1 TVAULT_BIN=$tvault TVAULTD_BIN=$tvaultd \
  TVAULT_DEMO_DIR=$work/demo "$repo/scripts/demo.sh" >/dev/null 2>&1
d=$work/demo
tv() { "$tvault" --passphrase-file "$d/people/passphrase" "$@"; }
pf=(--passphrase-file "$d/people/passphrase")
addr=$(tv --home "$d/reviewer" keys show | sed -n 's/^vault: //p')
"$tvaultd" serve --data-dir "$d/server" --db-key-file "$d/db.key" \
  --listen "$addr" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [[ -e $d/server/tvaultd.ready ]] && break; sleep 0.1; done
case_id=$(tv --home "$d/reviewer" case list | grep -o '^[0-9a-f]\{32\}' | head -n 1)
tv --home "$d/reviewer" case export-key "$case_id" -o "$work/epoch.key" >/dev/null 2>&1
recipient=$(sed -n 's/^# public key: //p' "$work/epoch.key")

echo "making a ${size_mib} MiB random file..." >&2
head -c "$((size_mib << 20))" /dev/urandom > "$work/input"
cat "$work/input" > /dev/null

# measure NAME COMMAND...: prints "NAME seconds peak_kib"
measure() {
  local name=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  echo "$name $(cat "$work/time")"
}
{
  measure submit-account "$tvault" "${pf[@]}" --home "$d/lawyer" submit "$work/input" --case "$case_id" --title bench
  tv --home "$d/reviewer" invite create "$case_id" > "$work/invite" 2>/dev/null
  measure submit-invite "$tvault" --home "$work/family" submit "$work/input" --invite "$work/invite"
  measure age-encrypt age -r "$recipient" -o "$work/input.age" "$work/input"
  id=$(tv --home "$d/reviewer" records list "$case_id" | grep '"bench"' | grep -o '^[0-9a-f]\{32\}' | head -n 1)
  measure get "$tvault" "${pf[@]}" --home "$d/reviewer" records get "$id" -o "$work/output"
  cmp "$work/input" "$work/output"
  rm -f "$work/output"
  measure age-decrypt age -d -i "$work/epoch.key" -o "$work/output" "$work/input.age"
} > "$work/results"

awk -v mib="$size_mib" '
  { t[$1] = $2; m[$1] = $3 }
  END {
    printf "| case | seconds | MB/s | peak RSS MiB | ratio to age |\n|---|---|---|---|---|\n"
    split("submit-account submit-invite age-encrypt get age-decrypt", order, " ")
    for (i = 1; i <= 5; i++) {
      n = order[i]; peer = (n ~ /^submit|encrypt/) ? "age-encrypt" : "age-decrypt"
      printf "| %s | %.2f | %.0f | %.0f | %.2f |\n", n, t[n], mib * 1.048576 / t[n], m[n] / 1024, t[peer] / t[n]
    }
  }' "$work/results"
