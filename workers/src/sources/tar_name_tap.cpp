#include "sources/tar_name_tap.h"

#include <algorithm>
#include <cstring>

#include "rp/path_text.h"

namespace rp::detail {
namespace {

constexpr size_t kBlock = 512;

// A tar numeric field: octal digits (leading spaces, trailing NUL or space), or base-256 with
// the high bit of the first byte set. Negative or too large: nullopt.
std::optional<uint64_t> TarNumber(const char* p, size_t n) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (n > 0 && (u[0] & 0x80)) {
    if (u[0] == 0xff) return std::nullopt;  // negative
    uint64_t v = u[0] & 0x7f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return v;
  }
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\0')) {
    if (p[i] == '\0') return 0;
    ++i;
  }
  uint64_t v = 0;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  }
  return v;
}

bool ChecksumMatches(std::string_view b) {
  const auto stored = TarNumber(b.data() + 148, 8);
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const char c = (i >= 148 && i < 156) ? ' ' : b[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

bool AllZero(std::string_view b) {
  return std::all_of(b.begin(), b.end(), [](char c) { return c == '\0'; });
}

bool HasNonAscii(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

uint64_t Padded(uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

}  // namespace

void TarNameTap::Off() {
  state_ = State::kOff;
  pending_.clear();
  pax_.clear();
  pax_.shrink_to_fit();
}

void TarNameTap::Feed(const char* data, size_t n) {
  while (n > 0 && state_ != State::kOff) {
    size_t take = 0;
    switch (state_) {
      case State::kSkip:
        take = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kHeader;
        break;
      case State::kHeader:
      case State::kSparseExtension:
        if (block_.empty() && n >= kBlock) {
          // A whole block in what was fed: read in place (the common case).
          data += kBlock;
          n -= kBlock;
          offset_ += kBlock;
          if (state_ == State::kHeader) OnHeader(std::string_view(data - kBlock, kBlock));
          else OnSparseExtension(std::string_view(data - kBlock, kBlock));
          continue;
        }
        take = std::min(n, kBlock - block_.size());
        block_.append(data, take);
        break;
      case State::kPaxData:
        take = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
        pax_.append(data, take);
        remaining_ -= take;
        break;
      case State::kDone:
      case State::kOff: return;
    }
    data += take;
    n -= take;
    offset_ += take;
    if (block_.size() == kBlock && (state_ == State::kHeader || state_ == State::kSparseExtension)) {
      const std::string b = std::move(block_);
      block_.clear();
      if (state_ == State::kHeader) OnHeader(b);
      else OnSparseExtension(b);
    }
    else if (state_ == State::kPaxData && remaining_ == 0) OnPaxData();
  }
}

void TarNameTap::Skip(uint64_t n) {
  if (state_ == State::kDone || state_ == State::kOff) return;
  if (state_ != State::kSkip || n > remaining_) return Off();  // skipped over a header
  remaining_ -= n;
  offset_ += n;
  if (remaining_ == 0) state_ = State::kHeader;
}

void TarNameTap::OnHeader(std::string_view b) {
  const uint64_t at = offset_ - kBlock;
  if (!ChecksumMatches(b) && AllZero(b)) {  // the end-of-archive marker: libarchive returns no entry after it
    state_ = State::kDone;
    return;
  }
  // Only POSIX (ustar, pax) and GNU headers: anything else has no pax names to keep.
  if (!ChecksumMatches(b) || b.substr(257, 5) != "ustar") return Off();
  const bool gnu = b.substr(257, 8) == std::string_view("ustar  \0", 8);
  const auto size = TarNumber(b.data() + 124, 12);
  if (!size) return Off();
  if (!entry_start_) entry_start_ = at;
  const char type = b[156];
  auto skip_then_header = [&](uint64_t bytes) {
    remaining_ = Padded(bytes);
    state_ = remaining_ ? State::kSkip : State::kHeader;
  };
  switch (type) {
    case 'x':
    case 'X':
      if (*size > kMaxPaxBytes) return Off();  // libarchive refuses it too
      pax_seen_ = true;
      pax_.clear();
      remaining_ = *size;
      pax_padding_ = Padded(*size) - *size;
      state_ = remaining_ ? State::kPaxData : State::kHeader;
      if (!remaining_) OnPaxData();
      return;
    case 'g':  // a global extended header: libarchive reads it and applies nothing from it
    case 'L':  // GNU long name and link name: libarchive takes their bytes as they are
    case 'K':
    case 'V':  // a GNU volume label: not an entry
      if (*size > kMaxPaxBytes && type != 'V') return Off();
      return skip_then_header(type == 'V' ? 0 : *size);
    default: break;
  }
  // The entry's main header: its content follows, as many bytes as libarchive will skip.
  uint64_t content = *size;
  switch (type) {
    case '2': case '3': case '4': case '5': case '6': content = 0; break;
    case '1': if (!pax_seen_) content = 0; break;  // libarchive ignores a ustar hard link's size
    default: break;
  }
  if (pax_size_) content = *pax_size_;
  if (pending_.size() >= kMaxPending) return Off();
  Pending p;
  p.start = *entry_start_;
  p.names = next_has_names_;
  p.raw = std::move(next_);
  pending_.push_back(std::move(p));
  entry_start_.reset();
  pax_size_.reset();
  next_ = RawTarNames{};
  next_has_names_ = false;
  if (type == 'S' && gnu && b[482] != '\0') {
    // Old GNU sparse headers go on in extension blocks, each saying whether another follows.
    content_after_extensions_ = content;
    state_ = State::kSparseExtension;
    return;
  }
  skip_then_header(content);
}

void TarNameTap::OnSparseExtension(std::string_view b) {
  if (b[504] == '\0') {
    remaining_ = Padded(content_after_extensions_);
    state_ = remaining_ ? State::kSkip : State::kHeader;
  }
}

void TarNameTap::OnPaxData() {
  // libarchive reads the records as a C string: up to the first NUL.
  std::string_view text(pax_);
  text = text.substr(0, text.find('\0'));
  std::optional<std::string> path, linkpath, sparse_name, uname, gname;
  bool binary = false;
  bool clean = true;  // every record parsed, as libarchive would without a warning
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = 0, i = pos;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && len <= 999999) len = len * 10 + static_cast<size_t>(text[i++] - '0');
    if (i >= text.size() || text[i] != ' ' || len < 1 || len > text.size() - pos || text[pos + len - 1] != '\n') {
      clean = false;  // malformed: libarchive stops here too, with a warning of its own
      break;
    }
    const std::string_view record = text.substr(i + 1, pos + len - 1 - (i + 1));
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      clean = false;
      break;
    }
    const std::string_view key = record.substr(0, eq);
    const std::string value(record.substr(eq + 1));
    if (key == "path") path = value;
    else if (key == "linkpath") linkpath = value;
    else if (key == "GNU.sparse.name") sparse_name = value;
    else if (key == "uname") uname = value;
    else if (key == "gname") gname = value;
    else if (key == "hdrcharset") {
      if (value == "BINARY") binary = true;
      else if (value == "ISO-IR 10646 2000 UTF-8") binary = false;
    } else if (key == "size") {
      uint64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) break;
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      pax_size_ = v;
    }
    pos += len;
  }
  pax_.clear();
  if (sparse_name && !sparse_name->empty()) path = sparse_name;
  next_ = RawTarNames{};
  next_has_names_ = false;
  if (!binary) {
    // Only what libarchive converts, and only where the conversion can change bytes.
    if (path && !path->empty() && HasNonAscii(*path)) next_.path = path;
    if (linkpath && !linkpath->empty() && HasNonAscii(*linkpath)) next_.linkpath = linkpath;
    const bool names_invalid = (path && !IsValidUtf8(*path)) || (linkpath && !IsValidUtf8(*linkpath));
    const bool owners_invalid = (uname && !IsValidUtf8(*uname)) || (gname && !IsValidUtf8(*gname));
    next_.warning_explained = clean && names_invalid && !owners_invalid;
    next_has_names_ = next_.path || next_.linkpath;
  }
  remaining_ = pax_padding_;
  state_ = remaining_ ? State::kSkip : State::kHeader;
}

std::optional<RawTarNames> TarNameTap::Take(int64_t header_offset) {
  if (state_ == State::kOff || header_offset < 0) return std::nullopt;
  // (kDone: entries before the end marker may still be asked for.)
  const auto at = static_cast<uint64_t>(header_offset);
  while (!pending_.empty() && pending_.front().start < at) pending_.pop_front();
  if (pending_.empty() || pending_.front().start != at) {
    // libarchive found an entry where the tap saw none: the two disagree about the stream.
    Off();
    return std::nullopt;
  }
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (!p.names) return std::nullopt;
  return std::move(p.raw);
}

}  // namespace rp::detail
