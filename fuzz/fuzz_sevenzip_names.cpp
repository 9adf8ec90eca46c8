// libFuzzer target for the 7z name reader (workers/src/sources/sevenzip_names.h), which reads
// the header of any 7z source, decoding it with liblzma when it is packed, before libarchive
// does: any bytes give a result, never a crash, and no read is larger than the limits allow.
// A result that is available keeps its promises (names ascending and below `files`, only
// names NFC may change, within the name budget); with no name budget it is available alike
// and keeps nothing; and a prefix of the bytes that is available gives the same result as the
// whole (the reader never looks past what it has checked). The CRCs would stop nearly every
// mutation at the signature header, so each input is also read with the start header's and the
// next header's CRCs made to match. Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sources/name_locale.h"
#include "sources/sevenzip_names.h"

namespace {

using rp::detail::SevenZipNameLimits;
using rp::detail::SevenZipNames;

constexpr SevenZipNameLimits kLimits{1000, 4096, 1u << 20};

SevenZipNames Read(std::string_view bytes, const SevenZipNameLimits& limits) {
  return rp::detail::ReadSevenZipNames(
      [bytes, &limits](uint64_t offset, size_t n, char* out) -> size_t {
        // Reads come in pieces of at most the header limit (the header) or 64 KiB (a packed
        // header), or 32 bytes (the signature header).
        if (n > limits.max_header_bytes && n > (64u << 10)) __builtin_trap();
        if (offset >= bytes.size()) return 0;
        const size_t k = n < bytes.size() - offset ? n : static_cast<size_t>(bytes.size() - offset);
        std::memcpy(out, bytes.data() + offset, k);
        return k;
      },
      bytes.size(), limits);
}

bool Same(const SevenZipNames& a, const SevenZipNames& b) {
  if (a.status != b.status || a.files != b.files || a.complete_below != b.complete_below ||
      a.names.size() != b.names.size())
    return false;
  for (size_t i = 0; i < a.names.size(); ++i)
    if (a.names[i].index != b.names[i].index || a.names[i].utf8 != b.names[i].utf8 ||
        a.names[i].unrecoverable != b.names[i].unrecoverable)
      return false;
  return true;
}

uint32_t Crc32(const char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<unsigned char>(p[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

uint64_t Le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}

void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// The bytes with the next header's CRC (where it lies inside them) and the start header's CRC
// set to match.
std::string WithCrcsRepaired(std::string_view bytes) {
  std::string b(bytes);
  if (b.size() < 32) return b;
  const uint64_t offset = Le64(b.data() + 12);
  const uint64_t size = Le64(b.data() + 20);
  if (offset <= b.size() - 32 && size <= b.size() - 32 - offset)
    PutLe32(b.data() + 28, Crc32(b.data() + 32 + offset, static_cast<size_t>(size)));
  PutLe32(b.data() + 8, Crc32(b.data() + 12, 20));
  return b;
}

void Check(std::string_view bytes) {
  const SevenZipNames r = Read(bytes, kLimits);
  if (!r.available()) {
    if (r.reason.empty() || r.files != 0 || !r.names.empty()) __builtin_trap();
  } else {
    if (r.files > kLimits.max_files || r.complete_below > r.files) __builtin_trap();
    size_t used = 0;
    for (size_t i = 0; i < r.names.size(); ++i) {
      const auto& n = r.names[i];
      if (n.index >= r.complete_below || (i > 0 && n.index <= r.names[i - 1].index)) __builtin_trap();
      if (n.unrecoverable ? !n.utf8.empty() : !rp::detail::NfcMayChange(n.utf8)) __builtin_trap();
      used += sizeof n + n.utf8.size();
    }
    if (used > kLimits.max_name_bytes) __builtin_trap();
  }
  SevenZipNameLimits no_names = kLimits;
  no_names.max_name_bytes = 0;
  const SevenZipNames none = Read(bytes, no_names);
  if (none.status != r.status || none.files != r.files || !none.names.empty()) __builtin_trap();
  if (bytes.empty()) return;
  const SevenZipNames part = Read(bytes.substr(0, static_cast<unsigned char>(bytes[0]) % bytes.size()), kLimits);
  if (part.available() && !Same(part, r)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  Check(WithCrcsRepaired(bytes));
  return 0;
}
