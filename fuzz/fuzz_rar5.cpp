// libFuzzer target for the RAR5 encryption scan (workers/src/rar5_scan.h), which reads block
// headers of any file that starts with the RAR5 signature before libarchive does: any bytes
// give a result or "not RAR5", never a crash; with no header allowed nothing is found; and the
// scan reads headers in order, so a prefix of the bytes finds no more than the whole (every
// member it calls encrypted, the whole does too). Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/rar5_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr uint64_t kMaxHeaders = 64;
  const auto r = rp::detail::ScanRar5Encryption(bytes, kMaxHeaders);
  if (r && r->files.size() > kMaxHeaders) __builtin_trap();
  const auto none = rp::detail::ScanRar5Encryption(bytes, 0);
  if (none.has_value() != r.has_value() || (none && (none->headers_encrypted || !none->files.empty())))
    __builtin_trap();
  if (!r || size == 0) return 0;
  const auto part = rp::detail::ScanRar5Encryption(bytes.substr(0, data[0] % size), kMaxHeaders);
  if (!part) return 0;  // cut inside the signature
  if (part->headers_encrypted && !r->headers_encrypted) __builtin_trap();
  for (const auto& [index, name] : part->files)
    if (!r->Encrypted(index, name)) __builtin_trap();
  return 0;
}
