#include "crypto/io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace tvault::crypto {

absl::StatusOr<size_t> ReadFull(ByteSource& source, absl::Span<uint8_t> out) {
  size_t total = 0;
  while (total < out.size()) {
    absl::StatusOr<size_t> n = source.Read(out.subspan(total));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    total += *n;
  }
  return total;
}

absl::StatusOr<size_t> FdSource::Read(absl::Span<uint8_t> out) {
  while (true) {
    const ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    return absl::UnavailableError(std::string("read failed: ") +
                                  std::strerror(errno));
  }
}

absl::Status FdSink::Write(absl::Span<const uint8_t> data) {
  // At most 64 KiB per write(2): measured on Linux 6.18, writes of 256 KiB
  // and more into new page-cache pages cost 2-6x the system time of 64-128
  // KiB writes (dd: 0.19 s vs 0.41-1.25 s per 512 MiB; BENCHMARKS.md).
  constexpr size_t kMaxWrite = 64 * 1024;
  while (!data.empty()) {
    const ssize_t n =
        ::write(fd_, data.data(), std::min(data.size(), kMaxWrite));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(std::string("write failed: ") +
                                    std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status BufferedSource::Refill() {
  if (begin_ > 0) {
    std::copy(buffer_.begin() + static_cast<ptrdiff_t>(begin_),
              buffer_.begin() + static_cast<ptrdiff_t>(end_), buffer_.begin());
    end_ -= begin_;
    begin_ = 0;
  }
  if (eof_ || end_ == buffer_.size()) return absl::OkStatus();
  absl::StatusOr<size_t> n = inner_.Read(absl::MakeSpan(buffer_).subspan(end_));
  if (!n.ok()) return n.status();
  if (*n == 0) eof_ = true;
  end_ += *n;
  return absl::OkStatus();
}

absl::Status BufferedSource::ReadLine(size_t max_length, std::string& line) {
  line.clear();
  while (true) {
    const auto* start = buffer_.data() + begin_;
    const auto* stop = buffer_.data() + end_;
    const auto* lf = std::find(start, stop, uint8_t{'\n'});
    const size_t take =
        static_cast<size_t>((lf == stop ? stop : lf + 1) - start);
    if (line.size() + take > max_length) {
      const size_t part = max_length - line.size();
      line.append(reinterpret_cast<const char*>(start), part);
      begin_ += part;
      return absl::OutOfRangeError("line too long");
    }
    line.append(reinterpret_cast<const char*>(start), take);
    begin_ += take;
    if (lf != stop) return absl::OkStatus();
    if (eof_) return absl::OutOfRangeError("unexpected end of input");
    if (absl::Status s = Refill(); !s.ok()) return s;
  }
}

absl::StatusOr<absl::Span<const uint8_t>> BufferedSource::Peek(size_t n) {
  n = std::min(n, buffer_.size());
  while (end_ - begin_ < n && !eof_) {
    if (absl::Status s = Refill(); !s.ok()) return s;
  }
  return absl::Span<const uint8_t>(buffer_.data() + begin_,
                                   std::min(n, end_ - begin_));
}

absl::StatusOr<size_t> BufferedSource::Read(absl::Span<uint8_t> out) {
  if (begin_ == end_) {
    // Large reads bypass the buffer once it is drained.
    if (eof_) return 0;
    if (out.size() >= buffer_.size()) return inner_.Read(out);
    if (absl::Status s = Refill(); !s.ok()) return s;
  }
  const size_t n = std::min(out.size(), end_ - begin_);
  std::copy_n(buffer_.data() + begin_, n, out.data());
  begin_ += n;
  return n;
}

absl::Status SecretSink::Write(absl::Span<const uint8_t> data) {
  if (data.size() > buffer_.size() - size_) {
    return absl::OutOfRangeError("more secret data than expected");
  }
  std::copy(data.begin(), data.end(), buffer_.data() + size_);
  size_ += data.size();
  return absl::OkStatus();
}

SecretBytes SecretSink::Take() {
  buffer_.Truncate(size_);
  size_ = 0;
  return std::move(buffer_);
}

absl::StatusOr<size_t> MemorySource::Read(absl::Span<uint8_t> out) {
  const size_t n = std::min(out.size(), data_.size());
  std::copy_n(data_.data(), n, out.data());
  data_.remove_prefix(n);
  return n;
}

}  // namespace tvault::crypto
