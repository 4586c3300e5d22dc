#include "crypto/merkle.h"

#include <sodium.h>

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Hash Mth(absl::Span<const Hash> leaves) {
  if (leaves.empty()) return EmptyTreeRootHash();
  if (leaves.size() == 1) return leaves[0];
  const size_t k = static_cast<size_t>(SplitPoint(leaves.size()));
  return NodeHash(Mth(leaves.first(k)), Mth(leaves.subspan(k)));
}

// PATH(m, D[n]) of RFC 9162 §2.1.3.1, appended to `out` (deepest first).
void AppendPath(uint64_t m, absl::Span<const Hash> leaves,
                std::vector<Hash>& out) {
  if (leaves.size() <= 1) return;
  const size_t k = static_cast<size_t>(SplitPoint(leaves.size()));
  if (m < k) {
    AppendPath(m, leaves.first(k), out);
    out.push_back(Mth(leaves.subspan(k)));
  } else {
    AppendPath(m - k, leaves.subspan(k), out);
    out.push_back(Mth(leaves.first(k)));
  }
}

// SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, appended to `out`.
void AppendSubproof(uint64_t m, absl::Span<const Hash> leaves, bool b,
                    std::vector<Hash>& out) {
  if (m == leaves.size()) {
    if (!b) out.push_back(Mth(leaves));
    return;
  }
  const size_t k = static_cast<size_t>(SplitPoint(leaves.size()));
  if (m <= k) {
    AppendSubproof(m, leaves.first(k), b, out);
    out.push_back(Mth(leaves.subspan(k)));
  } else {
    AppendSubproof(m - k, leaves.subspan(k), false, out);
    out.push_back(Mth(leaves.first(k)));
  }
}

bool IsPowerOfTwo(uint64_t n) { return std::has_single_bit(n); }

}  // namespace

Hash LeafHash(absl::Span<const uint8_t> data) {
  EnsureSodiumInitialized();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &kLeafPrefix, 1);
  crypto_hash_sha256_update(&state, data.data(), data.size());
  Hash out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  EnsureSodiumInitialized();
  uint8_t buf[1 + 2 * kMerkleHashSize];
  buf[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 1 + kMerkleHashSize);
  Hash out;
  crypto_hash_sha256(out.data(), buf, sizeof(buf));
  return out;
}

Hash EmptyTreeRootHash() {
  EnsureSodiumInitialized();
  Hash out;
  crypto_hash_sha256(out.data(), nullptr, 0);
  return out;
}

absl::StatusOr<Hash> HashFromBytes(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kMerkleHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Merkle tree hash is ", kMerkleHashSize, " bytes, not ",
                     bytes.size()));
  }
  Hash out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Hash RootFromLeafHashes(absl::Span<const Hash> leaf_hashes) {
  return Mth(leaf_hashes);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(
    absl::Span<const Hash> leaf_hashes, uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not less than the tree size ",
                     leaf_hashes.size()));
  }
  std::vector<Hash> proof;
  AppendPath(index, leaf_hashes, proof);
  return proof;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(
    absl::Span<const Hash> leaf_hashes, uint64_t old_size) {
  if (old_size == 0) {
    return absl::InvalidArgumentError(
        "no consistency proof from the empty tree: every tree extends it");
  }
  if (old_size > leaf_hashes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", old_size, " is larger than the tree (",
                     leaf_hashes.size(), " leaves)"));
  }
  std::vector<Hash> proof;
  AppendSubproof(old_size, leaf_hashes, /*b=*/true, proof);
  return proof;
}

size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size) {
  if (leaf_index >= tree_size) return 0;
  // One hash per level of PATH's recursion.
  size_t length = 0;
  uint64_t m = leaf_index;
  uint64_t n = tree_size;
  while (n > 1) {
    const uint64_t k = SplitPoint(n);
    if (m < k) {
      n = k;
    } else {
      m -= k;
      n -= k;
    }
    ++length;
  }
  return length;
}

size_t ConsistencyProofLength(uint64_t old_size, uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) return 0;
  // One hash per level of SUBPROOF's recursion, plus MTH(D[m]) at the bottom
  // unless the old tree is a complete subtree on the left border (b true).
  size_t length = 0;
  uint64_t m = old_size;
  uint64_t n = new_size;
  bool b = true;
  while (m != n) {
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      n = k;
    } else {
      m -= k;
      n -= k;
      b = false;
    }
    ++length;
  }
  return b ? length : length + 1;
}

absl::Status VerifyInclusionProof(uint64_t leaf_index, uint64_t tree_size,
                                  const Hash& leaf_hash,
                                  absl::Span<const Hash> proof,
                                  const Hash& root) {
  // RFC 9162 §2.1.3.2 step 1.
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", leaf_index,
                     " is not less than the tree size ", tree_size));
  }
  const size_t want = InclusionProofLength(leaf_index, tree_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof has ", proof.size(), " hashes; leaf ", leaf_index,
        " of a tree of ", tree_size, " leaves needs ", want));
  }
  // Steps 2 to 5. With the length checked above, the two "sn" failures below
  // cannot happen; they stay because they are the RFC's own guards.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError("inclusion proof is too long");
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0)
    return absl::InvalidArgumentError("inclusion proof is too short");
  if (r != root) {
    return absl::DataLossError(
        absl::StrCat("inclusion proof for leaf ", leaf_index, " of a tree of ",
                     tree_size, " leaves does not lead to the given root"));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistencyProof(uint64_t old_size, uint64_t new_size,
                                    const Hash& old_root, const Hash& new_root,
                                    absl::Span<const Hash> proof) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("old tree size ", old_size,
                     " is larger than the new tree size ", new_size));
  }
  if (old_size == 0) {
    return absl::InvalidArgumentError(
        "no consistency proof from the empty tree: every tree extends it");
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof between equal tree sizes must be "
                       "empty, has ",
                       proof.size(), " hashes"));
    }
    if (old_root != new_root) {
      return absl::DataLossError(absl::StrCat(
          "two different roots for the same tree size ", old_size));
    }
    return absl::OkStatus();
  }
  const size_t want = ConsistencyProofLength(old_size, new_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof has ", proof.size(), " hashes; from tree size ",
        old_size, " to ", new_size, " it needs ", want));
  }
  // RFC 9162 §2.1.4.2. Step 1 (empty proof) cannot happen here: want >= 1
  // whenever old_size < new_size. Step 2: the path is old_root followed by
  // the proof when old_size is a power of two, else the proof itself.
  const bool prepend_old_root = IsPowerOfTwo(old_size);
  const Hash& first = prepend_old_root ? old_root : proof[0];
  const absl::Span<const Hash> rest =
      prepend_old_root ? proof : proof.subspan(1);
  // Steps 3 and 4.
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // Step 5.
  Hash fr = first;
  Hash sr = first;
  // Step 6.
  for (const Hash& c : rest) {
    if (sn == 0) {
      return absl::InvalidArgumentError("consistency proof is too long");
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  // Step 7.
  if (sn != 0) {
    return absl::InvalidArgumentError("consistency proof is too short");
  }
  if (fr != old_root) {
    return absl::DataLossError(absl::StrCat("consistency proof from tree size ",
                                            old_size, " to ", new_size,
                                            " does not lead to the old root"));
  }
  if (sr != new_root) {
    return absl::DataLossError(absl::StrCat("consistency proof from tree size ",
                                            old_size, " to ", new_size,
                                            " does not lead to the new root"));
  }
  return absl::OkStatus();
}

}  // namespace tvault::crypto
