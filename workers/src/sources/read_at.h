// Internal: reading a source at offsets, for the scans that look at a seekable archive before
// libarchive does (rar5_scan.h, index_scan.h, sevenzip_names.h), and the little-endian integers
// their formats are made of. Pure; thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

namespace rp::detail {

// Reads `n` bytes at `offset` into `out`; returns how many it got (fewer at the end).
using ReadAt = std::function<size_t(uint64_t offset, size_t n, char* out)>;

// Bytes in memory, read the same way (tests and fuzz targets). `bytes` must outlive the result.
inline ReadAt MemoryReadAt(std::string_view bytes) {
  return [bytes](uint64_t offset, size_t n, char* out) -> size_t {
    if (offset >= bytes.size()) return 0;
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, bytes.size() - offset));
    std::memcpy(out, bytes.data() + offset, k);
    return k;
  };
}

inline uint16_t Le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t Le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
inline uint64_t Le64(const unsigned char* p) { return Le32(p) | static_cast<uint64_t>(Le32(p + 4)) << 32; }

}  // namespace rp::detail
