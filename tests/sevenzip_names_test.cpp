// The 7z name reader: from real archives made by 7zz (header packed and not, solid and not,
// LZMA2 and LZMA, a few thousand files) it returns the names libarchive would change (NFD
// names) byte-exact at the index 7zz lists them and libarchive returns them, keeps no name NFC
// leaves alone, honours its limits, and gives "not available" for every truncation and for
// every damaged header byte, never a wrong name. Headers packed with LZMA2 or stored with the
// copy coder (7zz writes neither) are built here from 7zz's own unpacked header.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <lzma.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sources/name_locale.h"
#include "sources/sevenzip_names.h"
#include "testkit.h"

namespace rp::test {
namespace {

using detail::NfcMayChange;
using detail::ReadSevenZipNames;
using detail::SevenZipNameLimits;
using detail::SevenZipNames;
using detail::SevenZipNamesStatus;
using Name = SevenZipNames::Name;

// Decomposed (as macOS writes them) and their NFC forms, which libarchive returns.
const std::string kNfdLoner = "Lo\xcc\x88ner.txt";     // o + combining diaeresis
const std::string kNfcLoner = "L\xc3\xb6ner.txt";
const std::string kNfdDeep = "mapp/undermapp/Re\xcc\x81sume\xcc\x81 djup.txt";  // e + combining acute
const std::string kNfcDeep = "mapp/undermapp/R\xc3\xa9sum\xc3\xa9 djup.txt";
const std::string kNfdEmptyFile = "tomt-a\xcc\x8a.txt";  // a + combining ring, empty
const std::string kNfcEmptyFile = "tomt-\xc3\xa5.txt";
const std::string kNfdEmptyDir = "Fo\xcc\x88rra\xcc\x8a";  // an empty directory
const std::string kNfcEmptyDir = "F\xc3\xb6rr\xc3\xa5";

const std::map<std::string, std::string>& NfcOf() {
  static const std::map<std::string, std::string> m{
      {kNfdLoner, kNfcLoner}, {kNfdDeep, kNfcDeep}, {kNfdEmptyFile, kNfcEmptyFile}, {kNfdEmptyDir, kNfcEmptyDir}};
  return m;
}


void MakeFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  WriteFile(path, data);
}

// Names in Swedish, Greek and Chinese (NFC: kept as libarchive returns them), NFD names among
// files with content, empty files and empty directories, nested directories.
void MakeTree(const std::string& root) {
  MakeFile(root + "/L\xc3\xb6ner 2026.xlsx", "l\xc3\xb6ner");
  MakeFile(root + "/\xc3\xa5 \xc3\xa4 \xc3\xb6.txt", "\xc3\xa5\xc3\xa4\xc3\xb6");
  MakeFile(root + "/\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac.txt", "greek");
  MakeFile(root + "/\xe4\xb8\xad\xe6\x96\x87\xe6\xaa\x94\xe6\xa1\x88.txt", "chinese");
  MakeFile(root + "/" + kNfdLoner, "nfd");
  MakeFile(root + "/" + kNfdDeep, std::string(5000, 'd'));
  MakeFile(root + "/" + kNfdEmptyFile, "");
  MakeFile(root + "/tom.txt", "");
  std::filesystem::create_directories(root + "/" + kNfdEmptyDir);
  std::filesystem::create_directories(root + "/tom mapp");
  MakeFile(root + "/mapp/vanlig.bin", std::string(300, 'v'));
}

// Archives `root`'s contents into `archive` with 7zz and `options`.
void SevenZip(const std::string& root, const std::string& archive, const std::string& options) {
  std::string out;
  ASSERT_EQ(RunShell("cd " + ShellQuote(root) + " && LC_ALL=C.UTF-8 7zz a -bso0 -bsp0 " + options + " " + ShellQuote(archive) +
                         " .",
                     &out),
            0)
      << out;
}

struct Listed {
  std::string path;
  bool directory = false;
};

// The items as `7zz l -slt` lists them, in its order.
std::vector<Listed> List(const std::string& archive) {
  std::string out;
  EXPECT_EQ(RunShell("LC_ALL=C.UTF-8 7zz l -slt -ba " + ShellQuote(archive), &out), 0) << out;
  std::vector<Listed> items;
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(at, end - at);
    if (line.rfind("Path = ", 0) == 0) items.push_back({line.substr(7)});
    if (line.rfind("Attributes = D", 0) == 0 && !items.empty()) items.back().directory = true;
    at = end + 1;
  }
  return items;
}

// The pathnames libarchive returns, in its order, converted in a UTF-8 locale as the reader
// does; nullopt-like: `ok` false when libarchive fails on the archive.
std::vector<std::string> LibarchiveNames(const std::string& bytes, bool* ok) {
  const locale_t before = uselocale(detail::Utf8NameLocale());
  std::vector<std::string> names;
  archive* a = archive_read_new();
  archive_read_support_format_7zip(a);
  *ok = archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK;
  archive_entry* e = nullptr;
  int r = ARCHIVE_OK;
  while (*ok && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
    const char* p = archive_entry_pathname(e);
    names.push_back(p ? p : "");
  }
  if (*ok) *ok = r == ARCHIVE_EOF;
  archive_read_free(a);
  uselocale(before);
  return names;
}

// Every name the result knows is the listed name, every kept name is one NFC may change, and
// every name NFC may change is kept.
void ExpectNamesMatch(const SevenZipNames& r, const std::vector<Listed>& listed) {
  ASSERT_TRUE(r.available()) << r.reason;
  ASSERT_EQ(r.files, listed.size());
  EXPECT_EQ(r.complete_below, r.files);
  for (uint64_t i = 0; i < listed.size(); ++i) {
    std::string_view stored;
    const Name kind = r.Lookup(i, &stored);
    if (NfcMayChange(listed[i].path)) {
      ASSERT_EQ(kind, Name::kStored) << i << " " << listed[i].path;
      EXPECT_EQ(stored, listed[i].path) << i;
    } else {
      EXPECT_EQ(kind, Name::kUnchanged) << i << " " << listed[i].path;
    }
  }
  EXPECT_EQ(r.Lookup(listed.size(), nullptr), Name::kUnknown);
}

size_t CountNfd(const std::vector<Listed>& listed) {
  size_t n = 0;
  for (const auto& l : listed) n += NfcOf().count(l.path);
  return n;
}

class SevenZipNamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "tree";
    MakeTree(root_);
  }
  // An archive of the tree made with `options`.
  std::string Archive(const std::string& name, const std::string& options) {
    const std::string path = dir_ / name;
    SevenZip(root_, path, options);
    return path;
  }
  TempDir dir_;
  std::string root_;
};

TEST_F(SevenZipNamesTest, NfdNamesComeBackByteExactAtTheIndex7zzListsThem) {
  const std::vector<std::pair<std::string, std::string>> variants{
      {"default.7z", ""},                          // LZMA2, solid, header packed (LZMA)
      {"plain-header.7z", "-mhc=off"},             // header as stored
      {"not-solid.7z", "-ms=off"},                 // one folder per file
      {"lzma.7z", "-m0=lzma"},                     // LZMA content
      {"lzma-plain-header.7z", "-m0=lzma -mhc=off -ms=off"},
      {"stored.7z", "-m0=copy"},
  };
  for (const auto& [name, options] : variants) {
    SCOPED_TRACE(name);
    const std::string path = Archive(name, options);
    const std::vector<Listed> listed = List(path);
    ASSERT_EQ(listed.size(), 13u);  // 9 files and 4 directories (mapp, mapp/undermapp, the two empty ones)
    ASSERT_EQ(CountNfd(listed), 4u);
    const SevenZipNames r = ReadSevenZipNames(ReadFile(path), {});
    ExpectNamesMatch(r, listed);
    EXPECT_EQ(r.names.size(), 4u) << "only the NFD names are kept";
  }
}

// libarchive returns one entry per FilesInfo item in FilesInfo's order (7zz's listing order),
// empty files and directories included; it returns the NFD names in NFC, and the other names
// as stored (directories with a '/' added).
TEST_F(SevenZipNamesTest, LibarchiveReturnsTheItemsInTheHeadersOrderAndChangesOnlyTheNfdNames) {
  for (const std::string options : {"", "-mhc=off -ms=off", "-m0=lzma"}) {
    SCOPED_TRACE(options);
    const std::string path = Archive("order.7z", options);
    const std::string bytes = ReadFile(path);
    const std::vector<Listed> listed = List(path);
    bool ok = false;
    const std::vector<std::string> got = LibarchiveNames(bytes, &ok);
    ASSERT_TRUE(ok);
    const SevenZipNames r = ReadSevenZipNames(bytes, {});
    ASSERT_TRUE(r.available()) << r.reason;
    ASSERT_EQ(got.size(), r.files);
    ASSERT_EQ(got.size(), listed.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const auto nfc = NfcOf().find(listed[i].path);
      const std::string expected = nfc == NfcOf().end() ? listed[i].path : nfc->second;
      EXPECT_EQ(got[i], expected + (listed[i].directory ? "/" : "")) << i;
      std::string_view stored;
      if (r.Lookup(i, &stored) == Name::kStored) {
        EXPECT_EQ(stored, listed[i].path) << i;
      }
    }
    std::filesystem::remove(path);
  }
}

TEST_F(SevenZipNamesTest, AFewThousandFilesInNestedDirectories) {
  const std::string root = dir_ / "many";
  for (int i = 0; i < 3000; ++i) {
    const std::string dir = root + "/d" + std::to_string(i % 17) + "/e" + std::to_string(i % 5);
    const std::string base = i % 7 == 0 ? "Lo\xcc\x88ner-" : "fil-";
    MakeFile(dir + "/" + base + std::to_string(i) + ".txt", i % 11 == 0 ? "" : std::to_string(i));
  }
  for (const std::string options : {"", "-mhc=off -ms=off"}) {
    SCOPED_TRACE(options);
    const std::string path = dir_ / "many.7z";
    std::filesystem::remove(path);
    SevenZip(root, path, options);
    const std::vector<Listed> listed = List(path);
    ASSERT_EQ(listed.size(), 3000u + 17 + 17 * 5);
    const SevenZipNames r = ReadSevenZipNames(ReadFile(path), {});
    ExpectNamesMatch(r, listed);
    EXPECT_EQ(r.names.size(), 429u);  // i % 7 == 0 for i < 3000
    bool ok = false;
    EXPECT_EQ(LibarchiveNames(ReadFile(path), &ok).size(), listed.size());
    EXPECT_TRUE(ok);
  }
}

TEST_F(SevenZipNamesTest, EveryTruncationIsNotAvailable) {
  for (const std::string options : {"", "-mhc=off"}) {
    SCOPED_TRACE(options);
    const std::string full = ReadFile(Archive("cut" + options + ".7z", options));
    ASSERT_TRUE(ReadSevenZipNames(full, {}).available());
    for (size_t n = 0; n < full.size(); ++n) {
      const SevenZipNames r = ReadSevenZipNames(std::string_view(full).substr(0, n), {});
      ASSERT_FALSE(r.available()) << n;
      EXPECT_FALSE(r.reason.empty()) << n;
      EXPECT_TRUE(r.names.empty()) << n;
      if (n >= 6) {
        EXPECT_NE(r.status, SevenZipNamesStatus::kNotSevenZip) << n;
      }
    }
  }
}

// Each byte damaged in turn: the names are either exactly the undamaged archive's or not
// available; every byte of the signature and start headers (but the minor version, which no
// CRC covers and no reader needs) and of the header gives "not available".
TEST_F(SevenZipNamesTest, AFlippedByteNeverGivesAWrongName) {
  for (const std::string options : {"", "-mhc=off", "-mhc=off -ms=off"}) {
    SCOPED_TRACE(options);
    const std::string full = ReadFile(Archive("flip" + options + ".7z", options));
    const SevenZipNames good = ReadSevenZipNames(full, {});
    ASSERT_TRUE(good.available());
    uint64_t next_header = 0;
    std::memcpy(&next_header, full.data() + 12, 8);  // little-endian host
    next_header += 32;
    size_t unavailable = 0;
    for (size_t i = 0; i < full.size(); ++i) {
      for (const int mask : {0x01, 0x80, 0xff}) {
        std::string bad = full;
        bad[i] = static_cast<char>(bad[i] ^ mask);
        const SevenZipNames r = ReadSevenZipNames(bad, {});
        if (!r.available()) {
          ++unavailable;
          continue;
        }
        ASSERT_NE(i, 6u);
        ASSERT_TRUE(i == 7 || (i >= 32 && i < next_header)) << i << " left the names available";
        ASSERT_EQ(r.files, good.files) << i;
        ASSERT_EQ(r.names.size(), good.names.size()) << i;
        for (size_t k = 0; k < r.names.size(); ++k) {
          EXPECT_EQ(r.names[k].index, good.names[k].index) << i;
          EXPECT_EQ(r.names[k].utf8, good.names[k].utf8) << i;
        }
      }
    }
    EXPECT_GE(unavailable, 3 * (full.size() - next_header + 31));
  }
}

TEST_F(SevenZipNamesTest, TheNameBudgetHolds) {
  const std::string root = dir_ / "budget";
  for (int i = 0; i < 50; ++i) MakeFile(root + "/Lo\xcc\x88ner-" + std::to_string(100 + i) + ".txt", "x");
  const std::string path = dir_ / "budget.7z";
  SevenZip(root, path, "");
  const std::vector<Listed> listed = List(path);
  ASSERT_EQ(listed.size(), 50u);
  const size_t one = sizeof(detail::SevenZipStoredName) + listed[0].path.size();  // all the same length
  SevenZipNameLimits limits;
  limits.max_name_bytes = 10 * one + one / 2;
  const SevenZipNames r = ReadSevenZipNames(ReadFile(path), limits);
  ASSERT_TRUE(r.available()) << r.reason;
  EXPECT_EQ(r.files, 50u);
  EXPECT_EQ(r.names.size(), 10u);
  EXPECT_EQ(r.complete_below, 10u);
  size_t used = 0;
  for (const auto& n : r.names) used += sizeof(n) + n.utf8.size();
  EXPECT_LE(used, limits.max_name_bytes);
  for (uint64_t i = 0; i < 50; ++i) {
    std::string_view stored;
    if (i < 10) {
      ASSERT_EQ(r.Lookup(i, &stored), Name::kStored) << i;
      EXPECT_EQ(stored, listed[i].path);
    } else {
      EXPECT_EQ(r.Lookup(i, &stored), Name::kUnknown) << i;
    }
  }
  limits.max_name_bytes = 0;
  const SevenZipNames none = ReadSevenZipNames(ReadFile(path), limits);
  EXPECT_TRUE(none.available());
  EXPECT_TRUE(none.names.empty());
  EXPECT_EQ(none.complete_below, 0u);
}

TEST_F(SevenZipNamesTest, TheFileAndHeaderLimitsMakeItNotAvailable) {
  const std::string bytes = ReadFile(Archive("limits.7z", ""));
  SevenZipNameLimits limits;
  limits.max_files = 12;
  EXPECT_EQ(ReadSevenZipNames(bytes, limits).status, SevenZipNamesStatus::kLimitExceeded);
  limits.max_files = 13;
  EXPECT_TRUE(ReadSevenZipNames(bytes, limits).available());
  limits.max_header_bytes = 100;  // the header unpacks to more
  EXPECT_EQ(ReadSevenZipNames(bytes, limits).status, SevenZipNamesStatus::kLimitExceeded);
  const std::string plain = ReadFile(Archive("limits-plain.7z", "-mhc=off"));
  EXPECT_EQ(ReadSevenZipNames(plain, limits).status, SevenZipNamesStatus::kLimitExceeded);
}

TEST_F(SevenZipNamesTest, AnEncryptedHeaderIsUnsupported) {
  const std::string bytes = ReadFile(Archive("encrypted.7z", "-mhe=on -psecret"));
  EXPECT_EQ(ReadSevenZipNames(bytes, {}).status, SevenZipNamesStatus::kUnsupported);
}

TEST(SevenZipNames, OtherBytesAreNotSevenZipAndAnArchiveWithoutFilesHasNone) {
  EXPECT_EQ(ReadSevenZipNames(std::string(64, 'x'), {}).status, SevenZipNamesStatus::kNotSevenZip);
  EXPECT_EQ(ReadSevenZipNames(std::string_view(), {}).status, SevenZipNamesStatus::kNotSevenZip);
  // The signature header of an empty archive: no next header.
  std::string empty("7z\xbc\xaf\x27\x1c\x00\x04", 8);
  std::string start(20, '\0');
  const uint32_t crc = lzma_crc32(reinterpret_cast<const uint8_t*>(start.data()), start.size(), 0);
  for (int i = 0; i < 4; ++i) empty += static_cast<char>(crc >> (8 * i));
  empty += start;
  const SevenZipNames r = ReadSevenZipNames(empty, {});
  ASSERT_TRUE(r.available()) << r.reason;
  EXPECT_EQ(r.files, 0u);
}

// libarchive's own 7z test archives (BCJ2, PPMd, zstd, ARM64 filters, damaged ones): wherever
// the scan gives names, libarchive reads the archive with one entry per file; wherever
// libarchive reads an archive (but for self-extracting ones, whose signature lies further in),
// the scan gives names.
TEST(SevenZipNames, LibarchivesOwnArchivesHaveAsManyEntriesAsFiles) {
  size_t read = 0;
  for (const auto& f : std::filesystem::directory_iterator(std::string(RP_CORPUS_DIR) + "/libarchive")) {
    const std::string name = f.path().filename().string();
    if (name.rfind("test_read_format_7zip_", 0) != 0 || f.path().extension() != ".7z") continue;
    SCOPED_TRACE(name);
    const std::string bytes = ReadFile(f.path().string());
    const SevenZipNames r = ReadSevenZipNames(bytes, {});
    bool ok = false;
    const std::vector<std::string> entries = LibarchiveNames(bytes, &ok);
    if (r.available()) {
      EXPECT_TRUE(ok);
      EXPECT_EQ(entries.size(), r.files);
      ++read;
    }
    if (ok) {
      EXPECT_TRUE(r.available()) << r.reason;
    }
  }
  EXPECT_GE(read, 50u);
}

// ---- Headers 7zz does not write, built from its unpacked header -------------------------

std::string Number(uint64_t v) {
  for (int k = 0; k < 8; ++k) {
    if (v < (1ull << (8 * k + 7 - k))) {
      const uint64_t first = ((0xFF00u >> k) & 0xFF) | (v >> (8 * k));
      std::string s(1, static_cast<char>(first));
      for (int i = 0; i < k; ++i) s += static_cast<char>(v >> (8 * i));
      return s;
    }
  }
  std::string s(1, '\xff');
  for (int i = 0; i < 8; ++i) s += static_cast<char>(v >> (8 * i));
  return s;
}

std::string Le32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>(v >> (8 * i));
  return s;
}
std::string Le64(uint64_t v) { return Le32(static_cast<uint32_t>(v)) + Le32(static_cast<uint32_t>(v >> 32)); }
uint32_t Crc(const std::string& s) { return lzma_crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0); }

// An archive of `data` (what lies between the signature header and the header) with `next`
// as its next header.
std::string Assemble(const std::string& data, const std::string& next) {
  const std::string start = Le64(data.size()) + Le64(next.size()) + Le32(Crc(next));
  return std::string("7z\xbc\xaf\x27\x1c\x00\x04", 8) + Le32(Crc(start)) + start + data + next;
}

struct Unpacked {
  std::string data;    // the packed streams
  std::string header;  // the header as stored (kHeader ...)
};

Unpacked Split(const std::string& archive) {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::memcpy(&offset, archive.data() + 12, 8);
  std::memcpy(&size, archive.data() + 20, 8);
  return {archive.substr(32, offset), archive.substr(32 + offset, size)};
}

// The header packed with `coder_id` (and its properties) and put after the data, described by
// a kEncodedHeader.
std::string WithPackedHeader(const Unpacked& u, const std::string& packed, const std::string& coder_id,
                             const std::string& props, bool with_crc = true) {
  std::string coder(1, static_cast<char>(coder_id.size() | (props.empty() ? 0 : 0x20)));
  coder += coder_id;
  if (!props.empty()) coder += Number(props.size()) + props;
  std::string next = std::string("\x17\x06", 2) + Number(u.data.size()) + Number(1) + "\x09" + Number(packed.size()) +
                     std::string("\x00\x07\x0b", 3) + Number(1) + std::string(1, '\0') + Number(1) + coder + "\x0c" +
                     Number(u.header.size());
  if (with_crc) next += "\x0a\x01" + Le32(Crc(u.header));
  next += std::string("\x00\x00", 2);
  return Assemble(u.data + packed, next);
}

std::string LzmaPack(lzma_vli id, const std::string& in, std::string* props) {
  lzma_options_lzma opt;
  lzma_lzma_preset(&opt, 6);
  opt.dict_size = 1u << 16;
  lzma_filter filters[2] = {{id, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  uint32_t props_size = 0;
  EXPECT_EQ(lzma_properties_size(&props_size, &filters[0]), LZMA_OK);
  props->assign(props_size, '\0');
  EXPECT_EQ(lzma_properties_encode(&filters[0], reinterpret_cast<uint8_t*>(props->data())), LZMA_OK);
  std::string out(in.size() + in.size() / 2 + 1024, '\0');
  size_t out_pos = 0;
  EXPECT_EQ(lzma_raw_buffer_encode(filters, nullptr, reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                   reinterpret_cast<uint8_t*>(out.data()), &out_pos, out.size()),
            LZMA_OK);
  out.resize(out_pos);
  return out;
}

TEST_F(SevenZipNamesTest, HeadersPackedWithLzma2OrStoredWithCopyAreReadToo) {
  const std::string path = Archive("base.7z", "-mhc=off");
  const std::vector<Listed> listed = List(path);
  const Unpacked u = Split(ReadFile(path));
  ASSERT_EQ(u.header[0], '\x01');
  std::string props;
  const std::string lzma2 = WithPackedHeader(u, LzmaPack(LZMA_FILTER_LZMA2, u.header, &props), "\x21", props);
  ExpectNamesMatch(ReadSevenZipNames(lzma2, {}), listed);
  // LZMA with an end marker (7zz writes none).
  const std::string lzma = WithPackedHeader(u, LzmaPack(LZMA_FILTER_LZMA1, u.header, &props), "\x03\x01\x01", props);
  ExpectNamesMatch(ReadSevenZipNames(lzma, {}), listed);
  const std::string copy = WithPackedHeader(u, u.header, std::string(1, '\0'), "");
  ExpectNamesMatch(ReadSevenZipNames(copy, {}), listed);
  // Without the decoded header's CRC (it is optional).
  ExpectNamesMatch(ReadSevenZipNames(WithPackedHeader(u, u.header, std::string(1, '\0'), "", false), {}), listed);
  // libarchive reads them alike.
  for (const std::string* a : {&lzma2, &lzma, &copy}) {
    bool ok = false;
    EXPECT_EQ(LibarchiveNames(*a, &ok).size(), listed.size());
    EXPECT_TRUE(ok);
  }
  // A coder not supported (BZip2), and one packed stream decoded to the wrong CRC.
  EXPECT_EQ(ReadSevenZipNames(WithPackedHeader(u, u.header, "\x04\x02\x02", ""), {}).status,
            SevenZipNamesStatus::kUnsupported);
  Unpacked changed = u;
  changed.header.back() = '\x01';  // the CRC covers the header as it was
  std::string bad = WithPackedHeader(u, changed.header, std::string(1, '\0'), "");
  EXPECT_EQ(ReadSevenZipNames(bad, {}).status, SevenZipNamesStatus::kChecksumMismatch);
}

// A name with a lone UTF-16 surrogate has no UTF-8 form: it is marked, not guessed.
TEST_F(SevenZipNamesTest, ALoneSurrogateMakesTheNameUnrecoverable) {
  const std::string path = Archive("surrogate.7z", "-mhc=off");
  const std::vector<Listed> listed = List(path);
  Unpacked u = Split(ReadFile(path));
  // "tom.txt" in UTF-16LE; its 'o' becomes a lone high surrogate.
  const std::string tom("t\0o\0m\0.\0t\0x\0t\0\0\0", 16);
  const size_t at = u.header.find(tom);
  ASSERT_NE(at, std::string::npos);
  u.header[at + 2] = '\x00';
  u.header[at + 3] = '\xd8';
  const SevenZipNames r = ReadSevenZipNames(Assemble(u.data, u.header), {});
  ASSERT_TRUE(r.available()) << r.reason;
  size_t tom_index = 0;
  while (listed[tom_index].path != "tom.txt") ++tom_index;
  EXPECT_EQ(r.Lookup(tom_index, nullptr), Name::kUnrecoverable);
  // A surrogate pair is a character (U+1F600).
  u.header.replace(at, 6, std::string("\x3d\xd8\x00\xdex\0", 6));
  const SevenZipNames pair = ReadSevenZipNames(Assemble(u.data, u.header), {});
  std::string_view stored;
  ASSERT_EQ(pair.Lookup(tom_index, &stored), Name::kStored);
  EXPECT_EQ(stored, "\xf0\x9f\x98\x80x.txt");
}

// 7zz's update switches write "anti" items (deletions) into a difference archive. libarchive
// 3.6.2 cannot read such an archive at all (it reads kWinAttributes' bits and "external" byte
// in the wrong order, and anti items have no attributes); the scan, which reads the header as
// libarchive does, says "not available" for it, never names for entries libarchive lacks.
TEST_F(SevenZipNamesTest, AnAntiItemArchiveIsNotReadByEither) {
  const std::string base = Archive("base.7z", "");
  std::filesystem::remove(root_ + "/tom.txt");
  std::filesystem::remove_all(root_ + "/tom mapp");
  MakeFile(root_ + "/ny.txt", "ny");
  const std::string diff = dir_ / "diff.7z";
  std::string out;
  ASSERT_EQ(RunShell("cd " + ShellQuote(root_) + " && LC_ALL=C.UTF-8 7zz u -bso0 -bsp0 " + ShellQuote(base) +
                         " -u- '-up0q3r2x2y2z0w2!" + diff + "' .",
                     &out),
            0)
      << out;
  ASSERT_EQ(RunShell("LC_ALL=C.UTF-8 7zz l -slt -ba " + ShellQuote(diff) + " | grep -c 'Anti = +'", &out), 0);
  EXPECT_EQ(out, "2\n");
  const std::string bytes = ReadFile(diff);
  bool ok = true;
  LibarchiveNames(bytes, &ok);
  EXPECT_FALSE(ok);
  EXPECT_FALSE(ReadSevenZipNames(bytes, {}).available());
}

}  // namespace
}  // namespace rp::test
