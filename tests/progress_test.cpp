// The progress line's pieces (rp/progress_line.h): the exact text for given figures (units,
// percent, rate, estimated time left, an unknown total), runs combined, the source's size, and
// the drawing itself on a pipe with a test clock: redraws at most 4 times a second, the final
// figures drawn once and erased, other lines written with the line erased first, and nothing at
// all when the descriptor is not a terminal or the command prints JSON.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "rp/posix_io.h"
#include "rp/progress_line.h"
#include "testkit.h"

namespace rp {
namespace {

constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

TEST(progress_format, BytesUseBinaryUnitsWithOneDecimal) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(210 * kMiB), "210.0 MiB");
  EXPECT_EQ(FormatBytes(1288490189), "1.2 GiB");
  EXPECT_EQ(FormatBytes(3 * kGiB + 400 * kMiB), "3.4 GiB");
  EXPECT_EQ(FormatBytes(5 * kGiB * 1024), "5.0 TiB");
  EXPECT_EQ(FormatBytes(UINT64_MAX), "16.0 EiB");
}

TEST(progress_format, ClockRoundsUpToTheSecondAndShowsHoursPastOne) {
  EXPECT_EQ(FormatClock(0), "0:00");
  EXPECT_EQ(FormatClock(0.2), "0:01");
  EXPECT_EQ(FormatClock(11), "0:11");
  EXPECT_EQ(FormatClock(725), "12:05");
  EXPECT_EQ(FormatClock(3599.5), "1:00:00");
  EXPECT_EQ(FormatClock(3723), "1:02:03");
  EXPECT_EQ(FormatClock(-5), "0:00");
}

TEST(progress_format, KnownTotalShowsPercentRateAndTimeLeft) {
  ProgressFigures f;
  f.bytes = 1200 * kMiB;
  f.total = 3600 * kMiB;
  f.files = 1234;
  f.elapsed_s = 10;  // 120 MiB/s; 2400 MiB left: 20 s
  EXPECT_EQ(FormatProgress(f), "  1.2 GiB of 3.5 GiB (33%)  120.0 MiB/s  ETA 0:20  files 1234");
}

TEST(progress_format, LabelComesFirstAndIsEscaped) {
  ProgressFigures f;
  f.label = "payroll\x1b[2J";
  f.bytes = 512;
  f.total = 1024;
  f.files = 1;
  f.elapsed_s = 1;
  EXPECT_EQ(FormatProgress(f), "  payroll\\x1b[2J  512 B of 1.0 KiB (50%)  512 B/s  ETA 0:01  files 1");
}

TEST(progress_format, UnknownTotalShowsBytesAndRateOnly) {
  ProgressFigures f;
  f.bytes = 5 * kMiB;
  f.files = 7;
  f.elapsed_s = 2;
  EXPECT_EQ(FormatProgress(f), "  5.0 MiB  2.5 MiB/s  files 7");
}

TEST(progress_format, NoTimeElapsedShowsNoRateAndNoEstimate) {
  ProgressFigures f;
  f.bytes = 0;
  f.total = 10 * kMiB;
  EXPECT_EQ(FormatProgress(f), "  0 B of 10.0 MiB (0%)  files 0");
}

TEST(progress_format, NothingReadYetHasARateOfZeroAndNoEstimate) {
  ProgressFigures f;
  f.total = 10 * kMiB;
  f.elapsed_s = 3;
  EXPECT_EQ(FormatProgress(f), "  0 B of 10.0 MiB (0%)  0 B/s  files 0");
}

TEST(progress_format, PercentRoundsDownSoOnlyAllOfItIsAHundred) {
  ProgressFigures f;
  f.bytes = 999;
  f.total = 1000;
  f.elapsed_s = 1;
  EXPECT_EQ(FormatProgress(f), "  999 B of 1000 B (99%)  999 B/s  ETA 0:01  files 0");
  f.bytes = 1000;  // all read: no estimate left to give
  EXPECT_EQ(FormatProgress(f), "  1000 B of 1000 B (100%)  1000 B/s  files 0");
  f.bytes = 1500;  // more than the size said (a file that grew): still 100%
  EXPECT_EQ(FormatProgress(f), "  1.5 KiB of 1000 B (100%)  1.5 KiB/s  files 0");
  f.bytes = 0;
  f.total = 0;
  EXPECT_EQ(FormatProgress(f), "  0 B of 0 B (100%)  0 B/s  files 0");
}

TEST(progress_format, AnEstimateBeyondAHundredHoursIsLeftOut) {
  ProgressFigures f;
  f.bytes = 1;
  f.total = kGiB;
  f.elapsed_s = 1;
  EXPECT_EQ(FormatProgress(f), "  1 B of 1.0 GiB (0%)  1 B/s  files 0");
}

TEST(progress_format, CombinedRunsSumBytesAndFilesOverTheLongestTime) {
  ProgressFigures a, b;
  a.bytes = 100 * kMiB;
  a.total = 400 * kMiB;
  a.files = 3;
  a.elapsed_s = 2;
  b.bytes = 300 * kMiB;
  b.total = 400 * kMiB;
  b.files = 4;
  b.elapsed_s = 4;
  const ProgressFigures all = CombineProgress({a, b}, "alpha, beta");
  EXPECT_EQ(FormatProgress(all), "  alpha, beta  400.0 MiB of 800.0 MiB (50%)  100.0 MiB/s  ETA 0:04  files 7");
  b.total.reset();  // one run's size unknown: so is the sum's
  EXPECT_EQ(FormatProgress(CombineProgress({a, b}, "")), "  400.0 MiB  100.0 MiB/s  files 7");
  EXPECT_EQ(FormatProgress(CombineProgress({}, "")), "  0 B  files 0");
}

TEST(progress_figures, SourceBytesCountAgainstAKnownSizeElseRestoredBytes) {
  Progress p;
  p.files = 5;
  p.bytes = 9000;        // restored (uncompressed)
  p.source_bytes = 3000;  // read of the compressed source
  p.elapsed_s = 1.5;
  const ProgressFigures known = FiguresOf(p, uint64_t{6000});
  EXPECT_EQ(known.bytes, 3000u);
  EXPECT_EQ(known.total, std::optional<uint64_t>(6000));
  EXPECT_EQ(known.files, 5u);
  EXPECT_EQ(known.elapsed_s, 1.5);
  const ProgressFigures unknown = FiguresOf(p, std::nullopt);
  EXPECT_EQ(unknown.bytes, 9000u);
  EXPECT_FALSE(unknown.total);

  VerifyReport r;
  r.files = 8;
  r.bytes = 100;
  r.source_bytes = 60;
  r.duration_s = 2.5;
  const Progress end = FinalProgress(r);
  EXPECT_EQ(end.files, 8u);
  EXPECT_EQ(end.bytes, 100u);
  EXPECT_EQ(end.source_bytes, 60u);
  EXPECT_EQ(end.elapsed_s, 2.5);
}

TEST(progress_figures, SourceSizeIsAFilesSizeOrADirectorysFilesSummed) {
  test::TempDir dir;
  test::WriteFile(dir / "a", std::string(1000, 'a'));
  std::filesystem::create_directories(dir / "tree/sub");
  test::WriteFile(dir / "tree/x", std::string(300, 'x'));
  test::WriteFile(dir / "tree/sub/y", std::string(45, 'y'));
  ASSERT_EQ(symlink((dir / "a").c_str(), (dir / "tree/link").c_str()), 0);  // not followed
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(SourceSize(dir / "a"), std::optional<uint64_t>(1000));
  EXPECT_EQ(SourceSize(dir / "tree"), std::optional<uint64_t>(345));
  EXPECT_EQ(SourceSize(dir / "fifo"), std::nullopt);
  EXPECT_EQ(SourceSize(dir / "missing"), std::nullopt);
}

// A ProgressLine drawing into a pipe with a clock the test moves.
struct Drawn {
  UniqueFd read_end, write_end;
  double now = 100;
  Drawn() {
    EXPECT_TRUE(MakePipe(&read_end, &write_end));
    fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  }
  std::string Take() {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(read_end.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    return text;
  }
};

ProgressFigures Figures(uint64_t bytes) {
  ProgressFigures f;
  f.bytes = bytes;
  f.total = 4096;
  f.files = 2;
  f.elapsed_s = 1;
  return f;
}

TEST(progress_line, RedrawsInPlaceAtMostFourTimesASecond) {
  Drawn d;
  ProgressLine line(d.write_end.get(), [&d] { return d.now; });
  ASSERT_TRUE(line.enabled());
  line.Show(Figures(1024));
  EXPECT_EQ(d.Take(), "\r  1.0 KiB of 4.0 KiB (25%)  1.0 KiB/s  ETA 0:03  files 2\x1b[K");
  d.now += 0.1;
  line.Show(Figures(2048));  // too soon: not drawn
  EXPECT_EQ(d.Take(), "");
  d.now += 0.15;
  line.Show(Figures(3072));
  EXPECT_EQ(d.Take(), "\r  3.0 KiB of 4.0 KiB (75%)  3.0 KiB/s  ETA 0:01  files 2\x1b[K");
}

TEST(progress_line, FinishDrawsTheFinalFiguresOnceAndErasesThem) {
  Drawn d;
  ProgressLine line(d.write_end.get(), [&d] { return d.now; });
  line.Show(Figures(1024));
  d.Take();
  line.Finish(Figures(4096));  // even right after a drawing
  EXPECT_EQ(d.Take(), "\r  4.0 KiB of 4.0 KiB (100%)  4.0 KiB/s  files 2\x1b[K\r\x1b[K");
  line.Erase();  // nothing left to erase
  EXPECT_EQ(d.Take(), "");
}

TEST(progress_line, OtherLinesAreWrittenWithTheLineErasedFirst) {
  Drawn d;
  ProgressLine line(d.write_end.get(), [&d] { return d.now; });
  std::ostringstream log;
  line.Print(log, "before any drawing\n");
  EXPECT_EQ(d.Take(), "");
  line.Show(Figures(1024));
  d.Take();
  ProgressAwareStream through(&line, &log);
  through << "{\"event\":\"run-started\"}\n" << std::flush;
  EXPECT_EQ(d.Take(), "\r\x1b[K");  // erased before the line went out
  EXPECT_EQ(log.str(), "before any drawing\n{\"event\":\"run-started\"}\n");
  through << "not flushed yet";
  EXPECT_EQ(log.str(), "before any drawing\n{\"event\":\"run-started\"}\n");
}

TEST(progress_line, DrawsNothingWhenNotATerminalOrWithJson) {
  Drawn d;
  std::ostringstream log;
  {
    ProgressLine on_pipe(d.write_end.get(), /*json=*/false);  // a pipe is not a terminal
    EXPECT_FALSE(on_pipe.enabled());
    on_pipe.Show(Figures(1024));
    on_pipe.Finish(Figures(4096));
    ProgressAwareStream through(&on_pipe, &log);
    through << "a log line\n" << std::flush;
  }
  {
    ProgressLine with_json(d.write_end.get(), /*json=*/true);
    EXPECT_FALSE(with_json.enabled());
    with_json.Show(Figures(1024));
    with_json.Finish(Figures(4096));
  }
  EXPECT_EQ(d.Take(), "");
  EXPECT_EQ(log.str(), "a log line\n");  // other lines pass through unchanged
}

}  // namespace
}  // namespace rp
