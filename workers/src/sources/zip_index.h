// Internal: a zip's central directory checked against the file (PKWARE APPNOTE 6.3). The end
// of central directory record (and the zip64 locator and end record) must be there and agree
// with where the directory is and how many entries it holds; every directory entry must point
// at a local header that agrees with it on name, flags, method, CRC-32 and sizes (or whose
// data descriptor does), with the entries' data before the directory and, in a directory
// listed in file order, neither overlapping nor hiding an unlisted local header between them.
// The directory is streamed, one entry at a time; nothing is kept per entry.
#pragma once

#include <cstdint>

#include "sources/index_scan.h"

namespace rp::detail {

// For a file starting with a local header or an end record (an empty zip). Looks at no more
// than `max_entries` directory entries (then stops without a finding: the reader's limit
// speaks for itself).
// *names: the stored names libarchive would change (IndexScan::stored_names).
void ScanZipIndex(ScanSource& src, FindingList* out, uint64_t max_entries, std::vector<StoredName>* names);

}  // namespace rp::detail
