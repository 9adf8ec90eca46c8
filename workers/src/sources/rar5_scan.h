// Internal: which entries of a RAR5 archive are encrypted. libarchive 3.6.2 skips a RAR5 file
// header's encryption record without a word, so an encrypted member fails later as "corrupt"
// (its ciphertext is not a valid compressed block), and encrypted headers fail as "Encryption
// is not supported". The issue asks for "encrypted, no passphrase configured". This reads the
// archive's block headers (RAR 5.0 format: www.rarlab.com/technote.htm), seeking over every
// data area, and notes the encryption it finds; libarchive still reads everything else.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/read_at.h"

namespace rp::detail {

struct Rar5Encryption {
  // An archive encryption header: every header after it, file names included, is encrypted.
  bool headers_encrypted = false;
  // The main header's solid flag: a member is decompressed to move past it.
  bool solid = false;
  // The bytes ran out before the end-of-archive header (not: a malformed header, the header
  // limit): the archive was cut short, perhaps right at a member's end, where libarchive
  // reports nothing.
  bool cut_short = false;
  // The file headers whose data is encrypted: their number among the archive's file headers
  // (from 0, in order: libarchive returns one entry for each) and their name (UTF-8, as
  // stored), ascending. Only these are kept, so memory follows them, not the archive.
  std::vector<std::pair<uint64_t, std::string>> files;
  // Whether the `index`th file header (from 0) is encrypted and named `name` (a name that
  // differs means libarchive's entries and the headers have fallen out of step: not claimed).
  bool Encrypted(uint64_t index, const std::string& name) const;
};

// Walks the block headers from the signature at offset 0 to the end-of-archive header. Stops
// quietly at anything malformed (libarchive reports that) and after `max_headers` headers.
// nullopt: not a RAR5 archive (no RAR5 signature at offset 0).
std::optional<Rar5Encryption> ScanRar5Encryption(const ReadAt& read_at, uint64_t max_headers);
// The same over bytes in memory (tests and the fuzzer).
std::optional<Rar5Encryption> ScanRar5Encryption(std::string_view bytes, uint64_t max_headers);

}  // namespace rp::detail
