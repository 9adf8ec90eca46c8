// An uncompressed source read as it is, as a StreamDecoder, so that DecodeAhead reads it on a
// thread of its own into blocks that libarchive hands a tar's content out of in place.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "stream_decoder.h"

namespace rp::detail {

class PlainSource final : public StreamDecoder {
 public:
  // True when the regular file at `fd` starts with a POSIX or GNU tar header ("ustar" at byte
  // 257; read with pread, the offset is left alone). Other formats keep libarchive's own
  // reading, with the seeks that zip, 7z and ISO 9660 need.
  static bool LooksLikeTar(int fd) {
    char magic[5];
    return pread(fd, magic, sizeof magic, 257) == 5 && std::memcmp(magic, "ustar", 5) == 0;
  }

  explicit PlainSource(int fd) : fd_(fd) {}

  DecodeOutcome Decode(uint8_t* out, size_t cap, size_t* n) override {
    *n = 0;
    if (final_) return *final_;
    size_t got = 0;
    while (got < cap) {
      const ssize_t r = read(fd_, out + got, cap - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        read_errno_ = errno;
        error_ = "read error at byte " + std::to_string(read_) + ": " + std::strerror(errno);
        final_ = DecodeOutcome::kReadError;
        break;
      }
      if (r == 0) {
        final_ = DecodeOutcome::kEnd;
        break;
      }
      got += static_cast<size_t>(r);
      read_ += static_cast<uint64_t>(r);
    }
    *n = got;
    if (got > 0) return DecodeOutcome::kData;
    return *final_;
  }
  const std::string& error() const override { return error_; }
  int read_errno() const override { return read_errno_; }
  uint64_t compressed_bytes() const override { return read_; }

 private:
  int fd_;
  uint64_t read_ = 0;
  std::optional<DecodeOutcome> final_;
  int read_errno_ = 0;
  std::string error_;
};

}  // namespace rp::detail
