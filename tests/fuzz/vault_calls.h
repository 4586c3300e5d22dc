// The input format of fuzz_vault_dispatch, shared with the seed generator.
//
// An input is a sequence of at most kMaxCalls calls, each
//   call byte    which VaultCore call (Call below, modulo kCallCount);
//   flags byte   who calls and what the harness fixes up (Flags below);
//   length       2 bytes, big-endian; then that many bytes (fewer at the
//                end of the input) of the call's request message, in
//                protobuf wire form. For Upload, the bytes are a sequence
//                of length-delimited UploadRequest messages (a varint
//                length, then the message), the stream as the vault reads
//                it. kAdvanceClock takes 4 bytes (seconds to add).
#ifndef TVAULT_TESTS_FUZZ_VAULT_CALLS_H_
#define TVAULT_TESTS_FUZZ_VAULT_CALLS_H_

#include <cstdint>

namespace tvault::fuzz {

inline constexpr int kMaxCalls = 8;

enum class Call : uint8_t {
  kGetServerInfo,
  kGetChallenge,
  kSignIn,
  kRegister,
  kRevoke,
  kPublishDescriptor,
  kListCases,
  kGetCase,
  kPublishGrants,
  kGetCheckpoint,
  kGetLogEntries,
  kGetInclusionProof,
  kGetConsistencyProof,
  kGetCertificates,
  kGetUploadState,
  kUpload,
  kListRecords,
  kDownload,
  kCreateInvite,
  kRevokeInvite,
  kRequestDeletion,
  kMaintain,
  kAdvanceClock,
};
inline constexpr int kCallCount = 23;

// Who calls (flags & 7): the session token the call carries.
enum class Caller : uint8_t {
  kNone,         // no token
  kOwner,        // the case's owner (reviewer)
  kContributor,  // the case's contributor
  kOutsider,     // a registered reviewer outside the case
  kInvite,       // the case's invite
  kUnknown,      // a token the vault never issued
};
inline constexpr int kCallerCount = 6;

// (flags >> 3) & 7: re-sign every signed statement of the request, so
// that mutated bodies get past the signature: 0 no; 1 with its natural
// signer (root for certificates and revocations, the key a challenge
// names, the owner otherwise); 2 + k with world key k (WorldKey).
inline constexpr uint8_t kResignShift = 3;
// Put a fresh challenge nonce (from GetChallenge) into every signed
// AuthChallenge before re-signing.
inline constexpr uint8_t kFreshNonce = 0x40;
// Upload: set the start's total_size and SHA-256 to the data's (padding
// the data with zeros to the vault's minimum record size).
inline constexpr uint8_t kFixUpload = 0x80;

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_VAULT_CALLS_H_
