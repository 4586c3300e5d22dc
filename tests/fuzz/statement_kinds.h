// The verifiers of fuzz_statement, by the selector's low four bits; shared
// with the seed generator.
#ifndef TVAULT_TESTS_FUZZ_STATEMENT_KINDS_H_
#define TVAULT_TESTS_FUZZ_STATEMENT_KINDS_H_

#include <cstdint>

namespace tvault::fuzz {

enum StatementKind : uint8_t {
  kCertificate,
  kRevocation,
  kServerBundle,
  kServerRetired,
  kDescriptor,  // into the world's case chain
  kGenesis,     // as the genesis of a chain pinned to its own hash
  kGrant,       // the rest of the input is the grant's ciphertext
  kInviteStatement,
  kDelete,
  kAuth,
  kBodiesOnly,  // the field is a body, parsed alone as every type
  kStatementKindCount,
};

// Selector bit: the field is a body for the harness to sign.
inline constexpr uint8_t kSignBody = 0x80;

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_STATEMENT_KINDS_H_
