#include "sources/sevenzip_names.h"

#include <lzma.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "sources/name_locale.h"

namespace rp::detail {
namespace {

constexpr unsigned char kSignature[6] = {'7', 'z', 0xBC, 0xAF, 0x27, 0x1C};
constexpr uint64_t kSignatureHeaderBytes = 32;

// Property IDs (7zFormat.txt).
constexpr uint8_t kEnd = 0x00;
constexpr uint8_t kHeader = 0x01;
constexpr uint8_t kArchiveProperties = 0x02;
constexpr uint8_t kAdditionalStreamsInfo = 0x03;
constexpr uint8_t kMainStreamsInfo = 0x04;
constexpr uint8_t kFilesInfo = 0x05;
constexpr uint8_t kPackInfo = 0x06;
constexpr uint8_t kUnPackInfo = 0x07;
constexpr uint8_t kSubStreamsInfo = 0x08;
constexpr uint8_t kSize = 0x09;
constexpr uint8_t kCrc = 0x0A;
constexpr uint8_t kFolder = 0x0B;
constexpr uint8_t kCodersUnPackSize = 0x0C;
constexpr uint8_t kNumUnPackStream = 0x0D;
constexpr uint8_t kEmptyStream = 0x0E;
constexpr uint8_t kEmptyFile = 0x0F;
constexpr uint8_t kAnti = 0x10;
constexpr uint8_t kNames = 0x11;
constexpr uint8_t kCTime = 0x12;
constexpr uint8_t kATime = 0x13;
constexpr uint8_t kMTime = 0x14;
constexpr uint8_t kWinAttributes = 0x15;
constexpr uint8_t kEncodedHeader = 0x17;

// Bounds libarchive (archive_read_support_format_7zip.c) applies: what it refuses to read is
// refused here too. Coder streams: libarchive allows more, 7-Zip writes at most 4.
constexpr uint64_t kMaxEntries = 100'000'000;  // its UMAX_ENTRY
constexpr uint64_t kMaxCoders = 4;
constexpr uint64_t kMaxCoderStreams = 32;

// Coder IDs (7-Zip's Methods.txt).
constexpr std::string_view kCopy("\x00", 1);
constexpr std::string_view kLzma("\x03\x01\x01", 3);
constexpr std::string_view kLzma2("\x21", 1);
constexpr std::string_view kAes("\x06\xF1\x07\x01", 4);

uint32_t Crc32(const void* p, size_t n) { return lzma_crc32(static_cast<const uint8_t*>(p), n, 0); }

struct Failure {
  SevenZipNamesStatus status = SevenZipNamesStatus::kMalformed;
  std::string reason;
};

SevenZipNames Unavailable(Failure f) {
  SevenZipNames out;
  out.status = f.status;
  out.reason = std::move(f.reason);
  return out;
}

// One coder of a folder.
struct Coder {
  std::string id;
  std::string props;
  uint64_t in = 1;   // streams into the coder (packed side)
  uint64_t out = 1;  // streams out of it
};

// A folder as far as it is needed: the first folder of a StreamsInfo is kept whole (the
// packed header's), the others only counted.
struct Folder {
  std::vector<Coder> coders;
  uint64_t out_total = 0;
  uint64_t packed = 0;  // packed streams it reads
  std::vector<uint64_t> unpack_sizes;
};

struct StreamsInfo {
  uint64_t pack_pos = 0;
  uint64_t pack_streams = 0;
  uint64_t first_pack_size = 0;
  uint64_t folders = 0;
  uint64_t packed_by_folders = 0;
  Folder first;
  bool first_digest_defined = false;
  uint32_t first_digest = 0;
};

// Reads one header (as stored or decoded) the way libarchive reads it, up to and through the
// names; fails with the position of what it cannot read.
class HeaderParser {
 public:
  // `where`: names the bytes in messages; `base`: their offset in the archive (or -1 when
  // they are decoded); `pack_limit`: packed streams must end by it (the next header's
  // offset after the signature header: libarchive's check).
  HeaderParser(std::string_view bytes, std::string where, int64_t base, uint64_t pack_limit,
               const SevenZipNameLimits& limits)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())),
        n_(bytes.size()),
        where_(std::move(where)),
        base_(base),
        pack_limit_(pack_limit),
        limits_(limits) {}

  const Failure& failure() const { return failure_; }
  bool Byte(uint8_t* b) {
    if (pos_ >= n_) return Malformed("the header ends early");
    *b = p_[pos_++];
    return true;
  }
  bool Streams(StreamsInfo* s);
  // The header from its kHeader byte through its final kEnd; fills `out`'s files and names.
  bool Header(SevenZipNames* out);

 private:
  size_t left() const { return n_ - pos_; }
  bool Fail(SevenZipNamesStatus status, const std::string& what) {
    failure_.status = status;
    failure_.reason = what + " (at byte " + std::to_string(base_ >= 0 ? static_cast<uint64_t>(base_) + pos_ : pos_) +
                      " of the " + where_ + ")";
    return false;
  }
  bool Malformed(const std::string& what) { return Fail(SevenZipNamesStatus::kMalformed, what); }
  // 7z's UINT64: the leading 1 bits of the first byte count the bytes that follow (low first);
  // the first byte's remaining bits are the highest.
  bool Number(uint64_t* v) {
    uint8_t first = 0;
    if (!Byte(&first)) return false;
    uint64_t value = 0;
    unsigned mask = 0x80;
    for (int i = 0; i < 8; ++i, mask >>= 1) {
      if ((first & mask) == 0) {
        value |= static_cast<uint64_t>(first & (mask - 1)) << (8 * i);
        break;
      }
      uint8_t b = 0;
      if (!Byte(&b)) return false;
      value |= static_cast<uint64_t>(b) << (8 * i);
    }
    *v = value;
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > left()) return Malformed("a field runs past the end of the header");
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool Bytes(uint64_t n, std::string* out) {
    if (n > left()) return Malformed("a field runs past the end of the header");
    out->assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // `n` bits, high bit first (libarchive's read_Bools); *set counts the ones. `bits` gets
  // them when given.
  bool Bits(uint64_t n, uint64_t* set, std::vector<bool>* bits) {
    if (n / 8 + (n % 8 != 0) > left()) return Malformed("a bit vector runs past the end of the header");
    *set = 0;
    if (bits) bits->assign(static_cast<size_t>(n), false);
    for (uint64_t i = 0; i < n; ++i) {
      const bool bit = (p_[pos_ + i / 8] >> (7 - i % 8)) & 1;
      *set += bit;
      if (bits && bit) (*bits)[static_cast<size_t>(i)] = true;
    }
    pos_ += static_cast<size_t>(n / 8 + (n % 8 != 0));
    return true;
  }
  // Digests of `n` streams; `defined` gets which have one, *first the first stream's.
  bool Digests(uint64_t n, std::vector<bool>* defined, bool* first_defined, uint32_t* first) {
    if (n == 0) return Malformed("a digest list for no streams");  // libarchive refuses it
    uint8_t all = 0;
    if (!Byte(&all)) return false;
    uint64_t count = n;
    const size_t bits_at = pos_;
    if (all == 0 && !Bits(n, &count, defined)) return false;
    if (all != 0 && defined) defined->assign(static_cast<size_t>(n), true);
    if (count > left() / 4) return Malformed("digests run past the end of the header");
    const bool zero_defined = all != 0 || (p_[bits_at] & 0x80) != 0;
    if (first_defined) *first_defined = zero_defined;
    if (first && zero_defined) *first = Le32(p_ + pos_);
    return Skip(4 * count);
  }
  bool Expect(uint8_t id, const char* what) {
    uint8_t b = 0;
    if (!Byte(&b)) return false;
    return b == id || Malformed(what);
  }
  bool PackInfo(StreamsInfo* s);
  bool ParseFolder(Folder* f);
  bool CodersInfo(StreamsInfo* s, std::vector<bool>* digests);
  bool SubStreamsInfo(uint64_t folders, const std::vector<bool>& folder_digests);
  bool FilesInfo(SevenZipNames* out);
  bool Times(uint64_t files);
  bool Attributes(uint64_t files);
  bool Names(uint64_t files, uint64_t size, SevenZipNames* out);

  const unsigned char* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string where_;
  int64_t base_;
  uint64_t pack_limit_;
  const SevenZipNameLimits& limits_;
  Failure failure_{SevenZipNamesStatus::kMalformed, ""};
};

bool HeaderParser::PackInfo(StreamsInfo* s) {
  if (!Number(&s->pack_pos) || !Number(&s->pack_streams)) return false;
  if (s->pack_streams == 0 || s->pack_streams > kMaxEntries)
    return Malformed("PackInfo lists " + std::to_string(s->pack_streams) + " packed streams");
  if (!Expect(kSize, "PackInfo without the sizes of its streams")) return false;
  uint64_t end = s->pack_pos;
  for (uint64_t i = 0; i < s->pack_streams; ++i) {
    uint64_t size = 0;
    if (!Number(&size)) return false;
    if (i == 0) s->first_pack_size = size;
    if (size > pack_limit_ || end > pack_limit_ - size)
      return Malformed("a packed stream ends past the start of the header");
    end += size;
  }
  uint8_t id = 0;
  if (!Byte(&id)) return false;
  if (id == kEnd) return true;
  if (id != kCrc) return Malformed("PackInfo holds an unknown property");
  return Digests(s->pack_streams, nullptr, nullptr, nullptr) && Expect(kEnd, "PackInfo does not end with kEnd");
}

bool HeaderParser::ParseFolder(Folder* f) {
  f->coders.clear();
  f->unpack_sizes.clear();
  uint64_t coders = 0;
  if (!Number(&coders)) return false;
  if (coders == 0 || coders > kMaxCoders) return Malformed("a folder with " + std::to_string(coders) + " coders");
  uint64_t in_total = 0;
  uint64_t out_total = 0;
  for (uint64_t i = 0; i < coders; ++i) {
    uint8_t flags = 0;
    if (!Byte(&flags)) return false;
    if (flags & 0x80) return Malformed("a coder with alternative methods");
    Coder c;
    if (!Bytes(static_cast<uint64_t>(flags & 0x0F), &c.id)) return false;
    if (flags & 0x10) {
      if (!Number(&c.in) || !Number(&c.out)) return false;
      if (c.in > kMaxCoderStreams || c.out > kMaxCoderStreams) return Malformed("a coder with too many streams");
    }
    if (flags & 0x20) {
      uint64_t props = 0;
      if (!Number(&props) || !Bytes(props, &c.props)) return false;
    }
    in_total += c.in;
    out_total += c.out;
    f->coders.push_back(std::move(c));
  }
  if (out_total == 0 || in_total + 1 < out_total) return Malformed("a folder whose coders' streams do not connect");
  const uint64_t bind_pairs = out_total - 1;
  std::vector<uint64_t> bound_in;
  for (uint64_t i = 0; i < bind_pairs; ++i) {
    uint64_t in = 0;
    uint64_t out = 0;
    if (!Number(&in) || !Number(&out)) return false;
    if (in > kMaxEntries || out > kMaxEntries) return Malformed("a bind pair with an impossible stream index");
    bound_in.push_back(in);
  }
  f->out_total = out_total;
  f->packed = in_total - bind_pairs;
  if (f->packed == 1) {
    bool unbound = false;
    for (uint64_t i = 0; i < in_total && !unbound; ++i)
      unbound = std::find(bound_in.begin(), bound_in.end(), i) == bound_in.end();
    if (!unbound) return Malformed("a folder whose every input is bound");
    return true;
  }
  for (uint64_t i = 0; i < f->packed; ++i) {
    uint64_t index = 0;
    if (!Number(&index)) return false;
    if (index > kMaxEntries) return Malformed("a packed stream with an impossible index");
  }
  return true;
}

bool HeaderParser::CodersInfo(StreamsInfo* s, std::vector<bool>* digests) {
  if (!Expect(kFolder, "UnPackInfo without kFolder") || !Number(&s->folders)) return false;
  // Each folder takes 2 bytes at least.
  if (s->folders > kMaxEntries || s->folders > left() / 2)
    return Malformed("UnPackInfo lists " + std::to_string(s->folders) + " folders");
  uint8_t external = 0;
  if (!Byte(&external)) return false;
  if (external != 0) return Fail(SevenZipNamesStatus::kUnsupported, "the folders are stored outside the header");
  Folder other;
  uint64_t out_total = 0;
  for (uint64_t i = 0; i < s->folders; ++i) {
    Folder* f = i == 0 ? &s->first : &other;
    if (!ParseFolder(f)) return false;
    out_total += f->out_total;
    s->packed_by_folders += f->packed;
  }
  if (!Expect(kCodersUnPackSize, "UnPackInfo without the unpacked sizes")) return false;
  if (out_total > left()) return Malformed("the unpacked sizes run past the end of the header");
  for (uint64_t i = 0; i < out_total; ++i) {
    uint64_t size = 0;
    if (!Number(&size)) return false;
    if (i < s->first.out_total) s->first.unpack_sizes.push_back(size);
  }
  uint8_t id = 0;
  if (!Byte(&id)) return false;
  if (id == kEnd) return true;
  if (id != kCrc) return Malformed("UnPackInfo holds an unknown property");
  return Digests(s->folders, digests, &s->first_digest_defined, &s->first_digest) &&
         Expect(kEnd, "UnPackInfo does not end with kEnd");
}

bool HeaderParser::SubStreamsInfo(uint64_t folders, const std::vector<bool>& folder_digests) {
  const auto has_digest = [&](uint64_t i) { return i < folder_digests.size() && folder_digests[static_cast<size_t>(i)]; };
  uint64_t sizes = 0;    // sizes listed: one less than a folder's streams
  uint64_t digests = 0;  // digests listed: for the streams whose folder's digest is not theirs
  uint8_t id = 0;
  if (!Byte(&id)) return false;
  if (id == kNumUnPackStream) {
    for (uint64_t i = 0; i < folders; ++i) {
      uint64_t streams = 0;
      if (!Number(&streams)) return false;
      if (streams > kMaxEntries) return Malformed("a folder with " + std::to_string(streams) + " streams");
      if (streams > 0) sizes += streams - 1;
      if (streams != 1 || !has_digest(i)) digests += streams;
    }
    if (!Byte(&id)) return false;
  } else {
    for (uint64_t i = 0; i < folders; ++i) digests += !has_digest(i);
  }
  if (id == kSize) {
    if (sizes > left()) return Malformed("the stream sizes run past the end of the header");
    for (uint64_t i = 0; i < sizes; ++i) {
      uint64_t size = 0;
      if (!Number(&size)) return false;
    }
    if (!Byte(&id)) return false;
  }
  if (id == kCrc) {
    if (!Digests(digests, nullptr, nullptr, nullptr) || !Byte(&id)) return false;
  }
  return id == kEnd || Malformed("SubStreamsInfo does not end with kEnd");
}

bool HeaderParser::Streams(StreamsInfo* s) {
  uint8_t id = 0;
  if (!Byte(&id)) return false;
  if (id == kPackInfo && (!PackInfo(s) || !Byte(&id))) return false;
  std::vector<bool> folder_digests;
  if (id == kUnPackInfo) {
    if (!CodersInfo(s, &folder_digests)) return false;
    if (s->packed_by_folders > s->pack_streams) return Malformed("the folders read more packed streams than there are");
    if (!Byte(&id)) return false;
  }
  if (id == kSubStreamsInfo && (!SubStreamsInfo(s->folders, folder_digests) || !Byte(&id))) return false;
  return id == kEnd || Malformed("StreamsInfo does not end with kEnd");
}

bool HeaderParser::Header(SevenZipNames* out) {
  if (!Expect(kHeader, "the header does not start with kHeader")) return false;
  uint8_t id = 0;
  if (!Byte(&id)) return false;
  if (id == kArchiveProperties) {
    // libarchive reads a property's size but not its data: only an empty list reads alike.
    if (!Expect(kEnd, "archive properties (libarchive reads them otherwise than 7zFormat.txt)") || !Byte(&id))
      return false;
  }
  StreamsInfo streams;
  if (id == kAdditionalStreamsInfo && (!Streams(&streams) || !Byte(&id))) return false;
  if (id == kMainStreamsInfo) {
    streams = StreamsInfo();
    if (!Streams(&streams) || !Byte(&id)) return false;
  }
  out->files = 0;
  out->complete_below = 0;
  if (id == kEnd) return true;  // no FilesInfo: no files
  if (id != kFilesInfo) return Malformed("the header holds an unknown property");
  return FilesInfo(out) && Expect(kEnd, "the header does not end with kEnd");
}

bool HeaderParser::Times(uint64_t files) {
  uint8_t all = 0;
  uint64_t defined = files;
  if (!Byte(&all) || (all == 0 && !Bits(files, &defined, nullptr))) return false;
  uint8_t external = 0;
  if (!Byte(&external)) return false;
  uint64_t index = 0;
  if (external != 0 && !Number(&index)) return false;
  if (defined > left() / 8) return Malformed("times run past the end of the header");
  return Skip(8 * defined);
}

// libarchive reads the "all defined" byte and the "external" byte before the bits (7zFormat.txt
// has the bits between them); it is read here as libarchive reads it.
bool HeaderParser::Attributes(uint64_t files) {
  uint8_t all = 0;
  uint8_t external = 0;
  uint64_t defined = files;
  if (!Byte(&all) || !Byte(&external) || (all == 0 && !Bits(files, &defined, nullptr))) return false;
  if (defined > left() / 4) return Malformed("attributes run past the end of the header");
  return Skip(4 * defined);
}

void AppendUtf8(uint32_t cp, std::string* s) {
  if (cp < 0x80) {
    s->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool HeaderParser::Names(uint64_t files, uint64_t size, SevenZipNames* out) {
  uint8_t external = 0;
  if (size == 0) return Malformed("an empty names property");
  if (!Byte(&external)) return false;
  if (external != 0) return Fail(SevenZipNamesStatus::kUnsupported, "the names are stored outside the header");
  const uint64_t bytes = size - 1;
  // libarchive's own check: UTF-16 units, and room for a character and a terminator each.
  if ((bytes & 1) || bytes < files * 4) return Malformed("the names property has the wrong size");
  const unsigned char* p = p_ + pos_;
  const size_t n = static_cast<size_t>(bytes);
  size_t at = 0;
  size_t kept_bytes = 0;
  bool keeping = true;
  std::string utf8;
  for (uint64_t i = 0; i < files; ++i) {
    utf8.clear();
    bool lone_surrogate = false;
    for (;;) {
      if (n - at < 2) return Malformed("name " + std::to_string(i) + " has no terminator");
      uint32_t unit = p[at] | static_cast<uint32_t>(p[at + 1]) << 8;
      at += 2;
      if (unit == 0) break;
      if (unit >= 0xD800 && unit <= 0xDBFF && n - at >= 2) {
        const uint32_t low = p[at] | static_cast<uint32_t>(p[at + 1]) << 8;
        if (low >= 0xDC00 && low <= 0xDFFF) {
          at += 2;
          AppendUtf8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), &utf8);
          continue;
        }
      }
      if (unit >= 0xD800 && unit <= 0xDFFF) {
        lone_surrogate = true;
        continue;
      }
      AppendUtf8(unit, &utf8);
    }
    if (!keeping || (!lone_surrogate && !NfcMayChange(utf8))) continue;
    SevenZipStoredName name;
    name.index = i;
    name.unrecoverable = lone_surrogate;
    if (!lone_surrogate) name.utf8 = utf8;
    const size_t cost = sizeof(SevenZipStoredName) + name.utf8.size();
    if (cost > limits_.max_name_bytes - kept_bytes) {
      keeping = false;
      out->complete_below = i;
      continue;
    }
    kept_bytes += cost;
    out->names.push_back(std::move(name));
  }
  if (keeping) out->complete_below = files;
  return Skip(bytes);
}

bool HeaderParser::FilesInfo(SevenZipNames* out) {
  uint64_t files = 0;
  if (!Number(&files)) return false;
  if (files > limits_.max_files)
    return Fail(SevenZipNamesStatus::kLimitExceeded,
                "the archive lists " + std::to_string(files) + " files, more than the limit of " +
                    std::to_string(limits_.max_files));
  if (files > kMaxEntries) return Malformed("the archive lists " + std::to_string(files) + " files");
  out->files = files;
  out->complete_below = files;  // without kNames, every name is empty
  uint64_t empty_streams = 0;
  bool seen[256] = {};
  for (;;) {
    uint8_t type = 0;
    if (!Byte(&type)) return false;
    if (type == kEnd) break;
    uint64_t size = 0;
    if (!Number(&size)) return false;
    if (size > left()) return Malformed("a file property runs past the end of the header");
    const size_t start = pos_;
    const bool again = seen[type];
    seen[type] = true;
    uint64_t ignored = 0;
    bool ok = true;
    switch (type) {
      case kEmptyStream:
        if (again) return Malformed("a second kEmptyStream");
        ok = Bits(files, &empty_streams, nullptr);
        break;
      case kEmptyFile:
      case kAnti:
        if (empty_streams == 0) {
          ok = Skip(size);  // libarchive skips it too
        } else {
          if (again) return Malformed("a second kEmptyFile or kAnti");
          ok = Bits(empty_streams, &ignored, nullptr);
        }
        break;
      case kCTime:
      case kATime:
      case kMTime:
        ok = Times(files);
        break;
      case kNames:
        if (again) return Malformed("a second kNames");
        ok = Names(files, size, out);
        break;
      case kWinAttributes:
        if (again) return Malformed("a second kWinAttributes");
        ok = Attributes(files);
        break;
      default:
        ok = Skip(size);
        break;
    }
    if (!ok) return false;
    // libarchive reads the known properties by their structure, not by their size: where the
    // two disagree it would read what follows otherwise than this does.
    if (pos_ - start != size) return Malformed("a file property whose size differs from its contents");
  }
  return true;
}

// Releases what liblzma holds.
struct LzmaStream {
  lzma_stream s = LZMA_STREAM_INIT;
  ~LzmaStream() { lzma_end(&s); }
};

// Decodes the packed header: one pack stream of `packed` bytes at `offset` in the archive,
// through the folder's one coder, to `unpacked` bytes.
bool DecodeHeader(const ReadAt& read_at, uint64_t offset, uint64_t packed, const Coder& coder,
                  uint64_t unpacked, std::string* out, Failure* failure) {
  const auto fail = [&](SevenZipNamesStatus s, std::string why) {
    failure->status = s;
    failure->reason = std::move(why);
    return false;
  };
  const std::string at = " (the packed header at byte " + std::to_string(offset) + ")";
  if (coder.id == kCopy) {
    if (unpacked > packed) return fail(SevenZipNamesStatus::kMalformed, "a stored header larger than its pack stream" + at);
    out->resize(static_cast<size_t>(unpacked));
    const size_t got = read_at(offset, out->size(), out->data());
    if (got < out->size()) return fail(SevenZipNamesStatus::kCutShort, "the archive ends inside its header" + at);
    return true;
  }
  lzma_vli filter_id = LZMA_FILTER_LZMA1;
  if (coder.id == kLzma2)
    filter_id = LZMA_FILTER_LZMA2;
  else if (coder.id == kAes)
    return fail(SevenZipNamesStatus::kUnsupported, "the header is encrypted" + at);
  else if (coder.id != kLzma)
    return fail(SevenZipNamesStatus::kUnsupported, "the header is packed with a coder other than LZMA, LZMA2 and copy" + at);

  lzma_filter filters[2] = {{filter_id, nullptr}, {LZMA_VLI_UNKNOWN, nullptr}};
  if (lzma_properties_decode(&filters[0], nullptr, reinterpret_cast<const uint8_t*>(coder.props.data()),
                             coder.props.size()) != LZMA_OK)
    return fail(SevenZipNamesStatus::kMalformed, "the header's coder properties are not valid" + at);
  const std::unique_ptr<void, decltype(&std::free)> options(filters[0].options, &std::free);
  // The dictionary need not exceed the output: a larger one only takes memory (up to 4 GiB as
  // declared), a smaller one would refuse valid distances. Nothing is decoded past `unpacked`.
  auto* lzma = static_cast<lzma_options_lzma*>(filters[0].options);
  lzma->dict_size = static_cast<uint32_t>(
      std::max<uint64_t>(LZMA_DICT_SIZE_MIN, std::min<uint64_t>(lzma->dict_size, unpacked)));
  LzmaStream stream;
  lzma_stream& s = stream.s;
  if (lzma_raw_decoder(&s, filters) != LZMA_OK)
    return fail(SevenZipNamesStatus::kMalformed, "liblzma does not accept the header's coder properties" + at);

  // The output grows as it is produced: a declared size costs nothing until it is decoded.
  std::vector<char> in(64u << 10);
  uint64_t read = 0;
  out->assign(static_cast<size_t>(std::min<uint64_t>(unpacked, 1u << 20)), '\0');
  s.next_out = reinterpret_cast<uint8_t*>(out->data());
  s.avail_out = out->size();
  while (s.total_out < unpacked) {
    if (s.avail_in == 0 && read < packed) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(in.size(), packed - read));
      const size_t got = std::min(read_at(offset + read, want, in.data()), want);
      if (got == 0) return fail(SevenZipNamesStatus::kCutShort, "the archive ends inside its packed header" + at);
      read += got;
      s.next_in = reinterpret_cast<const uint8_t*>(in.data());
      s.avail_in = got;
    }
    if (s.avail_out == 0) {
      out->resize(static_cast<size_t>(std::min<uint64_t>(unpacked, 2 * static_cast<uint64_t>(out->size()))));
      s.next_out = reinterpret_cast<uint8_t*>(out->data()) + s.total_out;
      s.avail_out = out->size() - static_cast<size_t>(s.total_out);
    }
    const uint64_t in_before = s.total_in;
    const uint64_t out_before = s.total_out;
    const lzma_ret r = lzma_code(&s, LZMA_RUN);
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK)
      return fail(SevenZipNamesStatus::kMalformed,
                  "the packed header does not decode (liblzma error " + std::to_string(static_cast<int>(r)) + ")" + at);
    if (s.total_in == in_before && s.total_out == out_before && s.avail_in == 0 && read == packed)
      return fail(SevenZipNamesStatus::kMalformed, "the packed header ends before its declared size" + at);
  }
  if (s.total_out != unpacked)
    return fail(SevenZipNamesStatus::kMalformed, "the packed header decodes to fewer bytes than declared" + at);
  return true;
}

bool ReadExactly(const ReadAt& read_at, uint64_t offset, std::string* out) {
  return std::min(read_at(offset, out->size(), out->data()), out->size()) == out->size();
}

}  // namespace

std::string_view SevenZipNamesStatusName(SevenZipNamesStatus s) {
  switch (s) {
    case SevenZipNamesStatus::kAvailable: return "available";
    case SevenZipNamesStatus::kNotSevenZip: return "not_7z";
    case SevenZipNamesStatus::kCutShort: return "cut_short";
    case SevenZipNamesStatus::kMalformed: return "malformed";
    case SevenZipNamesStatus::kChecksumMismatch: return "checksum_mismatch";
    case SevenZipNamesStatus::kUnsupported: return "unsupported";
    case SevenZipNamesStatus::kLimitExceeded: return "limit_exceeded";
  }
  return "unknown";
}

SevenZipNames::Name SevenZipNames::Lookup(uint64_t index, std::string_view* stored) const {
  if (!available() || index >= complete_below || index >= files) return Name::kUnknown;
  const auto it = std::lower_bound(names.begin(), names.end(), index,
                                   [](const SevenZipStoredName& n, uint64_t i) { return n.index < i; });
  if (it == names.end() || it->index != index) return Name::kUnchanged;
  if (it->unrecoverable) return Name::kUnrecoverable;
  *stored = it->utf8;
  return Name::kStored;
}

SevenZipNames ReadSevenZipNames(const ReadAt& read_at, uint64_t file_size, const SevenZipNameLimits& limits) {
  using S = SevenZipNamesStatus;
  std::string sig(kSignatureHeaderBytes, '\0');
  const size_t got = std::min(read_at(0, sig.size(), sig.data()), sig.size());
  const size_t compared = std::min<size_t>(got, sizeof kSignature);
  if (compared == 0 || std::memcmp(sig.data(), kSignature, compared) != 0)
    return Unavailable({S::kNotSevenZip, "no 7z signature at byte 0"});
  if (got < kSignatureHeaderBytes)
    return Unavailable({S::kCutShort, "the archive ends at byte " + std::to_string(got) + ", inside its signature header"});
  const auto* h = reinterpret_cast<const unsigned char*>(sig.data());
  if (h[6] != 0) return Unavailable({S::kUnsupported, "7z format version " + std::to_string(h[6]) + " (byte 6)"});
  if (Crc32(h + 12, 20) != Le32(h + 8))
    return Unavailable({S::kChecksumMismatch, "the start header's CRC does not match (bytes 8 to 31)"});
  const uint64_t next_offset = Le64(h + 12);
  const uint64_t next_size = Le64(h + 20);
  const uint32_t next_crc = Le32(h + 28);
  SevenZipNames out;
  if (next_size == 0) {  // an archive without files
    out.status = S::kAvailable;
    return out;
  }
  const uint64_t room = file_size > kSignatureHeaderBytes ? file_size - kSignatureHeaderBytes : 0;
  if (next_offset > room || next_size > room - next_offset)
    return Unavailable({S::kCutShort, "the archive ends at byte " + std::to_string(file_size) +
                                          ", before the end of its header (" + std::to_string(next_size) +
                                          " bytes at byte " + std::to_string(kSignatureHeaderBytes) + " + " +
                                          std::to_string(next_offset) + ")"});
  if (next_size > limits.max_header_bytes)
    return Unavailable({S::kLimitExceeded, "the header takes " + std::to_string(next_size) + " bytes, more than the limit of " +
                                               std::to_string(limits.max_header_bytes)});
  const uint64_t next_at = kSignatureHeaderBytes + next_offset;
  std::string next(static_cast<size_t>(next_size), '\0');
  if (!ReadExactly(read_at, next_at, &next))
    return Unavailable({S::kCutShort, "the archive ends inside its header (at byte " + std::to_string(next_at) + ")"});
  if (Crc32(next.data(), next.size()) != next_crc)
    return Unavailable({S::kChecksumMismatch, "the header's CRC does not match (the header at byte " +
                                                  std::to_string(next_at) + ")"});

  if (static_cast<uint8_t>(next[0]) == kHeader) {
    HeaderParser parser(next, "archive", static_cast<int64_t>(next_at), next_offset, limits);
    if (!parser.Header(&out)) return Unavailable(parser.failure());
    out.status = S::kAvailable;
    return out;
  }
  if (static_cast<uint8_t>(next[0]) != kEncodedHeader)
    return Unavailable({S::kMalformed, "the header starts with neither kHeader nor kEncodedHeader (at byte " +
                                           std::to_string(next_at) + ")"});

  HeaderParser packed(next, "archive", static_cast<int64_t>(next_at), next_offset, limits);
  uint8_t first = 0;
  StreamsInfo s;
  if (!packed.Byte(&first) || !packed.Streams(&s)) return Unavailable(packed.failure());
  const std::string at = " (the header at byte " + std::to_string(next_at) + ")";
  if (s.pack_streams == 0 || s.folders == 0)
    return Unavailable({S::kMalformed, "the packed header has no pack stream or no folder" + at});
  if (s.pack_streams != 1 || s.folders != 1 || s.packed_by_folders != 1)
    return Unavailable({S::kUnsupported, "the header is packed in more than one stream" + at});
  if (s.first.coders.size() != 1 || s.first.coders[0].in != 1 || s.first.coders[0].out != 1) {
    for (const Coder& c : s.first.coders)
      if (c.id == kAes) return Unavailable({S::kUnsupported, "the header is encrypted" + at});
    return Unavailable({S::kUnsupported, "the header is packed with a chain of coders" + at});
  }
  if (s.first.unpack_sizes.size() != 1)
    return Unavailable({S::kMalformed, "the packed header's folder has no unpacked size" + at});
  const uint64_t unpacked = s.first.unpack_sizes[0];
  if (s.first_pack_size == 0 || unpacked == 0)
    return Unavailable({S::kMalformed, "the packed header is empty" + at});
  if (unpacked > limits.max_header_bytes)
    return Unavailable({S::kLimitExceeded, "the header unpacks to " + std::to_string(unpacked) +
                                               " bytes, more than the limit of " + std::to_string(limits.max_header_bytes)});
  std::string header;
  Failure failure;
  if (!DecodeHeader(read_at, kSignatureHeaderBytes + s.pack_pos, s.first_pack_size, s.first.coders[0], unpacked,
                    &header, &failure))
    return Unavailable(std::move(failure));
  if (s.first_digest_defined && Crc32(header.data(), header.size()) != s.first_digest)
    return Unavailable({S::kChecksumMismatch, "the decoded header's CRC does not match" + at});
  HeaderParser parser(header, "decoded header", -1, next_offset, limits);
  if (!parser.Header(&out)) return Unavailable(parser.failure());
  out.status = S::kAvailable;
  return out;
}

SevenZipNames ReadSevenZipNames(std::string_view bytes, const SevenZipNameLimits& limits) {
  return ReadSevenZipNames(MemoryReadAt(bytes), bytes.size(), limits);
}

}  // namespace rp::detail
