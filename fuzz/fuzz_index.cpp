// libFuzzer target for the index checks that run before libarchive (workers/src/sources/
// index_scan.h: the zip central directory, the 7z start header and header, the xar TOC, the
// ISO 9660 volume size, the cab header) on any file with one of their signatures: any bytes
// give a result or "not scanned", never a crash, a leak or unbounded memory; the findings are
// capped; each says something and points into the file; an archive that libarchive must not
// read has a finding saying why; and the scan is a function of the bytes (the same twice).
// Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/index_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rp::detail::IndexCheck;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr uint64_t kMaxEntries = 64;
  const auto r = rp::detail::ScanArchiveIndex(bytes, kMaxEntries);
  if (!r) return 0;
  if (r->findings.size() > rp::detail::kMaxIndexFindings + 1) __builtin_trap();
  bool says_why = false;
  for (const auto& f : r->findings) {
    if (f.message.empty() || f.offset > size) __builtin_trap();
    if (f.check == IndexCheck::kXarDoubleLink) says_why = true;
  }
  if (r->unreadable != says_why) __builtin_trap();
  const auto again = rp::detail::ScanArchiveIndex(bytes, kMaxEntries);
  if (!again || again->findings.size() != r->findings.size()) __builtin_trap();
  for (size_t i = 0; i < r->findings.size(); ++i)
    if (again->findings[i].message != r->findings[i].message || again->findings[i].path != r->findings[i].path)
      __builtin_trap();
  return 0;
}
