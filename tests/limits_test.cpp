// Safety limits: each one stops the run with a limit-exceeded finding, removes the sandbox
// (even when --keep was asked) and keeps the disk from filling.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "engine_support.h"
#include "rp/posix_io.h"

namespace rp::test {
namespace {

using K = TreeEntry::Kind;

void ExpectStoppedByLimit(const VerifyReport& r) {
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_FALSE(PathsOf(r, FindingKind::kLimitExceeded).empty()) << Describe(r);
  EXPECT_TRUE(r.sandbox_removed) << "a limit hit always removes the sandbox";
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

TEST(Limits, TotalBytes) {
  TempDir dir;
  std::vector<TreeEntry> e;
  for (int i = 0; i < 4; ++i) e.push_back({K::kFile, "f" + std::to_string(i), 2 << 20, static_cast<uint64_t>(i), false, "", 0644, 0});
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, e).ok());
  auto o = Options(dir, dir / "a.tar");
  o.keep = true;
  o.limits.max_total_bytes = 3 << 20;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_LE(r.bytes, (3u << 20) + (1u << 20)) << "stopped within a chunk of the limit";
}

TEST(Limits, Entries) {
  TempDir dir;
  std::vector<TreeEntry> e;
  for (int i = 0; i < 500; ++i) e.push_back({K::kFile, "f" + std::to_string(i), 0, 0, true, "", 0644, 0});
  ASSERT_TRUE(WriteArchive(dir / "a.tar.gz", {"pax", {"gzip"}}, e).ok());
  auto o = Options(dir, dir / "a.tar.gz");
  o.limits.max_entries = 100;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_LE(r.files, 100u);
}

TEST(Limits, SingleFileSize) {
  TempDir dir;
  std::vector<TreeEntry> e = {{K::kFile, "small", 1000, 1, true, "", 0644, 0},
                              {K::kFile, "huge", 5 << 20, 2, false, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.zip", {"zip", {}}, e).ok());
  auto o = Options(dir, dir / "a.zip");
  o.limits.max_file_bytes = 1 << 20;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kLimitExceeded), std::vector<std::string>{"huge"});
  EXPECT_LT(r.bytes, 1u << 20);
}

TEST(Limits, PathDepth) {
  TempDir dir;
  std::string deep = "d";
  for (int i = 0; i < 40; ++i) deep += "/d";
  std::vector<TreeEntry> e = {{K::kFile, deep + "/f", 10, 1, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, e).ok());
  auto o = Options(dir, dir / "a.tar");
  o.limits.max_depth = 20;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_EQ(r.files, 0u);
}

class ZstdBomb : public ::testing::Test {
 protected:
  // 1 GiB of zeros as one tar member, zstd-compressed to a few tens of KB.
  void SetUp() override {
    std::string out;
    ASSERT_EQ(RunShell("cd " + dir_.path() + " && head -c 1G /dev/zero | (mkdir -p in && cat > in/zeros) && "
                  "bsdtar --format ustar -cf - -C in zeros | zstd -q -o bomb.tar.zst && rm -rf in", &out), 0) << out;
    ASSERT_LT(std::filesystem::file_size(dir_ / "bomb.tar.zst"), 100u * 1024);
  }
  TempDir dir_;
};

TEST_F(ZstdBomb, StopsAtTheCompressionRatioLimitWithDefaults) {
  auto o = Options(dir_, dir_ / "bomb.tar.zst");
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  // The default ratio limit applies past the first 64 MiB: the disk sees about that much.
  EXPECT_LT(r.bytes, 80u << 20) << Describe(r);
}

TEST_F(ZstdBomb, StopsAtTheTotalBytesLimitWhenTheRatioIsAllowed) {
  auto o = Options(dir_, dir_ / "bomb.tar.zst");
  o.limits.max_ratio = 1e9;
  o.limits.max_total_bytes = 16 << 20;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_LT(r.bytes, 17u << 20);
}

TEST(Limits, WallTimeKillsARestoreThatHangs) {
  TempDir dir;
  // Opening a FIFO for reading blocks until a writer appears: a source that never answers.
  ASSERT_EQ(mkfifo((dir / "stuck.tar").c_str(), 0600), 0);
  auto o = Options(dir, dir / "stuck.tar");
  o.limits.max_seconds = 0.5;
  o.keep = true;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  EXPECT_LT(r.duration_s, 10.0);
}

// The stall watchdog: a worker whose source makes no progress is stopped long before the wall
// time, and a slow source that keeps moving is left alone.
void ExpectStalled(const VerifyReport& r, uint64_t source_offset) {
  ExpectStoppedByLimit(r);
  bool found = false;
  for (const auto& f : r.findings) {
    if (f.kind != FindingKind::kLimitExceeded) continue;
    found = true;
    EXPECT_EQ(f.limit, LimitKind::kStall) << f.message;
    EXPECT_EQ(f.offset, static_cast<int64_t>(source_offset)) << f.message;
  }
  EXPECT_TRUE(found) << Describe(r);
  EXPECT_LT(r.duration_s, 20.0) << "stopped by the stall limit, not the wall time";
}

// Writes `data` into the FIFO from a thread, as a backup tool's pipe would. Joining never
// hangs: a worker that died before opening its end lets the open through, and a reader that
// went away ends the writes (EPIPE; SIGPIPE is ignored in this process).
class FifoFeeder {
 public:
  FifoFeeder(std::string fifo, std::string data, int pieces = 1, int pause_ms = 0)
      : fifo_(std::move(fifo)), thread_([this, data = std::move(data), pieces, pause_ms] {
          const int fd = open(fifo_.c_str(), O_WRONLY | O_CLOEXEC);
          if (fd < 0) return;
          const size_t piece = data.size() / static_cast<size_t>(pieces) + 1;
          int err = 0;
          for (size_t at = 0; at < data.size(); at += piece) {
            if (!WriteAll(fd, data.data() + at, std::min(piece, data.size() - at), &err)) break;
            if (pause_ms) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
          }
          close(fd);
        }) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  ~FifoFeeder() {
    const int unblock = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    thread_.join();
    if (unblock >= 0) close(unblock);
  }

 private:
  std::string fifo_;
  std::thread thread_;
};

// A named pipe held open for writing and never written: the worker's open succeeds, its read
// waits forever, like a read from a dead NFS server.
bool MakeStuckFifo(const std::string& path, UniqueFd* writer) {
  if (mkfifo(path.c_str(), 0600) != 0) return false;
  writer->Reset(open(path.c_str(), O_RDWR | O_CLOEXEC));
  return static_cast<bool>(*writer);
}

TEST(Limits, StallStopsASourceThatNeverDelivers) {
  TempDir dir;
  const std::string fifo = dir / "stuck.tar";
  UniqueFd writer;
  ASSERT_TRUE(MakeStuckFifo(fifo, &writer));
  auto o = Options(dir, fifo);
  o.limits.max_stall_seconds = 2;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStalled(r, 0);
}

TEST(Limits, StallStopsLibarchiveSpinningOnNestedGzipFromAPipe) {
  TempDir dir;
  const std::string fifo = dir / "nested.tar.gz";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // 293 bytes on which libarchive's gzip reader, stacked on itself, spins for minutes without
  // reading (a regular file is decoded by ISA-L instead; a pipe still goes to libarchive).
  const std::string input =
      ReadFile(std::string(RP_SOURCE_DIR) + "/fuzz/regressions/verify/gzip-members-decoding-to-gzip-members");
  ASSERT_EQ(input.size(), 293u);
  auto o = Options(dir, fifo);
  o.limits.max_stall_seconds = 2;
  VerifyReport r;
  {
    FifoFeeder feeder(fifo, input);
    r = RunVerifyIsolated(o);
  }
  ExpectStalled(r, 293);
}

// The spin watchdog: a worker that burns CPU without progress (libarchive's gzip reader
// stacked on itself, above) is stopped after the spin limit, long before the stall limit,
// which is for sources that deliver nothing at all.
TEST(Limits, SpinStopsADecoderThatLoopsLongBeforeTheStallLimit) {
  TempDir dir;
  const std::string fifo = dir / "nested.tar.gz";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string input =
      ReadFile(std::string(RP_SOURCE_DIR) + "/fuzz/regressions/verify/gzip-members-decoding-to-gzip-members");
  auto o = Options(dir, fifo);
  o.limits.max_spin_seconds = 2;
  ASSERT_EQ(o.limits.max_stall_seconds, 600.0) << "the default stall limit";
  VerifyReport r;
  {
    FifoFeeder feeder(fifo, input);
    r = RunVerifyIsolated(o);
  }
  ExpectStoppedByLimit(r);
  bool spin = false;
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kLimitExceeded) {
      spin = f.limit == LimitKind::kSpin;
      EXPECT_EQ(f.offset, 293) << f.message;
    }
  EXPECT_TRUE(spin) << Describe(r);
  EXPECT_LT(r.duration_s, 10.0);
}

// A source that delivers nothing keeps the worker idle, not busy: the spin limit leaves it to
// the stall limit.
TEST(Limits, SpinLimitLeavesAnIdleWorkerToTheStallLimit) {
  TempDir dir;
  const std::string fifo = dir / "stuck.tar";
  UniqueFd writer;
  ASSERT_TRUE(MakeStuckFifo(fifo, &writer));
  auto o = Options(dir, fifo);
  o.limits.max_spin_seconds = 1;
  o.limits.max_stall_seconds = 3;
  const VerifyReport r = RunVerifyIsolated(o);
  ExpectStoppedByLimit(r);
  bool stall = false;
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kLimitExceeded) stall = f.limit == LimitKind::kStall;
  EXPECT_TRUE(stall) << Describe(r);
  EXPECT_GE(r.duration_s, 3.0);
}

// Memory: libarchive's ISO 9660 reader grows without bound on a loop of Rock Ridge
// continuation entries (about 370 MB a second here). The kernel stops the worker at its limit,
// through the memory cgroup, or without one through the address-space limit, and the finding
// names the limit.
void ExpectMemoryLimit(const VerifyReport& r, uint64_t limit) {
  ExpectStoppedByLimit(r);
  bool named = false;
  for (const auto& f : r.findings)
    if (f.kind == FindingKind::kLimitExceeded && f.limit == LimitKind::kMemory) {
      // The finding names the limit for a person too.
      named = f.message.find(std::to_string(limit)) != std::string::npos;
    }
  EXPECT_TRUE(named) << Describe(r);
  EXPECT_TRUE(PathsOf(r, FindingKind::kWorkerDied).empty()) << Describe(r);
  EXPECT_LT(r.duration_s, 15.0);
}

TEST(Limits, MemoryLimitStopsAGrowingReaderThroughTheCgroup) {
  TempDir dir;
  auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_iso_rockridge_ce_loop.iso.Z");
  o.limits.max_memory_bytes = 256u << 20;
  const VerifyReport r = RunVerifyIsolated(o);
  const IsolationRecord* memory = r.isolation.Find(IsolationLayer::kMemoryCgroup);
  ASSERT_NE(memory, nullptr) << Describe(r);
  if (memory->state != LayerState::kEnforced) GTEST_SKIP() << "no memory cgroup here: " << memory->detail;
  ExpectMemoryLimit(r, 256u << 20);
  // Stopped by the kernel at the cgroup's limit, not by a failed allocation.
  EXPECT_TRUE(std::any_of(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.limit == LimitKind::kMemory && f.message.find("the kernel stopped the worker") != std::string::npos;
  })) << Describe(r);
  // A disk sandbox: the cgroup holds as much again for the page cache of what is restored (a
  // sandbox directory on a memory file system gets its free space instead).
  if (memory->detail.find("memory file system") == std::string::npos) {
    EXPECT_NE(memory->detail.find(std::to_string(256u << 20) + " bytes plus " + std::to_string(256u << 20) +
                                  " for the page cache"),
              std::string::npos)
        << memory->detail;
  }
}

TEST(Limits, MemoryLimitStopsAGrowingReaderThroughTheAddressSpaceWithoutCgroups) {
  TempDir dir;
  auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/test_read_format_iso_rockridge_ce_loop.iso.Z");
  o.limits.max_memory_bytes = 512u << 20;
  o.use_cgroups = false;
  o.isolation = IsolationPolicy::kBestEffort;  // root without a pids cgroup is one layer short
  const VerifyReport r = RunVerifyIsolated(o);
  const IsolationRecord* memory = r.isolation.Find(IsolationLayer::kMemoryCgroup);
  ASSERT_NE(memory, nullptr) << Describe(r);
  EXPECT_EQ(memory->state, LayerState::kNotRequested);
  const IsolationRecord* rlimits = r.isolation.Find(IsolationLayer::kRlimits);
  ASSERT_NE(rlimits, nullptr);
  EXPECT_NE(rlimits->detail.find("address space (the memory limit) " + std::to_string(512u << 20)), std::string::npos)
      << rlimits->detail;
  ExpectMemoryLimit(r, 512u << 20);
}

// Without a memory cgroup the address space is set to the memory limit: a worker's ordinary
// reservations (threads' stacks and malloc arenas, the decoders' windows and rings, mapped
// windows of the source) must fit well under the default, for every kind of source.
class AddressSpaceLimit : public ::testing::TestWithParam<FormatCase> {};

TEST_P(AddressSpaceLimit, AnOrdinaryRestorePassesWithoutCgroups) {
  TempDir dir;
  SampleTreeOptions sto;
  sto.seed = 7;
  sto.files = 120;
  sto.large_file_bytes = 3u << 20;
  sto.exotic_names = false;  // the builder's 7z writer cannot store them; names_test covers them
  const auto entries = SampleTree(sto);
  const std::string archive = dir / ("a" + GetParam().ext);
  ASSERT_TRUE(WriteArchive(archive, GetParam().spec, entries).ok());
  WriteFile(dir / "m", ManifestFor(entries, HashAlgo::kXxh128));
  auto o = Options(dir, archive);
  o.manifest = dir / "m";
  o.use_cgroups = false;
  o.isolation = IsolationPolicy::kBestEffort;  // root without a pids cgroup is one layer short
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  const IsolationRecord* rlimits = r.isolation.Find(IsolationLayer::kRlimits);
  ASSERT_NE(rlimits, nullptr);
  EXPECT_NE(rlimits->detail.find("address space (the memory limit) " + std::to_string(Limits{}.max_memory_bytes)),
            std::string::npos)
      << rlimits->detail;
}

INSTANTIATE_TEST_SUITE_P(Formats, AddressSpaceLimit, ::testing::ValuesIn(AllFormats()),
                         [](const ::testing::TestParamInfo<FormatCase>& p) { return p.param.name; });

TEST(Limits, StallLimitLeavesASlowButMovingSourceAlone) {
  TempDir dir;
  std::vector<TreeEntry> e;
  for (int i = 0; i < 6; ++i) e.push_back({K::kFile, "f" + std::to_string(i), 64 << 10, static_cast<uint64_t>(i), false, "", 0644, 0});
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, e).ok());
  const std::string archive = ReadFile(dir / "a.tar");
  const std::string fifo = dir / "slow.tar";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto o = Options(dir, fifo);
  o.limits.max_stall_seconds = 2;
  // The final pass is exempt: a content check that takes longer than the limit is its own
  // affair (it has its own timeout).
  ContentCheck slow;
  slow.kind = CheckKind::kCommand;
  slow.name = "slow-check";
  slow.argv = {"/bin/sleep", "3"};
  slow.timeout_s = 30;
  o.checks = {slow};
  VerifyReport r;
  {
    // About 3.2 s in all, 0.4 s between pieces: each gap is well under the 2 s limit, the
    // whole well over it.
    FifoFeeder feeder(fifo, archive, 8, 400);
    r = RunVerifyIsolated(o);
  }
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 6u);
  EXPECT_GT(r.duration_s, 5.0) << "the source and the check each took longer than the stall limit";
}

TEST(Limits, WallTimeStopsASlowRestoreCooperatively) {
  TempDir dir;
  std::vector<TreeEntry> e;
  for (int i = 0; i < 3000; ++i) e.push_back({K::kFile, "f" + std::to_string(i), 4096, static_cast<uint64_t>(i), false, "", 0644, 0});
  ASSERT_TRUE(WriteArchive(dir / "a.tar.xz", {"pax", {"xz"}}, e).ok());
  auto o = Options(dir, dir / "a.tar.xz");
  o.limits.max_seconds = 0.01;
  const VerifyReport r = RunVerify(o);  // in-process: only the engine's own deadline checks
  ExpectStoppedByLimit(r);
  EXPECT_LT(r.files, 3000u);
}

// A sandbox file system that fills up is an environment error (exit 3), not a verification
// failure, and the partial restore is still wiped. Needs a small tmpfs, so root.
TEST(Limits, FullSandboxFileSystemIsAnEnvironmentErrorAndIsWiped) {
  TempDir dir;
  const std::string small = dir / "small";
  std::filesystem::create_directories(small);
  std::string out;
  if (RunShell("mount -t tmpfs -o size=2m tmpfs " + small, &out) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << out;
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  std::vector<TreeEntry> e = {{K::kFile, "big.bin", 8 << 20, 1, false, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, e).ok());
  auto o = Options(dir, dir / "a.tar");
  o.sandbox_parent = small;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kAborted) << Describe(r);
  EXPECT_EQ(ExitCodeFor(r), 3);
  EXPECT_NE(r.abort_status.message().find("full"), std::string::npos) << r.abort_status.message();
  EXPECT_TRUE(r.sandbox_removed);
  EXPECT_TRUE(ListTree(small).empty());
}

TEST(Limits, LimitsInForceAreRecordedInTheReport) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SampleTree({})).ok());
  auto o = Options(dir, dir / "a.tar");
  o.limits.max_entries = 12345;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.limits.max_entries, 12345u);
  EXPECT_EQ(r.limits.max_total_bytes, Limits{}.max_total_bytes);
}

}  // namespace
}  // namespace rp::test
