// Content checks run on the restored tree inside the worker's sandbox: each one's outcome is
// a finding named after it, and a failed check fails the run.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>

#include "engine_support.h"

namespace rp::test {
namespace {

using K = TreeEntry::Kind;

const Finding* Named(const VerifyReport& r, const std::string& name) {
  for (const auto& f : r.findings)
    if ((f.kind == FindingKind::kCheckPassed || f.kind == FindingKind::kCheckFailed) && f.path == name) return &f;
  return nullptr;
}

ContentCheck Check(CheckKind kind, const std::string& name) {
  ContentCheck c;
  c.kind = kind;
  c.name = name;
  return c;
}

TEST(Glob, ComponentsAndDoubleStar) {
  EXPECT_TRUE(GlobMatch("**/*.db", "a.db"));
  EXPECT_TRUE(GlobMatch("**/*.db", "x/y/a.db"));
  EXPECT_FALSE(GlobMatch("*.db", "x/a.db"));
  EXPECT_TRUE(GlobMatch("etc/*", "etc/passwd"));
  EXPECT_FALSE(GlobMatch("etc/*", "etc/ssh/config"));
  EXPECT_TRUE(GlobMatch("data/**", "data/a/b/c"));
  EXPECT_TRUE(GlobMatch("d?ta/[ab].txt", "data/b.txt"));
  EXPECT_FALSE(GlobMatch("d?ta/[ab].txt", "data/c.txt"));
  EXPECT_FALSE(GlobMatch("*", ".hidden"));  // a leading dot must be matched explicitly
}

TEST(Checks, CountsAndRequiredPathsPassAndFail) {
  TempDir dir;
  SampleTreeOptions sto;
  sto.files = 20;
  const auto entries = SampleTree(sto);
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  auto o = Options(dir, dir / "a.tar");
  auto min_files_ok = Check(CheckKind::kMinFiles, "enough-files");
  min_files_ok.count = 10;
  auto min_files_bad = Check(CheckKind::kMinFiles, "too-few-files");
  min_files_bad.count = 10000;
  auto min_bytes = Check(CheckKind::kMinBytes, "bytes");
  min_bytes.bytes = 1u << 20;
  auto paths_ok = Check(CheckKind::kRequiredPaths, "layout");
  paths_ok.globs = {"data/**/*.dat", "deep/**/bottom.txt", "data/large.bin"};
  auto paths_bad = Check(CheckKind::kRequiredPaths, "missing-layout");
  paths_bad.globs = {"data/**/*.dat", "srv/**"};
  o.checks = {min_files_ok, min_files_bad, min_bytes, paths_ok, paths_bad};
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  ASSERT_NE(Named(r, "enough-files"), nullptr) << Describe(r);
  EXPECT_EQ(Named(r, "enough-files")->kind, FindingKind::kCheckPassed);
  EXPECT_EQ(Named(r, "too-few-files")->kind, FindingKind::kCheckFailed);
  EXPECT_EQ(Named(r, "bytes")->kind, FindingKind::kCheckPassed);
  EXPECT_EQ(Named(r, "layout")->kind, FindingKind::kCheckPassed) << Named(r, "layout")->message;
  EXPECT_EQ(Named(r, "missing-layout")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(r, "missing-layout")->message.find("srv/**"), std::string::npos);
  EXPECT_EQ(ExitCodeFor(r), 1);
}

void MakeDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql = "PRAGMA page_size=4096; CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, note TEXT);"
                    "CREATE INDEX person_name ON person(name); BEGIN;";
  for (int i = 0; i < 3000; ++i)
    sql += "INSERT INTO person(name, note) VALUES('name-" + std::to_string(i * 7919 % 3001) + "', '" +
           std::string(static_cast<size_t>(20 + i % 50), 'x') + "');";
  sql += "COMMIT;";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(Checks, SqliteIntegrityCatchesADamagedDatabase) {
  TempDir dir;
  const std::string snap = dir / "snap";
  std::filesystem::create_directories(snap + "/db");
  MakeDatabase(snap + "/db/app.db");
  WriteFile(snap + "/readme.txt", "not a database\n");
  auto o = Options(dir, snap);
  auto c = Check(CheckKind::kSqliteIntegrity, "databases");
  c.globs = {"**/*.db"};
  o.checks = {c};
  const VerifyReport good = RunVerifyIsolated(o);
  EXPECT_EQ(good.status, RunStatus::kPassed) << Describe(good);
  ASSERT_NE(Named(good, "databases"), nullptr);
  EXPECT_NE(Named(good, "databases")->message.find("1 database(s) pass"), std::string::npos);

  // Damage an index page in the middle of the file, as a failing disk would.
  const auto size = std::filesystem::file_size(snap + "/db/app.db");
  ASSERT_GT(size, 20u * 4096);
  {
    std::fstream f(snap + "/db/app.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((size / 4096 - 3) * 4096 + 100));
    const std::string junk(2000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const VerifyReport bad = RunVerifyIsolated(o);
  EXPECT_EQ(bad.status, RunStatus::kFailed) << Describe(bad);
  ASSERT_NE(Named(bad, "databases"), nullptr) << Describe(bad);
  EXPECT_EQ(Named(bad, "databases")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(bad, "databases")->message.find("db/app.db"), std::string::npos) << Named(bad, "databases")->message;
  EXPECT_NE(Named(bad, "databases")->message.find("integrity check failed"), std::string::npos);

  // Every glob counts, not only the first.
  auto two = Check(CheckKind::kSqliteIntegrity, "two-globs");
  two.globs = {"**/*.sqlite", "**/*.db"};
  o.checks = {two};
  const VerifyReport second = RunVerifyIsolated(o);
  ASSERT_NE(Named(second, "two-globs"), nullptr) << Describe(second);
  EXPECT_EQ(Named(second, "two-globs")->kind, FindingKind::kCheckFailed) << Named(second, "two-globs")->message;

  auto none = Check(CheckKind::kSqliteIntegrity, "no-match");
  none.globs = {"**/*.sqlite"};
  o.checks = {none};
  EXPECT_EQ(Named(RunVerifyIsolated(o), "no-match")->kind, FindingKind::kCheckFailed);
}

TEST(Checks, SqliteFileNamesAreNotReadAsUris) {
  TempDir dir;
  const std::string snap = dir / "snap";
  std::filesystem::create_directories(snap);
  MakeDatabase(snap + "/a#b.db");  // as a URI, "file:a#b.db" would open "a"
  {
    std::fstream f(snap + "/a#b.db", std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(snap + "/a#b.db");
    f.seekp(static_cast<std::streamoff>((size / 4096 - 3) * 4096 + 100));
    const std::string junk(2000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto o = Options(dir, snap);
  auto c = Check(CheckKind::kSqliteIntegrity, "databases");
  c.globs = {"*.db"};
  o.checks = {c};
  const VerifyReport r = RunVerifyIsolated(o);
  ASSERT_NE(Named(r, "databases"), nullptr) << Describe(r);
  EXPECT_EQ(Named(r, "databases")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(r, "databases")->message.find("integrity check failed"), std::string::npos) << Named(r, "databases")->message;
}

TEST(Checks, ABaselineOfAnotherAlgorithmIsNotComparedSilently) {
  TempDir dir;
  const std::string snap = dir / "snap";
  std::filesystem::create_directories(snap);
  WriteFile(snap + "/f.txt", "content\n");
  auto first = Options(dir, snap);
  first.write_inventory = dir / "inventory";
  ASSERT_EQ(RunVerifyIsolated(first).status, RunStatus::kPassed);
  EXPECT_EQ(ReadFile(dir / "inventory").rfind("# restoreproof inventory xxh128", 0), 0u);
  auto second = Options(dir, snap);
  second.algo = HashAlgo::kSha256;
  auto c = Check(CheckKind::kUnchangedSinceBaseline, "rot");
  c.baseline = dir / "inventory";
  second.checks = {c};
  const VerifyReport r = RunVerifyIsolated(second);
  ASSERT_NE(Named(r, "rot"), nullptr) << Describe(r);
  EXPECT_EQ(Named(r, "rot")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(r, "rot")->message.find("holds xxh128 digests, this run computes sha256"), std::string::npos)
      << Named(r, "rot")->message;
}

TEST(Checks, UnchangedSinceBaselineCatchesSilentCorruption) {
  TempDir dir;
  const std::string snap = dir / "snap";
  std::filesystem::create_directories(snap + "/docs");
  for (int i = 0; i < 20; ++i) WriteFile(snap + "/docs/f" + std::to_string(i) + ".txt", "content " + std::to_string(i) + "\n");
  auto first = Options(dir, snap);
  first.write_inventory = dir / "inventory";
  ASSERT_EQ(RunVerifyIsolated(first).status, RunStatus::kPassed);
  ASSERT_TRUE(std::filesystem::exists(dir / "inventory"));

  // f3: same size and mtime, other bytes (bit rot). f4: really edited (new mtime).
  struct stat st {};
  stat((snap + "/docs/f3.txt").c_str(), &st);
  WriteFile(snap + "/docs/f3.txt", "content X\n");
  const utimbuf keep{st.st_atime, st.st_mtime};
  utime((snap + "/docs/f3.txt").c_str(), &keep);
  // utime keeps whole seconds: restore the nanoseconds too.
  const timespec ts[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, (snap + "/docs/f3.txt").c_str(), ts, 0);
  WriteFile(snap + "/docs/f4.txt", "edited 4\n");

  auto second = Options(dir, snap);
  auto c = Check(CheckKind::kUnchangedSinceBaseline, "bit-rot");
  c.baseline = dir / "inventory";
  second.checks = {c};
  const VerifyReport r = RunVerifyIsolated(second);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  const Finding* f = Named(r, "bit-rot");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(f->kind, FindingKind::kCheckFailed);
  EXPECT_NE(f->message.find("docs/f3.txt"), std::string::npos) << f->message;
  EXPECT_EQ(f->message.find("docs/f4.txt"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("1 file(s)"), std::string::npos) << f->message;
}

TEST(Checks, CommandRunsInTheRestoredTreeAndItsOutputIsRecorded) {
  TempDir dir;
  std::vector<TreeEntry> e = {{K::kDirectory, "etc", 0, 0, true, "", 0755, 0},
                              {K::kFile, "etc/app.conf", 100, 1, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, e).ok());
  auto o = Options(dir, dir / "a.tar");
  auto ok = Check(CheckKind::kCommand, "config-present");
  ok.argv = {"/bin/sh", "-c", "test -s etc/app.conf && echo found config"};
  auto fails = Check(CheckKind::kCommand, "config-parses");
  fails.argv = {"/bin/sh", "-c", "echo line1; echo cannot parse etc/app.conf >&2; exit 7"};
  auto slow = Check(CheckKind::kCommand, "slow");
  slow.argv = {"/bin/sleep", "30"};
  slow.timeout_s = 1;
  o.checks = {ok, fails, slow};
  const VerifyReport r = RunVerifyIsolated(o);
  ASSERT_NE(Named(r, "config-present"), nullptr) << Describe(r);
  EXPECT_EQ(Named(r, "config-present")->kind, FindingKind::kCheckPassed);
  EXPECT_NE(Named(r, "config-present")->message.find("found config"), std::string::npos);
  EXPECT_EQ(Named(r, "config-parses")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(r, "config-parses")->message.find("exit code 7"), std::string::npos);
  EXPECT_NE(Named(r, "config-parses")->message.find("cannot parse etc/app.conf"), std::string::npos);
  EXPECT_EQ(Named(r, "slow")->kind, FindingKind::kCheckFailed);
  EXPECT_NE(Named(r, "slow")->message.find("timed out"), std::string::npos);
}

TEST(Checks, ChecksFileIsParsedWithClearErrors) {
  TempDir dir;
  WriteFile(dir / "good.json", R"([{"kind":"min-files","count":3},{"kind":"command","argv":["/bin/true"]}])");
  std::vector<ContentCheck> checks;
  ASSERT_TRUE(LoadChecksFile(dir / "good.json", &checks).ok());
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].count, 3u);
  EXPECT_EQ(checks[1].argv, std::vector<std::string>{"/bin/true"});
  WriteFile(dir / "bad.json", R"([{"kind":"virus-scan"}])");
  const Status s = LoadChecksFile(dir / "bad.json", &checks);
  EXPECT_EQ(s.code(), Status::Code::kUsage);
  EXPECT_NE(s.message().find("virus-scan"), std::string::npos) << s.message();
  WriteFile(dir / "notjson.json", "{");
  EXPECT_EQ(LoadChecksFile(dir / "notjson.json", &checks).code(), Status::Code::kUsage);
}

}  // namespace
}  // namespace rp::test
