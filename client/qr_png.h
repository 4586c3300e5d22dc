// An invite as a QR code in a PNG file (DESIGN.md §7: the invite string is
// kept under 2,000 bytes so that one code carries it).
//
// The PNG holds the invite's secret seed: it is written like every tvault
// output (mode 0600, appears whole or not at all), and whoever sees the
// image can use the invite. libqrencode and libpng copy the text into
// ordinary memory while encoding; those copies are not wiped.
#ifndef TVAULT_CLIENT_QR_PNG_H_
#define TVAULT_CLIENT_QR_PNG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace tvault::client {

// Encodes `text` in byte mode at error-correction level M and writes it to
// `path` as an 8-bit grayscale PNG, 8 pixels per module with a 4-module
// quiet zone. AlreadyExists if `path` exists; InvalidArgument if the text
// does not fit a QR code.
absl::Status WriteQrPng(absl::Span<const uint8_t> text,
                        const std::string& path);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_QR_PNG_H_
