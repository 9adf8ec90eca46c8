// zstd sources decoded with libzstd before libarchive sees them.
//
// libarchive decodes zstd on the reader thread, where it also parses the archive and copies
// every entry's bytes out: for a .tar.zst that one thread was the whole run's critical path.
// This decoder, run on its own thread (DecodeAhead), takes the decoding off it. It checks
// what zstd(1) checks: every frame's structure and, when the frame carries one, its content
// checksum (XXH64); frames may follow one another, skippable frames are passed over.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "mapped_source.h"
#include "stream_decoder.h"

struct ZSTD_DCtx_s;

namespace rp::detail {

class ZstdSource final : public StreamDecoder {
 public:
  // True when the regular file at `fd` starts with a zstd frame's magic number (read with
  // pread: the offset is left alone).
  static bool Detect(int fd);

  // Reads `fd` (not owned) from its current offset; `max_read` caps each read (0: no cap), so
  // tests can cut frames at every point. With `mapped` (the same file from offset 0), the
  // compressed bytes are taken from its windows instead of copied out with read().
  explicit ZstdSource(int fd, size_t max_read = 0, std::unique_ptr<MappedSource> mapped = nullptr);
  ~ZstdSource() override;
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  DecodeOutcome Decode(uint8_t* out, size_t cap, size_t* n) override;
  const std::string& error() const override { return error_; }
  int read_errno() const override { return read_errno_; }
  uint64_t compressed_bytes() const override { return consumed_; }
  uint64_t frames_done() const { return frame_ - 1; }

 private:
  bool Refill();  // false at the end of the file or on a read error (read_errno_ set)

  int fd_;
  struct DctxFree {
    void operator()(ZSTD_DCtx_s* d) const;
  };
  std::unique_ptr<ZSTD_DCtx_s, DctxFree> dctx_;
  std::vector<uint8_t> in_;  // read() lands here, unless mapped_
  size_t max_read_;
  std::unique_ptr<MappedSource> mapped_;
  std::shared_ptr<const void> window_;  // mapped_'s window being decoded
  const uint8_t* in_ptr_ = nullptr;     // in_ or the window
  size_t in_pos_ = 0, in_size_ = 0;
  uint64_t consumed_ = 0;
  uint64_t frame_ = 1;        // the frame being decoded, from 1
  bool frame_open_ = false;   // inside a frame: the file may not end here
  bool file_end_ = false;
  std::optional<DecodeOutcome> final_;
  int read_errno_ = 0;
  std::string error_;
};

}  // namespace rp::detail
