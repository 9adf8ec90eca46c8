// One run from claim to record through the real isolated worker (RP_BINARY): which point a
// select form takes, the seed recorded and repeatable, an operator's cancel of a running run,
// and `targets schedule`.
#include <gtest/gtest.h>

#include <sys/timex.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "rp/config.h"
#include "rp/config_change.h"
#include "rp/restoration_log.h"
#include "rp/next_run.h"
#include "rp/runner.h"
#include "rp/store.h"
#include "testkit.h"

namespace rp {
namespace {

using test::ShellQuote;
using test::TempDir;
using test::WriteFile;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Three recovery points, a fortnight apart, each a tar of one file naming its date.
    for (const char* day : {"20261101", "20261115", "20261201"}) {
      const std::string src = dir_ / (std::string("src-") + day);
      std::filesystem::create_directories(src + "/data");
      WriteFile(src + "/data/day.txt", std::string(day) + "\n");
      ASSERT_EQ(test::Run("mkdir -p " + ShellQuote(dir_ / "backups") + " && tar -C " + ShellQuote(src) + " -cf " +
                          ShellQuote(dir_ / (std::string("backups/app-") + day + "T020000.tar")) + " data"),
                0);
    }
  }

  Config Load(const std::string& test_section) {
    WriteFile(dir_ / "c.toml",
              "[appliance]\ndata_dir = \"" + dir_.path() + "/data\"\ntimezone = \"Europe/Stockholm\"\nlease = \"3s\"\n"
              "[[targets]]\nname = \"app\"\nowner = \"Anna\"\nclassification = { K = 1, R = 1, T = 1 }\n"
              "personal_data = \"none\"\nsandbox = \"disk\"\n"
              "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + dir_.path() +
                  "/backups\"\npattern = \"app-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n" + test_section);
    ConfigResult r = LoadConfigFile(dir_ / "c.toml");
    EXPECT_TRUE(r.errors.empty()) << FormatConfigErrors(r);
    std::filesystem::create_directories(dir_ / "data");
    EXPECT_TRUE(OpenSqliteStore(dir_ / "data/restoreproof.db", &store_).ok());
    return r.config;
  }

  RunnerContext Context(const Config& config) {
    config_ = std::make_shared<const Config>(config);
    RunnerContext ctx;
    ctx.config = config_;
    ctx.store = store_.get();
    ctx.owner = ProcessIdentity();
    ctx.log = &log_;
    ctx.worker_binary = RP_BINARY;
    return ctx;
  }

  // Queues a run, claims it and runs it to its end.
  RunRecord RunOnce(const RunnerContext& ctx, RunRequest q) {
    const int64_t id = store_->EnqueueRun(q, NowSeconds());
    auto claimed = store_->ClaimRun(ctx.owner, NowSeconds(), NowSeconds() + 30);
    EXPECT_TRUE(claimed && claimed->id == id);
    if (!claimed) return {};
    ExecuteRun(ctx, *claimed, nullptr);
    return *store_->GetRun(id);
  }

  static int64_t NowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<const Config> config_;
  std::ostringstream log_text_;
  EventLog log_{&log_text_};
};

TEST_F(RunnerTest, SelectFormsTakeTheirPointAndARandomSeedIsRecordedAndRepeatable) {
  const RunnerContext ctx = Context(Load("[[targets.tests]]\nselect = \"oldest-retained\"\n"));
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  RunRecord oldest = RunOnce(ctx, q);
  EXPECT_EQ(oldest.state, RunState::kPassed) << oldest.message << log_text_.str();
  EXPECT_EQ(oldest.point_id, "app-20261101T020000.tar") << "oldest-retained proves the far end of retention";
  EXPECT_EQ(oldest.location, "site-a");

  q.select = "latest";
  EXPECT_EQ(RunOnce(ctx, q).point_id, "app-20261201T020000.tar");

  q.select = "random-within:36500d";
  std::set<std::string> points;
  uint64_t seed = 0;
  std::string point_of_seed;
  for (int i = 0; i < 8; ++i) {
    const RunRecord r = RunOnce(ctx, q);
    EXPECT_EQ(r.state, RunState::kPassed);
    EXPECT_NE(r.seed, 0u) << "the seed is recorded with the run";
    points.insert(r.point_id);
    seed = r.seed;
    point_of_seed = r.point_id;
  }
  EXPECT_GT(points.size(), 1u) << "eight random draws over three points all gave one";
  q.seed = seed;  // the recorded seed repeats the draw
  for (int i = 0; i < 3; ++i) EXPECT_EQ(RunOnce(ctx, q).point_id, point_of_seed);
}

TEST_F(RunnerTest, CancellingARunningRunStopsItsWorkerAndWipesTheSandbox) {
  const RunnerContext ctx = Context(
      Load("[[targets.tests]]\nchecks = [ { kind = \"command\", argv = [\"/bin/sleep\", \"60\"], timeout = \"2m\" } ]\n"));
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  const int64_t id = store_->EnqueueRun(q, NowSeconds());
  auto claimed = store_->ClaimRun(ctx.owner, NowSeconds(), NowSeconds() + 30);
  ASSERT_TRUE(claimed);
  const auto started = std::chrono::steady_clock::now();
  std::thread run([&] { ExecuteRun(ctx, *claimed, nullptr); });
  while (store_->GetRun(id)->point_id.empty() && std::chrono::steady_clock::now() - started < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(store_->CancelRun(id, NowSeconds(), "by the test"));
  run.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30)) << "the 60 s check was stopped";
  const RunRecord r = *store_->GetRun(id);
  EXPECT_EQ(r.state, RunState::kCancelled) << r.message;
  bool leftover = false;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "data/sandboxes"))
    leftover = leftover || e.path().filename().string().rfind("rp-sandbox-", 0) == 0;
  EXPECT_FALSE(leftover) << "the cancelled run's sandbox is wiped";
}

TEST_F(RunnerTest, AVerificationFailureIsNeverRetriedAnEnvironmentErrorIs) {
  const RunnerContext ctx = Context(Load("[[targets.tests]]\nselect = \"latest\"\n"));
  // The newest point damaged: one byte of its file's content changed (tar's header checksum
  // does not cover content, so only a manifest would see it; here the manifest says so).
  const std::string newest = dir_ / "backups/app-20261201T020000.tar";
  WriteFile(newest + ".xxh128", "00000000000000000000000000000000  data/day.txt\n");
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  RunRecord failed;
  {
    // The manifest is found by the copy's sidecar pattern.
    std::string text = test::ReadFile(dir_ / "c.toml");
    text.insert(text.find("[[targets.tests]]"), "manifest = \"{file}.xxh128\"\n");
    WriteFile(dir_ / "c.toml", text);
    ConfigResult r = LoadConfigFile(dir_ / "c.toml");
    ASSERT_TRUE(r.errors.empty()) << FormatConfigErrors(r);
    const RunnerContext with_manifest = Context(r.config);
    failed = RunOnce(with_manifest, q);
  }
  EXPECT_EQ(failed.state, RunState::kFailed) << failed.message;
  RunFilter queued;
  queued.state = RunState::kQueued;
  EXPECT_TRUE(store_->ListRuns(queued).empty()) << "a verification failure is a result, not tried again";

  // The backups' directory gone: an environment error, tried again after the backoff.
  std::filesystem::rename(dir_ / "backups", dir_ / "backups-away");
  const RunRecord aborted = RunOnce(ctx, q);
  EXPECT_EQ(aborted.state, RunState::kAborted);
  const auto retries = store_->ListRuns(queued);
  ASSERT_EQ(retries.size(), 1u) << aborted.message;
  EXPECT_EQ(retries[0].request.retry_of, aborted.id);
  EXPECT_EQ(retries[0].request.attempt, 2);
  EXPECT_GE(retries[0].request.not_before, aborted.finished_at + 59) << "retry_backoff, 1 minute by default";
}

TEST_F(RunnerTest, APassedRunIsTheBaselineTheNextRunComparesWith) {
  // Two points whose file has the same path, size and mtime but other bytes: what a silent
  // change between backups looks like to unchanged-since-baseline.
  for (const auto& [day, text] : {std::pair<std::string, std::string>{"20261202", "AAAA\n"}, {"20261203", "BBBB\n"}}) {
    const std::string src = dir_ / ("same-" + day);
    std::filesystem::create_directories(src + "/data");
    WriteFile(src + "/data/day.txt", text);
    ASSERT_EQ(test::Run("touch -d 2026-11-01T00:00:00Z " + ShellQuote(src + "/data/day.txt") + " && tar -C " +
                        ShellQuote(src) + " -cf " + ShellQuote(dir_ / ("backups/app-" + day + "T020000.tar")) + " data"),
              0);
  }
  std::filesystem::remove(dir_ / "backups/app-20261201T020000.tar");
  const RunnerContext ctx = Context(Load("[[targets.tests]]\nchecks = [ { kind = \"unchanged-since-baseline\" } ]\n"));
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  q.point_id = "app-20261202T020000.tar";
  q.location = "site-a";
  const RunRecord first = RunOnce(ctx, q);
  EXPECT_EQ(first.state, RunState::kPassed) << first.message;
  ASSERT_TRUE(store_->LatestBaseline("app")) << "a passed run's inventory is stored as the baseline";
  q.point_id = "app-20261203T020000.tar";
  const RunRecord second = RunOnce(ctx, q);
  EXPECT_EQ(second.state, RunState::kFailed) << "same path, size and mtime, other bytes";
  ASSERT_TRUE(second.report);
  bool check_failed = false;
  for (const auto& f : second.report->findings) check_failed = check_failed || f.kind == FindingKind::kCheckFailed;
  EXPECT_TRUE(check_failed);
}

TEST_F(RunnerTest, ARunPastRunTimeoutFailsOnItsWallTimeLimit) {
  const RunnerContext ctx = Context(
      Load("[[targets.tests]]\nchecks = [ { kind = \"command\", argv = [\"/bin/sleep\", \"60\"], timeout = \"2m\" } ]\n"));
  Config limited = *ctx.config;
  limited.appliance.run_timeout_s = 2;
  RunnerContext short_ctx = ctx;
  short_ctx.config = std::make_shared<const Config>(limited);
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  const auto started = std::chrono::steady_clock::now();
  const RunRecord r = RunOnce(short_ctx, q);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_EQ(r.state, RunState::kFailed) << r.message;
  ASSERT_TRUE(r.report);
  bool wall = false;
  for (const auto& f : r.report->findings) wall = wall || (f.kind == FindingKind::kLimitExceeded && f.limit == LimitKind::kWallTime);
  EXPECT_TRUE(wall) << "run_timeout is the run's wall-time limit";
}

TEST_F(RunnerTest, EveryRunIsARestorationLogRecordWithWhoAndWhatPersonalData) {
  std::string text;
  {
    Load("[[targets.tests]]\nselect = \"latest\"\n");
    text = test::ReadFile(dir_ / "c.toml");
  }
  // A target with personal data whose newest point is damaged per its manifest.
  text.replace(text.find("personal_data = \"none\""), std::string("personal_data = \"none\"").size(),
               "personal_data = \"Employees: names, salaries\"");
  text.insert(text.find("[[targets.tests]]"), "manifest = \"{file}.xxh128\"\n");
  WriteFile(dir_ / "c.toml", text);
  WriteFile(dir_ / "backups/app-20261201T020000.tar.xxh128", "00000000000000000000000000000000  data/day.txt\n");
  ConfigResult r = LoadConfigFile(dir_ / "c.toml");
  ASSERT_TRUE(r.errors.empty()) << FormatConfigErrors(r);
  const RunnerContext ctx = Context(r.config);
  RunRequest q;
  q.target = "app";
  q.test_index = 0;
  q.trigger = Trigger::kSchedule;
  const RunRecord scheduled = RunOnce(ctx, q);
  q.trigger = Trigger::kOperator;
  q.requested_by = "Erik Lind";
  q.select = "oldest-retained";
  const RunRecord asked = RunOnce(ctx, q);
  const auto records = store_->ReadLog(1, 0);
  ASSERT_EQ(records.size(), 2u);
  const LogRecord& a = records[0];
  EXPECT_EQ(a.kind, LogKind::kScheduledTest);
  EXPECT_EQ(a.run_id, scheduled.id);
  EXPECT_EQ(a.responsible, "Anna") << "a scheduled test names the target's owner";
  EXPECT_EQ(a.personal_data, "Employees: names, salaries");
  EXPECT_EQ(a.result, "failed");
  EXPECT_EQ(a.correctness, Correctness::kIncorrect);
  EXPECT_EQ(a.failed_files, std::vector<std::string>{"data/day.txt"}) << "the file to correct is named";
  EXPECT_EQ(a.point, "app-20261201T020000.tar");
  EXPECT_EQ(a.location, "site-a");
  const LogRecord& b = records[1];
  EXPECT_EQ(b.kind, LogKind::kOperatorTest);
  EXPECT_EQ(b.responsible, "Erik Lind") << "an operator's test names who asked for it";
  EXPECT_EQ(b.result, "passed");
  EXPECT_EQ(b.correctness, Correctness::kCorrect);
  EXPECT_TRUE(b.failed_files.empty());
  EXPECT_EQ(b.prev_hash, a.hash) << "the records are chained";
  EXPECT_EQ(asked.state, RunState::kPassed);
  EXPECT_TRUE(VerifyLog(*store_, std::nullopt).ok);
  // The clock as the kernel saw it, recorded with the run.
  timex tx{};
  const int clock_state = adjtimex(&tx);
  ASSERT_NE(clock_state, -1);
  EXPECT_TRUE(asked.clock.known);
  EXPECT_EQ(asked.clock.synchronised, clock_state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0);
  EXPECT_GT(asked.clock.maximum_error_us, 0);
}

TEST_F(RunnerTest, AChangedConfigurationIsARecordNamingItsKeysNeverTheirValues) {
  const Config cfg = Load("[[targets.tests]]\nselect = \"latest\"\n");
  std::ostringstream sink;
  EventLog log(&sink);
  RecordConfigChange(dir_ / "c.toml", cfg, store_.get(), 1000, &log);
  RecordConfigChange(dir_ / "c.toml", cfg, store_.get(), 1001, &log);  // unchanged: nothing
  std::string text = test::ReadFile(dir_ / "c.toml");
  text.replace(text.find("lease = \"3s\""), 12, "lease = \"9s\"");
  WriteFile(dir_ / "c.toml", text);
  RecordConfigChange(dir_ / "c.toml", cfg, store_.get(), 1002, &log);
  const auto records = store_->ReadLog(1, 0);
  ASSERT_EQ(records.size(), 2u) << sink.str();
  EXPECT_EQ(records[0].kind, LogKind::kConfigChange);
  EXPECT_NE(std::find(records[0].changed_keys.begin(), records[0].changed_keys.end(), "appliance.lease (added)"),
            records[0].changed_keys.end());
  EXPECT_EQ(records[1].changed_keys, std::vector<std::string>{"appliance.lease"});
  EXPECT_NE(records[1].responsible.find("root"), std::string::npos) << records[1].responsible;
  const std::string all = test::ReadFile(dir_ / "data/restoreproof.db") + test::ReadFile(dir_ / "data/restoreproof.db-wal");
  ASSERT_NE(all.find("appliance.lease"), std::string::npos) << "the store's bytes, WAL included, are searched";
  EXPECT_EQ(all.find("\"9s\""), std::string::npos) << "a value is never stored, only which key changed";
}

TEST_F(RunnerTest, TargetsScheduleShowsEachTestsAndDrillsNextTime) {
  Load("[[targets.tests]]\nschedule = \"30 3 * * *\"\n");
  std::string out;
  ASSERT_EQ(test::Run(std::string(RP_BINARY) + " --config " + ShellQuote(dir_ / "c.toml") + " --json targets schedule 2>/dev/null",
                      &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["timezone"], "Europe/Stockholm");
  ASSERT_EQ(j["targets"].size(), 1u);
  const auto& t = j["targets"][0];
  EXPECT_EQ(t["name"], "app");
  ASSERT_EQ(t["tests"].size(), 1u);
  EXPECT_EQ(t["tests"][0]["schedule"], "30 3 * * *");
  const int64_t next = t["tests"][0]["next"].get<int64_t>();
  const auto zone = *TimeZone::Locate("Europe/Stockholm");
  EXPECT_EQ(zone.Format(next, "%H:%M"), "03:30");
  EXPECT_GT(next, NowSeconds());
  EXPECT_LE(next, NowSeconds() + 86400 + 3600);
  EXPECT_EQ(t["drill"]["name"], "monthly");
  const int64_t drill = t["drill"]["next"].get<int64_t>();
  EXPECT_EQ(zone.Format(drill, "%a %H:%M"), "Mon 02:00");
  EXPECT_LE(zone.LocalDate(drill).day(), 7u) << "the first Monday of a month";
}

}  // namespace
}  // namespace rp
