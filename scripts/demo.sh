#!/usr/bin/env bash
# The main job, as far as it exists today: the crypto layer end to end.
# A reviewer's case key is made; a testimony is encrypted on the "device"
# with tvault; it is decrypted both by tvault and by the standard age tool
# (the archive must outlive this software); a tampered copy is refused.
#
#   scripts/demo.sh [TESTIMONY_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
testimony=$(realpath "${1:-scripts/sample-testimony.txt}")

scripts/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tvault >/dev/null
tvault=$PWD/build/client/tvault

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. The reviewer creates a case key (an age identity) and shares only its public recipient."
"$tvault" age keygen -o case-key.txt
recipient=$(grep '^# public key:' case-key.txt | cut -d' ' -f4)
echo "recipient: $recipient"

say "2. The testimony is encrypted on the submitter's device ($(wc -c <"$testimony") bytes)."
"$tvault" age encrypt -r "$recipient" -o testimony.age "$testimony"
ls -l testimony.age
echo "first line of the ciphertext: $(head -n1 testimony.age)"

say "3. The reviewer decrypts it with tvault."
"$tvault" age decrypt -i case-key.txt -o decrypted-by-tvault.txt testimony.age
cmp "$testimony" decrypted-by-tvault.txt && echo "identical to the original"

say "4. The standard age tool reads the same file (if this software is ever gone)."
age --decrypt -i case-key.txt -o decrypted-by-age.txt testimony.age
cmp "$testimony" decrypted-by-age.txt && echo "identical to the original"

say "5. One flipped bit in the ciphertext: tvault refuses it and writes nothing."
cp testimony.age tampered.age
size=$(stat -c %s tampered.age)
pos=$((size - 20))
byte=$(od -An -tu1 -j "$pos" -N1 tampered.age | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" |
  dd of=tampered.age bs=1 seek="$pos" conv=notrunc status=none
if "$tvault" age decrypt -i case-key.txt -o should-not-exist.txt tampered.age; then
  echo "BUG: a tampered file was accepted" >&2
  exit 1
fi
[[ ! -e should-not-exist.txt ]] && echo "no output file was left behind"

say "6. Text form (ASCII armor) for channels that only carry text."
"$tvault" age encrypt -a -r "$recipient" "$testimony" | head -n 3
echo "..."

say "Demo complete."
