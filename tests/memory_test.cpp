// What verify remembers per entry is spilled to disk beyond a budget: the verdict is the same
// whatever the budget, and peak memory does not grow with the number of entries.
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>

#include "engine_support.h"
#include "rp/manifest.h"
#include "rp/manifest_create.h"

namespace rp::test {
namespace {

using FindingKey = std::tuple<std::string, std::string, std::string>;

std::vector<FindingKey> Keys(const VerifyReport& r) {
  std::vector<FindingKey> out;
  for (const auto& f : r.findings) out.emplace_back(std::string(FindingKindName(f.kind)), f.path, f.message);
  std::sort(out.begin(), out.end());
  return out;
}

// Many entries of every kind, with a later duplicate of some paths and hard links.
std::vector<TreeEntry> ManyEntries(int files) {
  SampleTreeOptions sto;
  sto.seed = 11;
  sto.files = files;
  sto.large_file_bytes = 300000;
  auto entries = SampleTree(sto);
  for (int i = 0; i < files; i += 97)
    entries.push_back({TreeEntry::Kind::kHardlink, "data/hl-" + std::to_string(i), 0, 0, true,
                       entries[static_cast<size_t>(i) + 20].path, 0644, 0});
  for (int i = 3; i < files; i += 151) {
    TreeEntry again = entries[static_cast<size_t>(i) + 20];
    again.seed += 1;  // the archive's later copy of the path wins
    entries.push_back(again);
  }
  entries.push_back({TreeEntry::Kind::kSymlink, "data/db/sym", 0, 0, true, "../docs", 0777, 0});
  return entries;
}

TEST(Spill, SmallBudgetGivesTheSameFindingsAsInMemory) {
  TempDir dir;
  auto entries = ManyEntries(1500);
  ASSERT_TRUE(WriteArchive(dir / "a.tar.zst", {"pax", {"zstd"}}, entries).ok());
  auto parsed = ParseManifest(ManifestFor(entries, HashAlgo::kXxh128), "m");
  ASSERT_TRUE(parsed.status.ok());
  auto& me = parsed.manifest.entries;
  for (size_t i = 0; i < me.size(); i += 50) me[i].hex[3] = me[i].hex[3] == '0' ? '1' : '0';
  me.erase(me.begin() + 7);
  me.push_back({"data/not-there", std::string(32, 'b'), 0});
  me.push_back({"data/db/sym", std::string(32, 'c'), 0});      // a symlink in the source
  me.push_back({me[10].path, me[10].hex, 0});                  // listed twice
  std::string text;
  for (const auto& e : me) text += FormatManifestLine(HashAlgo::kXxh128, e.path, e.hex);
  WriteFile(dir / "m.xxh128", text);

  auto o = Options(dir, dir / "a.tar.zst");
  o.manifest = dir / "m.xxh128";
  o.readback = true;
  const VerifyReport in_memory = RunVerifyIsolated(o);
  o.row_budget = 4096;  // a few dozen rows per run: hundreds of spilled runs
  const VerifyReport spilled = RunVerifyIsolated(o);
  EXPECT_EQ(in_memory.status, RunStatus::kFailed) << Describe(in_memory);
  EXPECT_EQ(Keys(spilled), Keys(in_memory)) << Describe(spilled);
  EXPECT_GE(PathsOf(in_memory, FindingKind::kChecksumMismatch).size(), me.size() / 50);
  EXPECT_EQ(PathsOf(in_memory, FindingKind::kMissing), std::vector<std::string>{"data/not-there"});
  EXPECT_EQ(PathsOf(in_memory, FindingKind::kUnexpected).size(), 1u);
  EXPECT_EQ(PathsOf(in_memory, FindingKind::kTypeMismatch), std::vector<std::string>{"data/db/sym"});
  EXPECT_TRUE(spilled.sandbox_removed);
}

TEST(Spill, SmallBudgetWritesTheSameBaselineAndPassesIt) {
  TempDir dir;
  const auto entries = ManyEntries(800);
  ASSERT_TRUE(WriteArchive(dir / "a.cpio", {"newc", {}}, entries).ok());
  auto o = Options(dir, dir / "a.cpio");
  o.row_budget = 4096;
  o.write_manifest = dir / "baseline";
  const VerifyReport r = RunVerifyIsolated(o);
  ASSERT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(ReadFile(dir / "baseline"), ManifestFor(entries, HashAlgo::kXxh128));
  auto again = Options(dir, dir / "a.cpio");
  again.manifest = dir / "baseline";
  again.row_budget = 4096;
  EXPECT_EQ(RunVerifyIsolated(again).status, RunStatus::kPassed);
}

// `manifest create DIR` keeps the same rows: spilled or not, the manifest is the same, hard
// links included.
TEST(Spill, ManifestCreateOfADirectoryIsTheSameWithASmallBudget) {
  TempDir dir;
  SampleTreeOptions sto;
  sto.seed = 12;
  sto.files = 1200;
  sto.large_file_bytes = 200000;
  auto entries = SampleTree(sto);
  for (int i = 0; i < sto.files; i += 89)
    entries.push_back({TreeEntry::Kind::kHardlink, "data/hl-" + std::to_string(i), 0, 0, true,
                       entries[static_cast<size_t>(i) + 20].path, 0644, 0});
  ASSERT_TRUE(WriteTree(dir / "tree", entries).ok());
  const std::string expected = ManifestFor(entries, HashAlgo::kXxh128);
  for (const size_t budget : {size_t{8} << 20, size_t{4096}}) {
    const int spill = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const std::string out = dir / ("m-" + std::to_string(budget));
    const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ManifestCreateOptions co;
    co.dir = dir / "tree";
    co.out_fd = fd;
    co.spill_dir_fd = spill;
    co.row_budget = budget;
    const ManifestCreateResult r = CreateManifest(co);
    close(fd);
    close(spill);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_TRUE(r.findings.empty());
    EXPECT_EQ(ReadFile(out), expected) << "row budget " << budget;
  }
}

// /dev/shm when it is writable and has room for `bytes` and `inodes` (the point of these tests
// is memory, not disk speed), else a directory on disk.
std::string RoomyTmpfsOr(const std::string& fallback, uint64_t bytes, uint64_t inodes) {
  struct statvfs sv {};
  if (access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &sv) == 0 &&
      static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize >= bytes && sv.f_favail >= inodes)
    return "/dev/shm";
  return fallback;
}

// Peak RSS of a command and everything it waits for, in KiB, as /usr/bin/time measures it.
// Not from this process's own wait4: a forked child starts with this process's resident
// pages, and Linux keeps that figure in its peak across exec.
long PeakRssKiB(const std::vector<std::string>& args, const std::string& output) {
  const std::string rss_file = output + ".rss";
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> full = {"/usr/bin/time", "-f", "%M", "-o", rss_file};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return std::atol(ReadFile(rss_file).c_str());
}

TEST(Memory, PeakRssDoesNotGrowWithTheNumberOfEntries) {
  TempDir dir;
  if (access("/usr/bin/time", X_OK) != 0) GTEST_SKIP() << "/usr/bin/time (Debian package time) is not installed";
  const std::string sandboxes = RoomyTmpfsOr(dir.path(), 2ull << 30, 600000);
  long rss[2] = {0, 0};
  const int counts[2] = {100000, 250000};
  for (int k = 0; k < 2; ++k) {
    const std::string base = dir / ("n" + std::to_string(counts[k]));
    {
      std::vector<TreeEntry> entries;
      for (int i = 0; i < counts[k]; ++i)
        entries.push_back({TreeEntry::Kind::kFile, "d" + std::to_string(i % 300) + "/file-" + std::to_string(i),
                           static_cast<uint64_t>(i % 200), static_cast<uint64_t>(i), true, "", 0644, 0});
      ASSERT_TRUE(WriteArchive(base + ".tar.zst", {"pax", {"zstd"}}, entries).ok());
      WriteFile(base + ".xxh128", ManifestFor(entries, HashAlgo::kXxh128));
    }
    malloc_trim(0);
    rss[k] = PeakRssKiB({RP_BINARY, "verify", base + ".tar.zst", "--manifest", base + ".xxh128", "--sandbox",
                         sandboxes},
                        base + ".out");
    ASSERT_GT(rss[k], 0) << "verify of " << counts[k] << " entries did not pass:\n" << ReadFile(base + ".out");
  }
  // Both counts are past the row budget (8 MiB for the restored entries, as much for the
  // manifest). Before rows were spilled, memory grew by ~0.45 KiB per entry: ~64 MiB more
  // for the second count than the first.
  EXPECT_LT(rss[1], 64 * 1024) << "peak RSS " << rss[1] << " KiB for " << counts[1] << " entries";
  EXPECT_LT(rss[1] - rss[0], 6 * 1024) << "peak RSS " << rss[0] << " KiB for " << counts[0] << " entries, "
                                        << rss[1] << " KiB for " << counts[1];
  std::printf("peak RSS: %ld KiB for %d entries, %ld KiB for %d entries\n", rss[0], counts[0], rss[1], counts[1]);
}

// `manifest create DIR` hashes in place and writes sorted lines without holding them: its peak
// memory does not grow with the number of files either.
TEST(Memory, ManifestCreateOfADirectoryDoesNotGrowWithTheNumberOfFiles) {
  TempDir dir;
  if (access("/usr/bin/time", X_OK) != 0) GTEST_SKIP() << "/usr/bin/time (Debian package time) is not installed";
  // Each non-empty file takes a 4 KiB page on tmpfs: about 1 GiB for the larger tree.
  std::string base_dir = RoomyTmpfsOr(dir.path(), 2ull << 30, 600000) + "/rp-memtest-XXXXXX";
  ASSERT_NE(mkdtemp(base_dir.data()), nullptr);
  struct Cleanup {
    std::string d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{base_dir};
  long rss[2] = {0, 0};
  const int counts[2] = {100000, 250000};  // both past the 8 MiB row budget
  for (int k = 0; k < 2; ++k) {
    const std::string root = base_dir + "/n" + std::to_string(counts[k]);
    std::vector<TreeEntry> entries;
    for (int i = 0; i < counts[k]; ++i)
      entries.push_back({TreeEntry::Kind::kFile, "d" + std::to_string(i % 300) + "/file-" + std::to_string(i),
                         static_cast<uint64_t>(i % 64), static_cast<uint64_t>(i), true, "", 0644, 0});
    ASSERT_TRUE(WriteTree(root, entries).ok());
    const std::string out = dir / ("m" + std::to_string(k));
    malloc_trim(0);
    rss[k] = PeakRssKiB({RP_BINARY, "manifest", "create", root, "-o", out}, out + ".log");
    ASSERT_GT(rss[k], 0) << ReadFile(out + ".log");
    EXPECT_EQ(ReadFile(out), ManifestFor(entries, HashAlgo::kXxh128));
    std::filesystem::remove_all(root);
  }
  // Before the rows were sorted with a budget, the map of rows and the manifest text grew by
  // ~0.2 KiB per file: ~40 MiB more for the second count than the first.
  EXPECT_LT(rss[1], 64 * 1024);
  EXPECT_LT(rss[1] - rss[0], 6 * 1024) << "peak RSS " << rss[0] << " KiB for " << counts[0] << " files, " << rss[1]
                                        << " KiB for " << counts[1];
  std::printf("manifest create peak RSS: %ld KiB for %d files, %ld KiB for %d files\n", rss[0], counts[0], rss[1],
              counts[1]);
}

}  // namespace
}  // namespace rp::test
