// The configuration loader: the documented example is valid, and each broken file gives its
// expected message at its position, with every error reported (not only the first).
#include <gtest/gtest.h>

#include <string>

#include "rp/config.h"
#include "testkit.h"

namespace rp::test {
namespace {

constexpr const char* kMinimalTarget = R"(
[[targets]]
name = "t"
owner = "Anna"
classification = { K = 1, R = 1, T = 1 }
personal_data = "none"
[[targets.copies]]
location = "a"
kind = "archive-dir"
path = "/backup/t"
pattern = "t-{YYYY}{MM}{DD}.tar"
)";

TEST(Config, TheDocumentedExampleIsValid) {
  const ConfigResult r = LoadConfigFile(std::string(RP_SOURCE_DIR) + "/config/restoreproof.example.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.Format();
  ASSERT_EQ(r.config.targets.size(), 3u);
  const TargetConfig& payroll = r.config.targets[0];
  EXPECT_EQ(payroll.owner, "Anna Svensson");
  EXPECT_EQ(payroll.copies.size(), 2u);
  EXPECT_EQ(payroll.checksum, HashAlgo::kSha256);  // R = 3 needs SHA-256 unless overridden
  EXPECT_EQ(payroll.personal_data.subjects, std::vector<std::string>{"employees"});
  ASSERT_EQ(payroll.tests.size(), 1u);
  EXPECT_EQ(payroll.tests[0].checks.size(), 5u);
  EXPECT_EQ(payroll.tests[0].schedule.ToString(), "0 3 * * mon#1");
  EXPECT_EQ(payroll.tests[0].schedule.nth_weekdays(), (std::vector<NthWeekday>{{1, 1}}));
  EXPECT_EQ(payroll.tests[0].select.kind, SelectKind::kLatest);
  // Baseline, then the availability class (T3), then the target's own overrides.
  const Policy p = r.config.PolicyFor(payroll);
  EXPECT_EQ(p.retention_days, 90);
  EXPECT_EQ(p.backup_interval_s, 12 * 3600.0);
  EXPECT_EQ(p.min_copies, 2);
  ASSERT_TRUE(p.max_retention_days);
  EXPECT_EQ(*p.max_retention_days, 400);
  EXPECT_EQ(r.config.PolicyFor(r.config.targets[2]).min_copies, 3);  // T4
  EXPECT_EQ(r.config.targets[1].checksum, HashAlgo::kXxh128);
  EXPECT_TRUE(r.config.targets[1].personal_data.none);
  EXPECT_EQ(payroll.sandbox, SandboxKind::kTmpfs);
  EXPECT_EQ(r.config.targets[1].sandbox, SandboxKind::kAuto);
  EXPECT_FALSE(payroll.stall_timeout_s);
  EXPECT_EQ(r.config.targets[1].stall_timeout_s, std::optional<double>(1800.0));
  EXPECT_EQ(r.config.targets[1].spin_timeout_s, std::optional<double>(120.0));
  EXPECT_EQ(r.config.targets[1].memory_limit_bytes, std::optional<uint64_t>(2ull << 30));
  EXPECT_FALSE(payroll.memory_limit_bytes);
  EXPECT_EQ(r.config.appliance.zone.name(), "Europe/Stockholm");
  EXPECT_EQ(r.config.appliance.tmpfs_budget, 8ull << 30);
}

struct BrokenCase {
  std::string name;
  std::string text;
  int line, column;
  std::string key;
  std::string message;  // part of the formatted error
};

inline void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }

class BrokenConfig : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenConfig, GivesItsMessageAtItsPosition) {
  const BrokenCase& c = GetParam();
  const ConfigResult r = ParseConfig(c.text, "broken.toml");
  ASSERT_FALSE(r.errors.empty()) << c.name;
  bool found = false;
  std::string all;
  for (const auto& e : r.errors) {
    all += e.Format() + "\n";
    if (e.line == c.line && e.column == c.column && e.key == c.key && e.Format().find(c.message) != std::string::npos)
      found = true;
  }
  EXPECT_TRUE(found) << "wanted " << c.line << ":" << c.column << " " << c.key << " '" << c.message << "', got:\n" << all;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BrokenConfig,
    ::testing::Values(
        BrokenCase{"syntax", "[policy\nretention_days = 30\n", 1, 8, "", "expected valid TOML"},
        BrokenCase{"unknown_top_key", "colour = \"blue\"\n", 1, 10, "colour", "unknown key \"colour\""},
        BrokenCase{"unknown_policy_key", "[policy]\nretention = 30\n", 2, 13, "policy.retention", "unknown key"},
        BrokenCase{"workers_string", "[appliance]\nworkers = \"two\"\n", 2, 11, "appliance.workers",
                   "expected an integer from 1 to 64, found a string \"two\""},
        BrokenCase{"workers_not_clamped", "[appliance]\nworkers = 500\n", 2, 11, "appliance.workers", "found 500"},
        BrokenCase{"timezone", "[appliance]\ntimezone = \"Mars/Base\"\n", 2, 12, "appliance.timezone", "IANA time zone"},
        BrokenCase{"listen", "[appliance]\nlisten = \"localhost\"\n", 2, 10, "appliance.listen", "host:port"},
        BrokenCase{"relative_data_dir", "[appliance]\ndata_dir = \"var/lib\"\n", 2, 12, "appliance.data_dir",
                   "an absolute path"},
        BrokenCase{"duration_without_unit", "[policy]\nbackup_interval = 86400\n", 2, 19, "policy.backup_interval",
                   "a duration string with a unit"},
        BrokenCase{"duration_bad_unit", "[policy]\nrto = \"4 hours\"\n", 2, 7, "policy.rto", "found \"4 hours\""},
        BrokenCase{"retention_zero", "[policy]\nretention_days = 0\n", 2, 18, "policy.retention_days", "found 0"},
        BrokenCase{"max_below_retention", "[policy]\nretention_days = 30\nmax_retention_days = 7\n", 3, 22,
                   "policy.max_retention_days", "at least retention_days (30)"},
        BrokenCase{"availability_class", "[policy.availability.T5]\nretention_days = 90\n", 1, 1,
                   "policy.availability.T5", "unknown key"},
        BrokenCase{"owner_missing", "[[targets]]\nname = \"t\"\nclassification = { K = 1, R = 1, T = 1 }\npersonal_data = \"none\"\n",
                   1, 1, "targets[0].owner", "(required), found the key is missing"},
        BrokenCase{"personal_data_missing", "[[targets]]\nname = \"t\"\nowner = \"A\"\nclassification = { K = 1, R = 1, T = 1 }\n",
                   1, 1, "targets[0].personal_data", "or \"none\" (required)"},
        BrokenCase{"classification_range", "[[targets]]\nname = \"t\"\nowner = \"A\"\nclassification = { K = 5, R = 1, T = 1 }\n",
                   4, 24, "targets[0].classification.K", "from 1 to 4, found 5"},
        BrokenCase{"bad_name", "[[targets]]\nname = \"Pay Roll\"\n", 2, 8, "targets[0].name", "a-z, 0-9"},
        BrokenCase{"copy_kind", "[[targets]]\nname = \"t\"\n[[targets.copies]]\nkind = \"tape\"\n", 4, 8,
                   "targets[0].copies[0].kind", "one of archive-dir, dir-snapshots, restic, borg"},
        BrokenCase{"restic_password_in_config", "[[targets]]\nname = \"t\"\n[[targets.copies]]\nlocation = \"a\"\nkind = \"restic\"\npath = \"/r\"\npassword = \"hunter2\"\n",
                   7, 12, "targets[0].copies[0].password", "unknown key \"password\""},
        BrokenCase{"check_kind", std::string(kMinimalTarget) + "[[targets.tests]]\nchecks = [ { kind = \"virus-scan\" } ]\n", 13, 21,
                   "targets[0].tests[0].checks[0].kind", "found \"virus-scan\""},
        // Schedules and selects point at the offending token inside the string: the value's
        // column, plus 1 for the opening quote, plus the token's offset.
        BrokenCase{"schedule_field_count",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"every day\"\n", 13, 13,
                   "targets[0].tests[0].schedule",
                   "expected 5 fields (minute hour day-of-month month day-of-week) or "
                   "@daily/@weekly/@monthly/@yearly/@hourly, found \"every day\" (2 fields)"},
        BrokenCase{"schedule_day_of_week",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"0 3 * * 8\"\n", 13, 21,
                   "targets[0].tests[0].schedule",
                   "expected day-of-week 0-7 or sun-sat, found \"8\" (day-of-week: 8 is out of range 0-7)"},
        BrokenCase{"schedule_step", std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"*/0 3 * * *\"\n", 13,
                   15, "targets[0].tests[0].schedule",
                   "expected a step from 1 to 59, found \"0\" (minute: step 0 is not allowed)"},
        BrokenCase{"schedule_nth_weekday",
                   std::string(kMinimalTarget) + "[[targets.tests]]\n[[targets.tests]]\nschedule = \"0 3 * * mon#6\"\n",
                   14, 24, "targets[0].tests[1].schedule",
                   "found \"#6\" (day-of-week: #6: a month has at most 5 of a weekday)"},
        BrokenCase{"schedule_padded_key",
                   std::string(kMinimalTarget) + "[[targets.tests]]\n  schedule   =   \"0 3 * * 8\"\n", 13, 27,
                   "targets[0].tests[0].schedule", "found \"8\""},
        BrokenCase{"schedule_literal_string",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = '0 3 * * 8'\n", 13, 21,
                   "targets[0].tests[0].schedule", "found \"8\""},
        BrokenCase{"schedule_non_ascii_after_the_token",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"0 3 * * \u00e9\"\n", 13, 21,
                   "targets[0].tests[0].schedule", "found \"\u00e9\""},
        // Where the text differs from the value (an escape, a multi-line string), the error
        // points at the value itself.
        BrokenCase{"schedule_escaped",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"0 3 * * \\u0038\"\n", 13, 12,
                   "targets[0].tests[0].schedule", "found \"8\" (day-of-week: 8 is out of range 0-7)"},
        BrokenCase{"schedule_multi_line",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"\"\"0 3 * * 8\"\"\"\n", 13, 12,
                   "targets[0].tests[0].schedule", "found \"8\""},
        BrokenCase{"schedule_not_a_string", std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = 5\n", 13, 12,
                   "targets[0].tests[0].schedule", "expected a string, found an integer"},
        BrokenCase{"select_without_unit",
                   std::string(kMinimalTarget) + "[[targets.tests]]\nselect = \"random-within:30\"\n", 13, 25,
                   "targets[0].tests[0].select",
                   "expected a duration from 1s to 36500d with a unit s, m, h, d or w, like 30d, found \"30\" "
                   "(random-within: '30' has no unit (s, m, h, d or w))"},
        BrokenCase{
            "select_unknown", std::string(kMinimalTarget) + "[[targets.tests]]\nselect = \"newest\"\n", 13, 11,
            "targets[0].tests[0].select",
            "expected latest, oldest-retained or random-within:<duration>, like random-within:30d, found \"newest\""},
        BrokenCase{"duplicate_target", std::string(kMinimalTarget) + kMinimalTarget, 14, 8, "targets[1].name", "already used"},
        BrokenCase{"sandbox_kind", "[[targets]]\nname = \"t\"\nsandbox = \"memory\"\n", 3, 11, "targets[0].sandbox",
                   "auto, disk or tmpfs"},
        BrokenCase{"stall_timeout", "[[targets]]\nname = \"t\"\nstall_timeout = 600\n", 3, 17,
                   "targets[0].stall_timeout", "a duration string"},
        BrokenCase{"memory_limit_too_small", "[[targets]]\nname = \"t\"\nmemory_limit = \"1M\"\n", 3, 16,
                   "targets[0].memory_limit", "at least 64M"},
        BrokenCase{"unknown_time_zone", "[appliance]\ntimezone = \"Europe/Atlantis\"\n", 2, 12, "appliance.timezone",
                   "an IANA time zone"},
        BrokenCase{"tmpfs_budget_too_small", "[appliance]\ntmpfs_budget = \"10K\"\n", 2, 16, "appliance.tmpfs_budget",
                   "at least 64M"}),
    [](const auto& tpi) { return tpi.param.name; });

TEST(Config, AMalformedScheduleIsOneErrorAtItsToken) {
  const ConfigResult r =
      ParseConfig(std::string(kMinimalTarget) + "[[targets.tests]]\nschedule = \"0 3 * * 8\"\n", "restoreproof.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  const ConfigError& e = r.errors[0];
  EXPECT_EQ(e.line, 13);
  EXPECT_EQ(e.column, 21);
  EXPECT_EQ(e.key, "targets[0].tests[0].schedule");
  EXPECT_EQ(e.expected, "day-of-week 0-7 or sun-sat");
  EXPECT_EQ(e.found, "\"8\" (day-of-week: 8 is out of range 0-7)");
  EXPECT_EQ(e.Format(),
            "restoreproof.toml:13:21: targets[0].tests[0].schedule: expected day-of-week 0-7 or sun-sat, found \"8\" "
            "(day-of-week: 8 is out of range 0-7)");
}

TEST(Config, ScheduleAndSelectAreParsedIntoValues) {
  const ConfigResult r =
      ParseConfig(std::string(kMinimalTarget) +
                      "[[targets.tests]]\nschedule = \"30 2 * * mon#1,FRI\"\nselect = \"random-within:30d\"\n"
                      "[[targets.tests]]\nselect = \"oldest-retained\"\nschedule = \"@weekly\"\n"
                      "[[targets.tests]]\n",
                  "f.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.Format();
  ASSERT_EQ(r.config.targets.size(), 1u);
  const auto& tests = r.config.targets[0].tests;
  ASSERT_EQ(tests.size(), 3u);

  const Schedule& first = tests[0].schedule;
  EXPECT_EQ(first.ToString(), "30 2 * * 5,mon#1");
  EXPECT_TRUE(first.minutes().test(30));
  EXPECT_EQ(first.minutes().count(), 1u);
  EXPECT_TRUE(first.hours().test(2));
  EXPECT_EQ(first.hours().count(), 1u);
  EXPECT_EQ(first.days_of_week().count(), 1u);
  EXPECT_TRUE(first.days_of_week().test(5));
  EXPECT_EQ(first.nth_weekdays(), (std::vector<NthWeekday>{{1, 1}}));
  EXPECT_TRUE(first.day_of_month_star());
  EXPECT_FALSE(first.day_of_week_star());
  EXPECT_EQ(tests[0].select, (TestSelect{SelectKind::kRandomWithin, 30 * 86400.0}));

  EXPECT_EQ(tests[1].schedule, std::get<Schedule>(ParseSchedule("0 0 * * 0")));
  EXPECT_EQ(tests[1].schedule.ToString(), "@weekly");
  EXPECT_EQ(tests[1].select.kind, SelectKind::kOldestRetained);

  // Neither key: the defaults, @monthly and latest.
  EXPECT_EQ(tests[2].schedule, std::get<Schedule>(ParseSchedule("0 0 1 * *")));
  EXPECT_EQ(tests[2].schedule.ToString(), "@monthly");
  EXPECT_EQ(tests[2].select, (TestSelect{SelectKind::kLatest, 0}));
}

// The minimal target with `coverage_days = DAYS`.
std::string WithCoverage(const std::string& days) {
  std::string text = kMinimalTarget;
  const std::string after = "personal_data = \"none\"\n";
  return text.insert(text.find(after) + after.size(), "coverage_days = " + days + "\n");
}

TEST(Config, StoreAgentSampleAndCoverageAreRead) {
  const ConfigResult r = ParseConfig(
      "[store]\nurl = \"postgresql://rp@db.example:5432/restoreproof\"\npassword_file = \"/etc/rp/db.pw\"\n"
      "[agent]\nlocations = [\"site-a\", \"site-b\"]\n" +
          WithCoverage("14") +
          "[[targets.tests]]\nsample = \"12.5%\"\n[[targets.tests]]\nsample_bytes = \"50G\"\n"
          "[[targets.tests]]\n",
      "f.toml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.Format();
  EXPECT_EQ(r.config.store.url, "postgresql://rp@db.example:5432/restoreproof");
  EXPECT_EQ(r.config.store.password_file, "/etc/rp/db.pw");
  EXPECT_EQ(r.config.agent.locations, (std::vector<std::string>{"site-a", "site-b"}));
  ASSERT_EQ(r.config.targets.size(), 1u);
  const TargetConfig& t = r.config.targets[0];
  EXPECT_EQ(t.coverage_days, 14);
  EXPECT_TRUE(t.Samples());
  ASSERT_EQ(t.tests.size(), 3u);
  EXPECT_EQ(t.tests[0].sample, (SampleSize{0.125, 0}));
  EXPECT_EQ(t.tests[1].sample, (SampleSize{0, 50ull << 30}));
  EXPECT_FALSE(t.tests[2].sample);
  // Without [store] the store is SQLite; without [agent] an agent reads every location.
  const ConfigResult plain = ParseConfig(kMinimalTarget, "f.toml");
  EXPECT_TRUE(plain.errors.empty());
  EXPECT_TRUE(plain.config.store.url.empty());
  EXPECT_TRUE(plain.config.agent.locations.empty());
  EXPECT_FALSE(plain.config.targets[0].Samples());
  EXPECT_FALSE(plain.config.targets[0].coverage_days);
}

TEST(Config, BadStoreAndSampleValuesSayWhatAndWhere) {
  const auto errors_of = [](const std::string& text) {
    std::string all;
    for (const auto& e : ParseConfig(text, "f.toml").errors) all += e.Format() + "\n";
    return all;
  };
  EXPECT_NE(errors_of("[store]\nurl = \"mysql://x@y/z\"\npassword_file = \"/p\"\n").find("f.toml:2:7: store.url"),
            std::string::npos);
  const std::string with_password = errors_of("[store]\nurl = \"postgresql://rp:secret@h:5432/db\"\npassword_file = \"/p\"\n");
  EXPECT_NE(with_password.find("without a password"), std::string::npos) << with_password;
  EXPECT_EQ(with_password.find("secret"), std::string::npos) << "the password must not be echoed";
  EXPECT_NE(errors_of("[store]\nurl = \"postgresql://rp@h:5432/db\"\n").find("store.password_file"), std::string::npos);
  EXPECT_NE(errors_of("[agent]\nlocations = \"site-a\"\n").find("agent.locations"), std::string::npos);
  for (const char* bad : {"0%", "101%", "10", "ten%", "%", "1e1%", "-5%"}) {
    const std::string e = errors_of(std::string(kMinimalTarget) + "[[targets.tests]]\nsample = \"" + bad + "\"\n");
    EXPECT_NE(e.find("targets[0].tests[0].sample"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_NE(errors_of(std::string(kMinimalTarget) + "[[targets.tests]]\nsample = \"5%\"\nsample_bytes = \"1G\"\n")
                .find("not both"),
            std::string::npos);
  EXPECT_NE(errors_of(std::string(kMinimalTarget) + "[[targets.tests]]\nsample_bytes = \"lots\"\n").find("sample_bytes"),
            std::string::npos);
  EXPECT_NE(errors_of(WithCoverage("0")).find("targets[0].coverage_days"),
            std::string::npos);
}

TEST(Config, MaximumRetentionIsCheckedAcrossTheOverrideLevels) {
  // The baseline's maximum (60) undercuts the retention the T3 class asks for (90).
  const ConfigResult r = ParseConfig(std::string("[policy]\nmax_retention_days = 60\n[policy.availability.T3]\n"
                                                 "retention_days = 90\n") +
                                         "[[targets]]\nname = \"t\"\nowner = \"A\"\nclassification = { K = 1, R = 1, T = 3 }\n"
                                         "personal_data = \"none\"\n[[targets.copies]]\nlocation = \"a\"\nkind = "
                                         "\"dir-snapshots\"\npath = \"/s\"\n",
                                     "f.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "targets[0]");
  EXPECT_NE(r.errors[0].Format().find("at least the retention_days that applies (90)"), std::string::npos)
      << r.errors[0].Format();
}

TEST(Config, EveryErrorIsReportedNotOnlyTheFirst) {
  const ConfigResult r = ParseConfig("[appliance]\nworkers = 0\nlisten = \"x\"\n[policy]\nrto = 5\nfoo = 1\n", "f.toml");
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].line, 2);  // in file order
  EXPECT_EQ(r.errors[3].line, 6);
}

TEST(Config, ChecksumOverrideAndPersonalDataTable) {
  const std::string text = std::string(kMinimalTarget) + "";
  ConfigResult r = ParseConfig(text, "f.toml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].Format();
  r = ParseConfig(
      "[[targets]]\nname = \"t\"\nowner = \"A\"\nclassification = { K = 1, R = 4, T = 1 }\nchecksum = \"xxh128\"\n"
      "personal_data = { categories = [\"health\"], subjects = [] }\n[[targets.copies]]\nlocation = \"a\"\nkind = "
      "\"dir-snapshots\"\npath = \"/s\"\n",
      "f.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "targets[0].personal_data.subjects");
  EXPECT_EQ(r.config.targets[0].checksum, HashAlgo::kXxh128);  // explicitly overridden
}

TEST(Config, NotifyChannelsAndDrillsAreReadAndCrossChecked) {
  const auto with_notify = [](const std::string& names) {
    std::string text = kMinimalTarget;
    text.insert(text.find("[[targets.copies]]"), "notify = [" + names + "]\n");
    return text;
  };
  const ConfigResult ok = ParseConfig(with_notify("\"hook\", \"mail\"") + R"(
[[notify]]
name = "hook"
kind = "webhook"
url = "https://hooks.example.se/rp"
secret_file = "/etc/restoreproof/hook.key"
[[notify]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.se"
smtp_port = 587
starttls = "required"
from = "rp@example.se"
to = ["drift@example.se"]
[[drills]]
name = "quarterly"
schedule = "0 4 1 1,4,7,10 *"
targets = ["t"]
notify = ["mail"]
[appliance]
lease = "10s"
drain_grace = "5s"
run_timeout = "2h"
retries = 1
retry_backoff = "30s"
)",
                                      "restoreproof.toml");
  ASSERT_TRUE(ok.errors.empty()) << FormatConfigErrors(ok);
  const Config& c = ok.config;
  ASSERT_EQ(c.notify.size(), 2u);
  EXPECT_EQ(c.notify[0].kind, NotifyKind::kWebhook);
  EXPECT_EQ(c.notify[1].starttls, StartTls::kRequired);
  EXPECT_EQ(c.notify[1].smtp_port, 587);
  EXPECT_EQ(c.targets[0].notify, (std::vector<std::string>{"hook", "mail"}));
  ASSERT_EQ(c.drills.size(), 1u) << "a configured drill replaces the default one";
  EXPECT_EQ(c.drills[0].schedule.ToString(), "0 4 1 */3 *");
  EXPECT_EQ(c.appliance.lease_s, 10);
  EXPECT_EQ(c.appliance.retries, 1);
  EXPECT_EQ(c.appliance.run_timeout_s, 7200);

  const ConfigResult defaults = ParseConfig(kMinimalTarget, "restoreproof.toml");
  ASSERT_EQ(defaults.config.drills.size(), 1u);
  EXPECT_EQ(defaults.config.drills[0].name, "monthly");
  EXPECT_EQ(defaults.config.drills[0].schedule.ToString(), "0 2 * * mon#1");

  const ConfigResult bad = ParseConfig(with_notify("\"pager\"") + R"(
[[notify]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.se"
from = "rp@example.se"
username = "rp"
[[notify]]
name = "mail"
kind = "sms"
[[drills]]
name = "d"
targets = ["nope"]
[appliance]
lease = "1s"
)",
                                       "restoreproof.toml");
  std::string all;
  for (const auto& e : bad.errors) all += e.Format() + "\n";
  for (const char* want : {"targets[0].notify: expected names of [[notify]] channels, found \"pager\"",
                           "notify[0].to: expected a non-empty array", "notify[0].password_file",
                           "notify[1].kind: expected webhook or email", "notify[1].name: expected a name no other channel has",
                           "drills[0].targets: expected names of [[targets]], found \"nope\"",
                           "appliance.lease: expected a duration of at least 3s"})
    EXPECT_NE(all.find(want), std::string::npos) << want << " in:\n" << all;
}

TEST(Config, Durations) {
  EXPECT_EQ(ParseConfigDuration("90m"), 5400.0);
  EXPECT_EQ(ParseConfigDuration("1.5h"), 5400.0);
  EXPECT_EQ(ParseConfigDuration("30d"), 30 * 86400.0);
  EXPECT_FALSE(ParseConfigDuration("30"));
  EXPECT_FALSE(ParseConfigDuration("d"));
  EXPECT_FALSE(ParseConfigDuration("-1d"));
  EXPECT_FALSE(ParseConfigDuration("1e3s"));
}

TEST(Config, CliConfigCheckExitsTwoWithPositions) {
  TempDir dir;
  WriteFile(dir / "c.toml", "[appliance]\nworkers = \"many\"\n");
  std::string out;
  EXPECT_EQ(RunShell(std::string(RP_BINARY) + " --config " + dir / "c.toml" + " config check", &out), 2);
  EXPECT_NE(out.find(dir / "c.toml" + ":2:11: appliance.workers: expected an integer from 1 to 64"), std::string::npos) << out;
  EXPECT_EQ(RunShell(std::string(RP_BINARY) + " --config " + std::string(RP_SOURCE_DIR) +
                         "/config/restoreproof.example.toml config check",
                     &out),
            0)
      << out;
}

}  // namespace
}  // namespace rp::test
