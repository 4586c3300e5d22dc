// An Upload call's stream from a list of messages, for tests and the fuzz
// target that drive VaultCore without gRPC.
#ifndef TVAULT_TESTS_VAULT_LIST_UPLOAD_STREAM_H_
#define TVAULT_TESTS_VAULT_LIST_UPLOAD_STREAM_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "proto/vault.pb.h"
#include "vault/vault_core.h"

namespace tvault::vault {

class ListUploadStream final : public UploadStream {
 public:
  explicit ListUploadStream(std::vector<tvault::v1::UploadRequest> messages)
      : messages_(std::move(messages)) {}
  bool Read(tvault::v1::UploadRequest& message) override {
    if (next_ == messages_.size()) return false;
    message = messages_[next_++];
    return true;
  }

 private:
  std::vector<tvault::v1::UploadRequest> messages_;
  size_t next_ = 0;
};

}  // namespace tvault::vault

#endif  // TVAULT_TESTS_VAULT_LIST_UPLOAD_STREAM_H_
