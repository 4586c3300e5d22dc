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
#include "tests/vault/vault_process.h"

namespace tvault::vault::testing {

using crypto::trust_testing::Account;
using crypto::trust_testing::CertBody;
using crypto::trust_testing::Str;
using tvault::v1::Vault;

inline constexpr int64_t kDay = 86400;

inline int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// An account whose certificate is valid around the real clock.
inline std::unique_ptr<Account> LiveAccount(
    const crypto::SigningKey& root, const std::string& handle,
    std::vector<tvault::v1::Role> roles = {tvault::v1::REVIEWER},
    int64_t not_before = Now() - kDay, int64_t not_after = Now() + 300 * kDay) {
  auto a = std::make_unique<Account>();
  absl::StatusOr<tvault::v1::SignedStatement> st = crypto::IssueCertificate(
      CertBody(a->sign.public_key(), a->box.recipient(), roles, handle,
               not_before, not_after),
      root);
  EXPECT_TRUE(st.ok()) << st.status();
  absl::StatusOr<crypto::VerifiedCertificate> v =
      crypto::VerifyCertificate(*st, root.public_key());
  EXPECT_TRUE(v.ok()) << v.status();
  if (v.ok()) a->cert = *v;
  return a;
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
    tvault::v1::Challenge challenge;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->GetChallenge(&context, {}, &challenge).ok());
    absl::StatusOr<tvault::v1::SignedStatement> signed_challenge =
        client::SignAuthChallenge(challenge.nonce(), key, vault_->pin(), Now());
    EXPECT_TRUE(signed_challenge.ok());
    return *signed_challenge;
  }

  grpc::Status Register(const Account& a) {
    tvault::v1::RegisterRequest request;
    *request.mutable_certificate() = a.cert.statement;
    *request.mutable_challenge() = Challenge(a.sign);
    tvault::v1::RegisterResponse response;
    grpc::ClientContext context;
    return stub_->Register(&context, request, &response);
  }

  // Registers and signs in; returns the session token.
  std::string Join(const Account& a) {
    grpc::Status registered = Register(a);
    EXPECT_TRUE(registered.ok()) << registered.error_message();
    absl::StatusOr<tvault::v1::Session> session =
        client::SignInToVault(*stub_, a.sign, vault_->pin());
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? session->token() : std::string();
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
    tvault::v1::PublishDescriptorRequest request;
    *request.mutable_case_descriptor() = descriptor;
    tvault::v1::PublishDescriptorResponse response;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token_);
    return stub_.PublishDescriptor(&context, request, &response);
  }

  grpc::Status Grant(const crypto::CreatedGrant& grant) {
    tvault::v1::PublishGrantsRequest request;
    tvault::v1::GrantRecord* record = request.add_grants();
    *record->mutable_grant() = grant.statement;
    record->set_ciphertext(Str(grant.ciphertext));
    tvault::v1::PublishGrantsResponse response;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token_);
    return stub_.PublishGrants(&context, request, &response);
  }

  absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(
      const crypto::CaseId& id) {
    tvault::v1::GetCaseRequest request;
    request.set_case_id(Str(id));
    tvault::v1::GetCaseResponse response;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token_);
    grpc::Status s = stub_.GetCase(&context, request, &response);
    if (!s.ok()) return client::FromGrpcStatus(s);
    return response;
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
