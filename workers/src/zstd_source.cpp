#include "zstd_source.h"

#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

constexpr size_t kInBytes = 256 * 1024;

// A zstd frame starts with 28 b5 2f fd (0xFD2FB528, little-endian).
bool StartsFrame(const uint8_t* p) { return p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd; }

}  // namespace

void ZstdSource::DctxFree::operator()(ZSTD_DCtx_s* d) const { ZSTD_freeDCtx(d); }

bool ZstdSource::Detect(int fd) {
  uint8_t m[4];
  return pread(fd, m, sizeof m, 0) == 4 && StartsFrame(m);
}

ZstdSource::ZstdSource(int fd, size_t max_read, std::unique_ptr<MappedSource> mapped)
    : fd_(fd),
      dctx_(ZSTD_createDCtx()),
      in_(mapped ? 0 : kInBytes),
      max_read_(max_read ? max_read : kInBytes),
      mapped_(std::move(mapped)),
      in_ptr_(in_.data()) {}

ZstdSource::~ZstdSource() = default;

bool ZstdSource::Refill() {
  if (mapped_) {
    window_.reset();
    const void* p = nullptr;
    size_t n = 0;
    bool lend = false;  // the window is not lent: decoded bytes are what goes on
    const DecodeOutcome o = mapped_->Next(&p, &n, &window_, &lend);
    in_pos_ = 0;
    in_size_ = n;
    in_ptr_ = static_cast<const uint8_t*>(p);
    if (o == DecodeOutcome::kEnd) file_end_ = true;
    if (o == DecodeOutcome::kReadError) read_errno_ = mapped_->read_errno();
    return o == DecodeOutcome::kData;
  }
  const ssize_t n = ReadSome(fd_, in_.data(), std::min(in_.size(), max_read_));
  if (n < 0) {
    read_errno_ = errno;
    return false;
  }
  in_pos_ = 0;
  in_size_ = static_cast<size_t>(n);
  if (n == 0) file_end_ = true;
  return n > 0;
}

DecodeOutcome ZstdSource::Decode(uint8_t* out, size_t cap, size_t* n) {
  *n = 0;
  if (final_) return *final_;
  ZSTD_outBuffer ob{out, cap, 0};
  // Ends the stream with `o`; bytes decoded before it still go out first.
  const auto finish = [&](DecodeOutcome o) {
    final_ = o;
    if (ob.pos == 0) return o;
    *n = ob.pos;
    return DecodeOutcome::kData;
  };
  if (!dctx_) {
    error_ = "cannot set up a zstd decoder: out of memory";
    return finish(DecodeOutcome::kCorrupt);
  }
  int idle_turns = 0;
  while (ob.pos < ob.size) {
    if (in_pos_ == in_size_) {
      if (!file_end_ && !Refill() && read_errno_ != 0) {
        error_ = mapped_ ? mapped_->error()
                         : std::string("read error after compressed byte ") + std::to_string(consumed_) + ": " +
                               std::strerror(read_errno_);
        return finish(DecodeOutcome::kReadError);
      }
      if (file_end_) {
        if (!frame_open_) return finish(DecodeOutcome::kEnd);
        error_ = "zstd stream ends inside frame " + std::to_string(frame_) + " after " + std::to_string(consumed_) +
                 " compressed bytes: the file is truncated";
        return finish(DecodeOutcome::kTruncated);
      }
    }
    // At most kInBytes at a time from a window too: an error's offset is named to that
    // precision (see below).
    const size_t chunk_end = std::min(in_size_, in_pos_ + kInBytes);
    ZSTD_inBuffer ib{in_ptr_, chunk_end, in_pos_};
    const size_t out_before = ob.pos;
    const size_t ret = ZSTD_decompressStream(dctx_.get(), &ob, &ib);
    consumed_ += ib.pos - in_pos_;
    const bool moved = ib.pos != in_pos_ || ob.pos != out_before;
    in_pos_ = ib.pos;
    if (ZSTD_isError(ret)) {
      // libzstd returns an error without moving either position: what this call decoded is
      // not handed out (at most one output buffer), and the error lies somewhere in the input
      // it was given, so the offset named is that input's end.
      consumed_ += chunk_end - in_pos_;
      in_pos_ = in_size_;
      const ZSTD_ErrorCode code = ZSTD_getErrorCode(ret);
      std::string why = ZSTD_getErrorName(ret);
      if (code == ZSTD_error_checksum_wrong)
        why = "the frame's content checksum (XXH64) does not match its data";
      else if (code == ZSTD_error_frameParameter_windowTooLarge)
        why = "the frame needs a window larger than 128 MiB (zstd --long beyond 27), which is not decoded so that "
              "memory stays bounded (" + why + ")";
      else if (code == ZSTD_error_prefix_unknown)
        why = "no zstd frame starts here (" + why + ")";
      error_ = "zstd frame " + std::to_string(frame_) + " is corrupt at or before compressed byte " +
               std::to_string(consumed_) + ": " + why;
      return finish(DecodeOutcome::kCorrupt);
    }
    if (ret == 0) {  // a frame (or a skippable frame) ends here, wholly decoded and checked
      if (frame_open_ || moved) ++frame_;
      frame_open_ = false;
    } else {
      frame_open_ = true;
    }
    // Input and room for output both left, yet nothing moved: the decoder must be stuck.
    if (!moved && in_pos_ < in_size_ && ++idle_turns > 3) {
      error_ = "zstd frame " + std::to_string(frame_) + " is corrupt at or before compressed byte " +
               std::to_string(consumed_) + ": the decoder stopped making progress";
      return finish(DecodeOutcome::kCorrupt);
    }
  }
  *n = ob.pos;
  return DecodeOutcome::kData;
}

}  // namespace rp::detail
