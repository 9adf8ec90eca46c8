// Internal: a 7z archive's start header and header checked against the file (7-Zip's
// 7zFormat.txt). libarchive 3.6.2 does not check the start header's CRC (so its version and the
// next header's size may be anything) and reads only as much of the header as it parses; nor
// does it notice damage to the end of an LZMA-compressed header that leaves the decoded bytes
// unchanged. `7zz t` refuses all of these. Here: the start header's version and CRC, the header
// within the file (else truncated), the CRC over all of its bytes, and for a compressed
// ("encoded") header of one LZMA or LZMA2 coder, that it decodes exactly, from all of its packed
// bytes, to its declared size and CRC. Memory is bounded (64 KiB windows, a dictionary no
// larger than the header); the decoding stops at kMaxDecodedIndexBytes.
#pragma once

#include "sources/index_scan.h"

namespace rp::detail {

// For a file starting with the 7z signature.
void Scan7zHeader(ScanSource& src, FindingList* out);

}  // namespace rp::detail
