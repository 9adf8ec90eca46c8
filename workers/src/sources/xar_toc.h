// Internal: the xar TOC read for what libarchive 3.6.2 cannot survive: a <file> element with
// more than one `link` attribute on its own <type> children (two `link="original"`, or two
// links to another file) puts the file twice into libarchive's hard-link lists, which then
// loop: the reader spins at 100% CPU for ever (libarchive's own test archive
// test_read_format_xar_doublelink.xar; refused upstream in 3.7.4). The TOC (zlib, after the
// 28-byte-or-longer header) is inflated in 64 KiB pieces up to its declared length, at most
// kMaxDecodedIndexBytes, and no further than its stream, and read by a small XML tokenizer
// that keeps only the open elements (at most 256 deep, as libxml2) and the names of the open
// <file> elements. Anything malformed ends the scan quietly: libarchive reports that.
#pragma once

#include "sources/index_scan.h"

namespace rp::detail {

// For a file starting with "xar!". Reports every file element with more than one link, by its
// path (the names of the enclosing file elements joined with '/').
void ScanXarToc(ScanSource& src, FindingList* out);

}  // namespace rp::detail
