// Merkle tree hashing and proofs of RFC 9162 §2.1 (the C2SP tlog and
// RFC 6962 tree) over SHA-256, for the vault's transparency log (DESIGN.md §9).
//
// Contract
// - Hashes are public values. Nothing here handles secrets, and comparisons
//   use ordinary equality.
// - Leaves and interior nodes are domain-separated (0x00 and 0x01 prefixes),
//   so a leaf can never be presented as a node or the other way round.
// - Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step. Each
//   verifier first checks the proof length that RFC 9162 §2.1.3.1/§2.1.4.1
//   gives for the sizes, so every outcome has one precise status:
//     OK                  the proof binds the leaf (or old tree) to the root;
//     InvalidArgument     the request is malformed: index >= size, size 0,
//                         old_size > new_size, old_size 0, or a proof with
//                         the wrong number of hashes for the sizes;
//     DataLoss            well-formed, but the proof does not lead to the
//                         given root(s): the log, the proof or the roots were
//                         tampered with or come from different trees. Callers
//                         treat this as evidence, not as a transient error.
// - What a successful verification does NOT say: that `tree_size` or the root
//   are the log's real ones. Both come from a signed checkpoint
//   (crypto/checkpoint.h, crypto/signed_note.h), which the caller checks.
//
// The proof generators work from the full list of leaf hashes held in memory.
// They are the reference against which the vault's store-backed generators
// (from stored subtree hashes) are tested, and are O(n log n) per proof.
//
// All functions are thread-safe (no shared state).
#ifndef TVAULT_CRYPTO_MERKLE_H_
#define TVAULT_CRYPTO_MERKLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tvault::crypto {

inline constexpr size_t kMerkleHashSize = 32;
using Hash = std::array<uint8_t, kMerkleHashSize>;

// SHA-256(0x00 || data): the hash of one log entry.
Hash LeafHash(absl::Span<const uint8_t> data);
// SHA-256(0x01 || left || right): the hash of an interior node.
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256 of the empty string: the root of the tree with no leaves
// (RFC 9162 §2.1.1).
Hash EmptyTreeRootHash();

// Copies a hash received as bytes (protobuf field, decoded base64).
// InvalidArgument unless `bytes` is exactly kMerkleHashSize long.
absl::StatusOr<Hash> HashFromBytes(absl::Span<const uint8_t> bytes);

// MTH(D[n]) of RFC 9162 §2.1.1 over already-hashed leaves.
// An empty span gives EmptyTreeRootHash().
Hash RootFromLeafHashes(absl::Span<const Hash> leaf_hashes);

// PATH(index, D[n]) of RFC 9162 §2.1.3.1, ordered from the leaf's sibling up
// to the root's child. InvalidArgument if index >= leaf_hashes.size().
absl::StatusOr<std::vector<Hash>> InclusionProof(
    absl::Span<const Hash> leaf_hashes, uint64_t index);

// PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1 between the tree of the first
// `old_size` leaves and the tree of all of them. Empty when old_size == n.
// InvalidArgument if old_size is 0 (RFC 9162 defines no proof from the empty
// tree; every tree extends it) or greater than leaf_hashes.size().
absl::StatusOr<std::vector<Hash>> ConsistencyProof(
    absl::Span<const Hash> leaf_hashes, uint64_t old_size);

// RFC 9162 §2.1.3.2: does `proof` show that `leaf_hash` is leaf number
// `leaf_index` of the tree of `tree_size` leaves whose root is `root`?
// Statuses as in the header comment.
absl::Status VerifyInclusionProof(uint64_t leaf_index, uint64_t tree_size,
                                  const Hash& leaf_hash,
                                  absl::Span<const Hash> proof,
                                  const Hash& root);

// RFC 9162 §2.1.4.2: does `proof` show that the tree of `new_size` leaves
// with root `new_root` extends the tree of `old_size` leaves with root
// `old_root`?
// - 0 < old_size < new_size: the RFC 9162 algorithm.
// - old_size == new_size > 0: RFC 9162 has no proof for this case; OK iff the
//   proof is empty (else InvalidArgument) and the roots are equal (else
//   DataLoss), as in transparency-dev/merkle.
// - old_size == 0 (with any new_size) or old_size > new_size:
//   InvalidArgument. A caller whose last trusted tree is empty has nothing to
//   check and must not ask.
absl::Status VerifyConsistencyProof(uint64_t old_size, uint64_t new_size,
                                    const Hash& old_root, const Hash& new_root,
                                    absl::Span<const Hash> proof);

// The number of hashes in a correct proof, from RFC 9162's definitions.
// Preconditions as for the verifiers (index < tree_size;
// 0 < old_size <= new_size); 0 when they do not hold.
size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size);
size_t ConsistencyProofLength(uint64_t old_size, uint64_t new_size);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_MERKLE_H_
