// When a schedule next fires (rp/next_run.h): every run over more than two years in
// Europe/Stockholm, and a year in zones with other kinds of change (02:00 America, a half-hour
// change on Lord Howe, changes at midnight in Santiago, +12:45 Chatham, no change in Kolkata,
// the day Samoa skipped), equal to a minute-by-minute simulation of cronie's main loop written
// here from cron.c over the tz database read directly. Both daylight-saving changes of each year
// asserted by hand, a speed bound, and `schedule preview` through the real binary.
#include "rp/next_run.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "testkit.h"

namespace rp {
namespace {

using std::chrono::seconds;

// ---- the reference: cronie's loop, one wake-up per minute -----------------------------------

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t Utc(const std::string& iso) {  // "2026-03-29T01:00:00Z"
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, se = 0;
  EXPECT_EQ(std::sscanf(iso.c_str(), "%d-%u-%uT%u:%u:%uZ", &y, &mo, &d, &h, &mi, &se), 6) << iso;
  const date::sys_days day{date::year{y} / date::month{mo} / date::day{d}};
  return int64_t{day.time_since_epoch().count()} * 86400 + int64_t{h * 3600 + mi * 60 + se};
}

std::string Iso(int64_t utc) { return date::format("%Y-%m-%dT%H:%M:%SZ", date::sys_seconds{seconds{utc}}); }

// The wall clock of a zone, minute by minute, straight from the tz database.
class WallClock {
 public:
  explicit WallClock(const date::time_zone* zone) : zone_(zone) {}
  // Minutes since 1970-01-01 00:00 as the zone's clocks show them at `utc`.
  int64_t LocalMinute(int64_t utc) {
    const date::sys_seconds t{seconds{utc}};
    if (!(t >= info_.begin && t < info_.end)) info_ = zone_->get_info(t);
    return FloorDiv(utc + info_.offset.count(), 60);
  }

 private:
  const date::time_zone* zone_;
  date::sys_info info_{};
};

// Whether a wall-clock minute matches, by crontab(5)'s rule as cronie's find_jobs tests it: a
// day matches by day-of-month AND day-of-week when either field is `*`, else by either.
bool Matches(const Schedule& s, int64_t local_minute) {
  const int64_t day = FloorDiv(local_minute, 1440);
  const int64_t in_day = local_minute - day * 1440;
  if (!s.minutes().test(static_cast<size_t>(in_day % 60)) || !s.hours().test(static_cast<size_t>(in_day / 60)))
    return false;
  const date::sys_days d{date::days{day}};
  const date::year_month_day ymd{d};
  const auto month = static_cast<unsigned>(ymd.month());
  const auto dom = static_cast<unsigned>(ymd.day());
  const unsigned wday = date::weekday{d}.c_encoding();
  if (!s.months().test(month)) return false;
  const bool by_dom = s.days_of_month().test(dom);
  bool by_dow = s.days_of_week().test(wday);
  for (const NthWeekday& n : s.nth_weekdays())
    if (static_cast<unsigned>(n.weekday) == wday && static_cast<unsigned>(n.nth) == (dom + 6) / 7) by_dow = true;
  return (s.day_of_month_star() || s.day_of_week_star()) ? (by_dom && by_dow) : (by_dom || by_dow);
}

// cronie's rule for "wildcard" jobs, from the text: the minute or the hour field starts with
// '*' (entry.c sets MIN_STAR / HR_STAR from the first character); of the macros, @hourly.
bool CronieWildcard(const std::string& text) {
  if (text.starts_with("@")) return text == "@hourly";
  std::istringstream in(text);
  std::string minute, hour;
  in >> minute >> hour;
  return minute.starts_with("*") || hour.starts_with("*");
}

// Every instant in [begin, end) at which cronie's crond, waking at each minute, starts the job:
// cron.c's main loop with its four kinds of wake-up, the clock read in `zone`.
std::vector<int64_t> Simulate(const Schedule& s, bool wildcard, const date::time_zone* zone, int64_t begin,
                              int64_t end) {
  WallClock clock(zone);
  std::vector<int64_t> fires;
  int64_t t = FloorDiv(begin, 60) * 60 - 2 * 86400;
  int64_t virtual_time = clock.LocalMinute(t);
  for (t += 60; t < end; t += 60) {
    const int64_t running = clock.LocalMinute(t);
    const int64_t diff = running - virtual_time;
    bool fire = false;
    const auto find_jobs = [&](int64_t v, bool do_wild, bool do_fixed) {
      if ((wildcard ? do_wild : do_fixed) && Matches(s, v)) fire = true;
    };
    if (diff == 1 || diff > 180 || diff < -180) {  // normal, or the clock jumped a lot
      virtual_time = running;
      find_jobs(running, true, true);
    } else if (diff > 5) {  // medium jump forward, "DST begins"
      find_jobs(running, true, false);
      for (int64_t v = virtual_time + 1; v <= running; ++v) find_jobs(v, false, true);
      virtual_time = running;
    } else if (diff > 0) {  // small: woke up late, catch up every minute
      for (int64_t v = virtual_time + 1; v <= running; ++v) find_jobs(v, true, true);
      virtual_time = running;
    } else {  // "DST ends": wildcard jobs only, virtual time waits
      find_jobs(running, true, false);
    }
    if (fire && t >= begin) fires.push_back(t);
  }
  return fires;
}

// ---- comparing -------------------------------------------------------------------------------

Schedule Parsed(const std::string& text) {
  auto r = ParseSchedule(text);
  if (const auto* e = std::get_if<ScheduleError>(&r)) {
    ADD_FAILURE() << text << ": " << e->message;
    return Schedule();
  }
  return std::get<Schedule>(r);
}

const date::time_zone* TzZone(const std::string& name) { return date::locate_zone(name); }

TimeZone Zone(const std::string& name) {
  const auto z = TimeZone::Locate(name);
  if (!z) ADD_FAILURE() << name << " is not in the tz database (is tzdata installed?)";
  return z ? *z : TimeZone::Utc();
}

std::string Shown(int64_t utc, const TimeZone& zone) {
  return Iso(utc) + " (" + zone.Format(utc, "%a %Y-%m-%d %H:%M:%S %Z") + ")";
}

// NextRun, chained from `begin` and started at random instants, against the simulation.
void ExpectSameAsCronie(const std::string& zone_name, const std::string& text, int64_t begin, int64_t end) {
  SCOPED_TRACE(zone_name + " \"" + text + "\"");
  const Schedule s = Parsed(text);
  const TimeZone zone = Zone(zone_name);
  ASSERT_EQ(IsWildcardSchedule(s), CronieWildcard(text)) << "the wildcard rule disagrees with cronie's";
  const std::vector<int64_t> expected = Simulate(s, CronieWildcard(text), TzZone(zone_name), begin, end);

  std::vector<int64_t> got;
  for (auto t = NextRun(s, zone, begin - 1); t && *t < end; t = NextRun(s, zone, *t)) got.push_back(*t);
  const size_t n = std::min(got.size(), expected.size());
  const auto first_difference = static_cast<size_t>(
      std::mismatch(got.begin(), got.begin() + static_cast<ptrdiff_t>(n), expected.begin()).first - got.begin());
  if (first_difference < n) {
    ADD_FAILURE() << "run #" << first_difference + 1 << ": NextRun gives " << Shown(got[first_difference], zone)
                  << ", cronie runs it at " << Shown(expected[first_difference], zone);
  } else if (got.size() != expected.size()) {
    ADD_FAILURE() << got.size() << " runs, cronie makes " << expected.size()
                  << "; the first extra one: " << Shown(got.size() > n ? got[n] : expected[n], zone)
                  << (got.size() > n ? " (NextRun)" : " (cronie)");
  }

  std::mt19937_64 random(0x5eed);
  std::uniform_int_distribution<int64_t> instant(begin, end - 1);
  for (int i = 0; i < 400; ++i) {
    const int64_t after = i % 4 == 0 && !expected.empty() ? expected[random() % expected.size()] : instant(random);
    const auto next = std::upper_bound(expected.begin(), expected.end(), after);
    const auto t = NextRun(s, zone, after);
    if (next != expected.end()) {
      ASSERT_TRUE(t.has_value()) << "after " << Shown(after, zone);
      ASSERT_EQ(*t, *next) << "after " << Shown(after, zone) << ": NextRun gives " << Shown(*t, zone) << ", cronie "
                           << Shown(*next, zone);
    } else if (t) {
      ASSERT_GE(*t, end) << "after " << Shown(after, zone);
    }
  }
}

// ---- against the simulation --------------------------------------------------------------------

const char* const kStockholmSchedules[] = {
    "0 3 * * mon#1",
    "0 2 * * mon#1",
    "0 3 1 * mon",
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "@monthly",
    "@daily",
    "@hourly",
    "@weekly",
    "@yearly",
    "*/30 8-17 * * mon-fri",
    "15 4 * jan,apr,jul,oct mon#2",
    "0 22 * * fri#5",
    "5,35 1-3 * * *",
    "*/20 2 * * *",
    "* 2 * * *",
    "59 1 * * *",
    "0 3 * * *",
    "0 12 13 * fri",
    "30 2 25-31 3,10 sun",
    "*/5 2 * 3 sun#5",
    "0 0 29 2 *",
    "10-50/20 0-6/3 * * sat,sun",
    "0 2 * * sun#5,sat#1",
    "1 0 1,15 * *",
    "30 1 * * *",
};

TEST(NextRun, EveryRunOfTwoYearsInStockholmIsCronies) {
  const int64_t begin = Utc("2025-12-31T23:00:00Z"), end = Utc("2028-04-01T00:00:00Z");
  for (const char* text : kStockholmSchedules) ExpectSameAsCronie("Europe/Stockholm", text, begin, end);
}

TEST(NextRun, EveryRunOfAYearInZonesWithOtherChangesIsCronies) {
  const char* const schedules[] = {"30 2 * * *",  "0 1 * * *",   "*/15 * * * *", "0 * * * *",      "15 0 * * *",
                                   "45 23 * * *", "* 1 * * sun", "0 0 * * *",    "*/10 1-2 * * *", "30 1 * * sat,sun"};
  const int64_t begin = Utc("2026-01-01T00:00:00Z"), end = Utc("2027-01-01T00:00:00Z");
  for (const char* zone :
       {"America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "Asia/Kolkata", "UTC"})
    for (const char* text : schedules) ExpectSameAsCronie(zone, text, begin, end);
}

// Samoa skipped Friday 2011-12-30 (-10:00 to +14:00): a jump of a day, after which cronie
// runs nothing of the skipped day.
TEST(NextRun, ADaySkippedByTheZoneRunsNothingOfItAsCronie) {
  const int64_t begin = Utc("2011-12-01T00:00:00Z"), end = Utc("2012-02-01T00:00:00Z");
  for (const char* text : {"0 12 * * *", "0 12 30 12 *", "*/30 * * * *", "0 0 * * fri", "59 23 29 12 *"})
    ExpectSameAsCronie("Pacific/Apia", text, begin, end);
  const Schedule s = Parsed("0 12 30 12 *");
  EXPECT_EQ(NextRun(s, Zone("Pacific/Apia"), Utc("2011-12-01T00:00:00Z")), Utc("2012-12-29T22:00:00Z"));
}

// ---- daylight saving by hand -----------------------------------------------------------------

// Spring: 02:00 CET becomes 03:00 CEST at 01:00Z. Autumn: 03:00 CEST becomes 02:00 CET at 01:00Z.
struct Change {
  const char* day;     // local date
  const char* before;  // 00:00Z that day, for starting the search
  bool spring;
};
const Change kChanges[] = {
    {"2026-03-29", "2026-03-28T23:00:00Z", true},
    {"2026-10-25", "2026-10-24T22:00:00Z", false},
    {"2027-03-28", "2027-03-27T23:00:00Z", true},
    {"2027-10-31", "2027-10-30T22:00:00Z", false},
};

std::vector<int64_t> RunsOnLocalDay(const Schedule& s, const TimeZone& zone, const std::string& day) {
  const auto d = Date::Parse(day);
  std::vector<int64_t> runs;
  for (auto t = NextRun(s, zone, zone.StartOfDay(*d) - 1); t && zone.LocalDate(*t) == *d; t = NextRun(s, zone, *t))
    runs.push_back(*t);
  return runs;
}

TEST(NextRun, FixedTimeInTheSkippedHourRunsAtThreeAndInTheRepeatedHourOnce) {
  const TimeZone zone = Zone("Europe/Stockholm");
  const Schedule s = Parsed("30 2 * * *");
  for (const Change& c : kChanges) {
    SCOPED_TRACE(c.day);
    const std::string date = std::string(c.day);
    // Spring: 02:30 does not exist; it runs at 03:00 CEST, the first instant after the gap.
    // Autumn: 02:30 comes twice; it runs at the first, 02:30 CEST (00:30Z), not at 01:30Z.
    const std::vector<int64_t> want = {Utc(date + (c.spring ? "T01:00:00Z" : "T00:30:00Z"))};
    EXPECT_EQ(RunsOnLocalDay(s, zone, date), want);
    EXPECT_EQ(NextRun(s, zone, Utc(c.before)), want[0]);
    // The day before and after run at 02:30 as usual: once a day, never skipped or doubled.
    EXPECT_EQ(RunsOnLocalDay(s, zone, (*Date::Parse(date) - 1).ToString()).size(), 1u);
    EXPECT_EQ(RunsOnLocalDay(s, zone, (*Date::Parse(date) + 1).ToString()).size(), 1u);
  }
  // 02:00 and 02:59 too; 03:00 on the spring day is the same instant.
  for (const char* text : {"0 2 * * *", "59 2 * * *", "0 3 * * *"})
    EXPECT_EQ(NextRun(Parsed(text), zone, Utc("2026-03-28T23:00:00Z")), Utc("2026-03-29T01:00:00Z")) << text;
  // 02:00 in autumn: at 02:00 CEST, not again at 02:00 CET; 03:00 is 03:00 CET.
  EXPECT_EQ(RunsOnLocalDay(Parsed("0 2 * * *"), zone, "2026-10-25"), std::vector<int64_t>{Utc("2026-10-25T00:00:00Z")});
  EXPECT_EQ(RunsOnLocalDay(Parsed("0 3 * * *"), zone, "2026-10-25"), std::vector<int64_t>{Utc("2026-10-25T02:00:00Z")});
}

TEST(NextRun, WildcardSchedulesRunInElapsedTimeAcrossBothChanges) {
  const TimeZone zone = Zone("Europe/Stockholm");
  for (const Change& c : kChanges) {
    SCOPED_TRACE(c.day);
    const std::string date = c.day;
    const auto quarter = RunsOnLocalDay(Parsed("*/15 * * * *"), zone, date);
    const auto hourly = RunsOnLocalDay(Parsed("0 * * * *"), zone, date);
    // A 23-hour day and a 25-hour day: every quarter hour of real time, none twice.
    EXPECT_EQ(quarter.size(), c.spring ? 92u : 100u);
    EXPECT_EQ(hourly.size(), c.spring ? 23u : 25u);
    for (size_t i = 1; i < quarter.size(); ++i) ASSERT_EQ(quarter[i] - quarter[i - 1], 900) << Iso(quarter[i]);
    for (size_t i = 1; i < hourly.size(); ++i) ASSERT_EQ(hourly[i] - hourly[i - 1], 3600) << Iso(hourly[i]);
    // Across the change itself: 01:45 CET then 03:00 CEST; or 02:45 CEST then 02:00 CET.
    EXPECT_EQ(NextRun(Parsed("*/15 * * * *"), zone, Utc(date + "T00:45:00Z")), Utc(date + "T01:00:00Z"));
    EXPECT_EQ(zone.Format(Utc(date + "T01:00:00Z"), "%H:%M %Z"), c.spring ? "03:00 CEST" : "02:00 CET");
  }
  // `* 2 * * *` runs every minute of both 02 hours in autumn, and not at all in spring.
  EXPECT_EQ(RunsOnLocalDay(Parsed("* 2 * * *"), zone, "2026-10-25").size(), 120u);
  EXPECT_EQ(RunsOnLocalDay(Parsed("* 2 * * *"), zone, "2026-03-29").size(), 0u);
  EXPECT_EQ(RunsOnLocalDay(Parsed("*/20 2 * * *"), zone, "2027-10-31").size(), 6u);
}

TEST(NextRun, NthWeekdaysAndTheTwoDayFields) {
  const TimeZone zone = Zone("Europe/Stockholm");
  // The first Mondays of 2027: Jan 4, Feb 1, Mar 1, Apr 5 (CEST from Mar 28).
  EXPECT_EQ(NextRuns(Parsed("0 3 * * mon#1"), zone, Utc("2026-12-31T23:00:00Z"), 4),
            (std::vector<int64_t>{Utc("2027-01-04T02:00:00Z"), Utc("2027-02-01T02:00:00Z"), Utc("2027-03-01T02:00:00Z"),
                                  Utc("2027-04-05T01:00:00Z")}));
  // Both day fields restricted: the 1st or any Monday. 2027-02-01 is both, once.
  EXPECT_EQ(
      NextRuns(Parsed("0 3 1 * mon"), zone, Utc("2027-01-24T00:00:00Z"), 3),
      (std::vector<int64_t>{Utc("2027-01-25T02:00:00Z"), Utc("2027-02-01T02:00:00Z"), Utc("2027-02-08T02:00:00Z")}));
  // 29 February: the next one after 2026 is in 2028.
  EXPECT_EQ(NextRun(Parsed("0 0 29 2 *"), zone, Utc("2026-01-01T00:00:00Z")), Utc("2028-02-28T23:00:00Z"));
}

TEST(NextRun, IsStrictlyAfterAndCountsRuns) {
  const TimeZone zone = Zone("Europe/Stockholm");
  const Schedule daily = Parsed("@daily");
  const int64_t midnight = Utc("2026-05-01T22:00:00Z");
  EXPECT_EQ(NextRun(daily, zone, midnight - 1), midnight);
  EXPECT_EQ(NextRun(daily, zone, midnight), midnight + 86400);
  EXPECT_EQ(NextRuns(daily, zone, midnight, 0).size(), 0u);
  EXPECT_EQ(NextRuns(daily, zone, midnight, 1000).size(), 1000u);
  EXPECT_EQ(NextRuns(Parsed("* * * * *"), zone, midnight + 30, 3),
            (std::vector<int64_t>{midnight + 60, midnight + 120, midnight + 180}));
}

// Which schedules run in elapsed time: cronie's `*` at the start of the minute or hour field,
// judged from the sets a Schedule keeps.
TEST(NextRun, WildcardIsAStarOrStepOfTheMinuteOrHourField) {
  for (const char* text : {"* 3 * * *", "*/15 3 * * *", "*/30 3 * * *", "*/59 3 * * *", "0 * * * *", "0 */2 * * *",
                           "0 */13 * * *", "@hourly", "*/5 */2 1 1 *"})
    EXPECT_TRUE(IsWildcardSchedule(Parsed(text))) << text;
  for (const char* text : {"0 3 * * *", "30 2 * * *", "0 1-3 * * *", "5/15 3 * * *", "0 1/2 * * *", "0,15,31 3 * * *",
                           "@daily", "@weekly", "@monthly", "@yearly", "0 0 * * *"})
    EXPECT_FALSE(IsWildcardSchedule(Parsed(text))) << text;
  // A Schedule keeps sets, not text: an explicit list equal to a step counts as the step.
  EXPECT_TRUE(IsWildcardSchedule(Parsed("0,30 2 * * *")));
  EXPECT_TRUE(IsWildcardSchedule(Parsed("0 0-23 * * *")));
}

TEST(NextRun, TenThousandTargetsTakeWellUnderASecond) {
  const TimeZone zone = Zone("Europe/Stockholm");
  const std::vector<Schedule> schedules = {Parsed("@monthly"),
                                           Parsed("0 3 * * mon#1"),
                                           Parsed("*/15 * * * *"),
                                           Parsed("30 2 * * *"),
                                           Parsed("0 22 * * fri#5"),
                                           Parsed("0 0 29 2 *"),
                                           Parsed("15 4 * jan,apr,jul,oct mon#2"),
                                           Parsed("@yearly")};
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> instant(Utc("2026-01-01T00:00:00Z"), Utc("2030-01-01T00:00:00Z"));
  const auto start = std::chrono::steady_clock::now();
  int64_t sum = 0;
  for (int i = 0; i < 10000; ++i)
    sum += NextRun(schedules[static_cast<size_t>(i) % schedules.size()], zone, instant(random)).value_or(0);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(sum, 0);
  EXPECT_LT(elapsed, 0.25) << "10,000 next runs took " << elapsed << " s";
}

// ---- `schedule preview` through the binary ------------------------------------------------------

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;

struct CliResult {
  int rc = -1;
  std::string out, err;
};

CliResult Preview(const TempDir& dir, const std::string& args, const std::string& config_toml = "") {
  std::string config;
  if (!config_toml.empty()) {
    test::WriteFile(dir / "rp.toml", config_toml);
    config = "--config " + ShellQuote(dir / "rp.toml") + " ";
  }
  CliResult r;
  const std::string err_file = dir / "stderr.txt";
  r.rc = test::Run(
      "{ " + ShellQuote(RP_BINARY) + " " + config + "schedule preview " + args + " 2>" + ShellQuote(err_file) + "; }",
      &r.out);
  r.err = test::ReadFile(err_file);
  return r;
}

constexpr const char* kStockholm = "[appliance]\ntimezone = \"Europe/Stockholm\"\n";

TEST(SchedulePreview, PrintsRunsWithOffsetsAsSystemdAnalyzeCalendar) {
  TempDir dir;
  const CliResult r = Preview(dir, "'0 3 * * MON#1' --count 2 --from 2027-01-01", kStockholm);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "  Original form: 0 3 * * MON#1\n"
            "Normalized form: 0 3 * * mon#1\n"
            "      Time zone: Europe/Stockholm\n"
            "    Next elapse: Mon 2027-01-04 03:00:00 CET (+0100)\n"
            "       (in UTC): Mon 2027-01-04 02:00:00 UTC\n"
            "   Iteration #2: Mon 2027-02-01 03:00:00 CET (+0100)\n"
            "       (in UTC): Mon 2027-02-01 02:00:00 UTC\n");
  EXPECT_EQ(r.err, "");
}

TEST(SchedulePreview, ShowsTheSpringChangeAndDefaultsToFiveRuns) {
  TempDir dir;
  const CliResult r = Preview(dir, "'30 2 * * *' --from 2026-03-28", kStockholm);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("    Next elapse: Sat 2026-03-28 02:30:00 CET (+0100)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("   Iteration #2: Sun 2026-03-29 03:00:00 CEST (+0200)\n"
                       "       (in UTC): Sun 2026-03-29 01:00:00 UTC\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("   Iteration #5: Wed 2026-04-01 02:30:00 CEST (+0200)\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Iteration #6"), std::string::npos) << r.out;
}

TEST(SchedulePreview, JsonHasEachRunLocalUtcAndOffset) {
  TempDir dir;
  for (const std::string args :
       {"--json '30 2 * * *' --count 3 --from 2026-10-24", "'30 2 * * *' --count 3 --from 2026-10-24 --json"}) {
    const CliResult r = Preview(dir, args, kStockholm);
    ASSERT_EQ(r.rc, 0) << r.err;
    const json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["expression"], "30 2 * * *");
    EXPECT_EQ(j["normalized"], "30 2 * * *");
    EXPECT_EQ(j["timezone"], "Europe/Stockholm");
    const json want = json::parse(R"([
      {"local": "2026-10-24T02:30:00+02:00", "utc": "2026-10-24T00:30:00Z", "offset_s": 7200},
      {"local": "2026-10-25T02:30:00+02:00", "utc": "2026-10-25T00:30:00Z", "offset_s": 7200},
      {"local": "2026-10-26T02:30:00+01:00", "utc": "2026-10-26T01:30:00Z", "offset_s": 3600}])");
    EXPECT_EQ(j["runs"], want) << j.dump(2);
  }
  // The global --json before the command does the same.
  TempDir other;
  test::WriteFile(other / "rp.toml", kStockholm);
  std::string out;
  EXPECT_EQ(test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(other / "rp.toml") +
                          " --json schedule preview @daily --count 1 --from 2026-01-01T00:00:00+01:00 2>/dev/null",
                      &out),
            0);
  EXPECT_EQ(json::parse(out, nullptr, false)["runs"][0]["utc"], "2025-12-31T23:00:00Z") << out;
}

TEST(SchedulePreview, CountAndFromAreHonouredAndChecked) {
  TempDir dir;
  CliResult r = Preview(dir, "'*/15 * * * *' --count 1000 --from 2026-10-25T01:50:00+02:00 --json", kStockholm);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_EQ(j["runs"].size(), 1000u);
  // At or after --from; then through the repeated hour in real time.
  EXPECT_EQ(j["runs"][0]["local"], "2026-10-25T02:00:00+02:00");
  EXPECT_EQ(j["runs"][4]["local"], "2026-10-25T02:00:00+01:00");
  // A time with an offset, read as that instant.
  r = Preview(dir, "@hourly --count 1 --from 2026-05-01T10:00:00Z", kStockholm);
  EXPECT_NE(r.out.find("Next elapse: Fri 2026-05-01 12:00:00 CEST (+0200)"), std::string::npos) << r.out;
  for (const std::string bad :
       {"--count 0", "--count 1001", "--count x", "--from 2026-13-01", "--from yesterday", "--from 2026-05-01T10:00"}) {
    r = Preview(dir, "@daily " + bad, kStockholm);
    EXPECT_EQ(r.rc, 2) << bad << "\n" << r.out << r.err;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_NE(r.err.find(bad.substr(0, bad.find(' '))), std::string::npos) << bad << ": " << r.err;
  }
}

TEST(SchedulePreview, AMalformedExpressionExitsTwoWithACaretUnderItsToken) {
  TempDir dir;
  const std::pair<std::string, std::string> cases[] = {
      {"0 3 * * 8", "  0 3 * * 8\n          ^\n"}, {"*/0 3 * * *", "  */0 3 * * *\n    ^\n"},
      {"0 3 * *", "  0 3 * *\n  ^^^^^^^\n"},       {"0 3 * * mon#6", "  0 3 * * mon#6\n             ^^\n"},
      {"@dayly", "  @dayly\n  ^^^^^^\n"},
  };
  for (const auto& [expression, pointed] : cases) {
    const CliResult r = Preview(dir, ShellQuote(expression), kStockholm);
    EXPECT_EQ(r.rc, 2) << expression << "\n" << r.err;
    EXPECT_EQ(r.out, "") << expression;
    EXPECT_NE(r.err.find(pointed), std::string::npos) << expression << ":\n" << r.err;
    EXPECT_NE(r.err.find("\nexpected "), std::string::npos) << r.err;
  }
  const CliResult r = Preview(dir, ShellQuote("0 3 * * 8"), kStockholm);
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "schedule preview: not a schedule: day-of-week: 8 is out of range 0-7");
}

TEST(SchedulePreview, TheZoneComesFromTheConfigurationAndAnInvalidOneExitsTwo) {
  TempDir dir;
  CliResult r =
      Preview(dir, "'0 9 * * *' --count 1 --from 2026-01-10", "[appliance]\ntimezone = \"America/New_York\"\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("      Time zone: America/New_York\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    Next elapse: Sat 2026-01-10 09:00:00 EST (-0500)\n"
                       "       (in UTC): Sat 2026-01-10 14:00:00 UTC\n"),
            std::string::npos)
      << r.out;

  r = Preview(dir, "@daily", "[appliance]\ntimezone = \"Mars/Base\"\n");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("rp.toml:2:12: appliance.timezone"), std::string::npos) << r.err;

  std::string out;
  EXPECT_EQ(
      test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(dir / "missing.toml") + " schedule preview @daily",
                &out),
      2)
      << out;
}

TEST(SchedulePreview, WithoutAConfigurationFileTheDefaultZoneIsStockholm) {
  if (access("/etc/restoreproof/restoreproof.toml", F_OK) == 0) GTEST_SKIP() << "a configuration is installed here";
  TempDir dir;
  const CliResult r = Preview(dir, "@daily --count 1 --from 2026-07-01");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("      Time zone: Europe/Stockholm\n    Next elapse: Wed 2026-07-01 00:00:00 CEST (+0200)\n"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace rp
