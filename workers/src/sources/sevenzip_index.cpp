#include "sources/sevenzip_index.h"

#include <isa-l/crc.h>
#include <lzma.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp::detail {
namespace {

constexpr size_t kStartBytes = 32;
constexpr size_t kChunk = 256 << 10;             // reads past the source's 64 KiB window
constexpr uint64_t kMaxCrcBytes = 1ull << 30;    // a header larger than this is left to libarchive
constexpr uint64_t kMaxEncodedBytes = 64 << 10;  // an encoded header's streams info is tens of bytes

// Property ids (7zFormat.txt).
constexpr uint8_t kEnd = 0x00;
constexpr uint8_t kPackInfo = 0x06;
constexpr uint8_t kUnpackInfo = 0x07;
constexpr uint8_t kSize = 0x09;
constexpr uint8_t kCrc = 0x0a;
constexpr uint8_t kFolder = 0x0b;
constexpr uint8_t kCodersUnpackSize = 0x0c;
constexpr uint8_t kEncodedHeader = 0x17;

uint32_t Crc32(uint32_t crc, const void* p, size_t n) {
  return crc32_gzip_refl(crc, static_cast<const unsigned char*>(p), n);
}

std::string Num(uint64_t v) { return std::to_string(v); }
std::string Hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

// CRC-32 of the `n` bytes at `at`; false if the file has fewer.
bool CrcOf(ScanSource& src, uint64_t at, uint64_t n, uint32_t* crc) {
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(n, kChunk)));
  uint32_t c = 0;
  while (n > 0) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
    if (!src.Read(at, k, buf.data())) return false;
    c = Crc32(c, buf.data(), k);
    at += k;
    n -= k;
  }
  *crc = c;
  return true;
}

// The bytes of a header, read with bounds checks.
class Cursor {
 public:
  explicit Cursor(std::string_view b) : b_(b) {}
  bool Byte(uint8_t* v) {
    if (p_ >= b_.size()) return false;
    *v = static_cast<uint8_t>(b_[p_++]);
    return true;
  }
  // A NUMBER: the leading one bits of the first byte count the bytes that follow (low first);
  // the first byte's remaining bits are the highest.
  bool Number(uint64_t* v) {
    uint8_t first = 0;
    if (!Byte(&first)) return false;
    uint64_t value = 0;
    uint8_t mask = 0x80;
    for (int i = 0; i < 8; ++i) {
      if ((first & mask) == 0) {
        *v = value | static_cast<uint64_t>(first & (mask - 1)) << (8 * i);
        return true;
      }
      uint8_t b = 0;
      if (!Byte(&b)) return false;
      value |= static_cast<uint64_t>(b) << (8 * i);
      mask = static_cast<uint8_t>(mask >> 1);
    }
    *v = value;
    return true;
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > b_.size() - p_) return false;
    *out = b_.substr(p_, static_cast<size_t>(n));
    p_ += static_cast<size_t>(n);
    return true;
  }

 private:
  std::string_view b_;
  size_t p_ = 0;
};

// One digest of a Digests record for a single stream: all-defined byte, or a bit vector.
bool OneDigest(Cursor* c, std::optional<uint32_t>* crc) {
  uint8_t all = 0, bits = 0x80;
  if (!c->Byte(&all) || (all == 0 && !c->Byte(&bits))) return false;
  if ((bits & 0x80) == 0) return true;
  std::string_view d;
  if (!c->Bytes(4, &d)) return false;
  *crc = Le32(reinterpret_cast<const unsigned char*>(d.data()));
  return true;
}

struct PackedHeader {
  uint64_t pack_pos = 0;  // from the end of the start header
  uint64_t pack_size = 0;
  std::string_view method;
  std::string_view props;
  uint64_t unpack_size = 0;
  std::optional<uint32_t> crc;  // of the decoded header
};

// The streams info of an encoded header, after its id: one pack stream, one folder of one
// simple coder (what 7-Zip and libarchive write). False for anything else: not checked.
bool ParseEncoded(Cursor c, PackedHeader* h) {
  uint8_t id = 0;
  uint64_t streams = 0;
  if (!c.Byte(&id) || id != kPackInfo || !c.Number(&h->pack_pos) || !c.Number(&streams) || streams != 1) return false;
  bool sized = false;
  for (;;) {
    if (!c.Byte(&id)) return false;
    if (id == kEnd) break;
    std::optional<uint32_t> ignored;
    if (id == kSize) {
      if (!c.Number(&h->pack_size)) return false;
      sized = true;
    } else if (id != kCrc || !OneDigest(&c, &ignored)) {
      return false;
    }
  }
  uint64_t folders = 0, coders = 0;
  uint8_t external = 0, flag = 0;
  if (!sized || !c.Byte(&id) || id != kUnpackInfo || !c.Byte(&id) || id != kFolder || !c.Number(&folders) ||
      folders != 1 || !c.Byte(&external) || external != 0 || !c.Number(&coders) || coders != 1 || !c.Byte(&flag) ||
      (flag & 0xc0) != 0 || !c.Bytes(flag & 0x0f, &h->method))
    return false;
  if (flag & 0x10) {
    uint64_t in = 0, out = 0;
    if (!c.Number(&in) || !c.Number(&out) || in != 1 || out != 1) return false;
  }
  uint64_t props = 0;
  if ((flag & 0x20) && (!c.Number(&props) || !c.Bytes(props, &h->props))) return false;
  if (!c.Byte(&id) || id != kCodersUnpackSize || !c.Number(&h->unpack_size) || !c.Byte(&id)) return false;
  if (id == kCrc && (!OneDigest(&c, &h->crc) || !c.Byte(&id))) return false;
  return id == kEnd;
}

struct FreeOptions {
  void operator()(void* p) const { std::free(p); }
};

// Decodes the packed header at `at`. Returns what is wrong with it, or "" when it decodes
// from all of its packed bytes to exactly its size and CRC (or cannot be checked here).
std::string DecodePacked(ScanSource& src, const PackedHeader& h, uint64_t at, bool lzma1) {
  lzma_filter filters[2] = {};
  filters[0].id = lzma1 ? LZMA_FILTER_LZMA1 : LZMA_FILTER_LZMA2;
  filters[1].id = LZMA_VLI_UNKNOWN;
  if (lzma_properties_decode(&filters[0], nullptr, reinterpret_cast<const uint8_t*>(h.props.data()), h.props.size()) !=
      LZMA_OK)
    return "has coder properties that are not valid";
  std::unique_ptr<lzma_options_lzma, FreeOptions> options(static_cast<lzma_options_lzma*>(filters[0].options));
  // Nothing refers back further than the header's own length: a dictionary of that size
  // decodes the same, and a hostile dictionary size costs nothing.
  options->dict_size = static_cast<uint32_t>(
      std::min<uint64_t>(options->dict_size, std::max<uint64_t>(h.unpack_size, LZMA_DICT_SIZE_MIN)));
  if (lzma1) {
    // With the size known, liblzma also checks that the range coder ends cleanly: the last
    // packed bytes, which do not change what is decoded, are checked too (as 7-Zip does).
    filters[0].id = LZMA_FILTER_LZMA1EXT;
    options->ext_flags = LZMA_LZMA1EXT_ALLOW_EOPM;
    options->ext_size_low = static_cast<uint32_t>(h.unpack_size);
    options->ext_size_high = static_cast<uint32_t>(h.unpack_size >> 32);
  }
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_raw_decoder(&s, filters) != LZMA_OK) return "";
  struct End {
    lzma_stream* s;
    ~End() { lzma_end(s); }
  } end{&s};
  std::vector<uint8_t> in(static_cast<size_t>(std::min<uint64_t>(h.pack_size, kChunk)));
  std::vector<uint8_t> out(64 << 10);
  uint64_t fed = 0, produced = 0;
  uint32_t crc = 0;
  for (;;) {
    if (s.avail_in == 0 && fed < h.pack_size) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(in.size(), h.pack_size - fed));
      if (!src.Read(at + fed, k, in.data())) return "";
      s.next_in = in.data();
      s.avail_in = k;
      fed += k;
    }
    s.next_out = out.data();
    s.avail_out = out.size();
    const lzma_ret r = lzma_code(&s, fed == h.pack_size ? LZMA_FINISH : LZMA_RUN);
    const size_t got = out.size() - s.avail_out;
    crc = Crc32(crc, out.data(), got);
    produced += got;
    if (produced > h.unpack_size) return "decodes to more than its declared " + Num(h.unpack_size) + " bytes";
    if (r == LZMA_STREAM_END) break;
    if (r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR || r == LZMA_OPTIONS_ERROR) return "";
    if (r == LZMA_BUF_ERROR) return "ends after " + Num(produced) + " of its " + Num(h.unpack_size) + " bytes";
    if (r != LZMA_OK)
      return "does not decode: damaged data after " + Num(produced) + " of its " + Num(h.unpack_size) + " bytes, " +
             Num(s.total_in) + " of its " + Num(h.pack_size) + " packed bytes read";
  }
  if (s.total_in != h.pack_size)
    return "decodes completely from the first " + Num(s.total_in) + " of its " + Num(h.pack_size) + " packed bytes";
  if (produced != h.unpack_size) return "decodes to " + Num(produced) + " bytes, its folder says " + Num(h.unpack_size);
  if (h.crc && crc != *h.crc) return "decodes to bytes of CRC-32 " + Hex(crc) + ", its folder says " + Hex(*h.crc);
  return "";
}

void CheckEncoded(ScanSource& src, FindingList* out, uint64_t header_at, std::string_view header) {
  PackedHeader h;
  if (!ParseEncoded(Cursor(header.substr(1)), &h)) return;
  const uint64_t room = header_at - kStartBytes;  // bytes between the start header and the header
  if (h.pack_pos > room || h.pack_size > room - h.pack_pos) {
    out->Add(IndexProblem::kCorrupt, IndexCheck::k7zPackedHeader, "", header_at,
             "the 7z header at offset " + Num(header_at) + " puts its compressed form at offset " +
                 Num(kStartBytes + h.pack_pos) + ", " + Num(h.pack_size) + " bytes long: not before the header");
    return;
  }
  if (h.unpack_size > kMaxDecodedIndexBytes) return;
  const bool lzma1 = h.method == std::string_view("\x03\x01\x01", 3) && h.props.size() == 5;
  const bool lzma2 = h.method == std::string_view("\x21", 1) && h.props.size() == 1;
  if (!lzma1 && !lzma2) return;
  const uint64_t at = kStartBytes + h.pack_pos;
  const std::string problem = DecodePacked(src, h, at, lzma1);
  if (!problem.empty())
    out->Add(IndexProblem::kCorrupt, IndexCheck::k7zPackedHeader, "", at,
             std::string("the 7z header's compressed form at offset ") + Num(at) + " (" + Num(h.pack_size) +
                 " bytes, " + (lzma1 ? "LZMA" : "LZMA2") + ") " + problem);
}

}  // namespace

void Scan7zHeader(ScanSource& src, FindingList* out) {
  const uint64_t size = src.size();
  unsigned char s[kStartBytes];
  if (!src.Read(0, sizeof s, s)) {
    out->Add(IndexProblem::kTruncated, IndexCheck::k7zStartHeader, "", size,
             "the file ends inside the 7z start header (" + Num(size) + " of its 32 bytes)");
    return;
  }
  if (s[6] != 0) {
    out->Add(
        IndexProblem::kCorrupt, IndexCheck::k7zStartHeader, "", 6,
        "the 7z start header says format version " + Num(s[6]) + "." + Num(s[7]) + "; there is only major version 0");
    return;
  }
  const uint32_t start_crc = Crc32(0, s + 12, 20);
  if (start_crc != Le32(s + 8)) {
    out->Add(IndexProblem::kCorrupt, IndexCheck::k7zStartHeader, "", 8,
             "the 7z start header's bytes 12-31 (the header's offset, size and CRC) have CRC-32 " + Hex(start_crc) +
                 ", the start header says " + Hex(Le32(s + 8)));
    return;
  }
  const uint64_t offset = Le64(s + 12), length = Le64(s + 20);
  const uint32_t crc = Le32(s + 28);
  if (length == 0) return;  // an archive without entries
  if (offset > size - kStartBytes || length > size - kStartBytes - offset) {
    out->Add(IndexProblem::kTruncated, IndexCheck::k7zHeaderExtent, "", size,
             "the 7z start header puts the header at offset " + std::to_string(kStartBytes + offset) + ", " +
                 Num(length) + " bytes long, but the file ends at offset " + Num(size) + ": it was cut short");
    return;
  }
  const uint64_t at = kStartBytes + offset;
  uint32_t actual = 0;
  if (length > kMaxCrcBytes || !CrcOf(src, at, length, &actual)) return;
  if (actual != crc) {
    out->Add(IndexProblem::kCorrupt, IndexCheck::k7zHeaderCrc, "", at,
             "the 7z header at offset " + Num(at) + " (" + Num(length) + " bytes) has CRC-32 " + Hex(actual) +
                 ", the start header says " + Hex(crc));
    return;
  }
  std::string header;
  if (length <= kMaxEncodedBytes && src.Bytes(at, static_cast<size_t>(length), &header) &&
      static_cast<uint8_t>(header[0]) == kEncodedHeader)
    CheckEncoded(src, out, at, header);
}

}  // namespace rp::detail
