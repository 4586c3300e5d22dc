// Shared by the end-to-end tests of tvaultd: accounts with certificates
// valid around the real clock, a fixture that runs a real tvaultd
// (vault_process.h) and signs accounts in, and the calls a case member
// makes.
#ifndef TVAULT_TESTS_VAULT_E2E_FIXTURE_H_
#define TVAULT_TESTS_VAULT_E2E_FIXTURE_H_

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "client/vault_auth.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "gtest/gtest.h"
#include "tests/crypto/trust_fixture.h"
#include "tests/vault/records_fixture.h"
#include "tests/vault/vault_process.h"

namespace tvault::vault::testing {

using crypto::trust_testing::Str;

// An account whose certificate is valid around the real clock.
inline std::unique_ptr<Account> LiveAccount(
    const crypto::SigningKey& root, const std::string& handle,
    std::vector<tvault::v1::Role> roles = {tvault::v1::REVIEWER},
    int64_t not_before = Now() - kDay, int64_t not_after = Now() + 300 * kDay) {
  absl::StatusOr<std::unique_ptr<Account>> a =
      NewLiveAccount(root, handle, std::move(roles), not_before, not_after);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : std::make_unique<Account>();
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override { StartVault(""); }

  void StartVault(const std::string& config) {
    vault_ = VaultProcess::Init(root_.public_key(), config);
    ASSERT_FALSE(HasFatalFailure());
    absl::Status started = vault_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = vault_->Stub();
  }

  void Restart() {
    ASSERT_EQ(vault_->Stop(), 0) << vault_->log_text();
    absl::Status started = vault_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = vault_->Stub();
  }

  tvault::v1::SignedStatement Challenge(const crypto::SigningKey& key) {
    absl::StatusOr<tvault::v1::SignedStatement> signed_challenge =
        SignVaultChallenge(*stub_, key, vault_->pin());
    EXPECT_TRUE(signed_challenge.ok()) << signed_challenge.status();
    return signed_challenge.value_or(tvault::v1::SignedStatement());
  }

  grpc::Status Register(const Account& a) {
    return RegisterAccount(*stub_, vault_->pin(), a);
  }

  // Registers and signs in; returns the session token.
  std::string Join(const Account& a) {
    absl::StatusOr<std::string> token = JoinVault(*stub_, vault_->pin(), a);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  crypto::SigningKey root_ = crypto::SigningKey::Generate();
  std::unique_ptr<VaultProcess> vault_;
  std::unique_ptr<Vault::Stub> stub_;
};

// The calls a case needs, as one account.
class Member {
 public:
  Member(Vault::Stub& stub, const Account& account, std::string token)
      : stub_(stub), account_(account), token_(std::move(token)) {}

  grpc::Status Publish(const tvault::v1::SignedStatement& descriptor) {
    return PublishDescriptor(stub_, token_, descriptor);
  }

  grpc::Status Grant(const crypto::CreatedGrant& grant) {
    return PublishGrant(stub_, token_, grant);
  }

  absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(
      const crypto::CaseId& id) {
    return testing::GetCase(stub_, token_, id);
  }

  std::vector<std::string> CaseIds() {
    tvault::v1::ListCasesResponse response;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token_);
    EXPECT_TRUE(stub_.ListCases(&context, {}, &response).ok());
    std::vector<std::string> out;
    for (const auto& c : response.cases()) out.push_back(c.case_id());
    return out;
  }

  const Account& account() const { return account_; }

 private:
  Vault::Stub& stub_;
  const Account& account_;
  std::string token_;
};

}  // namespace tvault::vault::testing

#endif  // TVAULT_TESTS_VAULT_E2E_FIXTURE_H_
