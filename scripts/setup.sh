#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the benchmarks
# need. Idempotent: packages already present are left alone. Nothing is
# downloaded from anywhere but Debian's archive.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-format
  # clang-14 + its sanitizer runtime, for libFuzzer targets
  clang-14 libclang-rt-14-dev
  # libraries (DESIGN.md §3)
  libsodium-dev libabsl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  libsqlcipher-dev
  # OpenSSL makes tvaultd's self-signed X.509 certificate (gRPC already
  # uses it for TLS)
  libssl-dev
  # command line parsing for tvault/tvaultd
  libcli11-dev
  # invites as QR codes (tvault invite create --qr FILE.png); zbarimg
  # reads them back in the tests
  libqrencode-dev libpng-dev zbar-tools
  # strict JSON reading of record metadata (duplicate keys, SAX)
  nlohmann-json3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests only: some age test-kit vectors are zlib-compressed
  zlib1g-dev
  # interop peer: the reference age tool (Go)
  age
  # `script` drives age's passphrase prompt on a pseudo-terminal; GNU time
  # reports peak RSS in bench.sh
  util-linux bsdutils time
  # the TLS 1.3-only test drives handshakes with `openssl s_client`
  openssl
  # independent Python reader of records (tools/verify_record.py)
  python3 python3-nacl
  # fault injection into a running tvaultd (tests/reliability/tvault_faults):
  # libfiu's POSIX preload and fiu-ctrl
  libfiu-dev fiu-utils
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
