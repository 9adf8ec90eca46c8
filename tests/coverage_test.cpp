// Sampled restore tests from the controller's side (docs/sampling.md): the slices rotate through
// a cycle under one seed, coverage of the newest tested point grows with each passed slice, a
// window that ends short of 100% is a restore-test.coverage finding, and the time to restore the
// whole point is predicted from a sample. First over runs recorded at chosen days, then through
// the real worker and `targets check`.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rp/config.h"
#include "rp/coverage.h"
#include "rp/runner.h"
#include "rp/store.h"
#include "rp/targets.h"
#include "testkit.h"

namespace rp {
namespace {

using test::ShellQuote;
using test::TempDir;
using test::WriteFile;

constexpr int64_t kDay = 86400;
constexpr int64_t kDay0 = 1'795'000'000;  // 2026-11-18

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TargetConfig SampledTarget(int coverage_days) {
  TargetConfig t;
  t.name = "app";
  t.owner = "Anna";
  TestConfig test;
  test.sample = SampleSize{0.25, 0};
  t.tests.push_back(test);
  t.coverage_days = coverage_days;
  return t;
}

// The figures of a 4-slice point of 100 files: slice k holds 20 + 5k files of 1,000 bytes each.
SampleFigures Figures(const SampleSpec& spec) {
  SampleFigures f;
  f.spec = spec;
  f.slice_files = {20, 25, 30, 25};
  for (const uint64_t n : f.slice_files) {
    f.slice_bytes.push_back(n * 1000);
    f.point_files += n;
    f.point_bytes += n * 1000;
  }
  f.sample_files = f.slice_files[spec.slice];
  f.sample_bytes = f.slice_bytes[spec.slice];
  return f;
}

class CoverageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(OpenSqliteStore(dir_ / "store.db", &store_).ok()); }

  // A sampled test of `spec` queued, run and recorded on day `day` with `state`.
  int64_t Record(const SampleSpec& spec, int64_t day, RunState state = RunState::kPassed) {
    RunRequest q;
    q.target = "app";
    q.test_index = 0;
    q.trigger = Trigger::kSchedule;
    const int64_t at = kDay0 + day * kDay;
    const int64_t id = store_->EnqueueRun(q, at);
    const auto claimed = store_->ClaimRun("coverage/1/1", at, at + 600);
    EXPECT_TRUE(claimed && claimed->id == id);
    EXPECT_TRUE(store_->RecordStart(id, "coverage/1/1", "app-" + std::to_string(day), at, "site-a", 0, "host", "v", "h"));
    RunOutcome o;
    o.state = state;
    o.finished_at = at + 60;
    VerifyReport report;
    report.sample = Figures(spec);
    report.files = report.sample->sample_files;
    report.bytes = report.sample->sample_bytes;
    report.duration_s = 10;
    o.files = report.files;
    o.bytes = report.bytes;
    o.duration_s = 10;
    report.status = state == RunState::kPassed ? RunStatus::kPassed : RunStatus::kFailed;
    o.report = report;
    EXPECT_TRUE(store_->FinishRun(id, "coverage/1/1", o));
    return id;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(CoverageTest, SampledTestsOverSuccessiveDaysReachFullCoverage) {
  const TargetConfig target = SampledTarget(10);
  const TargetCoverage none = CoverageOf(target, store_.get(), kDay0);
  EXPECT_TRUE(none.sampled);
  EXPECT_EQ(none.reference_run, 0);
  EXPECT_FALSE(none.window_complete) << "nothing was ever tested: the restore-test rule speaks, not coverage";

  SampleSpec spec = NextSample(target, *target.tests[0].sample, 0, store_.get());
  EXPECT_EQ(spec.slices, 4u);
  EXPECT_EQ(spec.slice, 0u);
  const uint64_t seed = spec.seed;
  const std::vector<uint64_t> covered_files = {20, 45, 75, 100};
  for (int day = 0; day < 4; ++day) {
    EXPECT_EQ(spec.slice, static_cast<uint32_t>(day)) << "the slices rotate, one per test";
    EXPECT_EQ(spec.seed, seed) << "one seed for the whole cycle";
    Record(spec, day);
    const TargetCoverage c = CoverageOf(target, store_.get(), kDay0 + day * kDay + 3600);
    EXPECT_EQ(c.covered_files, covered_files[static_cast<size_t>(day)]) << "day " << day;
    EXPECT_EQ(c.covered_bytes, covered_files[static_cast<size_t>(day)] * 1000);
    EXPECT_EQ(c.point_files, 100u);
    EXPECT_EQ(c.slices_covered, static_cast<uint32_t>(day + 1));
    ASSERT_EQ(c.counted.size(), static_cast<size_t>(day + 1)) << "the runs that count, oldest first";
    EXPECT_EQ(c.counted.back().run, c.reference_run);
    EXPECT_EQ(c.counted.front().spec.slice, 0u);
    EXPECT_EQ(c.complete(), day == 3);
    EXPECT_EQ(c.point, "app-" + std::to_string(day)) << "the newest tested point is judged";
    spec = NextSample(target, *target.tests[0].sample, 0, store_.get());
  }
  EXPECT_EQ(spec.slice, 0u) << "a finished cycle starts again";
  EXPECT_NE(spec.seed, seed) << "with a new seed, so that the next cycle splits the files differently";

  // Full coverage is no finding, even with the window complete.
  TargetEvaluation ev;
  AddCoverageFinding(CoverageOf(target, store_.get(), kDay0 + 3 * kDay + 3600), &ev);
  EXPECT_TRUE(ev.findings.empty());

  // A sample's throughput predicts the whole point: 10 s for 30,000 of 100,000 bytes.
  const auto last = store_->LastRun("app", RunState::kPassed);
  ASSERT_TRUE(last);
  ASSERT_TRUE(PredictedFullSeconds(*last));
  EXPECT_NEAR(*PredictedFullSeconds(*last), 10.0 * 100'000 / 25'000, 1e-6);
}

TEST_F(CoverageTest, CoverageFallingShortAtTheEndOfItsWindowIsAFinding) {
  const TargetConfig target = SampledTarget(10);
  const uint64_t seed = 42;
  Record({seed, 4, 0}, 0);
  Record({seed, 4, 1}, 1);
  // Day 5: the window (10 days) has not ended since sampling began: 45% is reported, no finding.
  TargetCoverage c = CoverageOf(target, store_.get(), kDay0 + 5 * kDay);
  EXPECT_FALSE(c.window_complete);
  EXPECT_NEAR(c.files_ratio(), 0.45, 1e-9);
  TargetEvaluation ev;
  AddCoverageFinding(c, &ev);
  EXPECT_TRUE(ev.findings.empty());

  // The tests stop after one more slice, and a failed one does not count.
  Record({seed, 4, 2}, 8, RunState::kFailed);
  Record({seed, 4, 3}, 9);
  // Day 12: the window is days 2..12; slices 0 and 1 have left it, slice 2 failed.
  c = CoverageOf(target, store_.get(), kDay0 + 12 * kDay);
  EXPECT_TRUE(c.window_complete);
  EXPECT_EQ(c.slices_covered, 1u);
  EXPECT_EQ(c.covered_files, 25u);
  ASSERT_EQ(c.counted.size(), 1u) << "only the passed slice 3 counts";
  EXPECT_EQ(c.counted[0].spec.slice, 3u);
  EXPECT_NEAR(c.bytes_ratio(), 0.25, 1e-9);
  AddCoverageFinding(c, &ev);
  ASSERT_EQ(ev.findings.size(), 1u);
  EXPECT_EQ(ev.findings[0].rule, PolicyRule::kRestoreTestCoverage);
  EXPECT_EQ(ev.findings[0].severity, Verdict::kFailing);
  EXPECT_EQ(ev.verdict, Verdict::kFailing);
  EXPECT_EQ(ev.findings[0].count, 25u);
  EXPECT_EQ(ev.findings[0].required, 100u);
  EXPECT_NE(ev.findings[0].message.find("25.0% of the files"), std::string::npos) << ev.findings[0].message;
  EXPECT_EQ(PolicyRuleName(ev.findings[0].rule), "restore-test.coverage");

  // Day 30: nothing passed within the window at all.
  c = CoverageOf(target, store_.get(), kDay0 + 30 * kDay);
  EXPECT_EQ(c.reference_run, 0);
  TargetEvaluation late;
  AddCoverageFinding(c, &late);
  ASSERT_EQ(late.findings.size(), 1u);
  EXPECT_NE(late.findings[0].message.find("no sampled restore test passed"), std::string::npos);

  // A target that does not sample has no coverage and no such finding.
  TargetConfig whole = SampledTarget(10);
  whole.tests[0].sample.reset();
  EXPECT_FALSE(CoverageOf(whole, store_.get(), kDay0 + 30 * kDay).sampled);
}

// Through the real isolated worker: a tar of 40 files, sample = "25%".
class SampledRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string src = dir_ / "src";
    std::filesystem::create_directories(src + "/data");
    for (int i = 0; i < 40; ++i) WriteFile(src + "/data/f" + std::to_string(i) + ".txt", std::string(static_cast<size_t>(100 + i), static_cast<char>('a' + i % 26)));
    ASSERT_EQ(test::Run("mkdir -p " + ShellQuote(dir_ / "backups") + " && tar -C " + ShellQuote(src) + " -cf " +
                        ShellQuote(dir_ / "backups/app-20261201T020000.tar") + " data"),
              0);
    WriteFile(dir_ / "c.toml",
              "[appliance]\ndata_dir = \"" + dir_.path() + "/data\"\ntimezone = \"Europe/Stockholm\"\nlease = \"5s\"\n"
              "[[targets]]\nname = \"app\"\nowner = \"Anna\"\nclassification = { K = 1, R = 1, T = 1 }\n"
              "personal_data = \"none\"\nsandbox = \"disk\"\ncoverage_days = 10\n"
              "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + dir_.path() +
                  "/backups\"\npattern = \"app-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n"
                  "[[targets.tests]]\nsample = \"25%\"\n");
    ConfigResult r = LoadConfigFile(dir_ / "c.toml");
    ASSERT_TRUE(r.errors.empty()) << FormatConfigErrors(r);
    config_ = std::make_shared<const Config>(r.config);
    std::filesystem::create_directories(dir_ / "data");
    ASSERT_TRUE(OpenSqliteStore(dir_ / "data/restoreproof.db", &store_).ok());
  }

  RunRecord RunOnce() {
    RunnerContext ctx;
    ctx.config = config_;
    ctx.store = store_.get();
    ctx.owner = ProcessIdentity();
    ctx.log = &log_;
    ctx.worker_binary = RP_BINARY;
    RunRequest q;
    q.target = "app";
    q.test_index = 0;
    q.trigger = Trigger::kSchedule;
    const int64_t id = store_->EnqueueRun(q, NowSeconds());
    auto claimed = store_->ClaimRun(ctx.owner, NowSeconds(), NowSeconds() + 30);
    EXPECT_TRUE(claimed && claimed->id == id);
    if (!claimed) return {};
    ExecuteRun(ctx, *claimed, nullptr);
    return *store_->GetRun(id);
  }

  TempDir dir_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  std::ostringstream log_text_;
  EventLog log_{&log_text_};
};

TEST_F(SampledRunTest, FourSampledRunsCoverEveryFileAndTargetsCheckSaysSo) {
  uint64_t seed = 0, files = 0, bytes = 0;
  for (uint32_t k = 0; k < 4; ++k) {
    const RunRecord r = RunOnce();
    ASSERT_EQ(r.state, RunState::kPassed) << r.message << log_text_.str();
    ASSERT_TRUE(r.report && r.report->sample) << "the sample's figures are recorded with the run";
    const SampleFigures& f = *r.report->sample;
    EXPECT_EQ(f.spec.slice, k);
    EXPECT_EQ(f.spec.slices, 4u);
    if (k == 0) seed = f.spec.seed;
    EXPECT_EQ(f.spec.seed, seed);
    EXPECT_EQ(f.point_files, 40u);
    EXPECT_EQ(r.files, f.sample_files) << "only the sample is restored and hashed";
    EXPECT_LT(r.files, 40u);
    files += f.sample_files;
    bytes += f.sample_bytes;
    EXPECT_TRUE(PredictedFullSeconds(r)) << "a sampled run predicts the whole point's time";
  }
  EXPECT_EQ(files, 40u) << "the four slices are the whole point";
  EXPECT_EQ(bytes, store_->LastRun("app", RunState::kPassed)->report->sample->point_bytes);
  const TargetCoverage c = CoverageOf(config_->targets[0], store_.get(), NowSeconds());
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(c.slices_covered, 4u);

  std::string out;
  // (The target fails other rules: one copy, one point. Coverage is not among them.)
  EXPECT_EQ(test::Run(std::string(RP_BINARY) + " --config " + ShellQuote(dir_ / "c.toml") + " targets check --json", &out),
            1)
      << out;
  const auto j = nlohmann::json::parse(out.substr(out.find('{')), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  const auto& cov = j["targets"][0]["coverage"];
  EXPECT_EQ(cov["complete"], true) << cov.dump();
  EXPECT_EQ(cov["files_ratio"], 1.0);
  EXPECT_EQ(cov["slices"], 4);
  EXPECT_EQ(test::Run(std::string(RP_BINARY) + " --config " + ShellQuote(dir_ / "c.toml") + " targets check", &out), 1)
      << out;
  EXPECT_EQ(out.find("[restore-test.coverage]"), std::string::npos) << out;
  EXPECT_NE(out.find("coverage 100.0% of files, 100.0% of bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("full restore predicted"), std::string::npos) << out;

  // Forty days on, nothing was tested within the window: the coverage rule fails the target.
  const time_t later = static_cast<time_t>(NowSeconds() + 40 * kDay);
  char when[32];
  tm parts{};
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&later, &parts));
  EXPECT_EQ(test::Run(std::string(RP_BINARY) + " --config " + ShellQuote(dir_ / "c.toml") +
                          " targets check --now " + when,
                      &out),
            1)
      << out;
  EXPECT_NE(out.find("[restore-test.coverage]"), std::string::npos) << out;
}

}  // namespace
}  // namespace rp
