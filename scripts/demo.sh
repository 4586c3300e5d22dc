#!/usr/bin/env bash
# The whole story with the real commands (issue 7): an organisation, a
# vault on loopback with its SQLCipher store, a reviewer and a lawyer, a
# case, a lawyer's transcript, a family's testimony through an invite, a
# second reviewer who reads the earlier records, verification of every
# record and of the log, and one record opened with the standard age tool
# and checked by tools/verify_record.py.
#
#   scripts/demo.sh [TESTIMONY_FILE]
#   TVAULT_DEMO_DIR=DIR scripts/demo.sh   keeps DIR/server/ and DIR/out/
#
# Exit 0 only if every step succeeded and the decrypted testimony equals
# the input byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
testimony=$(realpath "${1:-scripts/sample-testimony.txt}")

if [[ -z "${TVAULT_DEMO_SKIP_BUILD:-}" ]]; then
  scripts/setup.sh >/dev/null
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build tvault tvaultd >/dev/null
fi
tvault=${TVAULT_BIN:-$repo/build/client/tvault}
tvaultd=${TVAULTD_BIN:-$repo/build/vault/tvaultd}

if [[ -n "${TVAULT_DEMO_DIR:-}" ]]; then
  work=$(realpath -m "$TVAULT_DEMO_DIR")
  mkdir -p "$work"
  [[ -z "$(ls -A "$work")" ]] || { echo "TVAULT_DEMO_DIR must be empty" >&2; exit 2; }
  keep=1
else
  work=$(mktemp -d)
  keep=0
fi
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [[ $keep == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir -p out people

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }
# Scripts give passphrases through a file; people type them.
umask 077
printf 'demo passphrase, for this run only\n' > people/passphrase
tv() { "$tvault" --passphrase-file "$work/people/passphrase" "$@"; }

say "1. The administrator creates the organisation root (offline machine)."
run tv --home admin org init | tee people/org.txt
org_key=$(sed -n 's/^organisation public key (for tvaultd init --org-key): //p' people/org.txt)

say "2. The operator creates the vault; the administrator signs its bundle."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl rand -hex 32 > db.key
run "$tvaultd" init --data-dir server --org-key "$org_key" --db-key-file db.key \
  --origin demo.tvault.example/log --address "127.0.0.1:$port" > people/init.txt
tail -n 1 people/init.txt > people/bundle.unsigned
run tv --home admin org sign-bundle people/bundle.unsigned -o people/server.bundle
"$tvaultd" serve --data-dir server --db-key-file db.key --listen "127.0.0.1:$port" \
  2> server.log &
server_pid=$!
for _ in $(seq 100); do [[ -e server/tvaultd.ready ]] && break; sleep 0.1; done
[[ -e server/tvaultd.ready ]] || { echo "the vault did not start" >&2; cat server.log >&2; exit 1; }
echo "tvaultd listening on $(cat server/tvaultd.ready)"

say "3. A reviewer and a lawyer make keys; the administrator certifies and enrols them."
for who in reviewer:reviewer lawyer:contributor reviewer2:reviewer; do
  handle=${who%%:*}; role=${who##*:}
  run tv --home "$handle" keys new --handle "$handle" -o "people/$handle.request"
  run tv --home admin org certify "people/$handle.request" --role "$role" \
    -o "people/$handle.cert" --yes
  run tv --home admin org enrol "people/$handle.cert" --bundle people/server.bundle \
    -o "people/$handle.enrolment"
  run tv --home "$handle" enrol "people/$handle.enrolment"
  run tv --home "$handle" register
done
run tv --home reviewer keys show

say "4. The reviewer opens a case and adds the lawyer (who pins the card)."
run tv --home reviewer case create --title "Detainee A" | tee people/case.txt
case_id=$(sed -n 's/^Case "Detainee A" created: //p' people/case.txt)
run tv --home reviewer case add-member "$case_id" people/lawyer.cert --yes \
  | tee people/add-lawyer.txt
grep '^tvault-case-1:' people/add-lawyer.txt > people/case.card
run tv --home lawyer case join people/case.card

say "5. The lawyer uploads a meeting transcript."
printf 'Meeting with A on %s: visible bruises; denied a lawyer for 9 days.\n' \
  "$(date -u +%F)" > people/transcript.txt
run tv --home lawyer submit people/transcript.txt --case "$case_id" \
  --kind meeting-transcript --title "Visit 1" --language en

say "6. The reviewer creates an invite for a family member."
run tv --home reviewer invite create "$case_id" --expires 2d > people/invite.txt
echo "(invite string: $(wc -c < people/invite.txt) bytes)"

say "7. The family member submits the testimony through the invite (fresh --home)."
run "$tvault" --home family submit "$testimony" --invite people/invite.txt \
  --title "What happened to my brother" --relation sister
if [[ -e family ]] && [[ -n "$(ls -A family)" ]]; then
  echo "BUG: the family's home is not empty" >&2; exit 1
fi
echo "the family's --home holds nothing"

say "8. A second reviewer is added and reads the earlier records."
run tv --home reviewer case add-member "$case_id" people/reviewer2.cert --yes \
  | tee people/add-reviewer2.txt
run tv --home reviewer2 case join people/case.card

say "9. The reviewers list, decrypt and verify every record, and the log."
run tv --home reviewer2 records list "$case_id" | tee people/records.txt
testimony_out=
for id in $(grep -o '^[0-9a-f]\{32\}' people/records.txt); do
  run tv --home reviewer2 records get "$id" -o "out/$id" --ciphertext "out/$id.age" \
    | tee "people/get-$id.txt"
  if grep -q 'testimony' "people/get-$id.txt"; then testimony_out=$id; fi
done
[[ -n "$testimony_out" ]] || { echo "the testimony was not found" >&2; exit 1; }
cmp "$testimony" "out/$testimony_out"
echo "the decrypted testimony equals the input, byte for byte"
run tv --home reviewer log verify
run tv --home reviewer log show
run tv --home reviewer log events "$case_id"

say "10. The standard age tool opens the testimony with the case identity."
epoch=$(grep "^$testimony_out" people/records.txt | grep -o 'epoch [0-9]*' | cut -d' ' -f2)
run tv --home reviewer case export-key "$case_id" --epoch "$epoch" -o people/epoch.key
run age --decrypt -i people/epoch.key -o out/testimony.container "out/$testimony_out.age"
run /usr/bin/python3 "$repo/tools/verify_record.py" --out out/testimony.by-age \
  < out/testimony.container
cmp "$testimony" out/testimony.by-age
echo "age + verify_record.py give the same testimony"
rm -f out/testimony.container people/epoch.key

say "Demo complete."
[[ $keep == 1 ]] && echo "server data in $work/server/, decrypted copies in $work/out/"
exit 0
