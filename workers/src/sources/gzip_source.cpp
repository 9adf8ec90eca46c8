#include "sources/gzip_source.h"

#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rp/posix_io.h"

namespace rp::detail {
namespace {

constexpr size_t kInBytes = 256 * 1024;

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

// The first three bytes of a gzip member: magic, then deflate as the method.
bool MemberMagic(const uint8_t* p) { return p[0] == 0x1f && p[1] == 0x8b && p[2] == 8; }

}  // namespace

bool GzipSource::StartsMember(const std::string& bytes) {
  return bytes.size() >= 3 && MemberMagic(reinterpret_cast<const uint8_t*>(bytes.data()));
}

bool GzipSource::Detect(int fd) {
  // A member start with no reserved flag bits: what gzip itself and libarchive accept.
  uint8_t m[4];
  return pread(fd, m, sizeof m, 0) == 4 && MemberMagic(m) && (m[3] & 0xe0) == 0;
}

GzipSource::GzipSource(int fd, size_t buffer_bytes, size_t max_read)
    : fd_(fd),
      state_(std::make_unique<inflate_state>()),
      in_(buffer_bytes ? std::max<size_t>(buffer_bytes, 16) : kInBytes),
      max_read_(max_read ? max_read : in_.size()) {
  isal_inflate_init(state_.get());
  state_->next_in = in_.data();
  state_->avail_in = 0;
}

GzipSource::~GzipSource() = default;

bool GzipSource::Refill() {
  inflate_state& st = *state_;
  // Unused input (part of a member header, say) moves to the front.
  const size_t keep = st.avail_in;
  if (keep > 0 && st.next_in != in_.data()) std::memmove(in_.data(), st.next_in, keep);
  st.next_in = in_.data();
  if (keep == in_.size()) return true;
  const ssize_t n = ReadSome(fd_, in_.data() + keep, std::min(in_.size() - keep, max_read_));
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
  // The buffer holds at least 16 bytes, so each turn reads or ends.
  while (st.avail_in < 3 && !file_end_ && read_errno_ == 0) Refill();
  return st.avail_in >= 3 && MemberMagic(st.next_in);
}

// The length of the member header that starts at p (RFC 1952, 2.3), or 0 when the n bytes
// given do not hold all of it.
size_t GzipSource::HeaderLength(const uint8_t* p, size_t n) {
  if (n < 10) return 0;
  const uint8_t flags = p[3];
  size_t at = 10;
  if (flags & 0x04) {  // FEXTRA: two length bytes, then the field
    if (n < at + 2) return 0;
    at += 2 + (static_cast<size_t>(p[at]) | static_cast<size_t>(p[at + 1]) << 8);
  }
  for (const uint8_t zero_terminated : {uint8_t{0x08}, uint8_t{0x10}}) {  // FNAME, FCOMMENT
    if (!(flags & zero_terminated)) continue;
    const void* z = at < n ? std::memchr(p + at, 0, n - at) : nullptr;
    if (!z) return 0;
    at = static_cast<size_t>(static_cast<const uint8_t*>(z) - p) + 1;
  }
  if (flags & 0x02) at += 2;  // FHCRC
  return at <= n ? at : 0;
}

// Reads the current member's header, buffered whole first: ISA-L's header reader does not
// carry every field across calls (a header CRC split between reads would fail).
GzipSource::Outcome GzipSource::ReadHeader() {
  inflate_state& st = *state_;
  while (HeaderLength(st.next_in, st.avail_in) == 0) {
    if (st.avail_in == in_.size()) {
      error_ = "gzip member " + std::to_string(members_) + " at compressed byte " + std::to_string(consumed_) +
               " has a header longer than " + std::to_string(in_.size()) + " bytes (extra field, name or comment)";
      return Outcome::kCorrupt;
    }
    if (!Refill()) {
      if (read_errno_ != 0) return ReadFailed();
      error_ = "gzip stream ends inside the header of member " + std::to_string(members_) + " after " +
               std::to_string(consumed_ + st.avail_in) + " compressed bytes: the file is truncated";
      return Outcome::kTruncated;
    }
  }
  isal_gzip_header header;
  std::memset(&header, 0, sizeof header);  // no buffers: name, comment and extra are skipped
  const uint32_t before = st.avail_in;
  const int rc = isal_read_gzip_header(&st, &header);
  consumed_ += before - st.avail_in;
  if (rc != ISAL_DECOMP_OK) {
    error_ = "gzip member " + std::to_string(members_) + " has a bad header at compressed byte " +
             std::to_string(consumed_) + ": " + (rc == ISAL_INCORRECT_CHECKSUM ? "its header CRC does not match" : InflateError(rc));
    return Outcome::kCorrupt;
  }
  st.crc_flag = ISAL_GZIP_NO_HDR_VER;  // the deflate data, then the trailer's CRC-32 and length checked
  in_header_ = false;
  return Outcome::kData;
}

GzipSource::Outcome GzipSource::Corrupt(const std::string& why) {
  error_ = "gzip member " + std::to_string(members_) + " is corrupt at or before compressed byte " +
           std::to_string(consumed_) + ": " + why;
  return Outcome::kCorrupt;
}

GzipSource::Outcome GzipSource::ReadFailed() {
  error_ = std::string("read error after compressed byte ") + std::to_string(consumed_) + ": " +
           std::strerror(read_errno_);
  return Outcome::kReadError;
}

GzipSource::Outcome GzipSource::Decode(uint8_t* out, size_t cap, size_t* size) {
  *size = 0;
  // The end, or an error, is final: every later call says it again.
  if (final_) return *final_;
  inflate_state& st = *state_;
  st.next_out = out;
  st.avail_out = static_cast<uint32_t>(std::min<size_t>(cap, UINT32_MAX));
  const size_t room = st.avail_out;
  int idle_turns = 0;
  const auto produced = [&] { return room - st.avail_out; };
  // Ends the stream with `o`; bytes decoded before it still go out first.
  const auto finish = [&](Outcome o) {
    final_ = o;
    *size = produced();
    return *size == 0 ? o : Outcome::kData;
  };
  for (;;) {
    if (in_header_) {
      if (const Outcome o = ReadHeader(); o != Outcome::kData) return finish(o);
    }
    if (st.avail_in == 0 && !file_end_ && !Refill() && read_errno_ != 0) return finish(ReadFailed());
    const uint32_t in_before = st.avail_in;
    const uint32_t out_before = st.avail_out;
    const int rc = isal_inflate(&st);
    consumed_ += in_before - st.avail_in;
    if (rc < 0 || rc == ISAL_NEED_DICT) {
      return finish(Corrupt(InflateError(rc)));
    }
    if (st.block_state == ISAL_BLOCK_FINISH) {
      // This member is whole and its trailer checked. gzip files may hold several members.
      if (!AtNextMember()) return finish(read_errno_ != 0 ? ReadFailed() : Outcome::kEnd);
      uint8_t* next_in = st.next_in;
      const uint32_t avail_in = st.avail_in;
      uint8_t* next_out = st.next_out;
      const uint32_t avail_out = st.avail_out;
      isal_inflate_reset(&st);
      st.next_in = next_in;
      st.avail_in = avail_in;
      st.next_out = next_out;
      st.avail_out = avail_out;
      ++members_;
      in_header_ = true;
      if (st.avail_out == 0) break;
      continue;
    }
    if (st.avail_out == 0) break;
    if (st.avail_in == 0) {
      if (!file_end_) continue;  // read more
      error_ = "gzip stream ends inside member " + std::to_string(members_) + " after " + std::to_string(consumed_) +
               " compressed bytes: the file is truncated";
      return finish(Outcome::kTruncated);
    }
    // Input and room for output both left, yet no finish: the decoder must be moving.
    if (st.avail_in == in_before && st.avail_out == out_before && ++idle_turns > 3) {
      return finish(Corrupt("the decoder stopped making progress"));
    }
  }
  *size = produced();
  return Outcome::kData;
}

}  // namespace rp::detail
