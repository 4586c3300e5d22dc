// The invite QR code: what zbarimg (an independent decoder) reads back is
// the invite string, byte for byte.
#include "client/qr_png.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/statement.h"
#include "tests/temp_dir.h"

namespace tvault::client {
namespace {

std::string Decode(const std::string& png) {
  const std::string command =
      absl::StrCat("zbarimg --raw -q -Sdisable -Sqrcode.enable -Sbinary '", png,
                   "' 2>/dev/null");
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(QrPngTest, ZbarReadsBackAnInviteSizedString) {
  testing_support::TempDir dir;
  std::string text = "tvault-invite-1:";
  while (text.size() < 1200) text += "AbCdEfGh0123456789-_";
  const std::string png = dir.path() + "/invite.png";
  ASSERT_TRUE(WriteQrPng(crypto::AsBytes(text), png).ok());
  std::string decoded = Decode(png);
  if (!decoded.empty() && decoded.back() == '\n') decoded.pop_back();
  EXPECT_EQ(decoded, text);
}

TEST(QrPngTest, NeverOverwritesAFile) {
  testing_support::TempDir dir;
  const std::string png = dir.path() + "/invite.png";
  ASSERT_TRUE(WriteQrPng(crypto::AsBytes("first"), png).ok());
  EXPECT_EQ(WriteQrPng(crypto::AsBytes("second"), png).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(QrPngTest, RefusesTextTooLongForOneCode) {
  testing_support::TempDir dir;
  const std::string png = dir.path() + "/invite.png";
  const std::string text(4000, 'x');
  EXPECT_EQ(WriteQrPng(crypto::AsBytes(text), png).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(access(png.c_str(), F_OK), 0) << "no file may be left behind";
}

}  // namespace
}  // namespace tvault::client
