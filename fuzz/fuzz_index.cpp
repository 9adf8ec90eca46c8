// libFuzzer target for the index checks that run before libarchive (workers/src/sources/
// index_scan.h: the zip central directory, the 7z start header and header, the xar TOC, the
// ISO 9660 volume size, the cab header) on any file with one of their signatures: any bytes
// give a result or "not scanned", never a crash, a leak or unbounded memory; the findings are
// capped; each says something and points into the file; an archive that libarchive must not
// read has a finding saying why; and the scan is a function of the bytes (the same twice).
// Also the tar name tap (sources/tar_name_tap.h), which follows tar streams as libarchive is
// handed them: fed the bytes in pieces whose size the input picks, asked for entries at every
// block boundary, it never crashes, and what it gives back does not depend on the pieces.
// Single-threaded; no state between inputs.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string_view>

#include <optional>
#include <vector>

#include "sources/index_scan.h"
#include "sources/tar_name_tap.h"

namespace {

// The tap fed in pieces of `piece` bytes, asked for an entry at every block boundary.
std::vector<std::optional<rp::detail::RawTarNames>> Tap(std::string_view bytes, size_t piece) {
  rp::detail::TarNameTap tap;
  std::vector<std::optional<rp::detail::RawTarNames>> out;
  for (size_t at = 0; at < bytes.size(); at += piece) tap.Feed(bytes.data() + at, std::min(piece, bytes.size() - at));
  for (size_t at = 0; at < bytes.size() && tap.active(); at += 512) out.push_back(tap.Take(static_cast<int64_t>(at)));
  return out;
}

void CheckTap(std::string_view bytes, size_t piece) {
  const auto whole = Tap(bytes, bytes.size() + 1);
  const auto pieces = Tap(bytes, piece);
  if (whole.size() != pieces.size()) __builtin_trap();
  for (size_t i = 0; i < whole.size(); ++i) {
    if (whole[i].has_value() != pieces[i].has_value()) __builtin_trap();
    if (whole[i] && (whole[i]->path != pieces[i]->path || whole[i]->linkpath != pieces[i]->linkpath)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rp::detail::IndexCheck;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size > 0) CheckTap(bytes, 1 + data[0] % 700);
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
