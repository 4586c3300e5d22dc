#include "client/age_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/output_file.h"
#include "client/passphrase.h"
#include "crypto/age.h"

namespace tvault::client {
namespace {

using crypto::AgeDecryptor;
using crypto::AgeEncryptor;
using crypto::AgeIdentity;
using crypto::AgeRecipient;
using crypto::SecretBytes;

constexpr size_t kMaxKeyFileSize = 1 << 20;

// An open input: a file or standard input.
class Input {
 public:
  static absl::StatusOr<std::unique_ptr<Input>> Open(const std::string& path) {
    if (path.empty() || path == "-") {
      return std::unique_ptr<Input>(new Input(STDIN_FILENO, false));
    }
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<Input>(new Input(fd, true));
  }
  ~Input() {
    if (owned_) close(fd_);
  }
  crypto::FdSource& source() { return source_; }

 private:
  Input(int fd, bool owned) : fd_(fd), owned_(owned), source_(fd) {}
  int fd_;
  bool owned_;
  crypto::FdSource source_;
};

absl::StatusOr<SecretBytes> ReadSmallFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Input>> in = Input::Open(path);
  if (!in.ok()) return in.status();
  SecretBytes buf(kMaxKeyFileSize + 1);
  absl::StatusOr<size_t> n = crypto::ReadFull((*in)->source(), buf.span());
  if (!n.ok()) return n.status();
  if (*n > kMaxKeyFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is too large to be a key file"));
  }
  buf.Truncate(*n);
  return buf;
}

bool StartsWith(const SecretBytes& b, absl::string_view prefix) {
  return b.size() >= prefix.size() &&
         std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

// Loads an identity file; a passphrase-protected one (itself an age file,
// as the age tool supports) is decrypted first.
absl::Status LoadIdentities(const std::string& path,
                            std::vector<std::unique_ptr<AgeIdentity>>& out) {
  absl::StatusOr<SecretBytes> contents = ReadSmallFile(path);
  if (!contents.ok()) return contents.status();
  if (StartsWith(*contents, "age-encryption.org/") ||
      crypto::LooksArmored(contents->span())) {
    crypto::MemorySource src(contents->span());
    absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec = AgeDecryptor::Open(src);
    if (!dec.ok()) return dec.status();
    if (!(*dec)->passphrase_encrypted()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "identity file ", path,
          " is encrypted, but not with a passphrase; decrypt it first"));
    }
    absl::StatusOr<SecretBytes> pass = ReadPassphrase(
        absl::StrCat("Enter passphrase for identity file ", path, ": "),
        /*confirm=*/false);
    if (!pass.ok()) return pass.status();
    crypto::ScryptIdentity id(*std::move(pass));
    const AgeIdentity* ids[] = {&id};
    if (absl::Status s = (*dec)->Unlock(ids); !s.ok()) return s;
    crypto::SecretSink sink(kMaxKeyFileSize);
    if (absl::Status s = (*dec)->DecryptTo(sink); !s.ok()) return s;
    *contents = sink.Take();
  }
  absl::StatusOr<std::vector<crypto::X25519Identity>> ids =
      crypto::ParseIdentityFile(contents->span());
  if (!ids.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", ids.status().message()));
  }
  for (crypto::X25519Identity& id : *ids) {
    out.push_back(std::make_unique<crypto::X25519Identity>(std::move(id)));
  }
  return absl::OkStatus();
}

std::string NowRfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

absl::Status RunAgeKeygen(const AgeKeygenArgs& args) {
  const crypto::X25519Identity id = crypto::X25519Identity::Generate();
  const std::string recipient = id.recipient().Encode();
  const std::string comments = absl::StrCat(
      "# created: ", NowRfc3339(), "\n# public key: ", recipient, "\n");
  const SecretBytes secret = id.Encode();
  const uint8_t newline = '\n';
  auto write_all = [&](crypto::ByteSink& sink) -> absl::Status {
    absl::Status s = sink.Write(
        {reinterpret_cast<const uint8_t*>(comments.data()), comments.size()});
    if (s.ok()) s = sink.Write(secret.span());
    if (s.ok()) s = sink.Write({&newline, 1});
    return s;
  };
  if (args.output.empty()) {
    crypto::FdSink out(STDOUT_FILENO);
    return write_all(out);
  }
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> file =
      AtomicOutputFile::Create(args.output, /*allow_overwrite=*/false);
  if (!file.ok()) return file.status();
  if (absl::Status s = write_all(**file); !s.ok()) return s;
  if (absl::Status s = (*file)->Commit(); !s.ok()) return s;
  std::fprintf(stderr, "Public key: %s\n", recipient.c_str());
  return absl::OkStatus();
}

absl::Status RunAgeEncrypt(const AgeEncryptArgs& args) {
  const bool has_keys =
      !args.recipients.empty() || !args.recipient_files.empty();
  if (args.passphrase && has_keys) {
    return absl::InvalidArgumentError(
        "-p/--passphrase cannot be combined with -r or -R: a passphrase-"
        "encrypted file has no other recipients");
  }
  if (!args.passphrase && !has_keys) {
    return absl::InvalidArgumentError(
        "no recipients: give -r age1… or -R FILE, or -p to use a passphrase");
  }
  std::vector<std::unique_ptr<AgeRecipient>> recipients;
  for (size_t i = 0; i < args.recipients.size(); ++i) {
    const std::string& r = args.recipients[i];
    // Never echo the argument: it may be a secret key given by mistake.
    if (absl::StartsWithIgnoreCase(r, "AGE-SECRET-KEY-")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "-r argument ", i + 1,
          " is a SECRET key (AGE-SECRET-KEY-…), not a recipient: give the "
          "public key (age1…) instead, and keep the secret key private"));
    }
    absl::StatusOr<crypto::X25519Recipient> parsed =
        crypto::X25519Recipient::Parse(r);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("-r argument ", i + 1, ": ", parsed.status().message()));
    }
    recipients.push_back(std::make_unique<crypto::X25519Recipient>(*parsed));
  }
  for (const std::string& path : args.recipient_files) {
    std::ifstream f(path);
    if (!f) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    std::string text((std::istreambuf_iterator<char>(f)),
                     std::istreambuf_iterator<char>());
    absl::StatusOr<std::vector<crypto::X25519Recipient>> parsed =
        crypto::ParseRecipientsFile(text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", parsed.status().message()));
    }
    for (const auto& r : *parsed) {
      recipients.push_back(std::make_unique<crypto::X25519Recipient>(r));
    }
  }
  if (args.passphrase) {
    absl::StatusOr<SecretBytes> pass =
        ReadPassphrase("Enter passphrase: ", /*confirm=*/true);
    if (!pass.ok()) return pass.status();
    recipients.push_back(
        std::make_unique<crypto::ScryptRecipient>(*std::move(pass)));
  }
  if (args.output.empty() && !args.armor && isatty(STDOUT_FILENO)) {
    return absl::FailedPreconditionError(
        "refusing to write binary ciphertext to the terminal; use -a for "
        "text output or -o FILE");
  }
  absl::StatusOr<std::unique_ptr<Input>> in = Input::Open(args.input);
  if (!in.ok()) return in.status();

  std::vector<const AgeRecipient*> ptrs;
  for (const auto& r : recipients) ptrs.push_back(r.get());
  std::unique_ptr<AtomicOutputFile> file;
  crypto::FdSink stdout_sink(STDOUT_FILENO);
  crypto::ByteSink* sink = &stdout_sink;
  if (!args.output.empty()) {
    absl::StatusOr<std::unique_ptr<AtomicOutputFile>> f =
        AtomicOutputFile::Create(args.output, /*allow_overwrite=*/true);
    if (!f.ok()) return f.status();
    file = *std::move(f);
    sink = file.get();
  }
  absl::StatusOr<std::unique_ptr<AgeEncryptor>> enc = AgeEncryptor::Create(
      ptrs, *sink,
      crypto::AgeEncryptOptions{.armor = args.armor, .stream = {}});
  if (!enc.ok()) return enc.status();
  absl::Status s = (*enc)->WriteFrom((*in)->source());
  if (s.ok()) s = (*enc)->Finish();
  if (s.ok() && file) s = file->Commit();
  if (!s.ok() && !file) {
    return absl::Status(s.code(),
                        absl::StrCat(s.message(),
                                     "; the output already written is "
                                     "incomplete and must be discarded"));
  }
  return s;
}

absl::Status RunAgeDecrypt(const AgeDecryptArgs& args) {
  absl::StatusOr<std::unique_ptr<Input>> in = Input::Open(args.input);
  if (!in.ok()) return in.status();
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec =
      AgeDecryptor::Open((*in)->source());
  if (!dec.ok()) return dec.status();

  std::vector<std::unique_ptr<AgeIdentity>> identities;
  if ((*dec)->passphrase_encrypted()) {
    if (!args.identity_files.empty()) {
      return absl::InvalidArgumentError(
          "this file is encrypted with a passphrase, not to a key; run "
          "without -i and you will be asked for the passphrase");
    }
    absl::StatusOr<SecretBytes> pass =
        ReadPassphrase("Enter passphrase: ", /*confirm=*/false);
    if (!pass.ok()) return pass.status();
    identities.push_back(
        std::make_unique<crypto::ScryptIdentity>(*std::move(pass)));
  } else {
    if (args.identity_files.empty()) {
      return absl::InvalidArgumentError(
          "this file is encrypted to a key; give the identity file with "
          "-i FILE");
    }
    for (const std::string& path : args.identity_files) {
      if (absl::Status s = LoadIdentities(path, identities); !s.ok()) return s;
    }
  }
  std::vector<const AgeIdentity*> ptrs;
  for (const auto& id : identities) ptrs.push_back(id.get());
  if (absl::Status s = (*dec)->Unlock(ptrs); !s.ok()) return s;

  if (!args.output.empty()) {
    absl::StatusOr<std::unique_ptr<AtomicOutputFile>> file =
        AtomicOutputFile::Create(args.output, /*allow_overwrite=*/true);
    if (!file.ok()) return file.status();
    if (absl::Status s = (*dec)->DecryptTo(**file); !s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat(s.message(), "; nothing was written to ", args.output));
    }
    return (*file)->Commit();
  }
  crypto::FdSink out(STDOUT_FILENO);
  CountingSink counting(out);
  absl::Status s = (*dec)->DecryptTo(counting);
  if (!s.ok() && counting.count() > 0) {
    return absl::Status(
        s.code(), absl::StrCat(s.message(), "; the ", counting.count(),
                               " bytes already written to standard output "
                               "are NOT a valid decryption: discard them"));
  }
  return s;
}

void AddAgeCommands(CLI::App& app, AgeCommandArgs& args, absl::Status& result) {
  CLI::App* age = app.add_subcommand(
      "age",
      "Encrypt and decrypt standard age files (age-encryption.org/v1), for "
      "interoperability and emergency access");
  age->require_subcommand(1);

  AgeKeygenArgs* keygen_args = &args.keygen;
  CLI::App* keygen = age->add_subcommand(
      "keygen",
      "Generate an X25519 identity (secret key) and print it with "
      "its recipient (public key)");
  keygen->add_option("-o,--output", keygen_args->output,
                     "Write the identity to FILE (created with mode 0600; "
                     "an existing file is never overwritten)");
  keygen->callback(
      [keygen_args, &result] { result = RunAgeKeygen(*keygen_args); });

  AgeEncryptArgs* enc_args = &args.encrypt;
  CLI::App* enc = age->add_subcommand(
      "encrypt",
      "Encrypt IN (default: standard input) to recipients or a "
      "passphrase");
  enc->add_option("-r,--recipient", enc_args->recipients,
                  "Encrypt to RECIPIENT (age1…); may be repeated")
      ->allow_extra_args(false);
  enc->add_option("-R,--recipients-file", enc_args->recipient_files,
                  "Encrypt to the recipients listed in FILE; may be repeated")
      ->allow_extra_args(false);
  enc->add_flag("-p,--passphrase", enc_args->passphrase,
                "Encrypt with a passphrase (asked on the terminal, or "
                "TVAULT_PASSPHRASE)");
  enc->add_flag("-a,--armor", enc_args->armor,
                "Write PEM-armored text instead of binary");
  enc->add_option("-o,--output", enc_args->output,
                  "Write to FILE, which appears only once complete");
  enc->add_option("input", enc_args->input, "File to encrypt (default: stdin)");
  enc->callback([enc_args, &result] { result = RunAgeEncrypt(*enc_args); });

  AgeDecryptArgs* dec_args = &args.decrypt;
  CLI::App* dec = age->add_subcommand(
      "decrypt", "Decrypt IN (default: standard input); armor is detected");
  dec->add_option("-i,--identity", dec_args->identity_files,
                  "Identity file (AGE-SECRET-KEY-1… lines, or a passphrase-"
                  "encrypted one); may be repeated. Without -i, a passphrase "
                  "is asked for")
      ->allow_extra_args(false);
  dec->add_option("-o,--output", dec_args->output,
                  "Write to FILE, which appears only once the whole file "
                  "verified");
  dec->add_option("input", dec_args->input, "File to decrypt (default: stdin)");
  dec->callback([dec_args, &result] { result = RunAgeDecrypt(*dec_args); });
}

}  // namespace tvault::client
