// Damaged sources: one byte XOR 0xFF in a header, in the middle and near the end; truncation
// at 1%, 50%, 99% and at an entry boundary without the end blocks; a removed entry. Every
// case must fail with the finding that names what happened, and where.
#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <map>

#include "engine_support.h"

namespace rp::test {
namespace {

struct Layout {
  // For each entry: header offset and [data_begin, data_end) in the uncompressed archive.
  struct Entry {
    std::string path;
    int64_t header = 0;
    int64_t data_begin = 0;
    int64_t data_end = 0;  // after the content's padding, where the format has any
    int64_t size = 0;
  };
  std::vector<Entry> entries;
};

// Reads where each member's header and content sit, with libarchive itself.
Layout ReadLayout(const std::string& path) {
  Layout l;
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  archive_read_support_filter_all(a);
  if (archive_read_open_filename(a, path.c_str(), 10240) != ARCHIVE_OK) return l;
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Layout::Entry le;
    le.path = archive_entry_pathname(e);
    le.header = archive_read_header_position(a);
    le.data_begin = archive_filter_bytes(a, 0);
    le.size = archive_entry_size(e);
    const void* buf;
    size_t len;
    la_int64_t off;
    while (archive_read_data_block(a, &buf, &len, &off) == ARCHIVE_OK) {
    }
    le.data_end = archive_filter_bytes(a, 0);
    l.entries.push_back(le);
  }
  archive_read_free(a);
  return l;
}

void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0xFF);
  f.seekp(offset);
  f.write(&c, 1);
}

void TruncateTo(const std::string& path, int64_t size) { std::filesystem::resize_file(path, static_cast<uintmax_t>(size)); }

int64_t SizeOf(const std::string& path) { return static_cast<int64_t>(std::filesystem::file_size(path)); }

class DamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SampleTreeOptions sto;
    sto.seed = 99;
    sto.files = 40;
    sto.large_file_bytes = 600 * 1024;
    entries_ = SampleTree(sto);
    WriteFile(dir_ / "m.xxh128", ManifestFor(entries_, HashAlgo::kXxh128));
  }

  // Builds the archive of the given kind: "tar", "tar.gz", "tar.zst" (gzip/zstd command-line
  // tools, as backup jobs use them; zstd writes its frame checksum) or "zip".
  std::string Build(const std::string& kind) {
    const std::string tar = dir_ / "a.tar";
    if (kind == "zip") {
      EXPECT_TRUE(WriteArchive(dir_ / "a.zip", {"zip", {}}, entries_).ok());
      return dir_ / "a.zip";
    }
    EXPECT_TRUE(WriteArchive(tar, {"pax", {}}, entries_).ok());
    if (kind == "tar") return tar;
    std::string out;
    const std::string tool = kind == "tar.gz" ? "gzip -n -f" : "zstd -q -f --rm";
    EXPECT_EQ(RunShell(tool + " " + tar, &out), 0) << out;
    return dir_ / ("a." + kind);
  }

  VerifyReport Verify(const std::string& archive) {
    auto o = Options(dir_, archive);
    o.manifest = dir_ / "m.xxh128";
    return RunVerifyIsolated(o);
  }

  TempDir dir_;
  std::vector<TreeEntry> entries_;
};

bool HasAny(const VerifyReport& r, std::initializer_list<FindingKind> kinds) {
  for (auto k : kinds)
    if (!PathsOf(r, k).empty()) return true;
  return false;
}

// --- plain tar: the byte positions are known exactly, so the findings are too -----------

TEST_F(DamageTest, TarHeaderByteFlipReportsCorruptHeaderAndTheEntryItHid) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  // A regular file in the middle; its ustar header is the block just before its content.
  const auto& victim = l.entries[l.entries.size() / 2];
  ASSERT_GT(victim.data_end, victim.data_begin) << victim.path;
  FlipByte(a, victim.data_begin - 512 + 20);  // inside the name field of the ustar header
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt})) << Describe(r);
  // The damaged header hides its entry: the manifest shows it missing.
  EXPECT_EQ(PathsOf(r, FindingKind::kMissing), std::vector<std::string>{victim.path}) << Describe(r);
}

TEST_F(DamageTest, TarContentByteFlipInTheMiddleIsAChecksumMismatchOfThatFile) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  const Layout::Entry* big = nullptr;
  for (const auto& e : l.entries)
    if (e.path == "data/large.bin") big = &e;
  ASSERT_NE(big, nullptr);
  FlipByte(a, (big->data_begin + big->data_end) / 2);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  // The content is hard-linked as data/large-hardlink.bin, so both names carry the damage.
  EXPECT_EQ(PathsOf(r, FindingKind::kChecksumMismatch),
            (std::vector<std::string>{"data/large-hardlink.bin", "data/large.bin"}))
      << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kCorrupt).empty()) << "plain tar has no content checksum";
}

TEST_F(DamageTest, TarByteFlipNearTheEndHitsTheLastFile) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  const Layout::Entry* last = nullptr;
  for (const auto& e : l.entries)
    if (e.size >= 10) last = &e;
  ASSERT_NE(last, nullptr);
  FlipByte(a, last->data_begin + last->size - 10);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(PathsOf(r, FindingKind::kChecksumMismatch), std::vector<std::string>{last->path}) << Describe(r);
}

TEST_F(DamageTest, TarEndOfArchiveBlockFlipIsCorrupt) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  const int64_t end_blocks = (l.entries.back().data_end + 511) / 512 * 512;
  FlipByte(a, end_blocks + 100);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt, FindingKind::kTruncated})) << Describe(r);
}

// --- compressed and zip: the compression format's own checks must fire ---------------------

class CompressedDamage : public DamageTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CompressedDamage, HeaderFlipIsCorrupt) {
  const std::string kind = GetParam();
  const std::string a = Build(kind);
  int64_t at = 0;  // the compression format's magic number
  if (kind == "zip") {
    // The signature of a local file header in the middle of the archive.
    const Layout l = ReadLayout(a);
    const std::string bytes = ReadFile(a);
    at = static_cast<int64_t>(bytes.find(std::string("PK\x03\x04", 4), static_cast<size_t>(l.entries[l.entries.size() / 2].header)));
    ASSERT_GT(at, 0);
  }
  FlipByte(a, at);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt})) << Describe(r);
}

TEST_P(CompressedDamage, MiddleFlipIsCorruptOrMismatchNeverAPass) {
  const std::string a = Build(GetParam());
  FlipByte(a, SizeOf(a) / 2);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  // gzip (CRC-32), zstd (frame checksum) and zip (per-entry CRC-32) each detect it; the
  // decoder may also fail outright mid-stream, which leaves later files missing.
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt, FindingKind::kTruncated})) << Describe(r);
}

TEST_P(CompressedDamage, FlipNearTheEndIsDetected) {
  const std::string a = Build(GetParam());
  FlipByte(a, SizeOf(a) - 10);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt, FindingKind::kTruncated})) << Describe(r);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CompressedDamage, ::testing::Values("tar.gz", "tar.zst", "zip"),
                         [](const auto& tpi) {
                           std::string n = tpi.param;
                           for (auto& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

// --- truncation ------------------------------------------------------------------------------

struct TruncCase {
  std::string kind;
  int percent;
};
void PrintTo(const TruncCase& t, std::ostream* os) { *os << t.kind << " cut at " << t.percent << "%"; }

class Truncation : public DamageTest, public ::testing::WithParamInterface<TruncCase> {};

TEST_P(Truncation, IsReportedAsTruncatedAndLaterFilesMissing) {
  const auto [kind, percent] = GetParam();
  const std::string a = Build(kind);
  TruncateTo(a, SizeOf(a) * percent / 100);
  const VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  if (kind == "zip") {
    // A zip's directory is at its end: without it libarchive cannot even list the archive.
    EXPECT_TRUE(HasAny(r, {FindingKind::kTruncated, FindingKind::kCorrupt})) << Describe(r);
  } else {
    EXPECT_FALSE(PathsOf(r, FindingKind::kTruncated).empty()) << Describe(r);
  }
  if (percent <= 50) {
    EXPECT_FALSE(PathsOf(r, FindingKind::kMissing).empty()) << Describe(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Cuts, Truncation,
                         ::testing::Values(TruncCase{"tar", 1}, TruncCase{"tar", 50}, TruncCase{"tar", 99},
                                           TruncCase{"tar.gz", 1}, TruncCase{"tar.gz", 50}, TruncCase{"tar.gz", 99},
                                           TruncCase{"tar.zst", 1}, TruncCase{"tar.zst", 50},
                                           TruncCase{"tar.zst", 99}, TruncCase{"zip", 1}, TruncCase{"zip", 50},
                                           TruncCase{"zip", 99}),
                         [](const auto& tpi) {
                           std::string n = tpi.param.kind + "_" + std::to_string(tpi.param.percent);
                           for (auto& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

TEST_F(DamageTest, TarCutAtAnEntryBoundaryWithoutEndBlocksIsTruncated) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  // Keep everything up to the padded end of the last entry: a clean-looking cut.
  TruncateTo(a, (l.entries.back().data_end + 511) / 512 * 512);
  VerifyReport r = Verify(a);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(PathsOf(r, FindingKind::kTruncated).size(), 1u) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kMissing).empty()) << "every file is there; only the end is";

  // The same cut one entry earlier also loses that entry.
  const std::string b = Build("tar");
  const auto& prev = l.entries[l.entries.size() - 2];
  const auto& lastf = l.entries.back();
  TruncateTo(b, (prev.data_end + 511) / 512 * 512);
  r = Verify(b);
  EXPECT_FALSE(PathsOf(r, FindingKind::kTruncated).empty()) << Describe(r);
  if (lastf.data_end > lastf.data_begin) {
    EXPECT_EQ(PathsOf(r, FindingKind::kMissing), std::vector<std::string>{lastf.path}) << Describe(r);
  }
}

TEST_F(DamageTest, TarGzWithoutEndBlocksIsTruncated) {
  const std::string a = Build("tar");
  const Layout l = ReadLayout(a);
  TruncateTo(a, (l.entries.back().data_end + 511) / 512 * 512);
  std::string out;
  ASSERT_EQ(RunShell("gzip -n -f " + a, &out), 0) << out;
  const VerifyReport r = Verify(a + ".gz");
  EXPECT_EQ(PathsOf(r, FindingKind::kTruncated).size(), 1u) << Describe(r);
}

TEST_F(DamageTest, RemovedEntryIsMissing) {
  auto fewer = entries_;
  std::string removed;
  for (auto it = fewer.begin(); it != fewer.end(); ++it)
    if (it->kind == TreeEntry::Kind::kFile && it->size > 0 && it->path.find("file-") != std::string::npos) {
      removed = it->path;
      fewer.erase(it);
      break;
    }
  ASSERT_FALSE(removed.empty());
  for (const std::string kind : {"tar.zst", "zip"}) {
    const std::string a = dir_ / ("fewer." + kind);
    ASSERT_TRUE(WriteArchive(a, kind == "zip" ? ArchiveSpec{"zip", {}} : ArchiveSpec{"pax", {"zstd"}}, fewer).ok());
    const VerifyReport r = Verify(a);
    EXPECT_EQ(r.status, RunStatus::kFailed);
    EXPECT_EQ(PathsOf(r, FindingKind::kMissing), std::vector<std::string>{removed}) << kind << Describe(r);
    EXPECT_EQ(r.findings.size(), 1u) << Describe(r);
  }
}

TEST_F(DamageTest, WithoutManifestCompressedDamageStillFails) {
  const std::string a = Build("tar.gz");
  FlipByte(a, SizeOf(a) / 2);
  const VerifyReport r = RunVerifyIsolated(Options(dir_, a));
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_TRUE(HasAny(r, {FindingKind::kCorrupt, FindingKind::kTruncated})) << Describe(r);
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kCorrupt) {
      EXPECT_GE(f.offset, 0) << "a corrupt source names the byte offset";
    }
}

}  // namespace
}  // namespace rp::test
