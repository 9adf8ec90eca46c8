#include "sources/rar5_scan.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace rp::detail {
namespace {

constexpr char kSignature[8] = {'R', 'a', 'r', '!', '\x1a', '\x07', '\x01', '\x00'};
constexpr uint64_t kMaxHeaderBytes = 2u << 20;  // the format's own limit for one header

// Header types and flags (RAR 5.0 technical note).
constexpr uint64_t kMainHeader = 1;
constexpr uint64_t kFileHeader = 2;
constexpr uint64_t kEncryptionHeader = 4;
constexpr uint64_t kEndOfArchive = 5;
constexpr uint64_t kHasExtraArea = 0x0001;
constexpr uint64_t kHasDataArea = 0x0002;
constexpr uint64_t kFileHasTime = 0x0002;
constexpr uint64_t kFileHasCrc = 0x0004;
constexpr uint64_t kEncryptionRecord = 0x01;
constexpr uint64_t kArchiveIsSolid = 0x0004;

// Bytes of one header, read with bounds checks: every read fails past the end.
class Cursor {
 public:
  Cursor(const unsigned char* p, size_t n) : p_(p), n_(n) {}
  // A variable-length integer: 7 bits a byte, low first, at most 10 bytes.
  bool Vint(uint64_t* v) {
    uint64_t r = 0;
    for (int i = 0; i < 10 && pos_ < n_; ++i) {
      const unsigned char b = p_[pos_++];
      r |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool Skip(uint64_t n) {
    if (n > n_ - pos_) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool Bytes(uint64_t n, std::string* out) {
    if (n > n_ - pos_) return false;
    out->assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const unsigned char* p_;
  size_t n_;
  size_t pos_ = 0;
};

// The name of a file header whose type-specific fields start at `c`; false if malformed.
bool FileName(Cursor c, std::string* name) {
  uint64_t file_flags = 0, ignored = 0, name_len = 0;
  if (!c.Vint(&file_flags) || !c.Vint(&ignored) /* unpacked size */ || !c.Vint(&ignored) /* attributes */)
    return false;
  if ((file_flags & kFileHasTime) && !c.Skip(4)) return false;
  if ((file_flags & kFileHasCrc) && !c.Skip(4)) return false;
  if (!c.Vint(&ignored) /* compression */ || !c.Vint(&ignored) /* host OS */ || !c.Vint(&name_len)) return false;
  return c.Bytes(name_len, name);
}

// True when the extra area holds a file encryption record.
bool HasEncryptionRecord(Cursor c, size_t end) {
  while (c.pos() < end) {
    uint64_t size = 0, type = 0;
    if (!c.Vint(&size) || size == 0) return false;
    const size_t start = c.pos();
    if (size > end - start || !c.Vint(&type)) return false;
    if (type == kEncryptionRecord) return true;
    if (!c.Skip(size - (c.pos() - start))) return false;
  }
  return false;
}

}  // namespace

bool Rar5Encryption::Encrypted(uint64_t index, const std::string& name) const {
  const auto it = std::lower_bound(files.begin(), files.end(), index,
                                   [](const auto& f, uint64_t i) { return f.first < i; });
  return it != files.end() && it->first == index && it->second == name;
}

namespace {

// Serves the scan's small reads (a header's first bytes, then the header) from one larger
// read, so that a run of headers with small data areas costs one read, not two per header.
class CachedReader {
 public:
  explicit CachedReader(const ReadAt& read_at) : read_at_(read_at), buf_(64 << 10) {}
  size_t operator()(uint64_t offset, size_t n, char* out) {
    if (n > buf_.size()) return read_at_(offset, n, out);
    // (written so that nothing overflows: an offset may lie near 2^64)
    if (offset < base_ || offset - base_ > len_ || len_ - (offset - base_) < n) {
      base_ = offset;
      len_ = read_at_(offset, buf_.size(), buf_.data());
    }
    const size_t k = std::min(n, len_ - static_cast<size_t>(offset - base_));
    std::memcpy(out, buf_.data() + (offset - base_), k);
    return k;
  }

 private:
  const ReadAt& read_at_;
  std::vector<char> buf_;
  uint64_t base_ = 0;
  size_t len_ = 0;
};

}  // namespace

std::optional<Rar5Encryption> ScanRar5Encryption(const ReadAt& uncached, uint64_t max_headers) {
  CachedReader read_at(uncached);
  char sig[sizeof kSignature];
  if (read_at(0, sizeof sig, sig) != sizeof sig || std::memcmp(sig, kSignature, sizeof sig) != 0) return std::nullopt;
  Rar5Encryption out;
  uint64_t file_headers = 0;
  uint64_t pos = sizeof kSignature;
  std::vector<unsigned char> head;
  for (uint64_t count = 0; count < max_headers; ++count) {
    // The header's CRC-32 (libarchive checks it), then its size as a vint.
    unsigned char pre[4 + 10];
    const size_t got = read_at(pos, sizeof pre, reinterpret_cast<char*>(pre));
    Cursor c0(pre, got);
    uint64_t size = 0;
    if (!c0.Skip(4) || !c0.Vint(&size)) {
      out.cut_short = got < sizeof pre;  // else a size of more than 10 bytes
      break;
    }
    if (size == 0 || size > kMaxHeaderBytes) break;
    head.resize(static_cast<size_t>(size));
    if (read_at(pos + c0.pos(), head.size(), reinterpret_cast<char*>(head.data())) != head.size()) {
      out.cut_short = true;
      break;
    }
    Cursor c(head.data(), head.size());
    uint64_t type = 0, flags = 0, extra = 0, data = 0;
    if (!c.Vint(&type) || !c.Vint(&flags)) break;
    if ((flags & kHasExtraArea) && !c.Vint(&extra)) break;
    if ((flags & kHasDataArea) && !c.Vint(&data)) break;
    if (extra > head.size() - c.pos()) break;
    if (type == kEncryptionHeader) {
      out.headers_encrypted = true;
      break;
    }
    if (type == kEndOfArchive) break;
    const size_t extra_at = head.size() - static_cast<size_t>(extra);
    uint64_t archive_flags = 0;
    if (type == kMainHeader && c.Vint(&archive_flags)) out.solid = (archive_flags & kArchiveIsSolid) != 0;
    if (type == kFileHeader) {
      std::string name;
      Cursor e(head.data(), head.size());
      if (FileName(Cursor(head.data() + c.pos(), extra_at - c.pos()), &name) && e.Skip(extra_at) &&
          HasEncryptionRecord(e, head.size()))
        out.files.emplace_back(file_headers, std::move(name));
      ++file_headers;
    }
    const uint64_t next = pos + c0.pos() + size;
    if (data > std::numeric_limits<uint64_t>::max() - next) break;
    pos = next + data;
  }
  return out;
}

std::optional<Rar5Encryption> ScanRar5Encryption(std::string_view bytes, uint64_t max_headers) {
  return ScanRar5Encryption(MemoryReadAt(bytes), max_headers);
}

}  // namespace rp::detail
