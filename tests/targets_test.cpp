// Catalog and policy evaluation on generated estates in temporary directories: retention gaps,
// daylight-saving days, midnight edges, redundancy, content, offline locations, chains and
// over-retention, each detected and named by its rule.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "rp/catalog.h"
#include "rp/policy_eval.h"
#include "rp/restore_point.h"
#include "rp/archive_builder.h"
#include "rp/targets.h"
#include "testkit.h"

namespace rp::test {
namespace {

const TimeZone& Stockholm() {
  static const TimeZone zone = *TimeZone::Locate("Europe/Stockholm");
  return zone;
}

int64_t Local(int y, int mo, int d, int h, int mi) {
  return Stockholm().ToUtc(LocalTime{y, static_cast<unsigned>(mo), static_cast<unsigned>(d), static_cast<unsigned>(h),
                                     static_cast<unsigned>(mi), 0});
}

std::string NameFor(int64_t utc, const std::string& suffix = "") {
  return "t-" + Stockholm().Format(utc, "%Y%m%dT%H%M%S") + suffix + ".tar";
}

class Estate : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(TimeZone::Locate("Europe/Stockholm")) << "tzdata is not installed";
    // Two copies on different file systems: the disk and a tmpfs.
    a_ = dir_ / "site-a";
    b_root_ = access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : dir_.path();
    char tmpl[] = "/dev/shm/rp-estate-XXXXXX";
    b_ = b_root_ == "/dev/shm" && mkdtemp(tmpl) ? std::string(tmpl) : dir_ / "site-b";
    std::filesystem::create_directories(a_);
    std::filesystem::create_directories(b_);
  }
  void TearDown() override { std::filesystem::remove_all(b_); }

  // Daily points at `hour` local from first to last day (inclusive), in both copies.
  void Daily(int y, int mo, int first, int last_mo, int last, int hour, std::vector<std::string> copies = {}) {
    if (copies.empty()) copies = {a_, b_};
    const int64_t end = Local(y, last_mo, last, hour, 0);
    for (Date day = Stockholm().LocalDate(Local(y, mo, first, 12, 0)); day <= Stockholm().LocalDate(end); day = day + 1) {
      const std::string d = day.ToString();
      const int64_t at = Local(day.year(), static_cast<int>(day.month()), static_cast<int>(day.day()), hour, 0);
      for (const auto& c : copies) WriteFile(c + "/" + NameFor(at), "backup of " + d + "\n");
    }
  }
  void Remove(int64_t at) {
    for (const auto& c : {a_, b_}) std::filesystem::remove(c + "/" + NameFor(at));
  }

  std::string Toml(const std::string& policy = "", const std::string& copies = "") {
    std::string t = "[appliance]\ntimezone = \"Europe/Stockholm\"\n[policy]\n" + policy +
                    "\n[[targets]]\nname = \"t\"\nowner = \"Anna\"\nclassification = { K = 2, R = 2, T = 2 }\n"
                    "personal_data = \"none\"\n";
    if (copies.empty()) {
      for (const auto& [loc, path] : {std::pair{"site-a", a_}, std::pair{"site-b", b_}})
        t += "[[targets.copies]]\nlocation = \"" + std::string(loc) + "\"\nkind = \"archive-dir\"\npath = \"" + path +
             "\"\npattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}*.tar\"\nincremental_marker = \"-incr\"\n";
    } else {
      t += copies;
    }
    return t;
  }

  TargetEvaluation Evaluate(const std::string& toml, int64_t now) {
    config_ = ParseConfig(toml, "estate.toml");
    for (const auto& e : config_.errors) ADD_FAILURE() << e.Format();
    return CheckTarget(config_.config, config_.config.targets.at(0), now, true);
  }

  static const PolicyFinding* Find(const TargetEvaluation& ev, PolicyRule rule) {
    for (const auto& f : ev.findings)
      if (f.rule == rule) return &f;
    return nullptr;
  }
  static std::string Describe(const TargetEvaluation& ev) {
    std::string s = std::string(VerdictName(ev.verdict));
    for (const auto& f : ev.findings) s += "\n  [" + std::string(PolicyRuleName(f.rule)) + "] " + f.message;
    return s;
  }
  static Date D(int y, unsigned m, unsigned d) { return Date::FromCivil(y, m, d); }

  TempDir dir_;
  std::string a_, b_, b_root_;
  ConfigResult config_;
};

TEST_F(Estate, CompleteEstateIsOk) {
  Daily(2026, 10, 20, 11, 22, 2);
  const auto ev = Evaluate(Toml(), Local(2026, 11, 22, 12, 0));
  EXPECT_EQ(ev.verdict, Verdict::kOk) << Describe(ev);
}

TEST_F(Estate, RetentionGapsAtStartMiddleAndEndAreEachListed) {
  Daily(2026, 10, 20, 11, 22, 2);
  // The window is the 30 complete days before 2026-11-22: 2026-10-23 .. 2026-11-21.
  Remove(Local(2026, 10, 23, 2, 0));
  Remove(Local(2026, 11, 6, 2, 0));
  Remove(Local(2026, 11, 21, 2, 0));
  const auto ev = Evaluate(Toml(), Local(2026, 11, 22, 12, 0));
  EXPECT_EQ(ev.verdict, Verdict::kFailing);
  const PolicyFinding* f = Find(ev, PolicyRule::kRetentionDaily);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->missing_days, (std::vector<Date>{D(2026, 10, 23), D(2026, 11, 6), D(2026, 11, 21)})) << f->message;
  EXPECT_EQ(f->required, 30u);
  EXPECT_EQ(f->location, "site-a");
}

TEST_F(Estate, DaylightSavingDayAndMidnightEdgesCountInLocalDays) {
  // 2026-10-25 has 25 hours in Europe/Stockholm. A point at 23:59 belongs to the 25th and one
  // at 00:01 to the 26th, although in UTC both fall on the 25th.
  Daily(2026, 9, 20, 10, 28, 12);
  Remove(Local(2026, 10, 25, 12, 0));
  Remove(Local(2026, 10, 26, 12, 0));
  const int64_t late = Local(2026, 10, 25, 23, 59), early = Local(2026, 10, 26, 0, 1);
  ASSERT_EQ(Stockholm().LocalDate(early) - Stockholm().LocalDate(late), 1);
  ASSERT_EQ((early - late), 2 * 60) << "the two points are two minutes apart";
  for (const auto& c : {a_, b_}) {
    WriteFile(c + "/" + NameFor(late), "late\n");
    WriteFile(c + "/" + NameFor(early), "early\n");
  }
  const int64_t now = Local(2026, 10, 28, 12, 0);
  auto ev = Evaluate(Toml(), now);
  EXPECT_EQ(Find(ev, PolicyRule::kRetentionDaily), nullptr) << Describe(ev);

  // Without the 00:01 point, the 26th is missing, and only the 26th.
  for (const auto& c : {a_, b_}) std::filesystem::remove(c + "/" + NameFor(early));
  ev = Evaluate(Toml(), now);
  const PolicyFinding* f = Find(ev, PolicyRule::kRetentionDaily);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->missing_days, std::vector<Date>{D(2026, 10, 26)}) << f->message;
}

TEST_F(Estate, MissingSecondCopyFailsRedundancy) {
  Daily(2026, 10, 20, 11, 22, 2, {a_});
  const std::string one_copy = "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + a_ +
                               "\"\npattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n";
  const auto ev = Evaluate(Toml("", one_copy), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kRedundancyCopies);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->count, 1u);
  EXPECT_EQ(f->required, 2u);
  EXPECT_EQ(f->locations, std::vector<std::string>{"site-a"});
}

TEST_F(Estate, TwoCopiesOnOneFileSystemFail) {
  const std::string b2 = dir_ / "site-b-same-disk";
  std::filesystem::create_directories(b2);
  Daily(2026, 10, 20, 11, 22, 2, {a_, b2});
  std::string copies;
  for (const auto& [loc, path] : {std::pair{"site-a", a_}, std::pair{"site-b", b2}})
    copies += "[[targets.copies]]\nlocation = \"" + std::string(loc) + "\"\nkind = \"archive-dir\"\npath = \"" + path +
              "\"\npattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n";
  const auto ev = Evaluate(Toml("", copies), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kRedundancySameFilesystem);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->locations, (std::vector<std::string>{"site-a", "site-b"}));
  EXPECT_EQ(ev.verdict, Verdict::kFailing);
}

TEST_F(Estate, CopiesWhoseNewestArchivesDifferFail) {
  Daily(2026, 10, 20, 11, 22, 2);
  WriteFile(b_ + "/" + NameFor(Local(2026, 11, 22, 2, 0)), "backup of 2026-11-22, damaged\n");
  const auto ev = Evaluate(Toml(), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kRedundancyContent);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->point, NameFor(Local(2026, 11, 22, 2, 0)));
  EXPECT_EQ(f->locations, (std::vector<std::string>{"site-a", "site-b"}));
}

TEST_F(Estate, OfflineLocationIsAFindingNotACrash) {
  Daily(2026, 10, 20, 11, 22, 2, {a_});
  std::string copies = "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + a_ +
                       "\"\npattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n";
  copies += "[[targets.copies]]\nlocation = \"site-b\"\nkind = \"archive-dir\"\npath = \"/nonexistent/mount/b\"\n"
            "pattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\n";
  const auto ev = Evaluate(Toml("", copies), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kLocationOffline);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->location, "site-b");
  EXPECT_NE(f->error.find("/nonexistent/mount/b"), std::string::npos) << f->error;
  EXPECT_NE(Find(ev, PolicyRule::kRedundancyCopies), nullptr);
}

TEST_F(Estate, BrokenIncrementalChainIsFound) {
  // A full point on the 1st, incrementals after it; the full one has been lost at site-b.
  for (int d = 1; d <= 22; ++d) {
    const int64_t at = Local(2026, 11, d, 2, 0);
    const std::string suffix = d == 1 ? "-full" : "-incr";
    WriteFile(a_ + "/" + NameFor(at, suffix), "p\n");
    if (d != 1) WriteFile(b_ + "/" + NameFor(at, suffix), "p\n");
  }
  const auto ev = Evaluate(Toml("retention_days = 20"), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kChainBroken);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->location, "site-b");
  EXPECT_EQ(f->count, 21u);
  EXPECT_EQ(f->point, NameFor(Local(2026, 11, 2, 2, 0), "-incr"));
  size_t chains = 0;
  for (const auto& g : ev.findings) chains += g.rule == PolicyRule::kChainBroken;
  EXPECT_EQ(chains, 1u) << "site-a's chain is whole";
}

TEST_F(Estate, DifferentialPointsNeedOnlyTheirFullPoint) {
  // Weekly full points, differentials in between; at site-b the first full point is gone, so
  // only the differentials before the second full point are broken.
  for (int d = 1; d <= 22; ++d) {
    const int64_t at = Local(2026, 11, d, 2, 0);
    const std::string suffix = (d == 1 || d == 8 || d == 15 || d == 22) ? "-full" : "-diff";
    WriteFile(a_ + "/" + NameFor(at, suffix), "p\n");
    if (d != 1) WriteFile(b_ + "/" + NameFor(at, suffix), "p\n");
  }
  std::string copies;
  for (const auto& [loc, path] : {std::pair{"site-a", a_}, std::pair{"site-b", b_}})
    copies += "[[targets.copies]]\nlocation = \"" + std::string(loc) + "\"\nkind = \"archive-dir\"\npath = \"" + path +
              "\"\npattern = \"t-{YYYY}{MM}{DD}T{hh}{mm}{ss}*.tar\"\ndifferential_marker = \"-diff\"\n";
  const auto ev = Evaluate(Toml("retention_days = 20", copies), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kChainBroken);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->location, "site-b");
  EXPECT_EQ(f->count, 6u);
}

TEST_F(Estate, OverRetentionIsAFinding) {
  Daily(2026, 9, 1, 11, 22, 2);
  const auto ev = Evaluate(Toml("max_retention_days = 60"), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* f = Find(ev, PolicyRule::kRetentionMax);
  ASSERT_NE(f, nullptr) << Describe(ev);
  EXPECT_EQ(f->point, NameFor(Local(2026, 9, 1, 2, 0)));
  EXPECT_EQ(f->required, 60u);
  EXPECT_EQ(f->count, 22u) << "2026-09-01 .. 2026-09-22 are older than 60 days before 2026-11-22";
}

TEST_F(Estate, StaleTargetFailsFreshnessAndALaggingCopyFails) {
  Daily(2026, 10, 20, 11, 19, 2);
  Daily(2026, 11, 20, 11, 22, 2, {a_});  // site-b stopped receiving copies on the 19th
  auto ev = Evaluate(Toml(), Local(2026, 11, 22, 12, 0));
  const PolicyFinding* lag = Find(ev, PolicyRule::kRedundancyLag);
  ASSERT_NE(lag, nullptr) << Describe(ev);
  EXPECT_EQ(lag->location, "site-b");
  EXPECT_EQ(lag->age_s, 3 * 86400.0);
  EXPECT_EQ(lag->limit_s, 86400.0);
  EXPECT_EQ(Find(ev, PolicyRule::kFreshness), nullptr) << Describe(ev);
  ev = Evaluate(Toml(), Local(2026, 11, 25, 12, 0));
  const PolicyFinding* fresh = Find(ev, PolicyRule::kFreshness);
  ASSERT_NE(fresh, nullptr) << Describe(ev);
  EXPECT_EQ(fresh->severity, Verdict::kFailing);
  EXPECT_EQ(fresh->age_s, 3 * 86400.0 + 10 * 3600.0);
}

TEST_F(Estate, SidecarManifestsAndMtimeWhenThePatternHasNoDate) {
  WriteFile(a_ + "/db-" + "one.tar", "1");
  WriteFile(a_ + "/db-one.tar.xxh128", "m");
  WriteFile(a_ + "/db-two.tar", "2");
  WriteFile(a_ + "/unrelated.txt", "x");
  const int64_t when = Local(2026, 3, 29, 2, 30);  // in the hour daylight saving skips
  const timespec ts[2] = {{static_cast<time_t>(when), 0}, {static_cast<time_t>(when), 0}};
  utimensat(AT_FDCWD, (a_ + "/db-two.tar").c_str(), ts, 0);
  CopyConfig copy;
  copy.location = "a";
  copy.path = a_;
  copy.pattern = "db-*.tar";
  copy.manifest = "{file}.xxh128";
  const CopyCatalog cat = DiscoverCopy(copy, Stockholm());
  ASSERT_EQ(cat.points.size(), 2u);
  EXPECT_EQ(cat.points[0].id, "db-two.tar");  // oldest first: its mtime is in March
  EXPECT_EQ(cat.points[0].time, when);
  EXPECT_TRUE(cat.points[0].manifest.empty());
  EXPECT_EQ(cat.points[1].manifest, a_ + "/db-one.tar.xxh128");
}

TEST_F(Estate, NamePatternFieldsAcrossDaylightSavingChanges) {
  const NamePattern p("x-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar");
  int64_t t = 0;
  // 2026-03-29 01:59:59 CET is 00:59:59 UTC; 03:00:00 CEST, a second later, is 01:00:00 UTC.
  ASSERT_TRUE(p.Match("x-20260329T015959.tar", Stockholm(), &t));
  EXPECT_EQ(t, 1774745999);
  ASSERT_TRUE(p.Match("x-20260329T030000.tar", Stockholm(), &t));
  EXPECT_EQ(t, 1774746000);
  // 2026-10-25 03:30 CET (after the change back) is 02:30 UTC.
  ASSERT_TRUE(p.Match("x-20261025T033000.tar", Stockholm(), &t));
  EXPECT_EQ(t, 1792895400);
  EXPECT_FALSE(p.Match("x-20261325T033000.tar", Stockholm(), &t));  // month 13
  EXPECT_FALSE(p.Match("x-2026102T033000.tar", Stockholm(), &t));
  EXPECT_FALSE(p.Match("y-20261025T033000.tar", Stockholm(), &t));
}

TEST_F(Estate, CliTargetsCheckExitCodesAndJson) {
  Daily(2026, 10, 20, 11, 22, 2);
  WriteFile(dir_ / "c.toml", Toml());
  std::string out;
  const std::string base = std::string(RP_BINARY) + " --config " + dir_ / "c.toml" + " targets check --json --now ";
  // Standard error (the note that restore tests were not judged without a store) is not JSON.
  EXPECT_EQ(RunShell("(" + base + "2026-11-22T12:00:00+01:00 2>/dev/null)", &out), 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["targets"][0]["name"], "t");
  EXPECT_EQ(j["targets"][0]["verdict"], "ok");
  EXPECT_TRUE(j["store"].is_null()) << "no store here: the restore-test rules are not judged";
  EXPECT_EQ(RunShell("(" + base + "2026-12-05T12:00:00+01:00 2>/dev/null)", &out), 1) << out;
  j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["targets"][0]["verdict"], "failing");
  bool freshness = false;
  for (const auto& f : j["targets"][0]["findings"]) freshness = freshness || f["rule"] == "freshness";
  EXPECT_TRUE(freshness) << out;
  EXPECT_EQ(RunShell(std::string(RP_BINARY) + " --config " + dir_ / "c.toml" + " targets list", &out), 0);
  EXPECT_NE(out.find("t  owner: Anna"), std::string::npos) << out;
}

// A target's `sandbox` choice reaches the restore: tmpfs and disk as configured, and `auto` a
// tmpfs only where the point shows its restored size (an uncompressed tar), disk otherwise.
TEST(TargetSandbox, TheConfiguredKindIsWhereTheRestoreHappens) {
  TempDir dir;
  SampleTreeOptions sto;
  sto.files = 8;
  const auto entries = SampleTree(sto);
  std::filesystem::create_directories(dir / "copy");
  std::filesystem::create_directories(dir / "sandboxes");
  ASSERT_TRUE(WriteArchive(dir / "copy/t-20261120.tar", {"pax", {}}, entries).ok());
  ASSERT_TRUE(WriteArchive(dir / "copy/t-20261121.tar.zst", {"pax", {"zstd"}}, entries).ok());
  Config cfg;
  cfg.appliance.sandbox_dir = dir / "sandboxes";
  cfg.appliance.tmpfs_budget = 256u << 20;
  CopyConfig copy;
  copy.location = "a";
  copy.kind = CopyKind::kArchiveDir;
  copy.path = dir / "copy";
  TargetConfig target;
  target.name = "t";
  RecoveryPoint tar, zst;
  tar.id = "t-20261120.tar";
  tar.path = dir / "copy/t-20261120.tar";
  zst.id = "t-20261121.tar.zst";
  zst.path = dir / "copy/t-20261121.tar.zst";
  struct Case {
    SandboxKind choice;
    const RecoveryPoint* point;
    SandboxKind kind;
  };
  using K = SandboxKind;
  for (const Case& c : {Case{K::kAuto, &tar, K::kTmpfs}, Case{K::kAuto, &zst, K::kDisk}, Case{K::kDisk, &tar, K::kDisk},
                        Case{K::kTmpfs, &zst, K::kTmpfs}}) {
    target.sandbox = c.choice;
    VerifyOptions vo;
    vo.worker_binary = RP_BINARY;
    ApplySandboxSettings(cfg, target, copy, *c.point, &vo);
    EXPECT_EQ(vo.sandbox_parent, dir / "sandboxes");
    const VerifyReport r = VerifyRecoveryPoint(copy, *c.point, vo);
    EXPECT_EQ(r.status, RunStatus::kPassed) << SandboxKindName(c.choice) << " " << c.point->id;
    EXPECT_EQ(r.sandbox_kind, c.kind) << SandboxKindName(c.choice) << " " << c.point->id;
    EXPECT_TRUE(r.sandbox_removed);
    EXPECT_EQ(r.limits.max_stall_seconds, Limits{}.max_stall_seconds) << "the engine's default";
  }
  // A target's stall, spin and memory limits reach the run and its report.
  target.stall_timeout_s = 1800;
  target.spin_timeout_s = 90;
  target.memory_limit_bytes = 3ull << 30;
  VerifyOptions vo;
  vo.worker_binary = RP_BINARY;
  ApplySandboxSettings(cfg, target, copy, tar, &vo);
  const VerifyReport r = VerifyRecoveryPoint(copy, tar, vo);
  EXPECT_EQ(r.status, RunStatus::kPassed);
  EXPECT_EQ(r.limits.max_stall_seconds, 1800.0);
  EXPECT_EQ(r.limits.max_spin_seconds, 90.0);
  EXPECT_EQ(r.limits.max_memory_bytes, 3ull << 30);
  const IsolationRecord* memory = r.isolation.Find(IsolationLayer::kMemoryCgroup);
  ASSERT_NE(memory, nullptr);
  if (memory->state == LayerState::kEnforced) {
    EXPECT_NE(memory->detail.find(std::to_string(3ull << 30)), std::string::npos) << memory->detail;
  }
}

}  // namespace
}  // namespace rp::test
