// Internal: the names of a 7z archive's files as they are stored. libarchive 3.6.2 converts each
// 7z name (UTF-16LE in the header) to the locale's charset and normalises it to NFC on the way,
// so a name stored decomposed (as macOS writes them) is restored with other bytes. This reads
// the header itself (7-Zip's 7zFormat.txt), decoding it when packed (LZMA, LZMA2, copy; liblzma),
// reads every structure before the names as libarchive does, and converts the names to UTF-8
// without normalising. libarchive returns one entry per FilesInfo item, in order: the reader
// matches by index. Pure (reads only through `read_at`); thread-safe; the result owns its data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sources/read_at.h"

namespace rp::detail {


struct SevenZipNameLimits {
  // FilesInfo items: an archive with more is not read (kLimitExceeded).
  uint64_t max_files = 2'000'000;
  // Memory for the names kept: each counts its UTF-8 bytes plus sizeof(SevenZipStoredName).
  // Past it, no further name is kept and the result says from which index on (complete_below).
  size_t max_name_bytes = 64u << 20;
  // The header as stored and as decoded (kLimitExceeded above it). It is held in memory while
  // it is read, and freed before the function returns.
  size_t max_header_bytes = 256u << 20;
};

enum class SevenZipNamesStatus {
  kAvailable,
  kNotSevenZip,       // no 7z signature at offset 0
  kCutShort,          // the bytes end before the header does
  kMalformed,         // a structure the format (or libarchive's reading of it) does not allow
  kChecksumMismatch,  // the start header, the next header or the decoded header
  kUnsupported,       // an encrypted header, another coder, names outside the header
  kLimitExceeded,     // more files than max_files, a header above max_header_bytes
};
std::string_view SevenZipNamesStatusName(SevenZipNamesStatus s);

struct SevenZipStoredName {
  uint64_t index = 0;          // the file's index in FilesInfo (from 0)
  std::string utf8;            // the name as stored, in UTF-8; empty when unrecoverable
  bool unrecoverable = false;  // it holds a lone UTF-16 surrogate, which has no UTF-8 form
};

struct SevenZipNames {
  SevenZipNamesStatus status = SevenZipNamesStatus::kMalformed;
  // For a person: what was wrong and where (a byte offset in the archive or in its decoded
  // header); empty when available.
  std::string reason;
  // The number of FilesInfo items (= the entries libarchive returns).
  uint64_t files = 0;
  // The files whose names libarchive may change (NfcMayChange) or cannot convert, ascending by
  // index. Names that NFC leaves alone are not kept: libarchive returns them as stored.
  std::vector<SevenZipStoredName> names;
  // Every name of the files below this index was looked at (kept when it had to be); `files`
  // unless max_name_bytes was reached.
  uint64_t complete_below = 0;

  bool available() const { return status == SevenZipNamesStatus::kAvailable; }

  enum class Name {
    kUnchanged,      // libarchive's conversion returns the stored bytes
    kStored,         // *stored is the name as stored (UTF-8); libarchive's may differ
    kUnrecoverable,  // the stored name has no UTF-8 form
    kUnknown,        // not available, past complete_below, or past the last file
  };
  // What is known of the name of the file at `index`; sets *stored for kStored.
  Name Lookup(uint64_t index, std::string_view* stored) const;
};

// Reads the names from the 7z archive of `file_size` bytes behind `read_at`. Never throws;
// anything malformed, cut short or beyond the limits gives a result that is not available,
// with the reason. Declared sizes are checked against `file_size` and the limits before
// anything is allocated or read.
SevenZipNames ReadSevenZipNames(const ReadAt& read_at, uint64_t file_size, const SevenZipNameLimits& limits);
// The same over bytes in memory (tests and the fuzzer).
SevenZipNames ReadSevenZipNames(std::string_view bytes, const SevenZipNameLimits& limits);

}  // namespace rp::detail
