// The store-backed Merkle tree (vault/log_tree.h) against the in-memory
// reference of crypto/merkle.h: roots, inclusion and consistency proofs for
// every size up to 300, every index and old size at chosen sizes, random
// checks on a few thousand entries, every proof verified, argument checks,
// missing nodes, and rollback of a failed transaction.
#include "vault/log_tree.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crypto/merkle.h"
#include "crypto/secret_bytes.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"
#include "vault/sqlcipher_store.h"
#include "vault/store.h"

namespace tvault::vault {
namespace {

using crypto::Hash;
using ::testing::HasSubstr;

using tvault::testing_support::TempDir;

// The entry stored at `i`: distinct, of varying length (empty included).
std::string EntryFor(uint64_t i) {
  if (i == 0) return "";
  return absl::StrCat("entry ", i, std::string(i % 7, '#'));
}

class LogTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Create(dir_.path() + "/vault.db",
                               crypto::SecretBytes::Random(32));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { store_.reset(); }

  // Appends entries EntryFor(size) .. EntryFor(size + count - 1) in one
  // transaction, keeping the reference leaf hashes in step.
  void AppendBatch(uint64_t count) {
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      for (uint64_t k = 0; k < count; ++k) {
        const uint64_t i = leaves_.size();
        const std::string entry = EntryFor(i);
        absl::StatusOr<uint64_t> index = AppendToLogTree(txn, entry);
        if (!index.ok()) return index.status();
        if (*index != i) {
          return absl::InternalError(
              absl::StrCat("appended at ", *index, ", expected ", i));
        }
        leaves_.push_back(crypto::LeafHash(crypto::AsBytes(entry)));
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  // Runs `fn` in a transaction and expects it to return OK.
  void Read(absl::FunctionRef<void(StoreTransaction&)> fn) {
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      fn(txn);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  absl::Span<const Hash> Prefix(uint64_t n) const {
    return absl::Span<const Hash>(leaves_.data(), n);
  }

  // Root of the first n leaves: equal to the reference.
  static void CheckRoot(StoreTransaction& txn, absl::Span<const Hash> leaves) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, leaves.size());
    ASSERT_TRUE(root.ok()) << root.status() << " size " << leaves.size();
    EXPECT_EQ(*root, crypto::RootFromLeafHashes(leaves))
        << "size " << leaves.size();
  }

  // Inclusion proof of `index` in the first n leaves: equal to the
  // reference, and verifies against the reference root.
  static void CheckInclusion(StoreTransaction& txn,
                             absl::Span<const Hash> leaves, uint64_t index) {
    const uint64_t n = leaves.size();
    absl::StatusOr<std::vector<Hash>> proof =
        LogTreeInclusionProof(txn, index, n);
    ASSERT_TRUE(proof.ok())
        << proof.status() << " index " << index << " size " << n;
    absl::StatusOr<std::vector<Hash>> want =
        crypto::InclusionProof(leaves, index);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(*proof, *want) << "index " << index << " size " << n;
    EXPECT_EQ(proof->size(), crypto::InclusionProofLength(index, n));
    const absl::Status verified = crypto::VerifyInclusionProof(
        index, n, leaves[index], *proof, crypto::RootFromLeafHashes(leaves));
    EXPECT_TRUE(verified.ok())
        << verified << " index " << index << " size " << n;
  }

  // Consistency proof from old_size to the n leaves: equal to the
  // reference, and verifies between the reference roots.
  static void CheckConsistency(StoreTransaction& txn,
                               absl::Span<const Hash> leaves,
                               uint64_t old_size) {
    const uint64_t n = leaves.size();
    absl::StatusOr<std::vector<Hash>> proof =
        LogTreeConsistencyProof(txn, old_size, n);
    ASSERT_TRUE(proof.ok())
        << proof.status() << " old " << old_size << " new " << n;
    absl::StatusOr<std::vector<Hash>> want =
        crypto::ConsistencyProof(leaves, old_size);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(*proof, *want) << "old " << old_size << " new " << n;
    EXPECT_EQ(proof->size(), crypto::ConsistencyProofLength(old_size, n));
    const absl::Status verified = crypto::VerifyConsistencyProof(
        old_size, n, crypto::RootFromLeafHashes(leaves.subspan(0, old_size)),
        crypto::RootFromLeafHashes(leaves), *proof);
    EXPECT_TRUE(verified.ok())
        << verified << " old " << old_size << " new " << n;
  }

  uint64_t StoredSize() {
    uint64_t size = 0;
    Read([&](StoreTransaction& txn) {
      absl::StatusOr<uint64_t> s = txn.LogSize();
      ASSERT_TRUE(s.ok()) << s.status();
      size = *s;
    });
    return size;
  }

  TempDir dir_;
  std::unique_ptr<SqlcipherStore> store_;
  std::vector<Hash> leaves_;
};

TEST_F(LogTreeTest, EmptyLogHasTheEmptyTreeRoot) {
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 0);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, crypto::EmptyTreeRootHash());
    EXPECT_EQ(*root, crypto::RootFromLeafHashes({}));
  });
}

TEST_F(LogTreeTest, AppendReturnsConsecutiveIndicesAndStoresEntries) {
  AppendBatch(5);
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<uint64_t> size = txn.LogSize();
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, 5u);
    absl::StatusOr<std::vector<LogEntryRow>> rows = txn.ReadLogEntries(0, 5);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 5u);
    for (uint64_t i = 0; i < 5; ++i) {
      EXPECT_EQ((*rows)[i].index, i);
      EXPECT_EQ((*rows)[i].entry, EntryFor(i));
      EXPECT_EQ((*rows)[i].leaf_hash, leaves_[i]);
      // Level 0 of the tree holds the leaf hashes.
      absl::StatusOr<crypto::Sha256> node = txn.ReadLogNode(0, i);
      ASSERT_TRUE(node.ok()) << node.status();
      EXPECT_EQ(*node, leaves_[i]);
    }
  });
}

TEST_F(LogTreeTest, StoresExactlyTheCompleteSubtrees) {
  AppendBatch(13);  // 13 = 8 + 4 + 1
  Read([&](StoreTransaction& txn) {
    // Complete subtrees: level 1 indices 0..5, level 2 0..2, level 3 0.
    for (auto [level, count] : std::vector<std::pair<uint32_t, uint64_t>>{
             {0, 13}, {1, 6}, {2, 3}, {3, 1}, {4, 0}}) {
      for (uint64_t i = 0; i < count; ++i) {
        absl::StatusOr<crypto::Sha256> node = txn.ReadLogNode(level, i);
        ASSERT_TRUE(node.ok()) << node.status() << " " << level << "/" << i;
        const uint64_t width = uint64_t{1} << level;
        EXPECT_EQ(*node, crypto::RootFromLeafHashes(absl::Span<const Hash>(
                             leaves_.data() + i * width, width)))
            << level << "/" << i;
      }
      absl::StatusOr<crypto::Sha256> absent = txn.ReadLogNode(level, count);
      EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound)
          << "level " << level << " index " << count;
    }
  });
}

TEST_F(LogTreeTest, MatchesReferenceAtEverySizeUpTo300WhileGrowing) {
  // One transaction: after each append, the log's own size is checked
  // (root, both ends and the middle for inclusion, and a spread of old
  // sizes for consistency).
  Read([&](StoreTransaction& txn) {
    for (uint64_t n = 1; n <= 300; ++n) {
      const std::string entry = EntryFor(n - 1);
      absl::StatusOr<uint64_t> index = AppendToLogTree(txn, entry);
      ASSERT_TRUE(index.ok()) << index.status();
      ASSERT_EQ(*index, n - 1);
      leaves_.push_back(crypto::LeafHash(crypto::AsBytes(entry)));
      const absl::Span<const Hash> all(leaves_);
      CheckRoot(txn, all);
      for (uint64_t i : {uint64_t{0}, n / 2, n - 1})
        CheckInclusion(txn, all, i);
      for (uint64_t m : {uint64_t{1}, (n + 1) / 2, n - 1, n}) {
        if (m >= 1) CheckConsistency(txn, all, m);
      }
      if (testing::Test::HasFailure()) return;
    }
  });
}

TEST_F(LogTreeTest, RootOfEveryPrefixMatchesReferenceUpTo300) {
  AppendBatch(300);
  Read([&](StoreTransaction& txn) {
    for (uint64_t n = 0; n <= 300; ++n) CheckRoot(txn, Prefix(n));
  });
}

TEST_F(LogTreeTest, EveryIndexAndOldSizeAtChosenSizes) {
  AppendBatch(300);
  Read([&](StoreTransaction& txn) {
    for (uint64_t n :
         {1,  2,  3,  4,   5,   7,   8,   9,   15,  16,  17,  31,  32, 33,
          63, 64, 65, 100, 127, 128, 129, 191, 255, 256, 257, 299, 300}) {
      for (uint64_t i = 0; i < n; ++i) CheckInclusion(txn, Prefix(n), i);
      for (uint64_t m = 1; m <= n; ++m) CheckConsistency(txn, Prefix(n), m);
      if (testing::Test::HasFailure()) return;
    }
  });
}

TEST_F(LogTreeTest, RandomChecksOnFourThousandEntries) {
  for (int batch = 0; batch < 8; ++batch) AppendBatch(500);
  ASSERT_EQ(StoredSize(), 4000u);
  std::mt19937_64 rng(20240611);
  Read([&](StoreTransaction& txn) {
    // Whole log, and the power-of-two edges.
    CheckRoot(txn, Prefix(4000));
    CheckRoot(txn, Prefix(2048));
    CheckRoot(txn, Prefix(4095 - 95));
    CheckInclusion(txn, Prefix(4000), 0);
    CheckInclusion(txn, Prefix(4000), 3999);
    CheckInclusion(txn, Prefix(4000), 2047);
    CheckInclusion(txn, Prefix(4000), 2048);
    CheckConsistency(txn, Prefix(4000), 2048);
    CheckConsistency(txn, Prefix(4000), 1);
    CheckConsistency(txn, Prefix(4000), 3999);
    for (int k = 0; k < 60; ++k) {
      const uint64_t n = 1 + rng() % 4000;
      CheckRoot(txn, Prefix(n));
      CheckInclusion(txn, Prefix(n), rng() % n);
      CheckConsistency(txn, Prefix(n), 1 + rng() % n);
      if (testing::Test::HasFailure()) return;
    }
  });
}

TEST_F(LogTreeTest, ProofsStayValidAcrossBatchesAndTransactions) {
  // Roots committed in earlier transactions do not move; later trees are
  // provably consistent with them.
  std::vector<Hash> roots;
  std::vector<uint64_t> sizes;
  for (uint64_t count : {1, 6, 25, 100, 124}) {
    AppendBatch(count);
    sizes.push_back(leaves_.size());
    Read([&](StoreTransaction& txn) {
      absl::StatusOr<Hash> root = LogTreeRoot(txn, leaves_.size());
      ASSERT_TRUE(root.ok());
      roots.push_back(*root);
    });
  }
  Read([&](StoreTransaction& txn) {
    for (size_t a = 0; a < sizes.size(); ++a) {
      absl::StatusOr<Hash> root = LogTreeRoot(txn, sizes[a]);
      ASSERT_TRUE(root.ok());
      EXPECT_EQ(*root, roots[a]);
      for (size_t b = a; b < sizes.size(); ++b) {
        absl::StatusOr<std::vector<Hash>> proof =
            LogTreeConsistencyProof(txn, sizes[a], sizes[b]);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_TRUE(crypto::VerifyConsistencyProof(sizes[a], sizes[b], roots[a],
                                                   roots[b], *proof)
                        .ok());
      }
    }
  });
}

TEST_F(LogTreeTest, ConsistencyProofOfEqualSizesIsEmpty) {
  AppendBatch(10);
  Read([&](StoreTransaction& txn) {
    for (uint64_t n = 1; n <= 10; ++n) {
      absl::StatusOr<std::vector<Hash>> proof =
          LogTreeConsistencyProof(txn, n, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(proof->empty());
    }
  });
}

TEST_F(LogTreeTest, RefusesRootOfTreeLargerThanTheLog) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 8);
    EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(root.status().message()),
                HasSubstr("larger than the log"));
    EXPECT_EQ(LogTreeRoot(txn, UINT64_MAX).status().code(),
              absl::StatusCode::kInvalidArgument);
  });
}

TEST_F(LogTreeTest, RefusesRootOfNonEmptyTreeOfEmptyLog) {
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 1);
    EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(root.status().message()),
                HasSubstr("larger than the log (0 entries)"));
  });
}

TEST_F(LogTreeTest, RefusesInclusionProofOfIndexNotBelowSize) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    for (auto [index, size] : std::vector<std::pair<uint64_t, uint64_t>>{
             {7, 7}, {8, 7}, {0, 0}, {3, 2}, {UINT64_MAX, 7}}) {
      absl::StatusOr<std::vector<Hash>> proof =
          LogTreeInclusionProof(txn, index, size);
      EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument)
          << index << " " << size;
      EXPECT_THAT(std::string(proof.status().message()),
                  HasSubstr("is not below the tree size"));
    }
  });
}

TEST_F(LogTreeTest, RefusesInclusionProofInTreeLargerThanTheLog) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<std::vector<Hash>> proof = LogTreeInclusionProof(txn, 2, 8);
    EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(proof.status().message()),
                HasSubstr("larger than the log"));
  });
}

TEST_F(LogTreeTest, RefusesConsistencyProofFromEmptyTree) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    for (uint64_t n : {0, 1, 7}) {
      absl::StatusOr<std::vector<Hash>> proof =
          LogTreeConsistencyProof(txn, 0, n);
      EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(proof.status().message()),
                  HasSubstr("need 0 < old size <= new size"));
    }
  });
}

TEST_F(LogTreeTest, RefusesConsistencyProofFromLargerToSmallerTree) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<std::vector<Hash>> proof =
        LogTreeConsistencyProof(txn, 5, 4);
    EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(proof.status().message()),
                HasSubstr("from tree size 5 to 4"));
  });
}

TEST_F(LogTreeTest, RefusesConsistencyProofToTreeLargerThanTheLog) {
  AppendBatch(7);
  Read([&](StoreTransaction& txn) {
    for (auto [m, n] : std::vector<std::pair<uint64_t, uint64_t>>{
             {3, 8}, {8, 8}, {7, UINT64_MAX}}) {
      absl::StatusOr<std::vector<Hash>> proof =
          LogTreeConsistencyProof(txn, m, n);
      EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument)
          << m << " " << n;
      EXPECT_THAT(std::string(proof.status().message()),
                  HasSubstr("larger than the log"));
    }
  });
}

TEST_F(LogTreeTest, FailedTransactionLeavesSizeRootsAndNodesUnchanged) {
  AppendBatch(11);
  Hash root_before{};
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 11);
    ASSERT_TRUE(root.ok());
    root_before = *root;
  });
  absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
    for (int k = 0; k < 21; ++k) {
      absl::StatusOr<uint64_t> index =
          AppendToLogTree(txn, absl::StrCat("doomed ", k));
      if (!index.ok()) return index.status();
    }
    // Inside the transaction the appends are visible...
    absl::StatusOr<uint64_t> size = txn.LogSize();
    if (!size.ok() || *size != 32) {
      return absl::InternalError("appends not visible in their transaction");
    }
    return absl::AbortedError("caller gives up");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(s.message(), "caller gives up");
  // ... and after the rollback they are gone.
  EXPECT_EQ(StoredSize(), 11u);
  Read([&](StoreTransaction& txn) {
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 11);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, root_before);
    EXPECT_EQ(LogTreeRoot(txn, 12).status().code(),
              absl::StatusCode::kInvalidArgument);
    // No node of the rolled-back appends is left behind.
    EXPECT_EQ(txn.ReadLogNode(0, 11).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(txn.ReadLogNode(4, 1).status().code(),
              absl::StatusCode::kNotFound);
  });
  // The log goes on at index 11 with other entries, and matches the
  // reference: nothing of the doomed entries leaks into later hashes.
  AppendBatch(30);
  Read([&](StoreTransaction& txn) {
    CheckRoot(txn, Prefix(41));
    for (uint64_t i = 0; i < 41; ++i) CheckInclusion(txn, Prefix(41), i);
    for (uint64_t m = 1; m <= 41; ++m) CheckConsistency(txn, Prefix(41), m);
  });
}

// The store "loses" node rows: entries appended to the log table without
// the tree's nodes (AppendLogEntry directly, not AppendToLogTree), as a
// damaged or hand-edited database would hold them.
TEST_F(LogTreeTest, MissingNodeOfTheRootIsDataLossNamingTheNode) {
  AppendBatch(5);
  Read([&](StoreTransaction& txn) {
    const std::string orphan = "entry without nodes";
    absl::StatusOr<uint64_t> index =
        txn.AppendLogEntry(orphan, crypto::LeafHash(crypto::AsBytes(orphan)));
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_EQ(*index, 5u);
    // The root of 6 needs the node of leaves 4..5, which was never written.
    absl::StatusOr<Hash> root = LogTreeRoot(txn, 6);
    EXPECT_EQ(root.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(root.status().message()),
                HasSubstr("missing the node at level 1, index 2; the "
                          "database lost rows"));
    // Smaller trees do not need it.
    CheckRoot(txn, Prefix(5));
    CheckInclusion(txn, Prefix(5), 4);
  });
}

TEST_F(LogTreeTest, MissingLeafNodeIsDataLossForProofsThatNeedIt) {
  AppendBatch(5);
  Read([&](StoreTransaction& txn) {
    const std::string orphan = "entry without nodes";
    ASSERT_TRUE(
        txn.AppendLogEntry(orphan, crypto::LeafHash(crypto::AsBytes(orphan)))
            .ok());
    // Leaf 5 is the sibling of leaf 4 in the tree of 6.
    absl::StatusOr<std::vector<Hash>> proof = LogTreeInclusionProof(txn, 4, 6);
    EXPECT_EQ(proof.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(proof.status().message()),
                HasSubstr("missing the node at level 0, index 5"));
    absl::StatusOr<std::vector<Hash>> cproof =
        LogTreeConsistencyProof(txn, 5, 6);
    EXPECT_EQ(cproof.status().code(), absl::StatusCode::kDataLoss);
    absl::StatusOr<std::vector<Hash>> cproof2 =
        LogTreeConsistencyProof(txn, 2, 6);
    EXPECT_EQ(cproof2.status().code(), absl::StatusCode::kDataLoss);
  });
}

TEST_F(LogTreeTest, AppendOverAMissingNodeIsDataLossAndStoresNothing) {
  AppendBatch(5);
  Read([&](StoreTransaction& txn) {
    const std::string orphan = "entry without nodes";
    ASSERT_TRUE(
        txn.AppendLogEntry(orphan, crypto::LeafHash(crypto::AsBytes(orphan)))
            .ok());
    // Leaf 6 completes nothing: it needs no stored node.
    ASSERT_TRUE(AppendToLogTree(txn, "sixth").ok());
  });
  ASSERT_EQ(StoredSize(), 7u);
  // Leaf 7 completes the pairs 6..7, 4..7 and 0..7: it needs node (1, 2).
  const absl::Status s = store_->RunInTransaction([](StoreTransaction& txn) {
    return AppendToLogTree(txn, "seventh").status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("missing the node at level 1, index 2"));
  EXPECT_EQ(StoredSize(), 7u);
}

}  // namespace
}  // namespace tvault::vault
