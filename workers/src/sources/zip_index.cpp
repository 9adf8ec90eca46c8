#include "sources/zip_index.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <tuple>

#include "rp/path_text.h"
#include "sources/name_locale.h"

namespace rp::detail {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kDescriptorSig = 0x08074b50;
constexpr uint32_t kDigitalSignatureSig = 0x05054b50;  // the directory's optional last record
constexpr size_t kEndBytes = 22;
constexpr size_t kLocatorBytes = 20;
constexpr size_t kZip64EndBytes = 56;
constexpr size_t kCentralBytes = 46;
constexpr size_t kLocalBytes = 30;
constexpr uint32_t kSaturated32 = 0xffffffff;
constexpr uint32_t kSaturated16 = 0xffff;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagDescriptor = 0x0008;
constexpr uint16_t kFlagUtf8 = 0x0800;  // the name (and comment) are UTF-8
constexpr uint16_t kFlagMaskedLocal = 0x2000;
constexpr unsigned kLastVersion = 63;  // APPNOTE 6.3  // central directory encryption: local values masked

std::string Num(uint64_t v) { return std::to_string(v); }
std::string Crc(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
std::string Flags(uint16_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%04x", v);
  return b;
}
std::string Quoted(std::string_view name) { return "'" + EscapePath(name) + "'"; }
const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The data of the extra field `id` within `extra`; false if there is none (or the fields are
// malformed before it).
bool FindExtra(const std::string& extra, uint16_t id, std::string_view* data) {
  size_t p = 0;
  while (extra.size() - p >= 4) {
    const uint16_t tag = Le16(U(extra) + p), len = Le16(U(extra) + p + 2);
    if (len > extra.size() - p - 4) return false;
    if (tag == id) {
      *data = std::string_view(extra).substr(p + 4, len);
      return true;
    }
    p += 4 + len;
  }
  return false;
}

// Replaces each saturated field given (not null) by its value from the zip64 extended
// information extra field, in the format's order: uncompressed size, compressed size, local
// header offset, disk. False: a saturated field has no value there.
bool ApplyZip64(const std::string& extra, uint64_t* usize, uint64_t* csize, uint64_t* offset, uint32_t* disk) {
  const bool u = usize && *usize == kSaturated32, c = csize && *csize == kSaturated32;
  const bool o = offset && *offset == kSaturated32, d = disk && *disk == kSaturated16;
  if (!u && !c && !o && !d) return true;
  std::string_view z;
  if (!FindExtra(extra, 1, &z)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(z.data());
  size_t at = 0;
  auto take = [&](bool wanted, uint64_t* v) {
    if (!wanted) return true;
    if (z.size() - at < 8) return false;
    *v = Le64(p + at);
    at += 8;
    return true;
  };
  if (!take(u, usize) || !take(c, csize) || !take(o, offset)) return false;
  if (d) {
    if (z.size() - at < 4) return false;
    *disk = Le32(p + at);
  }
  return true;
}

struct CentralEntry {
  uint64_t at = 0;       // offset of its central directory header
  uint16_t version = 0;  // needed to extract
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0;
  uint64_t usize = 0;
  uint32_t disk = 0;
  uint64_t local = 0;  // offset of its local header
  std::string name;
};

class ZipScan {
 public:
  ZipScan(ScanSource& src, FindingList* out, uint64_t max_entries, std::vector<StoredName>* names)
      : dir_(src), local_(src.read_at(), src.size()), out_(out), max_entries_(max_entries), names_(names) {}

  void Run() {
    if (!FindEnd()) return;
    WalkDirectory();
    if (!by_offset_) names_->clear();  // libarchive's order is not the directory's
  }

 private:
  void Corrupt(IndexCheck check, const std::string& path, uint64_t offset, std::string message) {
    out_->Add(IndexProblem::kCorrupt, check, path, offset, std::move(message));
  }

  // Finds the end-of-central-directory record (the last one in the file's last 64 KiB + 22
  // bytes whose comment ends within the file) and the zip64 records it leads to. False: the
  // directory cannot be located (reported).
  bool FindEnd() {
    const uint64_t size = dir_.size();
    const size_t tail = static_cast<size_t>(std::min<uint64_t>(size, kEndBytes + 0xffff));
    std::string t;
    if (tail < kEndBytes || !dir_.Bytes(size - tail, tail, &t)) {
      NoEnd(size, false);
      return false;
    }
    bool comment_cut = false;
    size_t found = SIZE_MAX;
    for (size_t i = tail - kEndBytes + 1; i-- > 0;) {
      if (Le32(U(t) + i) != kEndSig) continue;
      if (Le16(U(t) + i + 20) <= tail - i - kEndBytes) {
        found = i;
        break;
      }
      comment_cut = true;
    }
    if (found == SIZE_MAX) {
      NoEnd(size, comment_cut);
      return false;
    }
    const unsigned char* e = U(t) + found;
    end_at_ = size - tail + found;
    uint64_t disk = Le16(e + 4), cd_disk = Le16(e + 6), entries_disk = Le16(e + 8);
    entries_ = Le16(e + 10);
    cd_size_ = Le32(e + 12);
    cd_offset_ = Le32(e + 16);
    dir_end_ = end_at_;
    unsigned char loc[kLocatorBytes];
    if (end_at_ >= kLocatorBytes && dir_.Read(end_at_ - kLocatorBytes, kLocatorBytes, loc) &&
        Le32(loc) == kZip64LocatorSig) {
      const uint64_t loc_at = end_at_ - kLocatorBytes;
      const uint64_t rec_at = Le64(loc + 8);
      unsigned char r[kZip64EndBytes];
      if (rec_at > loc_at || loc_at - rec_at < kZip64EndBytes || !dir_.Read(rec_at, kZip64EndBytes, r) ||
          Le32(r) != kZip64EndSig) {
        Corrupt(IndexCheck::kZip64EndRecord, "", loc_at,
                "the zip64 end-of-central-directory locator at offset " + Num(loc_at) + " points at offset " +
                    Num(rec_at) + ", where there is no zip64 end-of-central-directory record");
        return false;
      }
      const uint64_t rec_size = Le64(r + 4);
      if (rec_size != loc_at - rec_at - 12)
        Corrupt(IndexCheck::kZip64EndRecord, "", rec_at,
                "the zip64 end-of-central-directory record at offset " + Num(rec_at) + " says it is " + Num(rec_size) +
                    " bytes long after its first 12, but the locator follows at offset " + Num(loc_at));
      if (Le32(loc + 16) > 1)
        Corrupt(IndexCheck::kZip64EndRecord, "", loc_at,
                "the zip64 locator says the archive is split into " + Num(Le32(loc + 16)) +
                    " parts; the others are not in this file");
      Agree("number of this disk", &disk, kSaturated16, Le32(r + 16), rec_at);
      Agree("disk where the central directory starts", &cd_disk, kSaturated16, Le32(r + 20), rec_at);
      Agree("number of entries on this disk", &entries_disk, kSaturated16, Le64(r + 24), rec_at);
      Agree("number of entries", &entries_, kSaturated16, Le64(r + 32), rec_at);
      Agree("size of the central directory", &cd_size_, kSaturated32, Le64(r + 40), rec_at);
      Agree("offset of the central directory", &cd_offset_, kSaturated32, Le64(r + 48), rec_at);
      dir_end_ = rec_at;
    }
    if (disk != 0 || cd_disk != 0) {
      Corrupt(IndexCheck::kZipEndRecord, "", end_at_,
              "the end-of-central-directory record says this is disk " + Num(disk) +
                  " of a split zip, with the directory starting on disk " + Num(cd_disk) +
                  "; the other parts are not in this file");
      return false;
    }
    if (entries_disk != entries_)
      Corrupt(IndexCheck::kZipEntryCount, "", end_at_,
              "the end-of-central-directory record says " + Num(entries_disk) + " entries on this disk but " +
                  Num(entries_) + " in all, in a zip of one part");
    return LocateDirectory();
  }

  void NoEnd(uint64_t size, bool comment_cut) {
    out_->Add(IndexProblem::kTruncated, IndexCheck::kZipEndRecord, "", size,
              comment_cut ? "the file ends inside the comment of its end-of-central-directory record: it was cut short"
                          : "no end-of-central-directory record in the last " +
                                Num(std::min<uint64_t>(size, kEndBytes + 0xffff)) +
                                " bytes: the zip was cut short in or before its central directory, which unzip and "
                                "other tools need to open it");
  }

  // A field of the end record against its zip64 counterpart: saturated, it is replaced;
  // otherwise the two must agree.
  void Agree(const char* what, uint64_t* field, uint64_t saturated, uint64_t wide, uint64_t rec_at) {
    if (*field != saturated && *field != wide)
      Corrupt(IndexCheck::kZip64EndRecord, "", rec_at,
              std::string("the end-of-central-directory record says ") + what + " " + Num(*field) +
                  ", the zip64 end record at offset " + Num(rec_at) + " says " + Num(wide));
    *field = wide;
  }

  // The directory must end where the (zip64) end record begins. When offset and size
  // disagree with that, the directory is read from wherever a directory header starts: at
  // the offset given, or at the size given back from its end.
  bool LocateDirectory() {
    const bool fits = cd_offset_ <= dir_end_ && cd_size_ <= dir_end_ - cd_offset_;
    dir_start_ = cd_offset_;
    if (fits && cd_offset_ + cd_size_ == dir_end_) return true;
    Corrupt(IndexCheck::kZipDirectoryExtent, "", end_at_,
            "the end-of-central-directory record puts the central directory at offset " + Num(cd_offset_) + ", " +
                Num(cd_size_) + " bytes long, but it must end at offset " + Num(dir_end_) + ", where the " +
                (dir_end_ == end_at_ ? "end record" : "zip64 end record") + " begins");
    unsigned char sig[4];
    if (cd_offset_ < dir_end_ && dir_.Read(cd_offset_, 4, sig) && Le32(sig) == kCentralSig) return true;
    if (cd_size_ <= dir_end_ && dir_.Read(dir_end_ - cd_size_, 4, sig) && Le32(sig) == kCentralSig) {
      dir_start_ = dir_end_ - cd_size_;
      return true;
    }
    if (entries_ == 0 && cd_size_ == 0) {
      dir_start_ = dir_end_;
      return true;
    }
    Corrupt(IndexCheck::kZipDirectoryEntry, "", end_at_,
            "no central directory header at offset " + Num(cd_offset_) + " nor at offset " +
                Num(cd_size_ <= dir_end_ ? dir_end_ - cd_size_ : 0) + ": the directory cannot be read");
    return false;
  }

  void WalkDirectory() {
    uint64_t pos = dir_start_, count = 0;
    bool complete = true;
    while (pos < dir_end_) {
      if (count == max_entries_) return;  // the reader's entry limit reports it
      unsigned char h[kCentralBytes];
      if (dir_end_ - pos < 4 || !dir_.Read(pos, 4, h)) {
        Corrupt(IndexCheck::kZipDirectoryEntry, "", pos,
                Num(dir_end_ - pos) + " bytes at the end of the central directory, at offset " + Num(pos) +
                    ", are not a directory header");
        complete = false;
        break;
      }
      if (Le32(h) == kDigitalSignatureSig && dir_end_ - pos >= 6 && dir_.Read(pos, 6, h) &&
          Le16(h + 4) <= dir_end_ - pos - 6) {
        pos += 6u + Le16(h + 4);
        continue;
      }
      if (Le32(h) != kCentralSig) {
        Corrupt(IndexCheck::kZipDirectoryEntry, "", pos,
                "no central directory header at offset " + Num(pos) + ", after " + Num(count) +
                    " entries of the directory that ends at offset " + Num(dir_end_));
        complete = false;
        break;
      }
      CentralEntry e;
      e.at = pos;
      const uint64_t room = dir_end_ - pos;
      if (room < kCentralBytes || !dir_.Read(pos, kCentralBytes, h) ||
          kCentralBytes + Le16(h + 28) + Le16(h + 30) + Le16(h + 32) > room) {
        Corrupt(IndexCheck::kZipDirectoryEntry, "", pos,
                "the central directory header at offset " + Num(pos) + " runs past the directory's end at offset " +
                    Num(dir_end_));
        complete = false;
        break;
      }
      e.version = Le16(h + 6);
      e.flags = Le16(h + 8);
      e.method = Le16(h + 10);
      e.crc = Le32(h + 16);
      e.csize = Le32(h + 20);
      e.usize = Le32(h + 24);
      e.disk = Le16(h + 34);
      e.local = Le32(h + 42);
      const size_t name_len = Le16(h + 28), extra_len = Le16(h + 30), comment_len = Le16(h + 32);
      std::string extra;
      if (!dir_.Bytes(pos + kCentralBytes, name_len, &e.name) ||
          !dir_.Bytes(pos + kCentralBytes + name_len, extra_len, &extra)) {
        complete = false;
        break;
      }
      pos += kCentralBytes + name_len + extra_len + comment_len;
      ++count;
      if (!ApplyZip64(extra, &e.usize, &e.csize, &e.local, &e.disk)) {
        Corrupt(IndexCheck::kZipDirectoryEntry, e.name, e.at,
                "the central directory header at offset " + Num(e.at) +
                    " leaves its sizes or offset to a zip64 extra field, and has none that holds them");
        ordered_ = false;
        by_offset_ = false;
        continue;
      }
      KeepName(e, count - 1);
      CheckEntry(e);
    }
    if (!complete) return;
    if (count != entries_)
      Corrupt(IndexCheck::kZipEntryCount, "", end_at_,
              "the end-of-central-directory record says " + Num(entries_) +
                  " entries, the central directory at offset " + Num(dir_start_) + " holds " + Num(count));
    if (ordered_) CheckGap(dir_start_);
  }

  // libarchive converts a name stored with the UTF-8 flag and normalises it to NFC: the stored
  // bytes are kept where that changes them, while the directory's local header offsets keep
  // rising (libarchive returns the members in that order, and skips one whose offset repeats).
  void KeepName(const CentralEntry& e, uint64_t index) {
    if (index > 0 && e.local <= last_offset_) by_offset_ = false;
    last_offset_ = e.local;
    if (!by_offset_ || !(e.flags & kFlagUtf8) || !NfcMayChange(e.name)) return;
    if (kept_bytes_ + e.name.size() > kMaxKeptNameBytes) return;  // the rest come NFC, as libarchive gives them
    kept_bytes_ += e.name.size();
    names_->push_back(StoredName{index, e.name});
  }

  // One directory entry against its local header (and data descriptor).
  void CheckEntry(const CentralEntry& e) {
    const std::string& path = e.name;
    if (e.disk != 0) {
      Corrupt(IndexCheck::kZipLocalHeader, path, e.at,
              "the central directory header at offset " + Num(e.at) + " puts its local header on disk " + Num(e.disk) +
                  " of a zip of one part");
      ordered_ = false;
      return;
    }
    unsigned char h[kLocalBytes];
    if (e.local >= dir_start_ || dir_start_ - e.local < kLocalBytes || !local_.Read(e.local, kLocalBytes, h)) {
      Corrupt(IndexCheck::kZipLocalHeader, path, e.at,
              "the central directory puts the local header at offset " + Num(e.local) +
                  ", not before the central directory at offset " + Num(dir_start_));
      ordered_ = false;
      return;
    }
    if (Le32(h) != kLocalSig) {
      Corrupt(IndexCheck::kZipLocalHeader, path, e.local,
              "no local header at offset " + Num(e.local) + ", where the central directory header at offset " +
                  Num(e.at) + " points");
      ordered_ = false;
      return;
    }
    const uint16_t flags = Le16(h + 6), method = Le16(h + 8);
    const uint32_t crc = Le32(h + 14);
    uint64_t csize = Le32(h + 18), usize = Le32(h + 22);
    const size_t name_len = Le16(h + 26), extra_len = Le16(h + 28);
    const uint64_t data_at = e.local + kLocalBytes + name_len + extra_len;
    std::string name, extra;
    if (data_at > dir_start_ || !local_.Bytes(e.local + kLocalBytes, name_len, &name) ||
        !local_.Bytes(e.local + kLocalBytes + name_len, extra_len, &extra)) {
      Corrupt(IndexCheck::kZipLocalHeader, path, e.local,
              "the local header at offset " + Num(e.local) + " runs into the central directory at offset " +
                  Num(dir_start_));
      ordered_ = false;
      return;
    }
    const std::string at = "the local header at offset " + Num(e.local);
    const bool masked = (e.flags & kFlagMaskedLocal) != 0;
    if (!masked && name != e.name)
      Corrupt(IndexCheck::kZipName, path, e.local,
              at + " says name " + Quoted(name) + ", the central directory says " + Quoted(e.name));
    if (method != e.method)
      Corrupt(IndexCheck::kZipMethod, path, e.local,
              at + " says compression method " + Num(method) + ", the central directory says " + Num(e.method));
    // The version needed to extract may differ (Info-ZIP's zip -fz puts 4.5 in a directory's
    // local header, 1.0 in its directory entry); past 6.3, the format's last, it is damage.
    for (const auto& [who, version, where] : {std::tuple{"the central directory header", e.version, e.at},
                                              std::tuple{"the local header", Le16(h + 4), e.local}})
      if ((version & 0xff) > kLastVersion)
        Corrupt(IndexCheck::kZipFlags, path, where,
                std::string(who) + " at offset " + Num(where) + " says version " + Num((version & 0xff) / 10) + "." +
                    Num((version & 0xff) % 10) + " is needed to extract it; the format's last is 6.3");
    // Bit 3 (a data descriptor follows the data) is left out: some writers set it in the local
    // header alone, and what it changes is checked below.
    if ((flags ^ e.flags) & ~kFlagDescriptor)
      Corrupt(IndexCheck::kZipFlags, path, e.local,
              at + " says general purpose flags " + Flags(flags) + ", the central directory says " + Flags(e.flags) +
                  (((flags ^ e.flags) & kFlagEncrypted) ? " (one says encrypted, the other not)" : ""));
    std::string_view zip64;
    const bool local_zip64 = FindExtra(extra, 1, &zip64);
    if (csize == kSaturated32 || usize == kSaturated32) {
      const auto* z = reinterpret_cast<const unsigned char*>(zip64.data());
      if (local_zip64 && zip64.size() >= 16) {  // in a local header the format asks for both
        usize = Le64(z);
        csize = Le64(z + 8);
      } else if (!ApplyZip64(extra, &usize, &csize, nullptr, nullptr)) {
        Corrupt(IndexCheck::kZipSizes, path, e.local,
                at + " leaves its sizes to a zip64 extra field, and has none that holds them");
      }
    }
    if (e.csize > dir_start_ - data_at) {
      Corrupt(IndexCheck::kZipLocalHeader, path, data_at,
              "the entry's " + Num(e.csize) + " compressed bytes from offset " + Num(data_at) +
                  " run into the central directory at offset " + Num(dir_start_));
      ordered_ = false;
      return;
    }
    uint64_t end = data_at + e.csize;
    if (masked) {
      ordered_ = false;  // where its data descriptor ends is not checked
      return;
    }
    if (flags & kFlagDescriptor) {
      // The CRC and sizes follow the data; each the local header has must be zero or agree
      // (writers that know the uncompressed size, libarchive's among them, put it there).
      if (crc != 0 && crc != e.crc)
        Corrupt(IndexCheck::kZipCrc, path, e.local,
                at + " says CRC-32 " + Crc(crc) + ", the central directory says " + Crc(e.crc));
      if ((csize != 0 && csize != e.csize) || (usize != 0 && usize != e.usize))
        Corrupt(IndexCheck::kZipSizes, path, e.local,
                at + " says " + Num(csize) + " bytes compressed, " + Num(usize) +
                    " uncompressed; the central directory says " + Num(e.csize) + " and " + Num(e.usize));
      if (e.flags & kFlagDescriptor) {
        const uint64_t len = CheckDescriptor(e, end, local_zip64);
        if (len == 0) {
          ordered_ = false;
          return;
        }
        end += len;
      }
    } else {
      if (crc != e.crc)
        Corrupt(IndexCheck::kZipCrc, path, e.local,
                at + " says CRC-32 " + Crc(crc) + ", the central directory says " + Crc(e.crc));
      if (csize != e.csize || usize != e.usize)
        Corrupt(IndexCheck::kZipSizes, path, e.local,
                at + " says " + Num(csize) + " bytes compressed, " + Num(usize) +
                    " uncompressed; the central directory says " + Num(e.csize) + " and " + Num(e.usize));
    }
    CheckOrder(e, end);
  }

  // The data descriptor at `at` must carry the directory's CRC and sizes, in one of its four
  // layouts (with or without its signature; 4- or 8-byte sizes). Returns its length; 0 when it
  // does not agree (reported).
  uint64_t CheckDescriptor(const CentralEntry& e, uint64_t at, bool wide_expected) {
    unsigned char d[24] = {};
    const size_t got = static_cast<size_t>(std::min<uint64_t>(sizeof d, dir_start_ - at));
    if (!local_.Read(at, got, d)) return 0;
    struct Layout {
      size_t len;
      bool sig;
      bool wide;
    };
    constexpr Layout kLayouts[] = {{16, true, false}, {24, true, true}, {12, false, false}, {20, false, true}};
    for (const Layout& l : kLayouts) {
      if (got < l.len || (l.sig && Le32(d) != kDescriptorSig)) continue;
      const unsigned char* p = d + (l.sig ? 4 : 0);
      const uint64_t csize = l.wide ? Le64(p + 4) : Le32(p + 4);
      const uint64_t usize = l.wide ? Le64(p + 12) : Le32(p + 8);
      if (Le32(p) == e.crc && csize == e.csize && usize == e.usize) return l.len;
    }
    const bool sig = got >= 4 && Le32(d) == kDescriptorSig;
    const bool wide = wide_expected || e.csize >= kSaturated32 || e.usize >= kSaturated32;
    const size_t need = (sig ? 4u : 0u) + (wide ? 20u : 12u);
    if (got < need) {
      Corrupt(
          IndexCheck::kZipDataDescriptor, e.name, at,
          "the data descriptor at offset " + Num(at) + " runs into the central directory at offset " + Num(dir_start_));
      return 0;
    }
    const unsigned char* p = d + (sig ? 4 : 0);
    Corrupt(IndexCheck::kZipDataDescriptor, e.name, at,
            "the data descriptor at offset " + Num(at) + " says CRC-32 " + Crc(Le32(p)) + ", " +
                Num(wide ? Le64(p + 4) : Le32(p + 4)) + " bytes compressed, " + Num(wide ? Le64(p + 12) : Le32(p + 8)) +
                " uncompressed; the central directory says " + Crc(e.crc) + ", " + Num(e.csize) + " and " +
                Num(e.usize));
    return 0;
  }

  // While the directory lists its entries in file order: none starts inside the one before
  // it, and none hides an unlisted local header before it.
  void CheckOrder(const CentralEntry& e, uint64_t end) {
    if (!ordered_) return;
    if (e.local < prev_local_) {
      ordered_ = false;  // listed in another order: not checked
      return;
    }
    if (e.local < prev_end_)
      Corrupt(IndexCheck::kZipOverlap, e.name, e.local,
              "the entry at offset " + Num(e.local) + " starts inside the one before it, " + Quoted(prev_name_) +
                  ", which ends at offset " + Num(prev_end_));
    else
      CheckGap(e.local);
    prev_local_ = e.local;
    prev_end_ = std::max(prev_end_, end);
    prev_name_ = e.name;
  }

  // Between the end of the entry before and `to`: a local header there is not listed.
  void CheckGap(uint64_t to) {
    unsigned char h[kLocalBytes];
    if (to <= prev_end_ || to - prev_end_ < 4 || !local_.Read(prev_end_, 4, h) || Le32(h) != kLocalSig) return;
    std::string name;
    if (to - prev_end_ >= kLocalBytes && local_.Read(prev_end_, kLocalBytes, h) &&
        kLocalBytes + Le16(h + 26) <= to - prev_end_)
      local_.Bytes(prev_end_ + kLocalBytes, Le16(h + 26), &name);
    Corrupt(IndexCheck::kZipUnlisted, name, prev_end_,
            "a local header at offset " + Num(prev_end_) + (name.empty() ? "" : " (name " + Quoted(name) + ")") +
                " is not in the central directory: a reader that uses the directory does not see this entry");
  }

  ScanSource& dir_;   // the end records and the directory, read in order
  ScanSource local_;  // local headers and data descriptors, read in their own window
  FindingList* out_;
  const uint64_t max_entries_;
  uint64_t end_at_ = 0;     // the end-of-central-directory record
  uint64_t dir_end_ = 0;    // where the directory must end: the zip64 end record, or the end record
  uint64_t dir_start_ = 0;  // where it is read from
  uint64_t entries_ = 0;
  uint64_t cd_size_ = 0;
  uint64_t cd_offset_ = 0;
  bool ordered_ = true;  // local headers so far in the directory's order
  std::vector<StoredName>* names_;
  bool by_offset_ = true;  // every local header offset so far above the one before
  uint64_t last_offset_ = 0;
  size_t kept_bytes_ = 0;
  static constexpr size_t kMaxKeptNameBytes = 64u << 20;
  uint64_t prev_local_ = 0;
  uint64_t prev_end_ = 0;  // end of the last entry's data (and descriptor)
  std::string prev_name_;
};

}  // namespace

void ScanZipIndex(ScanSource& src, FindingList* out, uint64_t max_entries, std::vector<StoredName>* names) {
  ZipScan(src, out, max_entries, names).Run();
}

}  // namespace rp::detail
