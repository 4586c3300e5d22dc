// What every fuzz target shares: the invariant check (a violated invariant
// is a crash the fuzzer reports and keeps; an expected error is never one)
// and a cursor over the input for the targets whose input has a little
// structure (a mode byte, length-prefixed fields, the rest).
#ifndef TVAULT_TESTS_FUZZ_FUZZ_CHECK_H_
#define TVAULT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

// Sanitizer runtimes print this on their report channel, which libFuzzer
// keeps open when -close_fd_mask=2 silences the code under test (the
// vault logs to standard error). Absent without a sanitizer.
extern "C" __attribute__((weak)) void __sanitizer_report_error_summary(
    const char* summary);

namespace tvault::fuzz {

// Prints "invariant failed: ..." where it will be seen, then aborts.
[[noreturn]] inline void InvariantFailed(const char* file, int line,
                                         const std::string& what) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, "%s:%d: invariant failed: %s", file, line,
                what.c_str());
  std::fprintf(stderr, "%s\n", buf);
  if (__sanitizer_report_error_summary != nullptr) {
    __sanitizer_report_error_summary(buf);
  }
  std::abort();
}

}  // namespace tvault::fuzz

// Aborts with the failed condition and its place when an invariant fails.
#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::tvault::fuzz::InvariantFailed(__FILE__, __LINE__, #condition); \
    }                                                                  \
  } while (0)

// As FUZZ_CHECK, with a status (or anything with ToString()) to show.
#define FUZZ_CHECK_OK(status_expr)                                       \
  do {                                                                   \
    const auto& fuzz_status_ = (status_expr);                            \
    if (!fuzz_status_.ok()) {                                            \
      ::tvault::fuzz::InvariantFailed(                                   \
          __FILE__, __LINE__,                                            \
          std::string(#status_expr) + " is " + fuzz_status_.ToString()); \
    }                                                                    \
  } while (0)

namespace tvault::fuzz {

// Reads an input front to back. Past the end, every Take returns zeros or
// an empty string, so a harness never needs to check lengths first.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  bool empty() const { return pos_ == size_; }

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Big-endian, as the generator writes them.
  uint16_t U16() {
    const uint16_t hi = Byte();
    return static_cast<uint16_t>(hi << 8 | Byte());
  }
  uint32_t U32() {
    const uint32_t hi = U16();
    return hi << 16 | U16();
  }
  // Up to `n` bytes (fewer at the end of the input).
  absl::string_view Bytes(size_t n) {
    if (n > remaining()) n = remaining();
    absl::string_view out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  // A field written as U16 length, then the bytes.
  absl::string_view Field() { return Bytes(U16()); }
  absl::string_view Rest() { return Bytes(remaining()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// The value, or an abort naming `what`: for what a harness or the seed
// generator sets up itself, which must not fail.
template <typename T>
T Must(absl::StatusOr<T> value, const char* what = "a setup step") {
  if (!value.ok()) {
    InvariantFailed(__FILE__, __LINE__,
                    std::string(what) + ": " + value.status().ToString());
  }
  return *std::move(value);
}

// With TVAULT_FUZZ_VERBOSE set, prints what each step of an input gave
// (for reading a crash or a seed: fuzz_replay_<target> FILE).
inline void Trace(absl::string_view what, const absl::Status& status) {
  static const bool verbose = std::getenv("TVAULT_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()),
                 what.data(), status.ToString().c_str());
  }
}

inline std::string Str(absl::Span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_FUZZ_CHECK_H_
