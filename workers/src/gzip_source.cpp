#include "gzip_source.h"

#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rp::detail {
namespace {

constexpr size_t kInBytes = 256 * 1024;
constexpr size_t kOutBytes = 256 * 1024;

std::string InflateError(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "back-reference before the start of the data";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "gzip header names a compression method other than deflate";
    case ISAL_INCORRECT_CHECKSUM: return "CRC-32 or length in the gzip trailer does not match the data";
    case ISAL_NEED_DICT: return "the stream asks for a preset dictionary, which gzip never uses";
    default: return "decoder error " + std::to_string(code);
  }
}

}  // namespace

bool GzipSource::Detect(int fd) {
  unsigned char magic[3];
  return pread(fd, magic, sizeof magic, 0) == 3 && magic[0] == 0x1f && magic[1] == 0x8b && magic[2] == 8;
}

GzipSource::GzipSource(int fd, size_t in_bytes)
    : fd_(fd), state_(std::make_unique<inflate_state>()), in_(in_bytes ? std::max<size_t>(in_bytes, 4) : kInBytes), out_(kOutBytes) {
  isal_inflate_init(state_.get());
  state_->crc_flag = ISAL_GZIP;  // parse each member's header, check its CRC-32 and length
  state_->next_in = in_.data();
  state_->avail_in = 0;
}

GzipSource::~GzipSource() = default;

bool GzipSource::Refill() {
  inflate_state& st = *state_;
  // Unused input (a few bytes of the next member's header) moves to the front.
  const size_t keep = st.avail_in;
  if (keep > 0 && st.next_in != in_.data()) std::memmove(in_.data(), st.next_in, keep);
  st.next_in = in_.data();
  if (keep == in_.size()) return true;
  ssize_t n;
  do {
    n = read(fd_, in_.data() + keep, in_.size() - keep);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    read_errno_ = errno;
    return false;
  }
  if (n == 0) {
    file_end_ = true;
    return false;
  }
  st.avail_in = static_cast<uint32_t>(keep + static_cast<size_t>(n));
  return true;
}

bool GzipSource::AtNextMember() {
  inflate_state& st = *state_;
  // The buffer holds at least 4 bytes, so each turn reads or ends.
  while (st.avail_in < 3 && !file_end_ && read_errno_ == 0) Refill();
  return st.avail_in >= 3 && st.next_in[0] == 0x1f && st.next_in[1] == 0x8b && st.next_in[2] == 8;
}

GzipSource::Outcome GzipSource::Next(const void** data, size_t* size) {
  if (done_) return Outcome::kEnd;
  inflate_state& st = *state_;
  st.next_out = out_.data();
  st.avail_out = static_cast<uint32_t>(out_.size());
  int idle_turns = 0;
  const auto produced = [&] { return out_.size() - st.avail_out; };
  const auto deliver = [&] {
    *data = out_.data();
    *size = produced();
    return Outcome::kData;
  };
  for (;;) {
    if (st.avail_in == 0 && !file_end_ && !Refill() && read_errno_ != 0) {
      error_ = std::string("read error after byte ") + std::to_string(consumed_) + ": " + std::strerror(read_errno_);
      return Outcome::kReadError;
    }
    const uint32_t in_before = st.avail_in;
    const uint32_t out_before = st.avail_out;
    const int rc = isal_inflate(&st);
    consumed_ += in_before - st.avail_in;
    if (rc < 0 || rc == ISAL_NEED_DICT) {
      error_ = "gzip member " + std::to_string(members_) + " is corrupt at or before compressed byte " +
               std::to_string(consumed_) + ": " + InflateError(rc);
      done_ = true;
      return Outcome::kCorrupt;
    }
    if (st.block_state == ISAL_BLOCK_FINISH) {
      // This member is whole and its trailer checked. gzip files may hold several members.
      if (!AtNextMember()) {
        done_ = true;
        if (read_errno_ != 0) {
          error_ = std::string("read error after byte ") + std::to_string(consumed_) + ": " + std::strerror(read_errno_);
          return Outcome::kReadError;
        }
        return produced() > 0 ? deliver() : Outcome::kEnd;  // the next call says kEnd
      }
      uint8_t* next_in = st.next_in;
      const uint32_t avail_in = st.avail_in;
      uint8_t* next_out = st.next_out;
      const uint32_t avail_out = st.avail_out;
      isal_inflate_reset(&st);
      st.crc_flag = ISAL_GZIP;
      st.next_in = next_in;
      st.avail_in = avail_in;
      st.next_out = next_out;
      st.avail_out = avail_out;
      ++members_;
      if (st.avail_out == 0) return deliver();
      continue;
    }
    if (st.avail_out == 0) return deliver();
    if (st.avail_in == 0) {
      if (!file_end_) continue;  // read more
      if (produced() > 0) return deliver();  // the truncation is reported on the next call
      error_ = "gzip stream ends inside member " + std::to_string(members_) + " after " + std::to_string(consumed_) +
               " compressed bytes: the file is truncated";
      done_ = true;
      return Outcome::kTruncated;
    }
    // Input and room for output both left, yet no finish: the decoder must be moving.
    if (st.avail_in == in_before && st.avail_out == out_before && ++idle_turns > 3) {
      error_ = "gzip member " + std::to_string(members_) + " is corrupt at or before compressed byte " +
               std::to_string(consumed_) + ": the decoder stopped making progress";
      done_ = true;
      return Outcome::kCorrupt;
    }
  }
}

}  // namespace rp::detail
