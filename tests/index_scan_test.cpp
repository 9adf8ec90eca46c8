// The index checks run before libarchive (workers/src/sources/index_scan.h): a zip's central
// directory against its local headers and the file, a 7z's start header and header, a xar TOC
// that would hang libarchive, an ISO 9660 image or cab cut short. Real archives made here (zip,
// 7zz, libarchive's writers) and zips written byte by byte for what no tool makes, then cut or
// damaged; each test asserts the finding's kind, path and check, and fails without the check.
#include "sources/index_scan.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine_support.h"

namespace rp::test {
namespace {

using detail::IndexCheck;
using detail::IndexFinding;
using detail::IndexProblem;
using detail::IndexScan;
using detail::ScanArchiveIndex;

constexpr uint64_t kEntries = 1'000'000;

IndexScan Scan(const std::string& bytes, uint64_t max_entries = kEntries) {
  const auto r = ScanArchiveIndex(bytes, max_entries);
  return r ? *r : IndexScan{"(not scanned)", {}, false, {}};
}

std::string Describe(const IndexScan& s) {
  std::string out = std::string(s.format) + ": " + std::to_string(s.findings.size()) + " findings";
  for (const auto& f : s.findings)
    out += "\n  " + std::string(f.problem == IndexProblem::kTruncated ? "truncated" : "corrupt") + " check " +
           std::to_string(static_cast<int>(f.check)) + " [" + f.path + "] @" + std::to_string(f.offset) + " " +
           f.message;
  return out;
}

bool Has(const IndexScan& s, IndexProblem problem, IndexCheck check, const std::string& path) {
  return std::any_of(s.findings.begin(), s.findings.end(),
                     [&](const IndexFinding& f) { return f.problem == problem && f.check == check && f.path == path; });
}

uint16_t Get16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | static_cast<unsigned char>(b[at + 1]) << 8);
}
uint32_t Get32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(Get16(b, at)) | static_cast<uint32_t>(Get16(b, at + 2)) << 16;
}
uint64_t Get64(const std::string& b, size_t at) {
  return static_cast<uint64_t>(Get32(b, at)) | static_cast<uint64_t>(Get32(b, at + 4)) << 32;
}
void Put16(std::string* b, size_t at, uint64_t v) {
  (*b)[at] = static_cast<char>(v & 0xff);
  (*b)[at + 1] = static_cast<char>(v >> 8 & 0xff);
}
void Put32(std::string* b, size_t at, uint64_t v) {
  Put16(b, at, v & 0xffff);
  Put16(b, at + 2, v >> 16 & 0xffff);
}
void Put64(std::string* b, size_t at, uint64_t v) {
  Put32(b, at, v & 0xffffffff);
  Put32(b, at + 4, v >> 32);
}
std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += static_cast<char>(v >> (8 * i) & 0xff);
  return s;
}
void Flip(std::string* b, size_t at) { (*b)[at] = static_cast<char>((*b)[at] ^ 0xff); }

uint32_t Crc32(const std::string& s) {
  uint32_t c = 0xffffffff;
  for (const char ch : s) {
    c ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

bool HaveTool(const std::string& tool) { return RunShell("command -v " + tool + " >/dev/null") == 0; }

TreeEntry Dir(const std::string& path) {
  TreeEntry d;
  d.kind = TreeEntry::Kind::kDirectory;
  d.path = path;
  return d;
}

// --- zip: where things are in a zip ---------------------------------------------------------

struct ZipPlaces {
  size_t end = 0;  // the end-of-central-directory record
  size_t directory = 0;
};

ZipPlaces PlacesOf(const std::string& zip) {
  ZipPlaces p;
  p.end = zip.rfind(std::string("PK\x05\x06", 4));
  p.directory = Get32(zip, p.end + 16);
  if (p.directory == 0xffffffff) p.directory = static_cast<size_t>(Get64(zip, Get64(zip, p.end - 20 + 8) + 48));
  return p;
}

// The central directory header and local header of the entry `name`.
struct ZipEntryPlaces {
  size_t central = 0;
  size_t local = 0;
};

ZipEntryPlaces EntryOf(const std::string& zip, const std::string& name) {
  size_t at = PlacesOf(zip).directory;
  while (Get32(zip, at) == 0x02014b50) {
    const size_t n = Get16(zip, at + 28), x = Get16(zip, at + 30), c = Get16(zip, at + 32);
    if (zip.compare(at + 46, n, name) == 0) {
      uint64_t local = Get32(zip, at + 42);
      if (local == 0xffffffff) {  // zip -fz: the zip64 extra field holds it after the sizes it saturates
        size_t field = at + 46 + n + 4;
        if (Get32(zip, at + 24) == 0xffffffff) field += 8;
        if (Get32(zip, at + 20) == 0xffffffff) field += 8;
        local = Get64(zip, field);
      }
      return {at, static_cast<size_t>(local)};
    }
    at += 46 + n + x + c;
  }
  ADD_FAILURE() << "no entry " << name;
  return {};
}

// Where the data of the extra field `id` of the directory header at `central` starts; 0 if none.
size_t ExtraField(const std::string& zip, size_t central, uint16_t id) {
  const size_t n = Get16(zip, central + 28), x = Get16(zip, central + 30);
  for (size_t at = central + 46 + n; at + 4 <= central + 46 + n + x; at += 4u + Get16(zip, at + 2))
    if (Get16(zip, at) == id) return at + 4;
  return 0;
}

// --- zip: written byte by byte, for what the tools do not make ------------------------------

struct ZipItem {
  std::string name;
  std::string data;
  bool descriptor = false;     // sizes and CRC in a data descriptor after the data
  bool descriptor_sig = true;  // ... with its optional signature
  bool zip64 = false;          // zip64 extra fields, sizes and offset saturated
  bool listed = true;          // in the central directory
  bool utf8 = false;           // the UTF-8 flag (bit 11)
};

struct ZipLayout {
  std::string bytes;
  std::vector<size_t> locals;    // offset of each item's local header
  std::vector<size_t> centrals;  // offset of each listed item's directory header
};

ZipLayout WriteZip(const std::vector<ZipItem>& items, bool zip64_end = false) {
  ZipLayout z;
  std::string directory;
  uint64_t listed = 0;
  for (const ZipItem& it : items) {
    z.locals.push_back(z.bytes.size());
    const uint32_t crc = Crc32(it.data);
    const uint64_t size = it.data.size();
    const uint16_t flags = static_cast<uint16_t>((it.descriptor ? 0x0008 : 0) | (it.utf8 ? 0x0800 : 0));
    const uint16_t version = it.zip64 ? 45 : 20;
    const std::string local_extra =
        it.zip64 ? Le(1, 2) + Le(16, 2) + Le(it.descriptor ? 0 : size, 8) + Le(it.descriptor ? 0 : size, 8) : "";
    const uint64_t local_size = it.zip64 ? 0xffffffff : (it.descriptor ? 0 : size);
    z.bytes += std::string("PK\x03\x04", 4) + Le(version, 2) + Le(flags, 2) + Le(0, 2) + Le(0, 2) + Le(0x21, 2) +
               Le(it.descriptor ? 0 : crc, 4) + Le(local_size, 4) + Le(local_size, 4) + Le(it.name.size(), 2) +
               Le(local_extra.size(), 2) + it.name + local_extra + it.data;
    if (it.descriptor)
      z.bytes += (it.descriptor_sig ? std::string("PK\x07\x08", 4) : "") + Le(crc, 4) + Le(size, it.zip64 ? 8 : 4) +
                 Le(size, it.zip64 ? 8 : 4);
    if (!it.listed) continue;
    ++listed;
    const std::string extra = it.zip64 ? Le(1, 2) + Le(24, 2) + Le(size, 8) + Le(size, 8) + Le(z.locals.back(), 8) : "";
    z.centrals.push_back(directory.size());  // made absolute below
    directory += std::string("PK\x01\x02", 4) + Le(0x031e, 2) + Le(version, 2) + Le(flags, 2) + Le(0, 2) + Le(0, 2) +
                 Le(0x21, 2) + Le(crc, 4) + Le(it.zip64 ? 0xffffffff : size, 4) + Le(it.zip64 ? 0xffffffff : size, 4) +
                 Le(it.name.size(), 2) + Le(extra.size(), 2) + Le(0, 2) + Le(0, 2) + Le(0, 2) + Le(0, 4) +
                 Le(it.zip64 ? 0xffffffff : z.locals.back(), 4) + it.name + extra;
  }
  const uint64_t directory_at = z.bytes.size();
  for (size_t& c : z.centrals) c += directory_at;
  z.bytes += directory;
  if (zip64_end) {
    const uint64_t record_at = z.bytes.size();
    z.bytes += std::string("PK\x06\x06", 4) + Le(44, 8) + Le(0x031e, 2) + Le(45, 2) + Le(0, 4) + Le(0, 4) +
               Le(listed, 8) + Le(listed, 8) + Le(directory.size(), 8) + Le(directory_at, 8);
    z.bytes += std::string("PK\x06\x07", 4) + Le(0, 4) + Le(record_at, 8) + Le(1, 4);
    z.bytes += std::string("PK\x05\x06", 4) + Le(0, 2) + Le(0, 2) + Le(0xffff, 2) + Le(0xffff, 2) + Le(0xffffffff, 4) +
               Le(0xffffffff, 4) + Le(0, 2);
  } else {
    z.bytes += std::string("PK\x05\x06", 4) + Le(0, 2) + Le(0, 2) + Le(listed, 2) + Le(listed, 2) +
               Le(directory.size(), 4) + Le(directory_at, 4) + Le(0, 2);
  }
  return z;
}

// --- zip: made by the tools ------------------------------------------------------------------

class ZipIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("zip")) GTEST_SKIP() << "zip (Info-ZIP) is not installed";
    entries_.push_back(Dir("tree"));
    entries_.push_back(Dir("tree/emptydir"));
    for (int d = 0; d < 6; ++d) entries_.push_back(Dir("tree/d" + std::to_string(d)));
    for (int i = 0; i < 300; ++i) {
      TreeEntry f;
      f.path = "tree/d" + std::to_string(i % 6) + "/f" + std::to_string(i) + ".txt";
      f.size = static_cast<uint64_t>(2000 + (i * 977) % 5000);
      f.seed = static_cast<uint64_t>(i);
      f.compressible = i % 2 == 0;
      entries_.push_back(f);
    }
    ASSERT_TRUE(WriteTree(dir_.path(), entries_).ok());
  }

  // `zip` with the given options over the tree; the archive's bytes.
  std::string Zip(const std::string& options = "") {
    const std::string out = dir_ / "out.zip";
    std::filesystem::remove(out);
    std::string log;
    EXPECT_EQ(RunShell("cd " + dir_.path() + " && zip -qr " + options + " out.zip tree", &log), 0) << log;
    return ReadFile(out);
  }

  TempDir dir_;
  std::vector<TreeEntry> entries_;
};

TEST_F(ZipIndex, ValidZipsOfHundredsOfEntriesHaveNoFinding) {
  for (const std::string options : {"", "-0", "-fz", "-fd"}) {
    const IndexScan s = Scan(Zip(options));
    EXPECT_STREQ(s.format, "zip");
    EXPECT_TRUE(s.findings.empty()) << "zip " << options << "\n" << Describe(s);
  }
  // Written to a pipe: zip64 local headers, data descriptors.
  std::string log;
  ASSERT_EQ(RunShell("cd " + dir_.path() + " && zip -qr - tree > piped.zip", &log), 0) << log;
  EXPECT_TRUE(Scan(ReadFile(dir_ / "piped.zip")).findings.empty()) << Describe(Scan(ReadFile(dir_ / "piped.zip")));
  // libarchive's writer: data descriptors, the uncompressed size in the local header.
  ASSERT_TRUE(WriteArchive(dir_ / "la.zip", {"zip", {}}, entries_).ok());
  EXPECT_TRUE(Scan(ReadFile(dir_ / "la.zip")).findings.empty()) << Describe(Scan(ReadFile(dir_ / "la.zip")));
}

TEST_F(ZipIndex, ACentralDirectoryCutInTheLastFewPercentIsTruncated) {
  const std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  ASSERT_LT(zip.size() - p.directory, zip.size() * 6 / 100) << "the directory is the last few percent";
  // Inside the end record, at its start, inside the directory at several points, at its start.
  std::vector<size_t> cuts = {zip.size() - 1, zip.size() - 10, p.end + 4, p.end, p.directory};
  for (int k = 1; k < 8; ++k) cuts.push_back(p.directory + (p.end - p.directory) * static_cast<size_t>(k) / 8);
  for (const size_t cut : cuts) {
    const IndexScan s = Scan(zip.substr(0, cut));
    EXPECT_TRUE(Has(s, IndexProblem::kTruncated, IndexCheck::kZipEndRecord, "")) << "cut at " << cut << "\n"
                                                                                 << Describe(s);
  }
}

TEST_F(ZipIndex, AnEndRecordOverwrittenIsMissing) {
  std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  zip.replace(p.end, 22, 22, '\0');
  const IndexScan s = Scan(zip);
  EXPECT_TRUE(Has(s, IndexProblem::kTruncated, IndexCheck::kZipEndRecord, "")) << Describe(s);
}

TEST_F(ZipIndex, AnEndRecordWhoseCommentIsCutIsTruncated) {
  std::string log;
  ASSERT_EQ(RunShell("cd " + dir_.path() +
                         " && zip -qr with-comment.zip tree && echo 'a comment of some length' | "
                         "zip -qz with-comment.zip",
                     &log),
            0)
      << log;
  const std::string zip = ReadFile(dir_ / "with-comment.zip");
  ASSERT_GT(Get16(zip, PlacesOf(zip).end + 20), 10);
  EXPECT_TRUE(Scan(zip).findings.empty()) << Describe(Scan(zip));
  const IndexScan s = Scan(zip.substr(0, zip.size() - 5));
  EXPECT_TRUE(Has(s, IndexProblem::kTruncated, IndexCheck::kZipEndRecord, "")) << Describe(s);
}

TEST_F(ZipIndex, AnEntryCountThatLiesIsCorrupt) {
  const std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  const uint16_t n = Get16(zip, p.end + 10);
  ASSERT_EQ(n, entries_.size());
  for (const int delta : {-1, +1, -200}) {
    std::string bad = zip;
    Put16(&bad, p.end + 8, static_cast<uint64_t>(n + delta));
    Put16(&bad, p.end + 10, static_cast<uint64_t>(n + delta));
    const IndexScan s = Scan(bad);
    EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipEntryCount, "")) << delta << "\n" << Describe(s);
  }
  // Only the count on this disk: the two counts of a one-part zip disagree.
  std::string bad = zip;
  Put16(&bad, p.end + 8, n - 1u);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipEntryCount, "")) << Describe(Scan(bad));
}

TEST_F(ZipIndex, ADirectoryOffsetOrSizeThatLiesIsCorrupt) {
  const std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  for (const size_t field : {p.end + 12, p.end + 16}) {  // size, offset
    std::string bad = zip;
    Put32(&bad, field, Get32(zip, field) - 46);
    const IndexScan s = Scan(bad);
    EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipDirectoryExtent, "")) << field << "\n" << Describe(s);
  }
}

TEST_F(ZipIndex, AnEmptyDirectorysNameDamagedInItsLocalHeaderIsCorrupt) {
  std::string zip = Zip();
  const ZipEntryPlaces e = EntryOf(zip, "tree/emptydir/");
  ASSERT_EQ(zip.compare(e.local + 30, 14, "tree/emptydir/"), 0);
  zip[e.local + 30 + 6] = 'E';  // "tree/Emptydir/": nothing is restored from it to compare
  const IndexScan s = Scan(zip);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipName, "tree/emptydir/")) << Describe(s);
  EXPECT_EQ(s.findings.size(), 1u) << Describe(s);
}

TEST_F(ZipIndex, ALocalHeaderThatDisagreesWithTheDirectoryIsCorrupt) {
  const std::string zip = Zip();
  const std::string name = "tree/d1/f7.txt";
  const ZipEntryPlaces e = EntryOf(zip, name);
  struct Case {
    size_t offset;  // in the local header
    IndexCheck check;
  };
  for (const Case c : {Case{14, IndexCheck::kZipCrc}, Case{18, IndexCheck::kZipSizes}, Case{22, IndexCheck::kZipSizes},
                       Case{8, IndexCheck::kZipMethod}, Case{6, IndexCheck::kZipFlags}}) {
    std::string bad = zip;
    Flip(&bad, e.local + c.offset);
    const IndexScan s = Scan(bad);
    EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, c.check, name)) << "byte " << c.offset << "\n" << Describe(s);
  }
  // The directory's side: its CRC; its offset, which then points at no local header.
  std::string bad = zip;
  Flip(&bad, e.central + 16);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipCrc, name)) << Describe(Scan(bad));
  bad = zip;
  Put32(&bad, e.central + 42, e.local + 1);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipLocalHeader, name)) << Describe(Scan(bad));
  // A version needed to extract past the format's last (unzip refuses the entry).
  bad = zip;
  Put16(&bad, e.central + 6, 0xeb);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipFlags, name)) << Describe(Scan(bad));
}

TEST_F(ZipIndex, Zip64RecordsAreReadAndChecked) {
  const std::string zip = Zip("-fz");
  const ZipPlaces p = PlacesOf(zip);
  ASSERT_EQ(Get32(zip, p.end - 20), 0x07064b50u) << "zip -fz writes a zip64 locator";
  ASSERT_EQ(Get32(zip, p.end + 16), 0xffffffffu) << "and leaves the directory's offset to the zip64 record";
  EXPECT_TRUE(Scan(zip).findings.empty()) << Describe(Scan(zip));
  const size_t record = static_cast<size_t>(Get64(zip, p.end - 20 + 8));
  // The zip64 record's count against the end record's (not saturated here).
  std::string bad = zip;
  Put64(&bad, record + 32, Get64(zip, record + 32) + 1);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZip64EndRecord, "")) << Describe(Scan(bad));
  // The locator pointing elsewhere; the record without its signature; its length wrong.
  for (const auto& [field, value] : {std::pair{p.end - 20 + 8, uint64_t{record - 8}}, std::pair{record, uint64_t{0}},
                                     std::pair{record + 4, Get64(zip, record + 4) + 1}}) {
    bad = zip;
    if (field == record)
      bad[record] = 'X';
    else
      Put64(&bad, field, value);
    EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZip64EndRecord, ""))
        << field << Describe(Scan(bad));
  }
  // The zip64 record's offset of the directory, which the end record leaves to it.
  bad = zip;
  Put64(&bad, record + 48, Get64(zip, record + 48) + 46);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipDirectoryExtent, "")) << Describe(Scan(bad));
  // An entry's uncompressed size, which its directory header leaves to its zip64 extra field.
  const ZipEntryPlaces e = EntryOf(zip, "tree/d2/f8.txt");
  ASSERT_EQ(Get32(zip, e.central + 24), 0xffffffffu);
  const size_t usize = ExtraField(zip, e.central, 1);
  ASSERT_NE(usize, 0u);
  bad = zip;
  Put64(&bad, usize, Get64(zip, usize) + 1);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipSizes, "tree/d2/f8.txt")) << Describe(Scan(bad));
  // And cut.
  EXPECT_TRUE(Has(Scan(zip.substr(0, p.end - 10)), IndexProblem::kTruncated, IndexCheck::kZipEndRecord, ""));
}

TEST(ZipIndexWritten, SaturatedEndRecordFieldsAreTakenFromTheZip64Record) {
  const ZipLayout z = WriteZip({{"a", "alpha", false, true, true}, {"b", "beta", true, true, true}}, true);
  EXPECT_TRUE(Scan(z.bytes).findings.empty()) << Describe(Scan(z.bytes));
  std::string bad = z.bytes;
  const size_t record = z.bytes.size() - 22 - 20 - 56;
  ASSERT_EQ(Get32(bad, record), 0x06064b50u);
  Put64(&bad, record + 24, 3);
  Put64(&bad, record + 32, 3);
  const IndexScan s = Scan(bad);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipEntryCount, "")) << Describe(s);
  // "b"'s local header offset, saturated in its directory header, held in its extra field.
  bad = z.bytes;
  const size_t offset = z.centrals[1] + 46 + 1 + 4 + 16;
  ASSERT_EQ(Get64(bad, offset), z.locals[1]);
  Put64(&bad, offset, z.locals[1] + 1);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kZipLocalHeader, "b")) << Describe(Scan(bad));
}

TEST(ZipIndexWritten, DataDescriptorsInEveryLayoutAreRead) {
  const ZipLayout z = WriteZip({{"sig", "one", true, true, false},
                                {"nosig", "two", true, false, false},
                                {"sig64", "three", true, true, true},
                                {"nosig64", "four", true, false, true},
                                {"plain", "five"}});
  EXPECT_TRUE(Scan(z.bytes).findings.empty()) << Describe(Scan(z.bytes));
  // The descriptor's CRC, of "sig": 4 bytes after its signature, after the data.
  std::string bad = z.bytes;
  Flip(&bad, z.locals[0] + 30 + 3 + 3 + 4);
  const IndexScan s = Scan(bad);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipDataDescriptor, "sig")) << Describe(s);
}

TEST(ZipIndexWritten, ALocalHeaderTheDirectoryDoesNotListIsCorrupt) {
  const ZipLayout z = WriteZip({{"a", "alpha"}, {"hidden", "not listed", false, true, false, false}, {"c", "gamma"}});
  const IndexScan s = Scan(z.bytes);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipUnlisted, "hidden")) << Describe(s);
  // The last one, between the entries and the directory.
  const ZipLayout last = WriteZip({{"a", "alpha"}, {"hidden", "not listed", false, true, false, false}});
  EXPECT_TRUE(Has(Scan(last.bytes), IndexProblem::kCorrupt, IndexCheck::kZipUnlisted, "hidden"))
      << Describe(Scan(last.bytes));
}

TEST(ZipIndexWritten, AnEntryInsideTheOneBeforeItIsCorrupt) {
  // "b"'s data holds a copy of "c"'s local header and data; "c"'s directory entry points there
  // (entries that share bytes: how overlapping zip bombs are made).
  const ZipLayout c = WriteZip({{"c", "gamma"}});
  const std::string quoted = c.bytes.substr(0, c.centrals[0]);
  ZipLayout z = WriteZip({{"a", "alpha"}, {"b", quoted + "beta"}, {"c", "gamma"}});
  const size_t inside = z.locals[1] + 30 + 1;
  Put32(&z.bytes, z.centrals[2] + 42, inside);
  const IndexScan s = Scan(z.bytes);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kZipOverlap, "c")) << Describe(s);
}

// libarchive NFC-normalises a name stored under the UTF-8 flag (and cannot convert one that is
// not UTF-8): the scan keeps those names as stored, by their place in the directory, and only
// those; a name without the flag is left alone (libarchive takes its bytes as they are).
TEST(ZipIndexWritten, NamesLibarchiveWouldChangeAreKeptAsStoredByTheirPlace) {
  const std::string nfd = "Lo\xcc\x88ner.txt", latin1 = "L\xf6ner.txt", nfc = "L\xc3\xb6ner.txt";
  ZipItem plain{"plain.txt", "a"}, composed{nfc, "b"}, decomposed{nfd, "c"}, not_utf8{latin1, "d"}, unflagged{nfd + "2", "e"};
  composed.utf8 = decomposed.utf8 = not_utf8.utf8 = true;
  const ZipLayout z = WriteZip({plain, composed, decomposed, not_utf8, unflagged});
  const IndexScan s = Scan(z.bytes);
  EXPECT_TRUE(s.findings.empty()) << Describe(s);
  ASSERT_EQ(s.stored_names.size(), 2u) << Describe(s);
  EXPECT_EQ(s.stored_names[0].index, 2u);
  EXPECT_EQ(s.stored_names[0].name, nfd);
  EXPECT_EQ(s.stored_names[1].index, 3u);
  EXPECT_EQ(s.stored_names[1].name, latin1);
}

TEST(ZipIndexWritten, AnEmptyZipHasNoFinding) {
  const ZipLayout z = WriteZip({});
  EXPECT_EQ(z.bytes.size(), 22u);
  const IndexScan s = Scan(z.bytes);
  EXPECT_STREQ(s.format, "zip");
  EXPECT_TRUE(s.findings.empty()) << Describe(s);
}

TEST_F(ZipIndex, TheScanLooksAtNoMoreEntriesThanTheLimit) {
  std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  Put16(&zip, p.end + 8, entries_.size() + 1);
  Put16(&zip, p.end + 10, entries_.size() + 1);
  ASSERT_TRUE(Has(Scan(zip), IndexProblem::kCorrupt, IndexCheck::kZipEntryCount, ""));
  // Stopped at 10 entries, it does not know the count lies: the reader's limit speaks for itself.
  EXPECT_TRUE(Scan(zip, 10).findings.empty()) << Describe(Scan(zip, 10));
}

TEST(ZipIndexWritten, FindingsAreCappedAndCounted) {
  std::vector<ZipItem> items;
  for (int i = 0; i < 1500; ++i) items.push_back({"f" + std::to_string(i), "x"});
  ZipLayout z = WriteZip(items);
  for (const size_t local : z.locals) Flip(&z.bytes, local + 14);  // every local CRC
  const IndexScan s = Scan(z.bytes);
  ASSERT_EQ(s.findings.size(), detail::kMaxIndexFindings + 1) << Describe(s);
  EXPECT_EQ(s.findings.back().check, IndexCheck::kMoreFindings);
  EXPECT_NE(s.findings.back().message.find("500 more"), std::string::npos) << s.findings.back().message;
}

TEST_F(ZipIndex, EveryCutHasAFindingAndEveryFlipAResult) {
  // A small zip, so that every byte can be tried.
  std::string log;
  ASSERT_EQ(RunShell("cd " + dir_.path() + " && zip -qr small.zip tree/emptydir tree/d0/f0.txt tree/d1/f1.txt", &log),
            0)
      << log;
  const std::string zip = ReadFile(dir_ / "small.zip");
  ASSERT_TRUE(Scan(zip).findings.empty());
  for (size_t n = 4; n < zip.size(); ++n) EXPECT_FALSE(Scan(zip.substr(0, n)).findings.empty()) << "cut at " << n;
  for (size_t i = 0; i < zip.size(); ++i) {
    std::string bad = zip;
    Flip(&bad, i);
    const IndexScan s = Scan(bad);  // a result, never a crash (the fuzzer goes further)
    EXPECT_LE(s.findings.size(), detail::kMaxIndexFindings + 1);
  }
}

TEST(IndexScanFormats, OtherFilesAreNotScanned) {
  EXPECT_FALSE(ScanArchiveIndex(std::string(1024, '\0'), kEntries));
  EXPECT_FALSE(ScanArchiveIndex(std::string("PK\x03", 3), kEntries));
  EXPECT_FALSE(ScanArchiveIndex(std::string_view(), kEntries));
  EXPECT_FALSE(ScanArchiveIndex(std::string("Rar!\x1a\x07\x01\x00", 8) + std::string(100, 'x'), kEntries));
  // The signature alone is a zip without its directory.
  const auto z = ScanArchiveIndex(std::string("PK\x03\x04", 4), kEntries);
  ASSERT_TRUE(z);
  EXPECT_TRUE(Has(*z, IndexProblem::kTruncated, IndexCheck::kZipEndRecord, ""));
}

// --- 7z ------------------------------------------------------------------------------------------

class SevenZipIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("7zz")) GTEST_SKIP() << "7zz (Debian package 7zip) is not installed";
    for (int i = 0; i < 40; ++i) {
      TreeEntry f;
      f.path = "t/f" + std::to_string(i);
      f.size = static_cast<uint64_t>(1000 + i * 311);
      f.seed = static_cast<uint64_t>(i);
      f.compressible = i % 3 != 0;
      entries_.push_back(f);
    }
    entries_.push_back(Dir("t/empty"));
    ASSERT_TRUE(WriteTree(dir_.path(), entries_).ok());
  }

  std::string SevenZip(const std::string& options = "") {
    const std::string out = dir_ / "out.7z";
    std::filesystem::remove(out);
    std::string log;
    EXPECT_EQ(RunShell("cd " + dir_.path() + " && 7zz a -bd " + options + " out.7z t", &log), 0) << log;
    return ReadFile(out);
  }

  // Where the header is, from the start header.
  static size_t HeaderOf(const std::string& a) { return static_cast<size_t>(32 + Get64(a, 12)); }

  TempDir dir_;
  std::vector<TreeEntry> entries_;
};

TEST_F(SevenZipIndex, ValidArchivesHaveNoFinding) {
  for (const std::string options : {"", "-mhc=off", "-mx0", "-m0=lzma2 -mhc=on", "-m0=lzma"}) {
    const IndexScan s = Scan(SevenZip(options));
    EXPECT_STREQ(s.format, "7z");
    EXPECT_TRUE(s.findings.empty()) << "7zz " << options << "\n" << Describe(s);
  }
  ASSERT_TRUE(WriteArchive(dir_ / "la.7z", {"7zip", {}}, entries_).ok());
  EXPECT_TRUE(Scan(ReadFile(dir_ / "la.7z")).findings.empty()) << Describe(Scan(ReadFile(dir_ / "la.7z")));
}

TEST_F(SevenZipIndex, CutAtEveryPointOfItsLastFewPercentIsTruncated) {
  for (const std::string options : {"", "-mhc=off"}) {
    const std::string a = SevenZip(options);
    for (size_t cut = 1; cut < a.size() * 3 / 100; ++cut) {
      const IndexScan s = Scan(a.substr(0, a.size() - cut));
      ASSERT_TRUE(Has(s, IndexProblem::kTruncated, IndexCheck::k7zHeaderExtent, ""))
          << options << " cut " << cut << "\n"
          << Describe(s);
    }
  }
}

TEST_F(SevenZipIndex, AStartHeaderFlipIsCorrupt) {
  const std::string a = SevenZip();
  for (size_t i = 6; i < 32; ++i) {
    std::string bad = a;
    Flip(&bad, i);
    const IndexScan s = Scan(bad);
    if (i == 7) {  // the minor version: 7-Zip reads any
      EXPECT_TRUE(s.findings.empty()) << Describe(s);
      continue;
    }
    EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::k7zStartHeader, "")) << "byte " << i << "\n" << Describe(s);
  }
}

TEST_F(SevenZipIndex, AHeaderFlipIsCorrupt) {
  for (const std::string options : {"", "-mhc=off"}) {
    const std::string a = SevenZip(options);
    for (size_t i = HeaderOf(a); i < a.size(); ++i) {
      std::string bad = a;
      Flip(&bad, i);
      const IndexScan s = Scan(bad);
      ASSERT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::k7zHeaderCrc, "")) << options << " byte " << i << "\n"
                                                                                << Describe(s);
    }
  }
}

// libarchive decodes a compressed header and checks the CRC of what it decodes; the last bytes
// of an LZMA stream do not change what it decodes, so a flip there passed it (7zz refuses it).
TEST_F(SevenZipIndex, TheEndOfACompressedHeaderIsChecked) {
  const std::string a = SevenZip();
  const size_t header = HeaderOf(a);
  ASSERT_EQ(static_cast<unsigned char>(a[header]), 0x17) << "7zz compresses its header";
  size_t caught = 0;
  for (size_t i = header - 8; i < header; ++i) {
    std::string bad = a;
    Flip(&bad, i);
    const IndexScan s = Scan(bad);
    EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::k7zPackedHeader, "")) << "byte " << i << "\n" << Describe(s);
    caught += s.findings.size();
  }
  EXPECT_GE(caught, 8u);
}

// The compressed header must use all of its packed bytes: one more, moved in between it and the
// header with every offset, size and CRC made to agree, is damage (7-Zip refuses it too).
TEST_F(SevenZipIndex, ACompressedHeaderWithPackedBytesLeftOverIsCorrupt) {
  const std::string a = SevenZip();
  const size_t header = HeaderOf(a);
  const size_t length = static_cast<size_t>(Get64(a, 20));
  std::string h = a.substr(header, length);
  ASSERT_EQ(h.substr(0, 2), std::string("\x17\x06", 2));
  auto number_length = [&](size_t at) {
    size_t n = 1;
    for (unsigned mask = 0x80; mask && (static_cast<unsigned char>(h[at]) & mask); mask >>= 1) ++n;
    return n;
  };
  const size_t streams = 2 + number_length(2);  // after the pack position
  ASSERT_EQ(h[streams], 1);
  ASSERT_EQ(h[streams + 1], 0x09);
  const size_t size = streams + 2;
  ASSERT_EQ(number_length(size), 2u) << "a packed size of 128 bytes to 16 KiB";
  const unsigned packed = (static_cast<unsigned char>(h[size]) & 0x3fu) << 8 | static_cast<unsigned char>(h[size + 1]);
  ASSERT_LT(packed & 0xff, 0xffu);
  h[size + 1] = static_cast<char>(h[size + 1] + 1);
  std::string b = a.substr(0, header) + std::string(1, '\0') + h;
  Put64(&b, 12, Get64(a, 12) + 1);
  Put32(&b, 28, Crc32(h));
  Put32(&b, 8, Crc32(b.substr(12, 20)));
  const IndexScan s = Scan(b);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::k7zPackedHeader, "")) << Describe(s);
  EXPECT_EQ(s.findings.size(), 1u) << Describe(s);
}

// --- xar -------------------------------------------------------------------------------------

// A xar archive of `toc` (the TOC stored in zlib's stored blocks), declaring `declared` bytes
// uncompressed (its real length by default).
std::string Xar(const std::string& toc, uint64_t declared = UINT64_MAX) {
  std::string z = "\x78\x01";
  for (size_t at = 0; at < toc.size() || at == 0; at += 65535) {
    const std::string block = toc.substr(at, 65535);
    const bool last = at + 65535 >= toc.size();
    z += static_cast<char>(last ? 1 : 0);
    z += Le(block.size(), 2) + Le(~block.size() & 0xffff, 2) + block;
    if (last) break;
  }
  uint32_t a = 1, b = 0;
  for (const char c : toc) {
    a = (a + static_cast<unsigned char>(c)) % 65521;
    b = (b + a) % 65521;
  }
  const uint32_t adler = b << 16 | a;
  for (int i = 3; i >= 0; --i) z += static_cast<char>(adler >> (8 * i) & 0xff);
  auto be = [](uint64_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>(v >> (8 * i) & 0xff);
    return s;
  };
  return "xar!" + be(28, 2) + be(1, 2) + be(z.size(), 8) + be(declared == UINT64_MAX ? toc.size() : declared, 8) +
         be(0, 4) + z;
}

std::string XarFile(const std::string& name, const std::string& inner) {
  return "<file id=\"1\"><name>" + name + "</name>" + inner + "</file>";
}
std::string Toc(const std::string& files) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by a test --><xar><toc>"
         "<creation-time>2024-01-01T00:00:00</creation-time>" +
         files + "</toc></xar>";
}

TEST(XarToc, LibarchivesDoubleLinkArchiveIsRefusedBeforeLibarchiveReadsIt) {
  const IndexScan s = Scan(ReadFile(std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_xar_doublelink.xar"));
  EXPECT_STREQ(s.format, "xar");
  EXPECT_TRUE(s.unreadable);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kXarDoubleLink, "file1")) << Describe(s);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kXarDoubleLink, "file2")) << Describe(s);
}

TEST(XarToc, OneLinkAFileIsReadAndNestedFilesCountForThemselves) {
  const std::string one = "<type link=\"original\">hardlink</type>";
  const std::string other = "<type link=\"1\">hardlink</type>";
  // A directory with one link, holding a file with one link, and a file with one: no finding.
  const std::string fine =
      Toc(XarFile("dir", one + "<mode>0755</mode>" + XarFile("inner", other)) + XarFile("x", other));
  EXPECT_TRUE(Scan(Xar(fine)).findings.empty()) << Describe(Scan(Xar(fine)));
  EXPECT_FALSE(Scan(Xar(fine)).unreadable);
  // The nested file with two links (one on each of two types): only it.
  const std::string nested = Toc(XarFile("dir", one + XarFile("inner", other + "<data/>" + other)));
  const IndexScan s = Scan(Xar(nested));
  EXPECT_TRUE(s.unreadable);
  ASSERT_EQ(s.findings.size(), 1u) << Describe(s);
  EXPECT_TRUE(Has(s, IndexProblem::kCorrupt, IndexCheck::kXarDoubleLink, "dir/inner")) << Describe(s);
  // Two link attributes on one <type> (one with a namespace prefix: libarchive reads local
  // names), names with character references, the link before the name.
  const std::string one_type = Toc("<file><type x:link=\"original\" link='2'/><name>a&amp;b&#x41;</name></file>");
  EXPECT_TRUE(Has(Scan(Xar(one_type)), IndexProblem::kCorrupt, IndexCheck::kXarDoubleLink, "a&bA"))
      << Describe(Scan(Xar(one_type)));
  // Links elsewhere than on a file's own <type> are not libarchive's links.
  const std::string elsewhere = Toc(XarFile("y", "<data><type link=\"1\"/><type link=\"2\"/></data>" + one));
  EXPECT_TRUE(Scan(Xar(elsewhere)).findings.empty()) << Describe(Scan(Xar(elsewhere)));
  // Inside comments and CDATA, not elements.
  const std::string hidden =
      Toc(XarFile("z", one + "<!-- <type link=\"1\"/> --><name><![CDATA[<type link=\"1\"/>]]></name>"));
  EXPECT_TRUE(Scan(Xar(hidden)).findings.empty()) << Describe(Scan(Xar(hidden)));
}

TEST(XarToc, TheInflateStopsAtTheDeclaredLengthAndAtTheStreamsEnd) {
  const std::string toc = Toc(std::string(5000, ' ') + XarFile("late", "<type link=\"1\"/><type link=\"1\"/>"));
  ASSERT_TRUE(Scan(Xar(toc)).unreadable);
  // Declared shorter than the file element: the scan does not read that far.
  EXPECT_TRUE(Scan(Xar(toc, 4000)).findings.empty()) << Describe(Scan(Xar(toc, 4000)));
  // Declared far longer, or the compressed length past the file's end: bounded by the stream.
  std::string longer = Xar(toc, 1ull << 40);
  EXPECT_TRUE(Scan(longer).unreadable);
  Put64(&longer, 8, 1ull << 40);  // big-endian or not, far past the end
  EXPECT_TRUE(Scan(longer).unreadable);
  // Cut inside the stream: what came before is still read, nothing after.
  const std::string cut = Xar(toc).substr(0, 28 + 2 + 5 + 3000);
  EXPECT_TRUE(Scan(cut).findings.empty());
  // Nested deeper than libxml2 reads: the scan stops there.
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<a>";
  EXPECT_TRUE(Scan(Xar(Toc(deep + XarFile("d", "<type link=\"1\"/><type link=\"1\"/>")))).findings.empty());
}

// --- ISO 9660 and cab ------------------------------------------------------------------------

TEST(IsoVolume, AnImageCutInItsPaddingIsTruncated) {
  TempDir dir;
  std::vector<TreeEntry> entries{Dir("d")};
  for (int i = 0; i < 5; ++i) {
    TreeEntry f;
    f.path = "d/f" + std::to_string(i);
    f.size = 3000;
    entries.push_back(f);
  }
  ASSERT_TRUE(WriteArchive(dir / "a.iso", {"iso9660", {}}, entries).ok());
  const std::string iso = ReadFile(dir / "a.iso");
  EXPECT_STREQ(Scan(iso).format, "ISO 9660");
  EXPECT_TRUE(Scan(iso).findings.empty()) << Describe(Scan(iso));
  // libarchive's writer pads the image; a cut there loses no file, and libarchive passes it.
  for (const size_t cut : {size_t{1}, size_t{2048}, iso.size() / 20}) {
    const IndexScan s = Scan(iso.substr(0, iso.size() - cut));
    EXPECT_TRUE(Has(s, IndexProblem::kTruncated, IndexCheck::kIsoVolumeSize, "")) << cut << "\n" << Describe(s);
  }
}

TEST(CabHeader, ASizeOrHeaderThatDisagreesIsCaught) {
  const std::string cab = ReadFile(std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_cab_1.cab");
  EXPECT_STREQ(Scan(cab).format, "cab");
  EXPECT_TRUE(Scan(cab).findings.empty()) << Describe(Scan(cab));
  EXPECT_TRUE(Has(Scan(cab.substr(0, cab.size() - 1)), IndexProblem::kTruncated, IndexCheck::kCabHeader, ""));
  std::string bad = cab;
  Put32(&bad, 8, cab.size() - 1);
  EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kCabHeader, ""));
  for (const size_t at : {size_t{4}, size_t{12}, size_t{20}, size_t{24}, size_t{25}}) {
    bad = cab;
    Flip(&bad, at);
    EXPECT_TRUE(Has(Scan(bad), IndexProblem::kCorrupt, IndexCheck::kCabHeader, "")) << at;
  }
}

// --- the whole engine ------------------------------------------------------------------------

TEST_F(ZipIndex, EndToEnd_AZipCutInItsCentralDirectoryFails) {
  const std::string zip = Zip();
  const ZipPlaces p = PlacesOf(zip);
  WriteFile(dir_ / "whole.zip", zip);
  VerifyReport r = RunVerifyIsolated(Options(dir_, dir_ / "whole.zip"));
  EXPECT_EQ(r.status, RunStatus::kPassed) << rp::test::Describe(r);
  WriteFile(dir_ / "cut.zip", zip.substr(0, p.directory + (p.end - p.directory) / 2));
  r = RunVerifyIsolated(Options(dir_, dir_ / "cut.zip"));
  EXPECT_EQ(r.status, RunStatus::kFailed) << rp::test::Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kTruncated), std::vector<std::string>{""}) << rp::test::Describe(r);
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kTruncated) {
      EXPECT_EQ(f.offset, static_cast<int64_t>(p.directory + (p.end - p.directory) / 2));
    }
  // An empty directory's name damaged in its local header: nothing else would see it.
  std::string bad = zip;
  bad[EntryOf(zip, "tree/emptydir/").local + 30 + 6] = 'E';
  WriteFile(dir_ / "name.zip", bad);
  r = RunVerifyIsolated(Options(dir_, dir_ / "name.zip"));
  EXPECT_EQ(r.status, RunStatus::kFailed) << rp::test::Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kCorrupt), std::vector<std::string>{"tree/emptydir/"}) << rp::test::Describe(r);
}

TEST_F(SevenZipIndex, EndToEnd_A7zWithADamagedStartHeaderOrCutFails) {
  std::string a = SevenZip();
  Flip(&a, 10);  // the start header's CRC: libarchive 3.6.2 reads every entry regardless
  WriteFile(dir_ / "flipped.7z", a);
  VerifyReport r = RunVerifyIsolated(Options(dir_, dir_ / "flipped.7z"));
  EXPECT_EQ(r.status, RunStatus::kFailed) << rp::test::Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kCorrupt), std::vector<std::string>{""}) << rp::test::Describe(r);
  const std::string whole = SevenZip();
  WriteFile(dir_ / "cut.7z", whole.substr(0, whole.size() - 5));
  r = RunVerifyIsolated(Options(dir_, dir_ / "cut.7z"));
  EXPECT_EQ(r.status, RunStatus::kFailed) << rp::test::Describe(r);
  EXPECT_FALSE(PathsOf(r, FindingKind::kTruncated).empty()) << rp::test::Describe(r);
}

// libarchive 3.6.2 spins for ever on this archive; the scan refuses it before libarchive reads.
TEST(XarTocEndToEnd, TheDoubleLinkArchiveGetsItsVerdictInWellUnderASecond) {
  TempDir dir;
  auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_xar_doublelink.xar");
  o.limits.max_seconds = 60;
  o.limits.max_stall_seconds = 60;  // not what stops it
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << rp::test::Describe(r);
  EXPECT_LT(r.duration_s, 1.0) << rp::test::Describe(r);
  std::vector<std::string> corrupt = PathsOf(r, FindingKind::kCorrupt);
  std::sort(corrupt.begin(), corrupt.end());
  EXPECT_EQ(corrupt, (std::vector<std::string>{"file1", "file2"})) << rp::test::Describe(r);
  EXPECT_TRUE(r.sandbox_removed);
}

}  // namespace
}  // namespace rp::test
