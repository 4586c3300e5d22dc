#include "vault/sqlcipher_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kWrongKeyMessage =
    "cannot open the vault database: wrong key, or not a vault database";
constexpr absl::string_view kSqliteMagic{"SQLite format 3\0", 16};

using tvault::testing_support::TempDir;

// The raw bytes of a file; empty if it does not exist.
std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// The main file, its WAL and its wal-index, as they are on disk now.
std::string ReadAllDatabaseFiles(const std::string& path) {
  return absl::StrCat(ReadRaw(path), ReadRaw(path + "-wal"),
                      ReadRaw(path + "-shm"));
}

absl::string_view AsView(const crypto::SecretBytes& bytes) {
  return crypto::AsString(bytes.span());
}

// A connection made with the SQLCipher library directly, to plant files the
// store must refuse and to look inside the ones it makes.
class RawDatabase {
 public:
  // With `key` null the database is a plain, unencrypted SQLite file.
  RawDatabase(const std::string& path, const crypto::SecretBytes* key) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    if (key != nullptr) {
      std::string literal = "x'";
      static constexpr char kHex[] = "0123456789abcdef";
      for (uint8_t b : key->span()) {
        literal.push_back(kHex[b >> 4]);
        literal.push_back(kHex[b & 15]);
      }
      literal.push_back('\'');
      EXPECT_EQ(
          sqlite3_key(db_, literal.data(), static_cast<int>(literal.size())),
          SQLITE_OK);
      Exec("PRAGMA cipher_page_size = 4096");
    }
  }
  ~RawDatabase() { sqlite3_close_v2(db_); }

  // The result code of running `sql`.
  int TryExec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  void Exec(const std::string& sql) {
    EXPECT_EQ(TryExec(sql), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

// A decrypted copy of the vault's contents (sqlcipher_export), to show that
// a search of the encrypted files would have found what it looks for.
std::string DecryptedExport(const std::string& path,
                            const crypto::SecretBytes& key,
                            const std::string& plain_path) {
  RawDatabase raw(path, &key);
  raw.Exec(
      absl::StrCat("ATTACH DATABASE '", plain_path, "' AS plaintext KEY ''"));
  raw.Exec("SELECT sqlcipher_export('plaintext')");
  raw.Exec("DETACH DATABASE plaintext");
  return ReadRaw(plain_path);
}

template <size_t N>
std::array<uint8_t, N> Filled(uint8_t value) {
  std::array<uint8_t, N> out;
  out.fill(value);
  return out;
}

AccountRow MakeAccount(uint8_t n) {
  AccountRow account;
  account.cert_fingerprint = Filled<16>(n);
  account.sign_pk = Filled<32>(n);
  account.certificate = absl::StrCat("certificate statement ", n);
  account.registered_at = 1700000000 + n;
  return account;
}

CaseRow MakeCase(uint8_t n) {
  CaseRow case_row;
  case_row.case_id = Filled<16>(n);
  case_row.genesis_hash = Filled<32>(static_cast<uint8_t>(n + 100));
  return case_row;
}

class SqlcipherStoreTest : public ::testing::Test {
 protected:
  SqlcipherStoreTest()
      : key_(crypto::SecretBytes::Random(SqlcipherStore::kKeySize)),
        path_(dir_.File("vault.db")) {}

  std::unique_ptr<SqlcipherStore> CreateStore() {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Create(path_, key_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<SqlcipherStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Open(path_, key_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  TempDir dir_;
  crypto::SecretBytes key_;
  std::string path_;
};

// --- create, open, keys ---------------------------------------------------

TEST_F(SqlcipherStoreTest, CreateThenReopenKeepsData) {
  {
    std::unique_ptr<SqlcipherStore> store = CreateStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(
        store
            ->RunInTransaction([](StoreTransaction& tx) {
              absl::Status s = tx.InsertAccount(MakeAccount(1));
              if (!s.ok()) return s;
              s = tx.InsertCase(MakeCase(2));
              if (!s.ok()) return s;
              return tx.AppendLogEntry("entry 0", Filled<32>(9)).status();
            })
            .ok());
  }
  std::unique_ptr<SqlcipherStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    absl::StatusOr<AccountRow> account =
                        tx.FindAccountBySignPk(MakeAccount(1).sign_pk);
                    EXPECT_TRUE(account.ok()) << account.status();
                    if (account.ok()) {
                      EXPECT_EQ(*account, MakeAccount(1));
                    }
                    absl::StatusOr<CaseRow> case_row =
                        tx.FindCase(MakeCase(2).case_id);
                    EXPECT_TRUE(case_row.ok()) << case_row.status();
                    if (case_row.ok()) {
                      EXPECT_EQ(*case_row, MakeCase(2));
                    }
                    absl::StatusOr<std::vector<LogEntryRow>> log =
                        tx.ReadLogEntries(0, 1);
                    EXPECT_TRUE(log.ok()) << log.status();
                    if (log.ok()) {
                      EXPECT_EQ(log->size(), 1u);
                      EXPECT_EQ(log->at(0).entry, "entry 0");
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, OpenWithWrongKeyFailsWithPlainMessage) {
  ASSERT_NE(CreateStore(), nullptr);
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store = SqlcipherStore::Open(
      path_, crypto::SecretBytes::Random(SqlcipherStore::kKeySize));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store.status().message(), kWrongKeyMessage);
}

TEST_F(SqlcipherStoreTest, OpenWithEmptyKeyFails) {
  ASSERT_NE(CreateStore(), nullptr);
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, crypto::SecretBytes());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  store = SqlcipherStore::Open(path_, crypto::SecretBytes::Random(16));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqlcipherStoreTest, VaultFileCannotBeReadWithoutAKey) {
  ASSERT_NE(CreateStore(), nullptr);
  RawDatabase raw(path_, nullptr);
  EXPECT_EQ(raw.TryExec("SELECT count(*) FROM sqlite_master") & 0xff,
            SQLITE_NOTADB);
}

TEST_F(SqlcipherStoreTest, CreateWithEmptyKeyFailsAndLeavesNoFile) {
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Create(path_, crypto::SecretBytes());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(SqlcipherStoreTest, FileDoesNotStartWithSqliteHeader) {
  ASSERT_NE(CreateStore(), nullptr);
  const std::string bytes = ReadRaw(path_);
  ASSERT_GE(bytes.size(), 4096u);
  EXPECT_NE(absl::string_view(bytes).substr(0, 16), kSqliteMagic);
  EXPECT_FALSE(Contains(bytes, "SQLite format 3"));
  EXPECT_EQ(bytes.size() % SqlcipherStore::kCipherPageSize, 0u);
}

TEST_F(SqlcipherStoreTest, CanaryNeverAppearsInDatabaseOrWalFiles) {
  const std::string canary = "CANARY-testimony-4b1d-never-in-clear";
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    AccountRow account = MakeAccount(1);
                    account.certificate = canary;
                    absl::Status s = tx.InsertAccount(account);
                    if (!s.ok()) return s;
                    s = tx.InsertCase(MakeCase(1));
                    if (!s.ok()) return s;
                    GrantRow grant;
                    grant.case_id = MakeCase(1).case_id;
                    grant.member_fingerprint = Filled<16>(7);
                    grant.statement = canary;
                    grant.ciphertext = canary;
                    s = tx.InsertGrant(grant);
                    if (!s.ok()) return s;
                    return tx.AppendLogEntry(canary, Filled<32>(3)).status();
                  })
                  .ok());
  // While the store is open the new pages sit in the WAL.
  const std::string wal = ReadRaw(path_ + "-wal");
  EXPECT_FALSE(wal.empty());
  EXPECT_FALSE(Contains(ReadAllDatabaseFiles(path_), canary));
  EXPECT_FALSE(Contains(wal, canary));

  store.reset();  // checkpoints the WAL into the main file
  EXPECT_FALSE(Contains(ReadAllDatabaseFiles(path_), canary));
  // The search would have found it in a decrypted copy.
  EXPECT_TRUE(
      Contains(DecryptedExport(path_, key_, dir_.File("plain.db")), canary));
}

TEST_F(SqlcipherStoreTest, KeyIsUsedAsRawKeyNotPassphrase) {
  ASSERT_NE(CreateStore(), nullptr);
  // A raw key skips PBKDF2, so the iteration count cannot matter; were the
  // x'…' literal taken as a passphrase, kdf_iter = 1 would derive another
  // key and the read would fail.
  RawDatabase raw(path_, &key_);
  raw.Exec("PRAGMA kdf_iter = 1");
  EXPECT_EQ(raw.TryExec("SELECT count(*) FROM meta"), SQLITE_OK);
}

TEST_F(SqlcipherStoreTest, DatabaseFilesAreReadableByOwnerOnly) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path_ + suffix;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    const std::filesystem::perms perms =
        std::filesystem::status(file).permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all |
                       std::filesystem::perms::others_all),
              std::filesystem::perms::none)
        << file;
  }
}

TEST_F(SqlcipherStoreTest, CreateRefusesExistingFile) {
  { std::ofstream(path_) << "something precious"; }
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Create(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadRaw(path_), "something precious");
}

TEST_F(SqlcipherStoreTest, CreateRefusesExistingVault) {
  ASSERT_NE(CreateStore(), nullptr);
  const std::string before = ReadRaw(path_);
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Create(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadRaw(path_), before);
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(SqlcipherStoreTest, OpenRefusesMissingFileWithoutCreatingIt) {
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(SqlcipherStoreTest, OpenRefusesPlainSqliteDatabase) {
  {
    RawDatabase raw(path_, nullptr);
    raw.Exec("CREATE TABLE meta (id INTEGER PRIMARY KEY, format TEXT)");
    raw.Exec("INSERT INTO meta VALUES (1, 'tvault-vault')");
  }
  const std::string before = ReadRaw(path_);
  ASSERT_EQ(absl::string_view(before).substr(0, 16), kSqliteMagic);
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store.status().message(), kWrongKeyMessage);
  EXPECT_EQ(ReadRaw(path_), before);
}

TEST_F(SqlcipherStoreTest, OpenRefusesEncryptedDatabaseWithoutMarker) {
  {
    RawDatabase raw(path_, &key_);
    raw.Exec("CREATE TABLE accounts (cert_fingerprint BLOB PRIMARY KEY)");
  }
  const std::string before = ReadRaw(path_);
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr("not a Testimony Vault database"));
  EXPECT_EQ(ReadRaw(path_), before);
}

TEST_F(SqlcipherStoreTest, OpenRefusesMetaTableWithoutApplicationId) {
  {
    RawDatabase raw(path_, &key_);
    raw.Exec(
        "CREATE TABLE meta (id INTEGER PRIMARY KEY, format TEXT, "
        "schema_version INTEGER);"
        "INSERT INTO meta VALUES (1, 'tvault-vault', 1)");
  }
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqlcipherStoreTest, OpenRefusesEmptyFileAndLeavesItEmpty) {
  { std::ofstream created(path_); }
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);
}

// --- connection settings --------------------------------------------------

TEST_F(SqlcipherStoreTest, ConnectionPragmasAreInEffect) {
  for (bool reopen : {false, true}) {
    std::unique_ptr<SqlcipherStore> store =
        reopen ? OpenStore() : CreateStore();
    ASSERT_NE(store, nullptr);
    absl::StatusOr<SqlcipherStore::ConnectionSettings> settings =
        store->ReadConnectionSettings();
    ASSERT_TRUE(settings.ok()) << settings.status();
    EXPECT_EQ(settings->journal_mode, "wal");
    EXPECT_EQ(settings->synchronous, 2);  // FULL
    EXPECT_TRUE(settings->secure_delete);
    EXPECT_TRUE(settings->foreign_keys);
    EXPECT_EQ(settings->temp_store, 2);  // MEMORY
    EXPECT_EQ(settings->page_size, 4096);
    EXPECT_EQ(settings->cipher_page_size, 4096);
    EXPECT_EQ(settings->cipher_version, "3.4.1");
    EXPECT_EQ(settings->schema_version, SqlcipherStore::kSchemaVersion);
  }
}

// --- transactions ---------------------------------------------------------

TEST_F(SqlcipherStoreTest, FailingOperationRollsBackWholeTransaction) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  absl::Status result = store->RunInTransaction([](StoreTransaction& tx) {
    absl::Status s = tx.InsertCase(MakeCase(1));
    if (!s.ok()) return s;
    s = tx.AppendLogEntry("case created", Filled<32>(1)).status();
    if (!s.ok()) return s;
    GrantRow grant;
    grant.case_id = MakeCase(2).case_id;  // no such case
    return tx.InsertGrant(grant);
  });
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition) << result;
  ASSERT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    EXPECT_EQ(tx.FindCase(MakeCase(1).case_id).status().code(),
                              absl::StatusCode::kNotFound);
                    absl::StatusOr<uint64_t> size = tx.LogSize();
                    EXPECT_TRUE(size.ok());
                    EXPECT_EQ(size.value_or(99), 0u);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, CallbackErrorRollsBackEverything) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  absl::Status result = store->RunInTransaction([](StoreTransaction& tx) {
    EXPECT_TRUE(tx.InsertAccount(MakeAccount(1)).ok());
    EXPECT_TRUE(tx.AppendLogEntry("registered", Filled<32>(1)).ok());
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(result.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    EXPECT_EQ(tx.FindAccountByFingerprint(
                                    MakeAccount(1).cert_fingerprint)
                                  .status()
                                  .code(),
                              absl::StatusCode::kNotFound);
                    EXPECT_EQ(tx.LogSize().value_or(99), 0u);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, HandledConflictDoesNotUndoTheRestOfTransaction) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    return tx.InsertAccount(MakeAccount(1));
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    EXPECT_TRUE(tx.InsertAccount(MakeAccount(2)).ok());
                    // Same sign_pk as account 1 under another fingerprint.
                    AccountRow clash = MakeAccount(1);
                    clash.cert_fingerprint = Filled<16>(42);
                    EXPECT_EQ(tx.InsertAccount(clash).code(),
                              absl::StatusCode::kAlreadyExists);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(
      store
          ->RunInTransaction([](StoreTransaction& tx) {
            EXPECT_TRUE(tx.FindAccountBySignPk(MakeAccount(2).sign_pk).ok());
            EXPECT_EQ(
                tx.FindAccountByFingerprint(Filled<16>(42)).status().code(),
                absl::StatusCode::kNotFound);
            return absl::OkStatus();
          })
          .ok());
}

TEST_F(SqlcipherStoreTest, CallingStoreFromInsideItsTransactionFails) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  absl::Status result = store->RunInTransaction([&](StoreTransaction&) {
    return store->RunInTransaction(
        [](StoreTransaction&) { return absl::OkStatus(); });
  });
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqlcipherStoreTest, TransactionsFromManyThreadsAllCommit) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status s = store->RunInTransaction([&](StoreTransaction& tx) {
          ChallengeRow challenge;
          challenge.nonce = Filled<32>(static_cast<uint8_t>(t));
          challenge.nonce[1] = static_cast<uint8_t>(i);
          challenge.expires_at = 100;
          absl::Status inserted = tx.InsertChallenge(challenge);
          if (!inserted.ok()) return inserted;
          return tx.AppendLogEntry(absl::StrCat(t, "/", i), Filled<32>(0))
              .status();
        });
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    EXPECT_EQ(tx.LogSize().value_or(0),
                              uint64_t{kThreads * kPerThread});
                    EXPECT_EQ(tx.DeleteExpired(100).value_or(0),
                              kThreads * kPerThread);
                    return absl::OkStatus();
                  })
                  .ok());
}

// --- challenges and sessions ----------------------------------------------

TEST_F(SqlcipherStoreTest, ChallengeIsSingleUse) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  const ChallengeRow challenge{Filled<32>(5), 1000};
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    return tx.InsertChallenge(challenge);
                  })
                  .ok());
  // A sign-in whose transaction fails gives the challenge back.
  EXPECT_EQ(store
                ->RunInTransaction([&](StoreTransaction& tx) {
                  EXPECT_TRUE(tx.ConsumeChallenge(challenge.nonce, 500).ok());
                  return absl::UnavailableError("session not issued");
                })
                .code(),
            absl::StatusCode::kUnavailable);
  SessionRow session;
  session.token_hash = SessionTokenHash::Of(Filled<32>(1));
  session.sign_pk = Filled<32>(2);
  session.expires_at = 2000;
  EXPECT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    absl::Status s = tx.ConsumeChallenge(challenge.nonce, 500);
                    if (!s.ok()) return s;
                    return tx.InsertSession(session);
                  })
                  .ok());
  absl::Status again = store->RunInTransaction([&](StoreTransaction& tx) {
    return tx.ConsumeChallenge(challenge.nonce, 501);
  });
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound) << again;
}

TEST_F(SqlcipherStoreTest, ExpiredChallengeIsRefused) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  const ChallengeRow challenge{Filled<32>(6), 1000};
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    return tx.InsertChallenge(challenge);
                  })
                  .ok());
  for (int64_t now : {1000, 1001, 5000}) {
    absl::Status result = store->RunInTransaction([&](StoreTransaction& tx) {
      return tx.ConsumeChallenge(challenge.nonce, now);
    });
    EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition) << now;
  }
  EXPECT_EQ(store
                ->RunInTransaction([&](StoreTransaction& tx) {
                  EXPECT_EQ(tx.DeleteExpired(1000).value_or(0), 1);
                  return tx.ConsumeChallenge(challenge.nonce, 999);
                })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SqlcipherStoreTest, SessionsAreStoredByHashOnly) {
  const crypto::SecretBytes token = crypto::SecretBytes::Random(32);
  const SessionTokenHash hash = SessionTokenHash::Of(token.span());
  SessionRow session;
  session.token_hash = hash;
  session.sign_pk = Filled<32>(3);
  session.kind = SessionKind::kInvite;
  session.expires_at = 1000;
  {
    std::unique_ptr<SqlcipherStore> store = CreateStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->RunInTransaction([&](StoreTransaction& tx) {
                      return tx.InsertSession(session);
                    })
                    .ok());
    ASSERT_TRUE(store
                    ->RunInTransaction([&](StoreTransaction& tx) {
                      absl::StatusOr<SessionRow> found =
                          tx.FindSession(hash, 999);
                      EXPECT_TRUE(found.ok()) << found.status();
                      if (found.ok()) {
                        EXPECT_EQ(*found, session);
                      }
                      EXPECT_EQ(tx.FindSession(hash, 1000).status().code(),
                                absl::StatusCode::kNotFound);
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_FALSE(Contains(ReadAllDatabaseFiles(path_), AsView(token)));
  }
  EXPECT_FALSE(Contains(ReadAllDatabaseFiles(path_), AsView(token)));
  // Decrypted, the database holds the hash and still not the token.
  const std::string plain = DecryptedExport(path_, key_, dir_.File("plain.db"));
  EXPECT_TRUE(Contains(plain, crypto::AsString(hash.bytes)));
  EXPECT_FALSE(Contains(plain, AsView(token)));

  std::unique_ptr<SqlcipherStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    return tx.DeleteSession(hash);
                  })
                  .ok());
  EXPECT_EQ(store
                ->RunInTransaction([&](StoreTransaction& tx) {
                  return tx.FindSession(hash, 0).status();
                })
                .code(),
            absl::StatusCode::kNotFound);
}

// --- schema and migrations ------------------------------------------------

TEST_F(SqlcipherStoreTest, FutureSchemaVersionIsRefused) {
  ASSERT_NE(CreateStore(), nullptr);
  {
    RawDatabase raw(path_, &key_);
    raw.Exec(absl::StrCat("UPDATE meta SET schema_version = ",
                          SqlcipherStore::kSchemaVersion + 1));
  }
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      SqlcipherStore::Open(path_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
}

TEST_F(SqlcipherStoreTest, OpenMigratesAnOlderSchema) {
  {
    // What Create leaves behind if it stops after marking the file.
    RawDatabase raw(path_, &key_);
    raw.Exec(absl::StrCat(
        "PRAGMA application_id = ", SqlcipherStore::kApplicationId,
        "; CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "format TEXT NOT NULL, schema_version INTEGER NOT NULL);"
        "INSERT INTO meta VALUES (1, 'tvault-vault', 0)"));
  }
  std::unique_ptr<SqlcipherStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<SqlcipherStore::ConnectionSettings> settings =
      store->ReadConnectionSettings();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->schema_version, SqlcipherStore::kSchemaVersion);
  EXPECT_EQ(settings->journal_mode, "wal");
  EXPECT_TRUE(store
                  ->RunInTransaction([](StoreTransaction& tx) {
                    return tx.InsertCase(MakeCase(1));
                  })
                  .ok());
}

// --- typed operations -----------------------------------------------------

TEST_F(SqlcipherStoreTest, DescriptorsKeepEveryDistinctBodyForAnEpoch) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  const CaseId case_id = MakeCase(1).case_id;
  DescriptorRow first{case_id, 1, Filled<32>(1), "descriptor A"};
  DescriptorRow rival{case_id, 1, Filled<32>(2), "descriptor B"};
  DescriptorRow genesis{case_id, 0, Filled<32>(3), "descriptor 0"};
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    EXPECT_EQ(tx.InsertDescriptor(genesis).code(),
                              absl::StatusCode::kFailedPrecondition);
                    EXPECT_TRUE(tx.InsertCase(MakeCase(1)).ok());
                    EXPECT_TRUE(tx.InsertDescriptor(first).ok());
                    EXPECT_TRUE(tx.InsertDescriptor(genesis).ok());
                    EXPECT_TRUE(tx.InsertDescriptor(rival).ok());
                    EXPECT_EQ(tx.InsertDescriptor(first).code(),
                              absl::StatusCode::kAlreadyExists);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    absl::StatusOr<std::vector<DescriptorRow>> all =
                        tx.ListDescriptors(case_id);
                    EXPECT_TRUE(all.ok());
                    EXPECT_EQ(
                        all.value_or(std::vector<DescriptorRow>{}),
                        (std::vector<DescriptorRow>{genesis, first, rival}));
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, GrantsAreOnePerMemberAndEpoch) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  const CaseId case_id = MakeCase(1).case_id;
  GrantRow epoch0{case_id, 0, Filled<16>(4), "grant 0", "age 0"};
  GrantRow epoch1{case_id, 1, Filled<16>(4), "grant 1", "age 1"};
  GrantRow other{case_id, 1, Filled<16>(5), "grant x", "age x"};
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    EXPECT_TRUE(tx.InsertCase(MakeCase(1)).ok());
                    EXPECT_TRUE(tx.InsertGrant(epoch1).ok());
                    EXPECT_TRUE(tx.InsertGrant(epoch0).ok());
                    EXPECT_TRUE(tx.InsertGrant(other).ok());
                    GrantRow again = epoch1;
                    again.ciphertext = "another";
                    EXPECT_EQ(tx.InsertGrant(again).code(),
                              absl::StatusCode::kAlreadyExists);
                    absl::StatusOr<std::vector<GrantRow>> mine =
                        tx.ListGrants(case_id, Filled<16>(4));
                    EXPECT_EQ(mine.value_or(std::vector<GrantRow>{}),
                              (std::vector<GrantRow>{epoch0, epoch1}));
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, RevocationIsOnePerCertificate) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  const RevocationRow revocation{Filled<16>(8), "revocation", 1234};
  ASSERT_TRUE(store
                  ->RunInTransaction([&](StoreTransaction& tx) {
                    EXPECT_EQ(tx.FindRevocation(Filled<16>(8)).status().code(),
                              absl::StatusCode::kNotFound);
                    EXPECT_TRUE(tx.InsertRevocation(revocation).ok());
                    EXPECT_EQ(tx.InsertRevocation(revocation).code(),
                              absl::StatusCode::kAlreadyExists);
                    absl::StatusOr<RevocationRow> found =
                        tx.FindRevocation(Filled<16>(8));
                    EXPECT_TRUE(found.ok());
                    if (found.ok()) {
                      EXPECT_EQ(*found, revocation);
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(SqlcipherStoreTest, LogEntriesAreContiguousFromZero) {
  std::unique_ptr<SqlcipherStore> store = CreateStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store
          ->RunInTransaction([](StoreTransaction& tx) {
            for (uint64_t i = 0; i < 3; ++i) {
              absl::StatusOr<uint64_t> index =
                  tx.AppendLogEntry(absl::StrCat("entry ", i),
                                    Filled<32>(static_cast<uint8_t>(i)));
              EXPECT_EQ(index.value_or(99), i);
            }
            // An empty entry is kept as empty bytes, not NULL.
            EXPECT_EQ(tx.AppendLogEntry("", Filled<32>(7)).value_or(99), 3u);
            return absl::OkStatus();
          })
          .ok());
  ASSERT_TRUE(
      store
          ->RunInTransaction([](StoreTransaction& tx) {
            EXPECT_EQ(tx.LogSize().value_or(0), 4u);
            absl::StatusOr<std::vector<LogEntryRow>> middle =
                tx.ReadLogEntries(1, 4);
            EXPECT_TRUE(middle.ok()) << middle.status();
            if (middle.ok()) {
              EXPECT_EQ(*middle, (std::vector<LogEntryRow>{
                                     {1, "entry 1", Filled<32>(1)},
                                     {2, "entry 2", Filled<32>(2)},
                                     {3, "", Filled<32>(7)},
                                 }));
            }
            EXPECT_TRUE(tx.ReadLogEntries(4, 4).ok());
            EXPECT_EQ(tx.ReadLogEntries(2, 5).status().code(),
                      absl::StatusCode::kOutOfRange);
            EXPECT_EQ(tx.ReadLogEntries(3, 2).status().code(),
                      absl::StatusCode::kInvalidArgument);
            EXPECT_EQ(
                tx.ReadLogEntries(0, kMaxLogEntriesPerRead + 1).status().code(),
                absl::StatusCode::kInvalidArgument);
            return absl::OkStatus();
          })
          .ok());
}

}  // namespace
}  // namespace tvault::vault
