// The transparency log's Merkle tree kept in the store (DESIGN.md §9,
// RFC 9162 §2.1), so that roots and proofs cost O(log n) reads at any size.
//
// Layout
// - Every complete subtree is stored once, as the store's log node
//   (level, index): the hash of the 2^level leaves starting at leaf
//   index << level. Level 0 holds the leaf hashes. A tree of n leaves has
//   fewer than 2n nodes; appending writes 1 node plus one per subtree the
//   new leaf completes (2 on average) and reads as many.
// - Any other subtree (the right edge of a tree whose size is not a power
//   of two) is the fold of at most log2(n) stored nodes.
//
// Contract
// - Functions take the open StoreTransaction of the caller, so an append is
//   part of the state change it records (one commit, store.h).
// - Results equal crypto/merkle.h's in-memory reference for every size
//   (tested on every size up to a few hundred and on random large ones).
// - Statuses: InvalidArgument for arguments outside the tree (as the
//   crypto/merkle.h generators), DataLoss if a node that must exist is
//   missing (the store lost a row), and the store's own errors.
// - Not thread-safe by itself: the transaction serialises.
#ifndef TVAULT_VAULT_LOG_TREE_H_
#define TVAULT_VAULT_LOG_TREE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/merkle.h"
#include "vault/store.h"

namespace tvault::vault {

// Appends `entry` (the serialised LogEntry) at index LogSize() and stores
// the subtrees it completes. Returns the new entry's index.
absl::StatusOr<uint64_t> AppendToLogTree(StoreTransaction& txn,
                                         absl::string_view entry);

// MTH of the first `tree_size` leaves. InvalidArgument if tree_size is
// larger than the log; the empty tree's hash for 0.
absl::StatusOr<crypto::Hash> LogTreeRoot(StoreTransaction& txn,
                                         uint64_t tree_size);

// RFC 9162 PATH(index, D[tree_size]). InvalidArgument unless
// index < tree_size <= the log's size.
absl::StatusOr<std::vector<crypto::Hash>> LogTreeInclusionProof(
    StoreTransaction& txn, uint64_t index, uint64_t tree_size);

// RFC 9162 PROOF(old_size, D[new_size]); empty when old_size == new_size.
// InvalidArgument unless 0 < old_size <= new_size <= the log's size.
absl::StatusOr<std::vector<crypto::Hash>> LogTreeConsistencyProof(
    StoreTransaction& txn, uint64_t old_size, uint64_t new_size);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_LOG_TREE_H_
