// zstd sources decoded with libzstd before libarchive sees them.
//
// libarchive decodes zstd on the reader thread, where it also parses the archive and copies
// every entry's bytes out: for a .tar.zst that one thread was the whole run's critical path.
// This decoder, run on its own thread (DecodeAhead), takes the decoding off it. It checks
// what zstd(1) checks: every frame's structure and, when the frame carries one, its content
// checksum (XXH64); frames may follow one another, skippable frames are passed over.
//
// It decodes in place: libzstd's block-by-block API (ZSTD_decompressContinue) writes each
// block into a ring that is both the frame's window (the history later blocks copy from) and
// the memory the writers are lent. libzstd's streaming API decodes into a window of its own
// and copies every byte out of it again; on the benchmark's tar.zst that copy was a seventh of
// the decoder thread's time, and that thread is the run's critical path.
//
// The ring holds the window and kLendBytes more. A block is decoded only into bytes no one
// holds: when the writers hold all the room ahead, the decoder waits for them.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "sources/mapped_source.h"
#include "sources/stream_decoder.h"

struct ZSTD_DCtx_s;

namespace rp::detail {

class ZstdSource final : public LendingDecoder {
 public:
  // Decoded bytes that may be lent out at once, beyond the frame's window.
  static constexpr size_t kLendBytes = 8 << 20;
  // Decoded bytes handed out by one Lend() at most (fewer at the ring's end).
  static constexpr size_t kLendOnce = 256 << 10;

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

  DecodeOutcome Lend(const void** data, size_t* n, std::shared_ptr<const void>* owner) override;
  void Stop() override;
  const std::string& error() const override { return error_; }
  int read_errno() const override { return read_errno_; }
  uint64_t compressed_bytes() const override { return consumed_; }
  uint64_t frames_done() const { return frame_ - 1; }
  // The ring's size (0 before the first frame): the decoded bytes this decoder holds at most.
  // Safe to ask from another thread.
  size_t ring_bytes() const { return ring_bytes_.load(std::memory_order_relaxed); }

 private:
  struct Gate;  // the waiting for lent room, shared with the owners
  struct Ring;
  enum class Input { kOk, kEnd, kError };

  // Makes up to `want` input bytes contiguous at *p (*have of them: fewer only at the end of
  // the file), without taking them.
  Input Peek(size_t want, const uint8_t** p, size_t* have);
  void Take(size_t n);
  Input Refill();  // more input in the window (or in_): kEnd at the end of the file
  enum class Begin { kBegun, kLater, kFailed };
  // Starts the frame at the input (a skippable one is passed over), or kFailed with error_ and
  // the outcome in *fail. With `keep_ring`, a frame that needs a larger ring is left for later
  // (kLater, nothing taken): bytes of the current ring are still to be handed out.
  Begin BeginFrame(bool keep_ring, DecodeOutcome* fail);
  bool SkipFrame(uint64_t bytes, DecodeOutcome* fail);
  std::string Where() const;  // "zstd frame N is corrupt at or before compressed byte C"
  DecodeOutcome ReadFailed();
  DecodeOutcome Truncated(const char* frame_kind);  // the file ends inside frame_ (error_ says so)

  int fd_;
  struct DctxFree {
    void operator()(ZSTD_DCtx_s* d) const;
  };
  std::unique_ptr<ZSTD_DCtx_s, DctxFree> dctx_;
  // Input: the current window (or in_, filled by read()), then bytes moved to stage_ when a
  // unit libzstd wants in one piece straddles two windows.
  std::vector<uint8_t> in_;
  size_t max_read_;
  std::unique_ptr<MappedSource> mapped_;
  std::shared_ptr<const void> window_;
  const uint8_t* in_ptr_ = nullptr;
  size_t in_pos_ = 0, in_size_ = 0;
  std::vector<uint8_t> stage_;
  size_t stage_pos_ = 0;
  bool file_end_ = false;
  uint64_t consumed_ = 0;
  // Output.
  std::shared_ptr<Gate> gate_;
  std::shared_ptr<Ring> ring_;
  std::atomic<size_t> ring_bytes_{0};
  size_t out_pos_ = 0;      // where the next block is decoded
  size_t block_max_ = 0;    // the frame's largest block
  uint64_t frame_ = 1;      // the frame being decoded, from 1
  bool frame_open_ = false;
  std::optional<DecodeOutcome> final_;
  int read_errno_ = 0;
  std::string error_;
};

}  // namespace rp::detail
