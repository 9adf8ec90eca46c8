// The engine restores every supported format and a directory tree, byte-exact, and compares
// with a manifest: clean sources pass, every difference is reported with its path.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine_support.h"
#include "rp/manifest.h"
#include "rp/sandbox.h"

namespace rp::test {
namespace {

class FormatRoundTrip : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatRoundTrip, CleanArchiveVerifiesAgainstManifest) {
  TempDir dir;
  const FormatCase& fc = GetParam();
  SampleTreeOptions sto;
  sto.seed = 42;
  // 7-Zip and ZIP as written by libarchive store names as UTF-8 only.
  sto.exotic_names = fc.spec.format != "zip" && fc.spec.format != "7zip";
  const auto entries = SampleTree(sto);
  const std::string archive = dir / ("sample" + fc.ext);
  ASSERT_TRUE(WriteArchive(archive, fc.spec, entries).ok());
  WriteFile(dir / "manifest.xxh128", ManifestFor(entries, HashAlgo::kXxh128));

  auto o = Options(dir, archive);
  o.manifest = dir / "manifest.xxh128";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_TRUE(r.findings.empty()) << Describe(r);
  size_t expected_files = 0;
  for (const auto& e : entries)
    if (e.kind == TreeEntry::Kind::kFile || e.kind == TreeEntry::Kind::kHardlink) ++expected_files;
  EXPECT_EQ(r.files, expected_files) << Describe(r);
  EXPECT_GT(r.bytes, sto.large_file_bytes);
  EXPECT_TRUE(r.sandbox_removed);
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

TEST_P(FormatRoundTrip, Sha256ManifestAndReadbackPass) {
  TempDir dir;
  const FormatCase& fc = GetParam();
  SampleTreeOptions sto;
  sto.seed = 7;
  sto.files = 20;
  sto.exotic_names = false;
  const auto entries = SampleTree(sto);
  const std::string archive = dir / ("sample" + fc.ext);
  ASSERT_TRUE(WriteArchive(archive, fc.spec, entries).ok());
  WriteFile(dir / "manifest.sha256", ManifestFor(entries, HashAlgo::kSha256));
  auto o = Options(dir, archive);
  o.manifest = dir / "manifest.sha256";
  o.readback = true;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.algo, HashAlgo::kSha256);
}

INSTANTIATE_TEST_SUITE_P(Formats, FormatRoundTrip, ::testing::ValuesIn(AllFormats()),
                         [](const auto& tpi) { return tpi.param.name; });

TEST(Engine, DirectorySnapshotVerifiesAndKeepsNamesByteExact) {
  TempDir dir;
  const auto entries = SampleTree({});
  ASSERT_TRUE(WriteTree(dir / "snapshot", entries).ok());
  WriteFile(dir / "m.xxh128", ManifestFor(entries, HashAlgo::kXxh128));
  auto o = Options(dir, dir / "snapshot");
  o.manifest = dir / "m.xxh128";
  o.keep = true;
  const VerifyReport r = RunVerify(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_FALSE(r.sandbox_removed);
  // The Latin-1 name came through as the same bytes.
  struct stat st {};
  EXPECT_EQ(lstat((r.sandbox + "/data/docs/r\xe4ksm\xf6rg\xe5s-latin1.txt").c_str(), &st), 0);
  EXPECT_EQ(lstat((r.sandbox + "/data/latest").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(RemoveTree(r.sandbox).ok());
}

// A snapshot whose files are also linked from another snapshot (as rsnapshot and
// rsync --link-dest make them): only links inside the tree become hard links, the rest are
// restored as files, and the tree verifies.
TEST(Engine, DirectorySnapshotWithFilesLinkedFromOutsideVerifies) {
  TempDir dir;
  const auto entries = SampleTree({});
  ASSERT_TRUE(WriteTree(dir / "daily.0", entries).ok());
  size_t linked_out = 0;
  for (const auto& e : entries) {
    if (e.kind != TreeEntry::Kind::kFile) continue;
    const std::string to = dir / ("daily.1/" + std::to_string(linked_out++));
    std::filesystem::create_directories(dir / "daily.1");
    ASSERT_EQ(link((dir / ("daily.0/" + e.path)).c_str(), to.c_str()), 0) << e.path;
  }
  WriteFile(dir / "m.xxh128", ManifestFor(entries, HashAlgo::kXxh128));
  auto o = Options(dir, dir / "daily.0");
  o.manifest = dir / "m.xxh128";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  size_t in_tree_links = 0;
  for (const auto& e : entries) in_tree_links += e.kind == TreeEntry::Kind::kHardlink;
  EXPECT_EQ(r.hardlinks, in_tree_links);
}

TEST(Engine, EveryMismatchMissingAndUnexpectedPathIsReported) {
  TempDir dir;
  SampleTreeOptions sto;
  sto.files = 30;
  auto entries = SampleTree(sto);
  ASSERT_TRUE(WriteArchive(dir / "a.tar.zst", {"pax", {"zstd"}}, entries).ok());
  // Manifest: two altered digests, one entry the archive lacks, one archive file dropped.
  auto parsed = ParseManifest(ManifestFor(entries, HashAlgo::kXxh128), "m");
  ASSERT_TRUE(parsed.status.ok());
  auto& me = parsed.manifest.entries;
  ASSERT_GT(me.size(), 6u);
  me[1].hex[0] = me[1].hex[0] == '0' ? '1' : '0';
  me[4].hex[31] = me[4].hex[31] == '0' ? '1' : '0';
  const std::string dropped = me[5].path;
  me.erase(me.begin() + 5);
  me.push_back({"data/not-in-archive.txt", std::string(32, 'a'), 0});
  std::string text;
  for (const auto& e : me) text += FormatManifestLine(HashAlgo::kXxh128, e.path, e.hex);
  WriteFile(dir / "m.xxh128", text);

  auto o = Options(dir, dir / "a.tar.zst");
  o.manifest = dir / "m.xxh128";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(PathsOf(r, FindingKind::kChecksumMismatch), (std::vector<std::string>{me[1].path, me[4].path}))
      << Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kMissing), std::vector<std::string>{"data/not-in-archive.txt"});
  EXPECT_EQ(PathsOf(r, FindingKind::kUnexpected), std::vector<std::string>{dropped});
  EXPECT_EQ(ExitCodeFor(r), 1);
}

TEST(Engine, TypeMismatchWhenManifestFileIsADirectoryOrSymlink) {
  TempDir dir;
  std::vector<TreeEntry> entries = {
      {TreeEntry::Kind::kDirectory, "d", 0, 0, true, "", 0755, 0},
      {TreeEntry::Kind::kSymlink, "l", 0, 0, true, "d", 0777, 0},
      {TreeEntry::Kind::kFile, "f", 10, 1, true, "", 0644, 0},
  };
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  const std::string h = ContentHashHex(entries[2], HashAlgo::kXxh128);
  WriteFile(dir / "m", FormatManifestLine(HashAlgo::kXxh128, "d", h) + FormatManifestLine(HashAlgo::kXxh128, "l", h) +
                           FormatManifestLine(HashAlgo::kXxh128, "f", h));
  auto o = Options(dir, dir / "a.tar");
  o.manifest = dir / "m";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(PathsOf(r, FindingKind::kTypeMismatch), (std::vector<std::string>{"d", "l"})) << Describe(r);
  EXPECT_EQ(r.status, RunStatus::kFailed);
}

TEST(Engine, WithoutManifestWriteManifestBecomesTheNextBaseline) {
  TempDir dir;
  const auto entries = SampleTree({});
  ASSERT_TRUE(WriteArchive(dir / "a.tar.gz", {"gnutar", {"gzip"}}, entries).ok());
  auto o = Options(dir, dir / "a.tar.gz");
  o.write_manifest = dir / "baseline.xxh128";
  const VerifyReport first = RunVerifyIsolated(o);
  ASSERT_EQ(first.status, RunStatus::kPassed) << Describe(first);
  EXPECT_EQ(ReadFile(dir / "baseline.xxh128"), ManifestFor(entries, HashAlgo::kXxh128));

  auto again = Options(dir, dir / "a.tar.gz");
  again.manifest = dir / "baseline.xxh128";
  EXPECT_EQ(RunVerifyIsolated(again).status, RunStatus::kPassed);
}

TEST(Engine, HardLinkToItselfKeepsTheFile) {
  TempDir dir;
  std::vector<TreeEntry> entries = {{TreeEntry::Kind::kFile, "a", 100, 1, true, "", 0644, 0},
                                    {TreeEntry::Kind::kHardlink, "a", 0, 0, true, "a", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  WriteFile(dir / "m", FormatManifestLine(HashAlgo::kXxh128, "a", ContentHashHex(entries[0], HashAlgo::kXxh128)));
  auto o = Options(dir, dir / "a.tar");
  o.manifest = dir / "m";
  o.readback = true;  // the file must really be on disk, not only in the records
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
}

TEST(Engine, EmptySourceFailsEvenWithoutAManifest) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "empty.tar.gz", {"pax", {"gzip"}}, {}).ok());
  std::filesystem::create_directories(dir / "empty-snapshot");
  for (const std::string src : {"empty.tar.gz", "empty-snapshot"}) {
    const VerifyReport r = RunVerifyIsolated(Options(dir, dir / src));
    EXPECT_EQ(r.status, RunStatus::kFailed) << src;
    EXPECT_EQ(KindsOf(r), std::set<FindingKind>{FindingKind::kEmptySource}) << src << Describe(r);
  }
}

TEST(Engine, FailedRunNeverReplacesTheExistingBaseline) {
  TempDir dir;
  std::vector<TreeEntry> entries = {{TreeEntry::Kind::kFile, "../escape.txt", 10, 1, true, "", 0644, 0},
                                    {TreeEntry::Kind::kFile, "ok.txt", 10, 2, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  WriteFile(dir / "baseline.xxh128", "the previous baseline\n");
  auto o = Options(dir, dir / "a.tar");
  o.write_manifest = dir / "baseline.xxh128";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_EQ(ReadFile(dir / "baseline.xxh128"), "the previous baseline\n");
  for (const auto& p : ListTree(dir.path()))
    EXPECT_EQ(p.find(".tmp-"), std::string::npos) << "temporary manifest left behind: " << p;
}

TEST(Engine, MalformedManifestAbortsAsUsageErrorWithLineNumber) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SampleTree({})).ok());
  WriteFile(dir / "m", std::string(32, 'a') + "  ok\nthis is not a manifest line\n");
  auto o = Options(dir, dir / "a.tar");
  o.manifest = dir / "m";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kAborted);
  EXPECT_EQ(ExitCodeFor(r), 2);
  EXPECT_NE(r.abort_status.message().find(":2:"), std::string::npos) << r.abort_status.message();
  EXPECT_TRUE(r.sandbox_removed);
}

// The manifest is read beside the restore, not before it: from a named pipe that gives its
// first line only, the whole archive is restored while the rest has not been written yet.
// `rest` is what the pipe then gives; the run's report is returned.
VerifyReport VerifyWhileTheManifestWaits(const TempDir& dir, const std::string& rest, bool* restored_first) {
  std::vector<TreeEntry> entries;
  for (int i = 0; i < 40; ++i) {
    TreeEntry e;
    e.path = "d/f" + std::to_string(i);
    e.size = 4096;
    e.seed = static_cast<uint64_t>(i);
    entries.push_back(e);
  }
  EXPECT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  const std::string manifest = ManifestFor(entries, HashAlgo::kXxh128);
  const std::string fifo = dir / "m";
  EXPECT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto o = Options(dir, dir / "a.tar");
  o.manifest = fifo;
  auto run = std::async(std::launch::async, [o] { return RunVerifyIsolated(o); });
  // Opened once the worker has opened it for reading (ENXIO until then), for 60 s at most,
  // so that a worker that never opens it fails the test instead of hanging it.
  signal(SIGPIPE, SIG_IGN);
  int fd = -1;
  for (int i = 0; i < 6000 && fd < 0; ++i) {
    fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(fd, 0) << "the worker never opened the manifest";
  if (fd >= 0) fcntl(fd, F_SETFL, 0);
  const size_t first = manifest.find('\n') + 1;
  EXPECT_EQ(write(fd, manifest.data(), first), static_cast<ssize_t>(first));
  // The last file of the archive appears in the sandbox, though the manifest is unfinished.
  *restored_first = false;
  for (int i = 0; i < 3000 && !*restored_first; ++i) {
    for (const auto& p : ListTree(dir / "sandboxes"))
      if (p.ends_with("/d/f39")) *restored_first = true;
    if (!*restored_first) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string tail = manifest.substr(first) + rest;
  EXPECT_EQ(write(fd, tail.data(), tail.size()), static_cast<ssize_t>(tail.size()));
  close(fd);
  return run.get();
}

// A tar from a pipe is read to the pipe's end, not only to the archive's end marker: a tar
// writer pads its last record after the marker (restic's and borg's dumps do, through the
// controller's FIFO), and a reader gone by then fails that write: borg then exits with an
// error, which the controller takes for a stream cut short. Here 1 MiB of zeros follows the
// marker, more than a pipe holds, so the writer finishes only if the worker reads them.
TEST(Engine, AnArchiveFromAPipeIsReadToThePipesEnd) {
  TempDir dir;
  std::vector<TreeEntry> entries;
  for (int i = 0; i < 5; ++i) {
    TreeEntry e;
    e.path = "d/f" + std::to_string(i);
    e.size = 1000;
    e.seed = static_cast<uint64_t>(i) + 7;
    entries.push_back(e);
  }
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  WriteFile(dir / "padded.tar", ReadFile(dir / "a.tar") + std::string(1 << 20, '\0'));
  const std::string fifo = dir / "stream.tar";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // The writer's exit status says whether all of it found a reader.
  const std::string status = dir / "writer.status";
  auto writer = std::async(std::launch::async, [&] {
    return RunShell("cat " + ShellQuote(dir / "padded.tar") + " > " + ShellQuote(fifo) + "; echo $? > " +
                    ShellQuote(status));
  });
  auto o = Options(dir, fifo);
  o.manifest = dir / "m.xxh128";
  WriteFile(*o.manifest, ManifestFor(entries, HashAlgo::kXxh128));
  const VerifyReport r = RunVerifyIsolated(o);
  writer.get();
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(ReadFile(status), "0\n") << "the writer's padding found no reader";
}

TEST(Engine, TheRestoreDoesNotWaitForTheWholeManifest) {
  TempDir dir;
  bool restored_first = false;
  const VerifyReport r = VerifyWhileTheManifestWaits(dir, "", &restored_first);
  EXPECT_TRUE(restored_first) << "nothing was restored before the manifest's last line was read";
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 40u);
}

TEST(Engine, AManifestMalformedAfterTheRestoreStillAbortsWithItsLineNumber) {
  TempDir dir;
  bool restored_first = false;
  const VerifyReport r = VerifyWhileTheManifestWaits(dir, "not a manifest line\n", &restored_first);
  EXPECT_TRUE(restored_first);
  EXPECT_EQ(r.status, RunStatus::kAborted) << Describe(r);
  EXPECT_EQ(ExitCodeFor(r), 2);
  EXPECT_NE(r.abort_status.message().find(":41:"), std::string::npos) << r.abort_status.message();
  EXPECT_TRUE(r.sandbox_removed);
}

TEST(Engine, AManifestInAnotherAlgorithmThanAskedForIsAUsageError) {
  TempDir dir;
  const auto entries = SampleTree({});
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  WriteFile(dir / "m", ManifestFor(entries, HashAlgo::kXxh128));
  auto o = Options(dir, dir / "a.tar");
  o.manifest = dir / "m";
  o.algo = HashAlgo::kSha256;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kAborted) << Describe(r);
  EXPECT_EQ(ExitCodeFor(r), 2);
  EXPECT_NE(r.abort_status.message().find("uses xxh128, not sha256"), std::string::npos) << r.abort_status.message();
  EXPECT_TRUE(r.sandbox_removed);
}

TEST(Engine, UnreadableSourceIsAnEnvironmentError) {
  TempDir dir;
  const VerifyReport r = RunVerifyIsolated(Options(dir, dir / "does-not-exist.tar"));
  EXPECT_EQ(r.status, RunStatus::kAborted);
  EXPECT_EQ(ExitCodeFor(r), 3);
  // The message names the source, not an isolation layer that could not cover it.
  EXPECT_NE(r.abort_status.message().find("does-not-exist.tar"), std::string::npos) << r.abort_status.message();
  EXPECT_EQ(r.abort_status.message().find("isolation"), std::string::npos) << r.abort_status.message();
  EXPECT_TRUE(r.sandbox_removed);
}

TEST(Engine, SandboxIsPrivateAndRemovedUnlessKept) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SampleTree({})).ok());
  auto o = Options(dir, dir / "a.tar");
  o.keep = true;
  const VerifyReport kept = RunVerifyIsolated(o);
  ASSERT_FALSE(kept.sandbox_removed);
  struct stat st {};
  ASSERT_EQ(stat(kept.sandbox.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(kept.sandbox + "/data/large.bin"));
  o.keep = false;
  const VerifyReport removed = RunVerifyIsolated(o);
  EXPECT_TRUE(removed.sandbox_removed);
  EXPECT_FALSE(std::filesystem::exists(removed.sandbox));
  EXPECT_NE(kept.sandbox, removed.sandbox);
}

TEST(Engine, SetuidBitsAreClearedAndNoted) {
  TempDir dir;
  std::vector<TreeEntry> entries = {{TreeEntry::Kind::kFile, "bin/su", 100, 3, false, "", 04755, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  auto o = Options(dir, dir / "a.tar");
  o.keep = true;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(PathsOf(r, FindingKind::kModeCleared), std::vector<std::string>{"bin/su"});
  EXPECT_EQ(r.status, RunStatus::kPassed) << "a cleared bit is a notice, not a failure";
  struct stat st {};
  ASSERT_EQ(stat((r.sandbox + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u);
  RemoveTree(r.sandbox);
}

TEST(Engine, SparseAndDuplicateEntriesHashTheFinalContent) {
  TempDir dir;
  // A later entry of the same name replaces the earlier one, as in tar.
  std::vector<TreeEntry> entries = {{TreeEntry::Kind::kFile, "f", 1000, 1, true, "", 0644, 0},
                                    {TreeEntry::Kind::kFile, "f", 500, 2, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"gnutar", {}}, entries).ok());
  WriteFile(dir / "m", FormatManifestLine(HashAlgo::kXxh128, "f", ContentHashHex(entries[1], HashAlgo::kXxh128)));
  auto o = Options(dir, dir / "a.tar");
  o.manifest = dir / "m";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
}

TEST(Engine, GnuSparseFileFromRealTarHashesLikeTheDiskFile) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunShell("cd " + dir.path() + " && mkdir s && truncate -s 10M s/holes && printf data | dd of=s/holes bs=1 seek=5000000 conv=notrunc status=none && "
                "tar --sparse -cf sparse.tar -C s holes && xxhsum -H2 s/holes | sed 's| s/| |' > m", &out), 0) << out;
  auto o = Options(dir, dir / "sparse.tar");
  o.manifest = dir / "m";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 1u);
  EXPECT_TRUE(r.findings.empty()) << Describe(r);
}

// Encrypted members never prompt (no passphrase callback exists) and are reported as such, in
// every format that has encryption. bsdtar prompts on the WinZip AES one.
TEST(Engine, EncryptedEntriesAreReportedNeverPrompted) {
  for (const std::string name :
       {"test_read_format_zip_traditional_encryption_data.zip", "test_read_format_zip_winzip_aes256_large.zip",
        "test_read_format_7zip_encryption_header.7z", "test_read_format_rar_encryption_data.rar",
        // RAR5: libarchive 3.6.2 does not say; the engine's own scan of the headers does.
        "test_read_format_rar5_encrypted.rar", "test_read_format_rar5_encrypted_filenames.rar",
        "test_read_format_rar5_solid_encrypted.rar", "test_read_format_rar5_solid_encrypted_filenames.rar"}) {
    TempDir dir;
    auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/" + name);
    o.limits.max_seconds = 20;
    const VerifyReport r = RunVerifyIsolated(o);
    EXPECT_EQ(r.status, RunStatus::kFailed) << name;
    EXPECT_FALSE(PathsOf(r, FindingKind::kEncrypted).empty()) << name << "\n" << Describe(r);
    EXPECT_TRUE(PathsOf(r, FindingKind::kLimitExceeded).empty()) << name << ": waited instead of refusing";
    if (std::string(name).find("rar5") != std::string::npos) {
      EXPECT_TRUE(PathsOf(r, FindingKind::kCorrupt).empty()) << name << ": encryption taken for damage\n" << Describe(r);
    }
  }
}

// A RAR5 archive that is not solid, cut right after an encrypted member: the cut is what is
// reported, not an encryption that keeps the rest unreadable (that is only so when solid).
// Cut there, or after any member, libarchive reports nothing at all.
TEST(Engine, ACutAfterAnEncryptedRar5MemberIsATruncationUnlessTheArchiveIsSolid) {
  TempDir dir;
  const std::string whole = ReadFile(std::string(RP_SOURCE_DIR) + "/fuzz/seeds/rar5/members-encrypted.rar");
  const size_t b_data = whole.find(std::string(20, 'b'));
  ASSERT_NE(b_data, std::string::npos);
  WriteFile(dir / "cut.rar", whole.substr(0, b_data + 20 + 3));  // and 3 bytes of the next header
  const VerifyReport r = RunVerifyIsolated(Options(dir, dir / "cut.rar"));
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kEncrypted), std::vector<std::string>{"dir/b.txt"}) << Describe(r);
  // libarchive says nothing of the cut: the engine's own scan of the headers does.
  EXPECT_EQ(PathsOf(r, FindingKind::kTruncated), std::vector<std::string>{"dir/b.txt"}) << Describe(r);
  for (const auto& f : r.findings) EXPECT_EQ(f.message.find("solid"), std::string::npos) << f.message;
  EXPECT_EQ(r.files, 1u) << Describe(r);  // a.txt
}

// In a RAR5 archive whose members are encrypted one by one, the others are restored.
TEST(Engine, Rar5MembersThatAreNotEncryptedAreRestored) {
  TempDir dir;
  auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_rar5_encrypted.rar");
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kEncrypted), (std::vector<std::string>{"b.txt", "d.txt"})) << Describe(r);
  EXPECT_EQ(r.findings.size(), 2u) << Describe(r);
  EXPECT_EQ(r.files, 2u) << Describe(r);  // a.txt and c.txt
}

// Files are created with their final mode and changed afterwards only if the umask took part
// of it away; either way every file ends with the archive's permission bits (plus owner rw).
TEST(Engine, FileModesAreRestoredWhateverTheUmask) {
  TempDir dir;
  const uint32_t modes[] = {0644, 0755, 0664, 0666, 0400, 0000, 0750, 0711, 0777, 0640};
  std::vector<TreeEntry> entries;
  for (uint32_t m : modes) {
    char name[16];
    snprintf(name, sizeof name, "m%04o", m);
    entries.push_back({TreeEntry::Kind::kFile, name, 10, m, false, "", m, 0});
  }
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  for (mode_t mask : {mode_t{022}, mode_t{077}, mode_t{0}}) {
    const mode_t before = umask(mask);
    auto o = Options(dir, dir / "a.tar");
    o.keep = true;
    const VerifyReport r = RunVerifyIsolated(o);
    umask(before);
    ASSERT_EQ(r.status, RunStatus::kPassed) << "umask " << mask;
    for (uint32_t m : modes) {
      char name[16];
      snprintf(name, sizeof name, "/m%04o", m);
      struct stat st {};
      ASSERT_EQ(lstat((r.sandbox + name).c_str(), &st), 0) << name;
      EXPECT_EQ(st.st_mode & 07777, (m & 0777) | 0600) << name << " with umask " << std::oct << mask;
    }
    RemoveTree(r.sandbox);
  }
}

}  // namespace
}  // namespace rp::test
