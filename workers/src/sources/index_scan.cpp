#include "sources/index_scan.h"

#include <algorithm>
#include <cstring>

#include "sources/sevenzip_index.h"
#include "sources/xar_toc.h"
#include "sources/zip_index.h"

namespace rp::detail {
namespace {

constexpr size_t kWindowMin = 4 << 10;
constexpr size_t kWindowMax = 64 << 10;

// ISO 9660 (ECMA-119): volume descriptors from sector 16, 2048 bytes each; the primary one
// (type 1) holds the volume space size (in logical blocks, both-endian at 80) and the logical
// block size (both-endian at 128). An image cut short in its trailing padding still lists and
// reads every file, so libarchive passes it.
void ScanIsoVolume(ScanSource& src, FindingList* out) {
  constexpr uint64_t kFirst = 16 * 2048;
  for (uint64_t i = 0; i < 64; ++i) {
    unsigned char vd[132];
    const uint64_t at = kFirst + i * 2048;
    if (!src.Read(at, sizeof vd, vd) || std::memcmp(vd + 1, "CD001", 5) != 0 || vd[0] == 255) return;
    if (vd[0] != 1) continue;
    const uint64_t blocks = Le32(vd + 80), block_size = Le16(vd + 128);
    const uint64_t volume = blocks * block_size;
    if (volume > src.size())
      out->Add(IndexProblem::kTruncated, IndexCheck::kIsoVolumeSize, "", src.size(),
               "the image ends at byte " + std::to_string(src.size()) + ", but its primary volume descriptor (at " +
                   std::to_string(at) + ") says the volume is " + std::to_string(blocks) + " blocks of " +
                   std::to_string(block_size) + " bytes (" + std::to_string(volume) + " bytes): it was cut short");
    return;
  }
}

// Cabinet (MS-CAB): nothing in a cabinet's header or file list is checksummed (only the data
// blocks are), so a flipped byte there passes libarchive. What can be checked: cbCabinet, at 8,
// is the size of the whole cabinet file; the three reserved fields are zero; the version is
// 1.3, the format's only one.
void ScanCabHeader(ScanSource& src, FindingList* out) {
  unsigned char h[26];
  if (!src.Read(0, sizeof h, h)) return;
  for (const size_t at : {4u, 12u, 20u})
    if (Le32(h + at) != 0)
      out->Add(IndexProblem::kCorrupt, IndexCheck::kCabHeader, "", at,
               "the cabinet header's reserved field at offset " + std::to_string(at) + " is not zero");
  if (h[25] != 1 || h[24] != 3)
    out->Add(IndexProblem::kCorrupt, IndexCheck::kCabHeader, "", 24,
             "the cabinet header says format version " + std::to_string(h[25]) + "." + std::to_string(h[24]) +
                 "; there is only 1.3");
  const uint64_t declared = Le32(h + 8);
  if (declared == src.size()) return;
  const bool cut = declared > src.size();
  out->Add(cut ? IndexProblem::kTruncated : IndexProblem::kCorrupt, IndexCheck::kCabHeader, "",
           cut ? src.size() : declared,
           "the cabinet header says the cabinet is " + std::to_string(declared) + " bytes, the file has " +
               std::to_string(src.size()) + (cut ? ": it was cut short" : ""));
}

bool Starts(const unsigned char* head, size_t got, std::string_view sig, size_t at = 0) {
  return got >= at + sig.size() && std::memcmp(head + at, sig.data(), sig.size()) == 0;
}

}  // namespace

ScanSource::ScanSource(const ReadAt& read_at, uint64_t size) : read_at_(read_at), size_(size), buf_(kWindowMax) {}

bool ScanSource::Read(uint64_t offset, size_t n, void* out) {
  if (offset > size_ || n > size_ - offset) return false;
  if (n > buf_.size()) return read_at_(offset, n, static_cast<char*>(out)) == n;
  // (written so that nothing overflows: an offset may lie near 2^64)
  if (offset < base_ || offset - base_ > len_ || len_ - (offset - base_) < n) {
    // Reads that move forward by little (a directory streamed, small entries) get a larger
    // window each time; a far jump (the next local header after a large entry) starts small.
    const bool near = offset >= base_ && offset - base_ <= len_ + want_;
    want_ = near ? std::min(buf_.size(), want_ * 2) : kWindowMin;
    base_ = offset;
    len_ = read_at_(offset, static_cast<size_t>(std::min<uint64_t>(std::max(want_, n), size_ - offset)), buf_.data());
    if (len_ < n) return false;
  }
  std::memcpy(out, buf_.data() + (offset - base_), n);
  return true;
}

bool ScanSource::Bytes(uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  return Read(offset, n, out->data());
}

void FindingList::Add(IndexProblem problem, IndexCheck check, std::string path, uint64_t offset, std::string message) {
  if (scan_->findings.size() >= kMaxIndexFindings) {
    if (dropped_++ == 0) dropped_offset_ = offset;
    return;
  }
  scan_->findings.push_back(IndexFinding{problem, check, std::move(path), offset, std::move(message)});
}

void FindingList::Close() {
  if (dropped_ == 0) return;
  scan_->findings.push_back(IndexFinding{IndexProblem::kCorrupt, IndexCheck::kMoreFindings, "", dropped_offset_,
                                         std::to_string(dropped_) +
                                             " more disagreements in the archive's index, from offset " +
                                             std::to_string(dropped_offset_) + " on, not listed"});
  dropped_ = 0;
}

std::optional<IndexScan> ScanArchiveIndex(const ReadAt& read_at, uint64_t size, uint64_t max_entries) {
  ScanSource src(read_at, size);
  unsigned char head[8] = {};
  const size_t got = static_cast<size_t>(std::min<uint64_t>(size, sizeof head));
  if (!src.Read(0, got, head)) return std::nullopt;
  IndexScan scan;
  FindingList out(&scan);
  const std::string_view local("PK\x03\x04", 4);
  unsigned char iso[5] = {};
  if (Starts(head, got, local) || Starts(head, got, std::string_view("PK\x05\x06", 4)) ||
      ((Starts(head, got, std::string_view("PK\x07\x08", 4)) || Starts(head, got, "PK00")) &&
       Starts(head, got, local, 4))) {
    scan.format = "zip";
    ScanZipIndex(src, &out, max_entries, &scan.stored_names);
  } else if (Starts(head, got, std::string_view("7z\xbc\xaf\x27\x1c", 6))) {
    scan.format = "7z";
    Scan7zHeader(src, &out);
  } else if (Starts(head, got, "xar!")) {
    scan.format = "xar";
    ScanXarToc(src, &out);
  } else if (Starts(head, got, "MSCF")) {
    scan.format = "cab";
    ScanCabHeader(src, &out);
  } else if (src.Read(32769, sizeof iso, iso) && std::memcmp(iso, "CD001", 5) == 0) {
    scan.format = "ISO 9660";
    ScanIsoVolume(src, &out);
  } else {
    return std::nullopt;
  }
  out.Close();
  for (const IndexFinding& f : scan.findings)
    if (f.check == IndexCheck::kXarDoubleLink) scan.unreadable = true;
  return scan;
}

std::optional<IndexScan> ScanArchiveIndex(std::string_view bytes, uint64_t max_entries) {
  return ScanArchiveIndex(MemoryReadAt(bytes), bytes.size(), max_entries);
}

}  // namespace rp::detail
