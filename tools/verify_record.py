#!/usr/bin/python3
"""Independent reader of Testimony Vault records (FORMAT.md, section 1).

Takes the plaintext of a record, as `age -d` prints it, checks the
container and its signature, and extracts the original file:

    age -d -i case-key.txt record.age | tools/verify_record.py --out file

It checks: magic, lengths, the exact padded length max(Padme(L), 65536),
all-zero padding, the Ed25519 signature over "tvault/v1/record" || 0x00 ||
BLAKE2b-512(everything from "TVR1" through signer_pk), that the signer key
is a valid Ed25519 point, that the metadata is strict JSON (original field
names only, no repeated key at any depth, valid UTF-8) and names the signer.
It does not check certificates, the case or the log: those need the
organisation key and the vault (see FORMAT.md).

Exit status 0 and a JSON summary on stdout if the record verifies; 1 and a
one-line reason on stderr if not. Needs only python3 and python3-nacl.
"""
import argparse
import hashlib
import json
import sys

import nacl.bindings
import nacl.exceptions
import nacl.signing

MAGIC = b"TVR1"
HEADER = 16
TRAILER = 32 + 64
MAX_META = 65536
MAX_BODY = 1 << 40
MIN_PADDED = 65536
TAG = b"tvault/v1/record"

# RecordMetadata and the messages inside it (proto/records.proto): the only
# keys allowed at each level. "extra" is a string map: any key, string value.
SCHEMA = {
    "record_id": str, "case_id": str, "epoch": int, "kind": str,
    "title": str, "description": str, "language": str, "event_date": str,
    "created_at": str, "media_type": str, "file_name": str,
    "submitter": {
        "sign_pk": str,
        "certificate": {"body": str, "signature": str},
        "relation": str,
    },
    "supersedes": str, "extra": "map",
}
KINDS = {"TESTIMONY", "MEETING_TRANSCRIPT", "AUDIO", "VIDEO", "IMAGE",
         "DOCUMENT", "OTHER"}


class Invalid(Exception):
    pass


def padme(length):
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise Invalid("metadata repeats the key %r" % key[:64])
        obj[key] = value
    return obj


def check_keys(obj, schema, path="metadata"):
    if not isinstance(obj, dict):
        raise Invalid("%s is not an object" % path)
    for key, value in obj.items():
        if key not in schema:
            raise Invalid("%s has the unknown key %r" % (path, key[:64]))
        rule = schema[key]
        if rule == "map":
            if not isinstance(value, dict) or not all(
                    isinstance(v, str) for v in value.values()):
                raise Invalid("%s.%s must map strings to strings" % (path, key))
        elif isinstance(rule, dict):
            check_keys(value, rule, path + "." + key)
        elif not isinstance(value, rule) or isinstance(value, bool):
            raise Invalid("%s.%s has the wrong type" % (path, key))
        elif rule is int and not 0 <= value < 1 << 32:
            raise Invalid("%s.%s is out of range" % (path, key))


def check_strings(obj, path="metadata"):
    """JSON escapes can encode lone surrogates, which are not Unicode text;
    the C++ reader refuses them, so this one does too."""
    items = obj.items() if isinstance(obj, dict) else []
    for key, value in items:
        for s in (key, value):
            if isinstance(s, str):
                try:
                    s.encode("utf-8")
                except UnicodeEncodeError:
                    raise Invalid("%s contains a lone surrogate escape" % path)
        if isinstance(value, dict):
            check_strings(value, path + "." + key)


def is_lower_hex(s, nbytes):
    return (isinstance(s, str) and len(s) == 2 * nbytes
            and all(c in "0123456789abcdef" for c in s))


def verify(data):
    if len(data) < HEADER + TRAILER or data[:4] != MAGIC:
        raise Invalid("not a Testimony Vault record (bad magic or too short)")
    meta_len = int.from_bytes(data[4:8], "big")
    body_len = int.from_bytes(data[8:16], "big")
    if not 1 <= meta_len <= MAX_META:
        raise Invalid("metadata length out of range")
    if body_len > MAX_BODY:
        raise Invalid("body length out of range")
    unpadded = HEADER + meta_len + body_len + TRAILER
    padded = max(padme(unpadded), MIN_PADDED)
    if len(data) != padded:
        raise Invalid("length is %d, the container says %d"
                      % (len(data), padded))
    meta_raw = data[HEADER:HEADER + meta_len]
    body_end = HEADER + meta_len + body_len
    padding = data[body_end:padded - TRAILER]
    if padding.count(0) != len(padding):
        raise Invalid("the padding is not all zero")
    signer_pk = data[padded - TRAILER:padded - 64]
    signature = data[padded - 64:]
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(signer_pk):
        raise Invalid("signer key is not a valid Ed25519 public key")
    digest = hashlib.blake2b(data[:padded - 64], digest_size=64).digest()
    try:
        nacl.signing.VerifyKey(signer_pk).verify(TAG + b"\x00" + digest,
                                                 signature)
    except nacl.exceptions.BadSignatureError:
        raise Invalid("signature does not verify")
    try:
        meta = json.loads(meta_raw.decode("utf-8", errors="strict"),
                          object_pairs_hook=no_duplicates)
    except UnicodeDecodeError:
        raise Invalid("metadata is not valid UTF-8")
    except json.JSONDecodeError as e:
        raise Invalid("metadata is not valid JSON (%s)" % e.msg)
    check_keys(meta, SCHEMA)
    check_strings(meta)
    for key in ("record_id", "case_id"):
        if not is_lower_hex(meta.get(key), 16):
            raise Invalid("metadata %s is not 32 lowercase hex digits" % key)
    if meta.get("supersedes", "") != "" and not is_lower_hex(
            meta["supersedes"], 16):
        raise Invalid("metadata supersedes is not a record id")
    if not is_lower_hex(meta.get("submitter", {}).get("sign_pk"), 32):
        raise Invalid("metadata submitter.sign_pk is not 64 hex digits")
    if meta.get("kind") not in KINDS:
        raise Invalid("metadata kind is missing or unknown")
    if meta.get("submitter", {}).get("sign_pk") != signer_pk.hex():
        raise Invalid("the metadata names a different signer than the key "
                      "that signed")
    return meta, data[HEADER + meta_len:body_end], signer_pk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("plaintext", nargs="?", default="-",
                        help="record plaintext (default: standard input)")
    parser.add_argument("--out", help="write the original file here")
    args = parser.parse_args()
    if args.plaintext == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.plaintext, "rb") as f:
            data = f.read()
    try:
        meta, body, signer_pk = verify(data)
    except Invalid as e:
        print("verify_record: INVALID: %s" % e, file=sys.stderr)
        return 1
    if args.out:
        with open(args.out, "wb") as f:
            f.write(body)
    print(json.dumps({
        "valid": True,
        "record_id": meta["record_id"],
        "case_id": meta["case_id"],
        "epoch": meta.get("epoch", 0),
        "kind": meta["kind"],
        "signer": signer_pk.hex(),
        # The certificate is not checked here (that needs the organisation
        # key): say what the record claims, and that it is unchecked.
        "signed_by": ("account (certificate NOT checked by this tool)"
                      if "certificate" in meta.get("submitter", {})
                      else "invite key (NOT checked by this tool)"),
        "body_bytes": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
