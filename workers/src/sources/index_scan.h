// Internal: checks of an archive's own index against the rest of the file, before libarchive
// reads it. libarchive 3.6.2 reads a zip cut in its central directory with its streaming
// reader and is content; it does not check a 7z start header's CRC; it loops for ever on a
// xar TOC that gives a file two links. ScanArchiveIndex recognises the format by its signature
// and returns typed findings (zip: zip_index.h, 7z: sevenzip_index.h, xar: xar_toc.h, and the
// ISO 9660 volume size and cab header here). Pure functions over a read-at callback, so tests and the
// fuzzer drive them from memory; thread-safe; memory bounded whatever the sizes declared.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sources/read_at.h"

namespace rp::detail {


enum class IndexProblem {
  kTruncated,  // the file ends before a structure it needs (a directory, a header, a TOC)
  kCorrupt,    // a structure disagrees with itself or with what it describes
};

// Which check found it (tests ask for it; the reader reports the kind, path and message).
enum class IndexCheck {
  kZipEndRecord,        // end-of-central-directory record missing, cut, or of a split archive
  kZip64EndRecord,      // zip64 locator or end record missing or disagreeing with the EOCD
  kZipDirectoryExtent,  // the directory's offset and size disagree with where it is
  kZipEntryCount,       // the number of entries disagrees with the directory
  kZipDirectoryEntry,   // a central directory header malformed or missing
  kZipLocalHeader,      // no local header where the directory says, or past its bounds
  kZipName,             // local header and directory disagree: name
  kZipMethod,           // compression method
  kZipFlags,            // general purpose flags disagree, or a version needed past the format's
  kZipCrc,              // CRC-32
  kZipSizes,            // compressed or uncompressed size
  kZipDataDescriptor,   // the data descriptor after the data disagrees with the directory
  kZipOverlap,          // an entry starts inside the one before it
  kZipUnlisted,         // a local header the directory does not list
  k7zStartHeader,       // the 32-byte start header: version, CRC
  k7zHeaderExtent,      // the header lies (partly) past the end of the file
  k7zHeaderCrc,         // the header's bytes disagree with the start header's CRC
  k7zPackedHeader,      // the compressed header does not decode cleanly to its size and CRC
  kXarDoubleLink,       // a file element with more than one link attribute
  kIsoVolumeSize,       // the image is shorter than its primary volume descriptor says
  kCabHeader,           // the cabinet's declared size differs from the file's; reserved, version
  kMoreFindings,        // findings beyond the scan's cap, counted in this one
};

struct IndexFinding {
  IndexProblem problem = IndexProblem::kCorrupt;
  IndexCheck check = IndexCheck::kZipEndRecord;
  std::string path;     // the entry's name as stored, or "" for the archive as a whole
  uint64_t offset = 0;  // where in the file
  std::string message;  // what disagrees with what, for a person
};

// A member name as the archive stores it, by the member's place (from 0) in the order
// libarchive returns the members.
struct StoredName {
  uint64_t index = 0;
  std::string name;
};

struct IndexScan {
  const char* format = "";  // "zip", "7z", "xar", "ISO 9660", "cab"
  std::vector<IndexFinding> findings;
  // libarchive must not be given this archive (it would never return): the findings say why.
  bool unreadable = false;
  // zip: the names stored with the UTF-8 flag that libarchive would change on the way out
  // (NFC, or not valid UTF-8: name_locale.h), ascending by index. libarchive's seekable reader
  // returns the members by local header offset; the names are kept only when the directory
  // lists them in that order (as zip tools write it), so that the index is the directory's.
  std::vector<StoredName> stored_names;
};

// At most this many findings are kept; the rest are counted in a last kMoreFindings one.
constexpr size_t kMaxIndexFindings = 1000;
// A xar TOC or a compressed 7z header is decoded up to this many bytes, no further.
constexpr uint64_t kMaxDecodedIndexBytes = 64ull << 20;

// Scans the archive of `size` bytes behind `read_at` when it starts with the signature of a
// format checked here; nullopt for any other. `max_entries` bounds the entries looked at.
std::optional<IndexScan> ScanArchiveIndex(const ReadAt& read_at, uint64_t size, uint64_t max_entries);
// The same over bytes in memory (tests and the fuzzer).
std::optional<IndexScan> ScanArchiveIndex(std::string_view bytes, uint64_t max_entries);

// For the scanners: the file through a 64 KiB cache, read with bounds checks.
class ScanSource {
 public:
  ScanSource(const ReadAt& read_at, uint64_t size);
  uint64_t size() const { return size_; }
  const ReadAt& read_at() const { return read_at_; }
  // Exactly `n` bytes at `offset`, or false when the file has fewer there.
  bool Read(uint64_t offset, size_t n, void* out);
  bool Bytes(uint64_t offset, size_t n, std::string* out);

 private:
  const ReadAt& read_at_;
  uint64_t size_;
  std::vector<char> buf_;
  uint64_t base_ = 0;
  size_t len_ = 0;
  size_t want_ = 4 << 10;  // bytes the next refill reads
};

// Collects a scanner's findings into `scan`, up to kMaxIndexFindings; Close() adds the count
// of the rest.
class FindingList {
 public:
  explicit FindingList(IndexScan* scan) : scan_(scan) {}
  void Add(IndexProblem problem, IndexCheck check, std::string path, uint64_t offset, std::string message);
  void Close();

 private:
  IndexScan* scan_;
  uint64_t dropped_ = 0;
  uint64_t dropped_offset_ = 0;
};


}  // namespace rp::detail
