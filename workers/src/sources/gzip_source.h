// gzip sources decoded with ISA-L's inflate before libarchive sees them.
//
// libarchive inflates gzip with zlib, on the reader thread, and for a .tar.gz that one core is
// the whole run's critical path: zlib took 3.0-3.5 s of a 3.6-4.3 s verify of the benchmark's
// 583 MiB tar.gz. ISA-L (Intel's igzip, a Debian package) decodes the same stream in 1.4 s.
// This decoder reads the file, checks every member's CRC-32 and length as gzip does, and hands
// libarchive the decompressed bytes, so libarchive reads a plain tar (or cpio, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/stream_decoder.h"

struct inflate_state;

namespace rp::detail {

class GzipSource final : public StreamDecoder {
 public:
  // True when the file at `fd` starts with a gzip member header that uses deflate (method 8)
  // and sets no reserved flag bits.
  // Only for regular files: the first bytes are read with pread, leaving the offset alone.
  static bool Detect(int fd);
  // True when `bytes` start like a gzip member (magic, then deflate as the method).
  static bool StartsMember(const std::string& bytes);

  // Reads `fd` (not owned) from its current offset. `buffer_bytes` sizes the input buffer, which
  // must hold a whole member header (0: 256 KiB); `max_read` caps each read (0: no cap), so
  // tests can cut headers, members and trailers at every point.
  explicit GzipSource(int fd, size_t buffer_bytes = 0, size_t max_read = 0);
  ~GzipSource() override;
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  // kEnd: every member decoded and checked; trailing non-gzip bytes are ignored.
  // kTruncated: the file ends inside a member.
  using Outcome = DecodeOutcome;
  DecodeOutcome Decode(uint8_t* out, size_t cap, size_t* n) override;

  const std::string& error() const override { return error_; }
  int read_errno() const override { return read_errno_; }
  uint64_t compressed_bytes() const override { return consumed_; }
  uint64_t members() const { return members_; }

 private:
  bool Refill();  // false at the end of the file or on a read error (read_errno_ set)
  bool AtNextMember();  // after a member's end: is another gzip member next?
  static size_t HeaderLength(const uint8_t* p, size_t n);
  Outcome ReadHeader();  // kData when the header is read and the deflate data comes next
  Outcome ReadFailed();
  Outcome Corrupt(const std::string& why);

  int fd_;
  std::unique_ptr<inflate_state> state_;
  std::vector<uint8_t> in_;
  size_t max_read_;
  uint64_t consumed_ = 0;
  uint64_t members_ = 1;
  bool file_end_ = false;
  bool in_header_ = true;
  std::optional<Outcome> final_;
  int read_errno_ = 0;
  std::string error_;
};

}  // namespace rp::detail
