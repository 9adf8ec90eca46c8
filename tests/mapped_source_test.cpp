// A plain tar source is mapped, window by window, instead of read (workers/src/mapped_source.h):
// the windows give back exactly the file and go away with their last owner; a file that
// shrinks under its mapping does not kill the process (the SIGBUS guard puts zeros there and
// marks the source), and a run whose source shrank ends aborted with that reason, in the
// calling process and in the worker; a fault anywhere else still kills as it would have.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "engine_support.h"
#include "sources/mapped_source.h"

namespace rp::test {
namespace {

using detail::DecodeOutcome;
using detail::MappedSource;

constexpr size_t kW = MappedSource::kWindowBytes;

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

int OpenRead(const std::string& path) { return open(path.c_str(), O_RDONLY | O_CLOEXEC); }

TEST(MappedSource, WindowsConcatenateToTheFileAndGoAwayWithTheirLastOwner) {
  TempDir dir;
  const std::string data = Pattern(2 * kW + 12345);  // two whole windows and a part
  WriteFile(dir / "f", data);
  const int fd = OpenRead(dir / "f");
  ASSERT_GE(fd, 0);
  const size_t before = MappedSource::windows_mapped();
  std::string got;
  std::vector<std::shared_ptr<const void>> owners;
  std::vector<size_t> sizes;
  {
    MappedSource src(fd, data.size());
    const void* p = nullptr;
    size_t n = 0;
    std::shared_ptr<const void> owner;
    DecodeOutcome o;
    bool lend = false;
    while ((o = src.Next(&p, &n, &owner, &lend)) == DecodeOutcome::kData) {
      got.append(static_cast<const char*>(p), n);
      sizes.push_back(n);
      owners.push_back(std::move(owner));
    }
    EXPECT_EQ(o, DecodeOutcome::kEnd);
    EXPECT_EQ(src.Next(&p, &n, &owner, &lend), DecodeOutcome::kEnd);  // final
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(src.position(), data.size());
    EXPECT_FALSE(src.shrank()->load());
  }
  close(fd);
  EXPECT_EQ(sizes, (std::vector<size_t>{kW, kW, 12345}));
  EXPECT_TRUE(got == data);
  // The windows outlive the source and its descriptor, and hold the same bytes.
  EXPECT_EQ(MappedSource::windows_mapped(), before + 3);
  EXPECT_EQ(std::memcmp(owners[2].get(), data.data() + 2 * kW, 12345), 0);
  owners.clear();
  EXPECT_EQ(MappedSource::windows_mapped(), before);
}

TEST(MappedSource, NoMoreThanTheCapOfWindowsIsLentAtOnce) {
  // One lent byte pins a whole window: without a cap, an archive of tiny files far apart
  // (behind large pax headers, which libarchive copies) could pin a window per queued message.
  TempDir dir;
  constexpr size_t kCount = MappedSource::kMaxLent + 4;
  WriteFile(dir / "f", Pattern(kCount * kW));
  const int fd = OpenRead(dir / "f");
  ASSERT_GE(fd, 0);
  MappedSource src(fd, kCount * kW);
  const void* p = nullptr;
  size_t n = 0;
  std::vector<std::shared_ptr<const void>> held;
  std::vector<bool> lent;
  for (size_t i = 0; i < kCount; ++i) {
    std::shared_ptr<const void> owner;
    bool lend = false;
    ASSERT_EQ(src.Next(&p, &n, &owner, &lend), DecodeOutcome::kData);
    lent.push_back(lend);
    held.push_back(std::move(owner));
    if (i == MappedSource::kMaxLent + 1) {
      for (size_t k = 0; k < 3; ++k) held[k].reset();  // kMaxLent - 1 alive: the next may be lent again
    }
  }
  std::vector<bool> expected(kCount, true);
  expected[MappedSource::kMaxLent] = expected[MappedSource::kMaxLent + 1] = false;  // the cap reached
  expected[MappedSource::kMaxLent + 3] = false;  // kMaxLent alive again after that one
  EXPECT_EQ(lent, expected);
  close(fd);
}

// A file of three windows, mapped, with its first window taken (and held in `owner`).
class FirstWindowHeld : public testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir / "f", data);
    fd = OpenRead(dir / "f");
    ASSERT_GE(fd, 0);
    src = std::make_unique<MappedSource>(fd, data.size());
    ASSERT_EQ(src->Next(&p, &n, &owner, &lend), DecodeOutcome::kData);
    ASSERT_EQ(n, kW);
  }
  void TearDown() override {
    owner.reset();
    src.reset();
    if (fd >= 0) close(fd);
  }
  TempDir dir;
  const std::string data = Pattern(3 * kW);
  int fd = -1;
  std::unique_ptr<MappedSource> src;
  const void* p = nullptr;
  size_t n = 0;
  bool lend = false;
  std::shared_ptr<const void> owner;
};

TEST_F(FirstWindowHeld, AFileThatShrinksUnderItReadsZerosAndIsMarked) {
  ASSERT_EQ(truncate((dir / "f").c_str(), 100), 0);
  // Past the new end the window's pages are gone: touching them would raise SIGBUS.
  const auto* bytes = static_cast<const volatile unsigned char*>(p);
  unsigned sum = 0;
  for (size_t i = 8192; i < kW; i += 4096) sum += bytes[i];
  EXPECT_EQ(sum, 0u);  // zeros stand in for them
  EXPECT_EQ(bytes[5], static_cast<unsigned char>(data[5]));  // what is still there reads as before
  EXPECT_TRUE(src->shrank()->load());
  // The next window has no bytes at all any more: a read error that says so.
  std::shared_ptr<const void> next;
  EXPECT_EQ(src->Next(&p, &n, &next, &lend), DecodeOutcome::kReadError);
  EXPECT_NE(src->error().find("no byte " + std::to_string(kW) + " any more"), std::string::npos) << src->error();
  EXPECT_EQ(src->Next(&p, &n, &next, &lend), DecodeOutcome::kReadError);  // final
}

TEST_F(FirstWindowHeld, AFileThatShrankBeforeTheNextWindowIsAReadErrorAndMarked) {
  owner.reset();
  ASSERT_EQ(truncate((dir / "f").c_str(), static_cast<off_t>(kW + kW / 2)), 0);  // half the next window left
  EXPECT_EQ(src->Next(&p, &n, &owner, &lend), DecodeOutcome::kReadError);
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(src->shrank()->load());
  EXPECT_EQ(src->read_errno(), ESTALE);
  EXPECT_NE(src->error().find("had " + std::to_string(3 * kW) + " bytes when the run began"), std::string::npos)
      << src->error();
}

TEST(MappedSourceDeathTest, AFaultOutsideTheWindowsStillKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  WriteFile(dir / "f", Pattern(3 * kW));
  WriteFile(dir / "other", Pattern(2 * 4096));
  const int fd = OpenRead(dir / "f");
  ASSERT_GE(fd, 0);
  MappedSource src(fd, 3 * kW);  // the guard is installed
  const void* p = nullptr;
  size_t n = 0;
  bool lend = false;
  std::shared_ptr<const void> owner;
  ASSERT_EQ(src.Next(&p, &n, &owner, &lend), DecodeOutcome::kData);
  // Someone else's mapping whose file shrank: SIGBUS kills, as without the guard.
  EXPECT_EXIT(
      {
        const int o = OpenRead(dir / "other");
        void* q = mmap(nullptr, 2 * 4096, PROT_READ, MAP_SHARED, o, 0);
        if (q == MAP_FAILED || truncate((dir / "other").c_str(), 0) != 0) _exit(3);
        std::printf("%d", static_cast<const volatile char*>(q)[4096]);
        _exit(0);
      },
      testing::KilledBySignal(SIGBUS), "");
  // And a SIGBUS sent by someone, not a fault, too.
  EXPECT_EXIT(raise(SIGBUS), testing::KilledBySignal(SIGBUS), "");
  close(fd);
}

// A tar of one member of `size` bytes of zeros, stored as a hole: a large source that costs
// no disk.
void WriteSparseTar(const std::string& path, uint64_t size) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", "big");
  std::snprintf(h + 100, 8, "%07o", 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 1700000000);
  h[156] = '0';
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, h, sizeof h), 512);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(512 + size + 1024)), 0);  // content and end blocks: zeros
  close(fd);
}

// Runs `run` on `tar` and cuts it to `cut_to` bytes as soon as the member "big" appears in the
// sandbox, i.e. while its content is being restored.
VerifyReport ShrinkDuringRun(const TempDir& dir, const std::string& tar,
                             const std::function<VerifyReport(const VerifyOptions&)>& run, off_t cut_to = 1 << 20) {
  auto o = Options(dir, tar);
  std::filesystem::create_directories(o.sandbox_parent);
  std::atomic<bool> done{false}, cut{false};
  std::thread watcher([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < give_up) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(o.sandbox_parent, ec))
        if (std::filesystem::exists(e.path() / "big", ec)) {
          cut = truncate(tar.c_str(), cut_to) == 0;
          return;
        }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  VerifyReport r = run(o);
  done = true;
  watcher.join();
  EXPECT_TRUE(cut) << "the source was not cut during the run: " << Describe(r);
  return r;
}

void ExpectAbortedAsChanged(const VerifyReport& r, const std::string& tar, uint64_t size) {
  EXPECT_EQ(r.status, RunStatus::kAborted) << Describe(r);
  EXPECT_NE(r.abort_status.message().find("the source " + tar + " changed while it was read"), std::string::npos)
      << Describe(r);
  EXPECT_NE(r.abort_status.message().find(std::to_string(size) + " bytes when the run began"), std::string::npos)
      << Describe(r);
  EXPECT_TRUE(r.sandbox_removed) << Describe(r);
}

constexpr uint64_t kSparseTarBytes = 512 + (128ull << 20) + 1024;

TEST(MappedVerify, ASourceThatShrinksDuringTheRunIsAbortedInTheCallingProcess) {
  TempDir dir;
  WriteSparseTar(dir / "big.tar", 128ull << 20);
  const VerifyReport r = ShrinkDuringRun(dir, dir / "big.tar", [](const VerifyOptions& o) { return RunVerify(o); });
  ExpectAbortedAsChanged(r, dir / "big.tar", kSparseTarBytes);
}

TEST(MappedVerify, ASourceThatShrinksDuringTheRunIsAbortedInTheWorker) {
  TempDir dir;
  WriteSparseTar(dir / "big.tar", 128ull << 20);
  const VerifyReport r =
      ShrinkDuringRun(dir, dir / "big.tar", [](const VerifyOptions& o) { return RunVerifyIsolated(o); });
  ExpectAbortedAsChanged(r, dir / "big.tar", kSparseTarBytes);
}

TEST(MappedVerify, ACompressedSourceThatShrinksDuringTheRunIsAbortedToo) {
  // zstd's decoder takes its input from the mapped file, on a thread of its own.
  TempDir dir;
  TreeEntry big;
  big.path = "big";
  big.size = 64ull << 20;
  big.compressible = false;  // so the compressed file is as long, and the cut lands ahead of the decoder
  ASSERT_TRUE(WriteArchive(dir / "big.tar.zst", {"pax", {"zstd"}}, {big}).ok());
  const uint64_t size = std::filesystem::file_size(dir / "big.tar.zst");
  const VerifyReport r =
      ShrinkDuringRun(dir, dir / "big.tar.zst", [](const VerifyOptions& o) { return RunVerifyIsolated(o); });
  ExpectAbortedAsChanged(r, dir / "big.tar.zst", size);
}

TEST_F(FirstWindowHeld, AWriteFromAVanishedPageFailsWithoutASignal) {
  // Why the guard is not enough: the content writer write()s a lent slice before it hashes
  // it, and the kernel answers a write from a page past the file's new end with EFAULT, not
  // SIGBUS. Whether a run meets that or the guard depends on timing; the size and
  // modification time compared after the writers are done (below) catch both.
  ASSERT_EQ(truncate((dir / "f").c_str(), 100), 0);
  const int out = open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  errno = 0;
  EXPECT_EQ(write(out, static_cast<const char*>(p) + 8192, 4096), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_FALSE(src->shrank()->load());  // the guard heard nothing
  close(out);
}

TEST(MappedVerify, ACutWithinTheLastPageIsAbortedToo) {
  // No page goes: the bytes past the new end read as zeros, and those are the tar's end
  // blocks, so the member restores as before and the guard hears nothing. Only the size
  // tells, compared once the writers are done: 512 MiB to restore leaves the cut, made as
  // soon as the member appears, a wide margin on a loaded machine.
  TempDir dir;
  constexpr uint64_t kContent = 512ull << 20, kBytes = 512 + kContent + 1024;
  WriteSparseTar(dir / "big.tar", kContent);
  static_assert(kBytes % 4096 > 100, "the cut must stay inside the last page");
  const VerifyReport r = ShrinkDuringRun(
      dir, dir / "big.tar", [](const VerifyOptions& o) { return RunVerifyIsolated(o); }, kBytes - 100);
  ExpectAbortedAsChanged(r, dir / "big.tar", kBytes);
  EXPECT_NE(r.abort_status.message().find("it shrank (" + std::to_string(kBytes) + " bytes when the run began, " +
                                          std::to_string(kBytes - 100) + " now)"),
            std::string::npos)
      << Describe(r);
}

// In a fresh child: maps `path` (one window) under an address-space limit just above what
// the process maps now, so that no megabyte of any kind is left. 0 if the result is a read
// error for want of memory.
int NextWithNoAddressSpaceLeft(const std::string& path) {
  const int fd = OpenRead(path);
  MappedSource src(fd, kW);
  if (!LimitAddressSpaceTo(256)) return 3;
  const void* p = nullptr;
  size_t n = 0;
  bool lend = false;
  std::shared_ptr<const void> owner;
  const DecodeOutcome o = src.Next(&p, &n, &owner, &lend);
  std::fprintf(stderr, "outcome %d: %s", static_cast<int>(o), src.error().c_str());
  return o == DecodeOutcome::kReadError && src.read_errno() == ENOMEM ? 0 : 4;
}

TEST(MappedSourceDeathTest, NoAddressSpaceLeftIsAReadErrorNotACrash) {
  // The worker runs under an address-space limit: when it refuses the mapping, the window is
  // read instead, and when it refuses that memory too, the run gets a read error that says so
  // (not std::bad_alloc and an abort).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  WriteFile(dir / "f", Pattern(kW));
  EXPECT_EXIT(_exit(NextWithNoAddressSpaceLeft(dir / "f")), testing::ExitedWithCode(0), "out of memory");
}

TEST(SourceChange, SizeAndModificationTimeAreCompared) {
  TempDir dir;
  WriteFile(dir / "f", std::string(10000, 'x'));
  const int fd = OpenRead(dir / "f");
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  const detail::SourceStamp start = detail::StampOf(st);
  EXPECT_EQ(detail::DescribeSourceChange(fd, start, false), "");
  EXPECT_NE(detail::DescribeSourceChange(fd, start, true).find("a page of it could not be read"), std::string::npos);
  {  // written in place, the same size: a new modification time
    const int w = open((dir / "f").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(w, 0);
    const timespec later[2] = {{0, UTIME_OMIT}, {st.st_mtim.tv_sec + 5, 0}};
    ASSERT_EQ(pwrite(w, "y", 1, 5000), 1);
    ASSERT_EQ(futimens(w, later), 0);  // so the check does not depend on the clock's grain
    close(w);
  }
  EXPECT_NE(detail::DescribeSourceChange(fd, start, false).find("it was written to"), std::string::npos);
  ASSERT_EQ(truncate((dir / "f").c_str(), 9990), 0);
  EXPECT_EQ(detail::DescribeSourceChange(fd, start, false), "it shrank (10000 bytes when the run began, 9990 now)");
  ASSERT_EQ(truncate((dir / "f").c_str(), 20000), 0);
  EXPECT_EQ(detail::DescribeSourceChange(fd, start, false), "it grew (10000 bytes when the run began, 20000 now)");
  close(fd);
}

TEST(MappedSourceDeathTest, ASentSigbusAnIgnoringProcessIgnoredStaysIgnored) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  WriteFile(dir / "f", Pattern(kW));
  EXPECT_EXIT(
      {
        signal(SIGBUS, SIG_IGN);  // before the guard is installed, in this fresh child
        const int fd = OpenRead(dir / "f");
        MappedSource src(fd, kW);
        raise(SIGBUS);
        std::fprintf(stderr, "still here");
        _exit(0);
      },
      testing::ExitedWithCode(0), "still here");
}

TEST(MappedVerify, TheSparseTarPassesWhenLeftAlone) {
  // The check of the two above: the same source, uncut, passes (so what aborts them is the cut).
  TempDir dir;
  WriteSparseTar(dir / "big.tar", 128ull << 20);
  const VerifyReport r = RunVerifyIsolated(Options(dir, dir / "big.tar"));
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.files, 1u) << Describe(r);
}

}  // namespace
}  // namespace rp::test
