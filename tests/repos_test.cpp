// Real restic and borg repositories, created by the test with the Debian commands, listed by
// the catalog and restored through the engine (streamed as tar into the worker).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "engine_support.h"
#include "rp/catalog.h"
#include "rp/restore_point.h"

namespace rp::test {
namespace {

void MakeTree(const std::string& root, const std::string& tag) {
  std::filesystem::create_directories(root + "/docs/sub");
  for (int i = 0; i < 12; ++i) WriteFile(root + "/docs/f" + std::to_string(i) + ".txt", tag + " file " + std::to_string(i) + "\n");
  WriteFile(root + "/docs/sub/big.bin", std::string(300000, 'x') + tag);
}

TEST(Restic, SnapshotsAreListedAndRestoredThroughTheEngine) {
  TempDir dir;
  WriteFile(dir / "pw", "correct horse battery staple\n");
  const std::string repo = dir / "repo", env = "RESTIC_PASSWORD_FILE=" + dir / "pw" + " RESTIC_CACHE_DIR=" + dir / "cache";
  std::string out;
  ASSERT_EQ(RunShell(env + " restic init -q -r " + repo, &out), 0) << out;
  MakeTree(dir / "data", "one");
  const int64_t before = time(nullptr);
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " restic backup -q -r " + repo + " data", &out), 0) << out;
  MakeTree(dir / "data", "two");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " restic backup -q -r " + repo + " data", &out), 0) << out;

  CopyConfig copy;
  copy.location = "offsite";
  copy.kind = CopyKind::kRestic;
  copy.path = repo;
  copy.password_file = dir / "pw";
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_TRUE(cat.online) << cat.error;
  ASSERT_EQ(cat.points.size(), 2u);
  EXPECT_GE(cat.points[0].time, before - 5);
  EXPECT_LE(cat.points[1].time, time(nullptr) + 5);

  auto o = Options(dir, "");
  const VerifyReport r = VerifyRecoveryPoint(copy, cat.points.back(), o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 13u);
  EXPECT_EQ(r.bytes, 12u * std::string("two file 0\n").size() + 300003u + 2u /* f10, f11 are a byte longer */);

  // A wrong password: the repository is offline for the catalog, and said why.
  WriteFile(dir / "pw", "wrong\n");
  const CopyCatalog bad = DiscoverCopy(copy, TimeZone::Utc());
  EXPECT_FALSE(bad.online);
  EXPECT_NE(bad.error.find("restic snapshots"), std::string::npos) << bad.error;
}

TEST(Borg, ArchivesAreListedAndRestoredThroughTheEngine) {
  TempDir dir;
  WriteFile(dir / "pp", "borg passphrase for tests");
  const std::string repo = dir / "repo";
  const std::string env = "BORG_PASSPHRASE='borg passphrase for tests' BORG_BASE_DIR=" + dir / "borgbase";
  std::string out;
  ASSERT_EQ(RunShell(env + " borg init --encryption=repokey " + repo, &out), 0) << out;
  MakeTree(dir / "data", "one");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " borg create " + repo + "::first data", &out), 0) << out;
  MakeTree(dir / "data", "two");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " borg create " + repo + "::second data", &out), 0) << out;

  CopyConfig copy;
  copy.location = "site-b";
  copy.kind = CopyKind::kBorg;
  copy.path = repo;
  copy.passphrase_file = dir / "pp";
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_TRUE(cat.online) << cat.error;
  ASSERT_EQ(cat.points.size(), 2u);
  EXPECT_EQ(cat.points[0].id, "first");
  EXPECT_EQ(cat.points[1].id, "second");
  EXPECT_LE(std::llabs(cat.points[1].time - static_cast<int64_t>(time(nullptr))), 120) << "borg's local time read wrongly";

  const VerifyReport r = VerifyRecoveryPoint(copy, cat.points.back(), Options(dir, ""));
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 13u);

  // A point that does not exist: the stream fails, and the run with it.
  RecoveryPoint missing = cat.points.back();
  missing.id = "no-such-archive";
  const VerifyReport m = VerifyRecoveryPoint(copy, missing, Options(dir, ""));
  EXPECT_NE(m.status, RunStatus::kPassed) << Describe(m);
}

// Names outside ASCII (Swedish, decomposed Unicode as macOS writes it, Latin-1 bytes) travel
// through `restic dump` and `borg export-tar` as pax or GNU headers and are restored byte-exact:
// the manifest xxhsum wrote of the original tree matches.
void MakeNamedTree(const std::string& root) {
  for (const std::string name : {"Löner 2026.xlsx", "Ärenden/ärende 1.txt", "Lo\xcc\x88ner-nfd.txt", "L\xf6ner-latin1.txt",
                                  "文件.txt"}) {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + name).parent_path());
    WriteFile(root + "/" + name, "content of " + name + "\n");
  }
}

std::string ManifestOf(const TempDir& dir, const std::string& tree) {
  const std::string manifest = dir / "manifest.xxh128";
  EXPECT_EQ(RunShell("cd " + dir.path() + " && find " + tree + " -type f | sort | while IFS= read -r f; do "
                     "xxhsum -H2 \"$f\" 2>/dev/null; done > " + manifest),
            0);
  return manifest;
}

TEST(Restic, NamesOutsideAsciiMatchTheManifestByteForByte) {
  TempDir dir;
  WriteFile(dir / "pw", "correct horse battery staple\n");
  const std::string repo = dir / "repo", env = "RESTIC_PASSWORD_FILE=" + dir / "pw" + " RESTIC_CACHE_DIR=" + dir / "cache";
  std::string out;
  ASSERT_EQ(RunShell(env + " restic init -q -r " + repo, &out), 0) << out;
  MakeNamedTree(dir / "data");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " restic backup -q -r " + repo + " data", &out), 0) << out;
  CopyConfig copy;
  copy.location = "offsite";
  copy.kind = CopyKind::kRestic;
  copy.path = repo;
  copy.password_file = dir / "pw";
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_EQ(cat.points.size(), 1u) << cat.error;
  auto o = Options(dir, "");
  o.manifest = ManifestOf(dir, "data");
  const VerifyReport r = VerifyRecoveryPoint(copy, cat.points.back(), o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 5u);
}

TEST(Borg, NamesOutsideAsciiMatchTheManifestByteForByte) {
  TempDir dir;
  WriteFile(dir / "pp", "borg passphrase for tests");
  const std::string repo = dir / "repo";
  const std::string env = "BORG_PASSPHRASE='borg passphrase for tests' BORG_BASE_DIR=" + dir / "borgbase";
  std::string out;
  ASSERT_EQ(RunShell(env + " borg init --encryption=repokey " + repo, &out), 0) << out;
  MakeNamedTree(dir / "data");
  ASSERT_EQ(RunShell("cd " + dir.path() + " && " + env + " borg create " + repo + "::names data", &out), 0) << out;
  CopyConfig copy;
  copy.location = "site-b";
  copy.kind = CopyKind::kBorg;
  copy.path = repo;
  copy.passphrase_file = dir / "pp";
  const CopyCatalog cat = DiscoverCopy(copy, TimeZone::Utc());
  ASSERT_EQ(cat.points.size(), 1u) << cat.error;
  auto o = Options(dir, "");
  o.manifest = ManifestOf(dir, "data");
  const VerifyReport r = VerifyRecoveryPoint(copy, cat.points.back(), o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 5u);
}

}  // namespace
}  // namespace rp::test

namespace rp::test {
namespace {

// A secret file that is a FIFO nobody writes (or a mount that hangs the same way) must not hold
// the catalog for ever: it is opened without blocking, and the command that reads it runs under
// its time limit. Regular files keep working, and a borg passphrase descriptor blocks as usual.
TEST(RepoAccess, ASecretFifoNobodyWritesDoesNotHoldTheCatalog) {
  TempDir dir;
  const std::string fifo = dir / "secret";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (CopyKind kind : {CopyKind::kRestic, CopyKind::kBorg}) {
    CopyConfig copy;
    copy.kind = kind;
    copy.path = dir / "repo";
    (kind == CopyKind::kRestic ? copy.password_file : copy.passphrase_file) = fifo;
    RepoAccess access;
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(PrepareRepoAccess(copy, &access, &error)) << error;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2);
    if (kind == CopyKind::kBorg) {
      ASSERT_GE(access.secret.get(), 0);
      EXPECT_EQ(fcntl(access.secret.get(), F_GETFL) & O_NONBLOCK, 0) << "borg reads a blocking descriptor";
    }
  }
  CopyConfig missing;
  missing.kind = CopyKind::kRestic;
  missing.password_file = dir / "absent";
  RepoAccess access;
  std::string error;
  EXPECT_FALSE(PrepareRepoAccess(missing, &access, &error));
  EXPECT_NE(error.find("cannot read the secret file"), std::string::npos) << error;
}

}  // namespace
}  // namespace rp::test
