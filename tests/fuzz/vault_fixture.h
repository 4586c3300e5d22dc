// A real vault for fuzz_vault_dispatch: VaultCore over a SQLCipher store,
// in a populated state, fresh for every input.
//
// The state is made once per process, through the vault's own calls, and
// kept as a template (the database file and the checkpoint copy, in
// memory): the world's three accounts registered and signed in, the
// invite registered and signed in, the case with its genesis descriptor
// and grant, one stored record, one unfinished upload. Each input gets a
// copy of the template in a scratch directory (on /dev/shm when there is
// one: the vault fsyncs every commit) and a new VaultCore at the world's
// clock, so that an input's outcome does not depend on the inputs before
// it and a crash reproduces from its input alone.
#ifndef TVAULT_TESTS_FUZZ_VAULT_FIXTURE_H_
#define TVAULT_TESTS_FUZZ_VAULT_FIXTURE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/signed_note.h"
#include "tests/fuzz/vault_calls.h"
#include "tests/vault/list_upload_stream.h"
#include "vault/sqlcipher_store.h"
#include "vault/store.h"
#include "vault/transparency_log.h"
#include "vault/vault_core.h"

namespace tvault::fuzz {

using vault::ListUploadStream;

class VaultFixture {
 public:
  // Builds the template on first use. Aborts if the vault refuses any
  // step of it (a bug, or a broken machine: not an input's fault).
  static VaultFixture& Get();

  // One input's vault. Destroying it closes the store.
  class Instance {
   public:
    ~Instance();
    vault::VaultCore& core() { return *core_; }
    // The clock the core reads; calls may move it forward.
    int64_t now;

   private:
    friend class VaultFixture;
    Instance() = default;
    std::unique_ptr<vault::SqlcipherStore> store_;
    std::unique_ptr<vault::TransparencyLog> log_;
    std::unique_ptr<vault::VaultCore> core_;
  };
  std::unique_ptr<Instance> Fresh();

  // The session token hash `caller` carries; nullptr for Caller::kNone.
  const vault::SessionTokenHash* Token(Caller caller) const;

  // The unfinished upload of the template: its record id, and the bytes
  // the vault holds of it (of the world's record ciphertext).
  std::array<uint8_t, 16> pending_record_id{};
  uint64_t pending_held = 0;

 private:
  VaultFixture();
  void Build();
  // A core over `store`, at the world's clock.
  std::unique_ptr<Instance> Assemble(
      std::unique_ptr<vault::SqlcipherStore> store) const;
  std::string DbPath() const { return dir_ + "/vault.db"; }
  std::string MirrorPath() const { return dir_ + "/checkpoint.copy"; }

  std::string dir_;
  std::string db_bytes_;
  std::string mirror_bytes_;
  std::array<vault::SessionTokenHash, kCallerCount> tokens_{};
};

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_VAULT_FIXTURE_H_
