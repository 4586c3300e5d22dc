#include "vault/log_tree.h"

#include <bit>

#include "absl/strings/str_cat.h"

namespace tvault::vault {
namespace {

using crypto::Hash;

// The largest power of two smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

absl::StatusOr<Hash> ReadNode(StoreTransaction& txn, uint32_t level,
                              uint64_t index) {
  absl::StatusOr<Hash> node = txn.ReadLogNode(level, index);
  if (absl::IsNotFound(node.status())) {
    return absl::DataLossError(
        absl::StrCat("the log's tree is missing the node at level ", level,
                     ", index ", index, "; the database lost rows"));
  }
  return node;
}

// MTH(D[begin:end]) for 0 <= begin < end <= the log size, where the range
// is one the RFC's recursion produces (begin is a multiple of the largest
// power of two not above end - begin, or the range is complete).
absl::StatusOr<Hash> SubtreeHash(StoreTransaction& txn, uint64_t begin,
                                 uint64_t end) {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    return ReadNode(txn, static_cast<uint32_t>(std::countr_zero(n)),
                    begin >> std::countr_zero(n));
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> left = SubtreeHash(txn, begin, begin + k);
  if (!left.ok()) return left;
  absl::StatusOr<Hash> right = SubtreeHash(txn, begin + k, end);
  if (!right.ok()) return right;
  return crypto::NodeHash(*left, *right);
}

// RFC 9162 §2.1.3.1 PATH(m, D[begin:end]), m absolute; appends in order
// from the leaf's sibling up.
absl::Status Path(StoreTransaction& txn, uint64_t m, uint64_t begin,
                  uint64_t end, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  const bool left = m < begin + k;
  absl::Status s = left ? Path(txn, m, begin, begin + k, out)
                        : Path(txn, m, begin + k, end, out);
  if (!s.ok()) return s;
  absl::StatusOr<Hash> sibling = left ? SubtreeHash(txn, begin + k, end)
                                      : SubtreeHash(txn, begin, begin + k);
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return absl::OkStatus();
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[begin:end], b), m relative to begin.
absl::Status SubProof(StoreTransaction& txn, uint64_t m, uint64_t begin,
                      uint64_t end, bool complete, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (complete) return absl::OkStatus();
    absl::StatusOr<Hash> h = SubtreeHash(txn, begin, end);
    if (!h.ok()) return h.status();
    out.push_back(*h);
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    if (absl::Status s = SubProof(txn, m, begin, begin + k, complete, out);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Hash> right = SubtreeHash(txn, begin + k, end);
    if (!right.ok()) return right.status();
    out.push_back(*right);
  } else {
    if (absl::Status s = SubProof(txn, m - k, begin + k, end, false, out);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Hash> left = SubtreeHash(txn, begin, begin + k);
    if (!left.ok()) return left.status();
    out.push_back(*left);
  }
  return absl::OkStatus();
}

absl::Status CheckWithinLog(StoreTransaction& txn, uint64_t tree_size) {
  absl::StatusOr<uint64_t> size = txn.LogSize();
  if (!size.ok()) return size.status();
  if (tree_size > *size) {
    return absl::InvalidArgumentError(absl::StrCat("tree size ", tree_size,
                                                   " is larger than the log (",
                                                   *size, " entries)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> AppendToLogTree(StoreTransaction& txn,
                                         absl::string_view entry) {
  Hash hash = crypto::LeafHash(crypto::AsBytes(entry));
  absl::StatusOr<uint64_t> index = txn.AppendLogEntry(entry, hash);
  if (!index.ok()) return index;
  if (absl::Status s = txn.InsertLogNode(0, *index, hash); !s.ok()) return s;
  uint64_t i = *index;
  for (uint32_t level = 0; (i & 1) == 1; ++level) {
    absl::StatusOr<Hash> left = ReadNode(txn, level, i - 1);
    if (!left.ok()) return left.status();
    hash = crypto::NodeHash(*left, hash);
    i >>= 1;
    if (absl::Status s = txn.InsertLogNode(level + 1, i, hash); !s.ok()) {
      return s;
    }
  }
  return index;
}

absl::StatusOr<Hash> LogTreeRoot(StoreTransaction& txn, uint64_t tree_size) {
  if (absl::Status s = CheckWithinLog(txn, tree_size); !s.ok()) return s;
  if (tree_size == 0) return crypto::EmptyTreeRootHash();
  return SubtreeHash(txn, 0, tree_size);
}

absl::StatusOr<std::vector<Hash>> LogTreeInclusionProof(StoreTransaction& txn,
                                                        uint64_t index,
                                                        uint64_t tree_size) {
  if (index >= tree_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf index ", index, " is not below the tree size ", tree_size));
  }
  if (absl::Status s = CheckWithinLog(txn, tree_size); !s.ok()) return s;
  std::vector<Hash> proof;
  if (absl::Status s = Path(txn, index, 0, tree_size, proof); !s.ok()) {
    return s;
  }
  return proof;
}

absl::StatusOr<std::vector<Hash>> LogTreeConsistencyProof(StoreTransaction& txn,
                                                          uint64_t old_size,
                                                          uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("no consistency proof from tree size ", old_size, " to ",
                     new_size, " (need 0 < old size <= new size)"));
  }
  if (absl::Status s = CheckWithinLog(txn, new_size); !s.ok()) return s;
  std::vector<Hash> proof;
  if (old_size == new_size) return proof;
  if (absl::Status s = SubProof(txn, old_size, 0, new_size, true, proof);
      !s.ok()) {
    return s;
  }
  return proof;
}

}  // namespace tvault::vault
