// Calendar arithmetic and time zones as values: the same answers as the C library gave under
// TZ=Europe/Stockholm (every quarter hour across both daylight-saving changes of several
// years), dates and months that parse and print, timestamps with and without offsets, and two
// threads using two zones at once, each getting its own answers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

#include "rp/calendar.h"
#include "rp/catalog.h"

namespace rp {
namespace {

TimeZone Zone(const char* name) {
  const auto z = TimeZone::Locate(name);
  if (!z) ADD_FAILURE() << name << " is not in the tz database (is tzdata installed?)";
  return z ? *z : TimeZone::Utc();
}

// What the C library says, under TZ set for this process only (the appliance never does this).
class LibcZone {
 public:
  explicit LibcZone(const char* name) {
    setenv("TZ", name, 1);
    tzset();
  }
  ~LibcZone() {
    unsetenv("TZ");
    tzset();
  }
  static int64_t ToUtc(const LocalTime& l) {
    tm t{};
    t.tm_year = l.year - 1900;
    t.tm_mon = static_cast<int>(l.month) - 1;
    t.tm_mday = static_cast<int>(l.day);
    t.tm_hour = static_cast<int>(l.hour);
    t.tm_min = static_cast<int>(l.minute);
    t.tm_sec = static_cast<int>(l.second);
    t.tm_isdst = -1;
    return static_cast<int64_t>(mktime(&t));
  }
  static std::string Day(int64_t utc) {
    const time_t t = static_cast<time_t>(utc);
    tm local{};
    localtime_r(&t, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
    return buf;
  }
};

TEST(Calendar, DatesParsePrintAndCount) {
  const Date d = Date::FromCivil(2026, 10, 25);
  EXPECT_EQ(d.ToString(), "2026-10-25");
  EXPECT_EQ(Date::Parse("2026-10-25"), d);
  EXPECT_EQ(d.weekday(), 0u) << "a Sunday";
  EXPECT_EQ((d + 7).ToString(), "2026-11-01");
  EXPECT_EQ(Date::FromCivil(2024, 3, 1) - Date::FromCivil(2024, 2, 28), 2) << "2024 is a leap year";
  EXPECT_EQ(Date::FromCivil(1970, 1, 1).days, 0);
  EXPECT_EQ(Date::FromCivil(1969, 12, 31).days, -1);
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-01T", ""})
    EXPECT_FALSE(Date::Parse(bad)) << bad;
  EXPECT_EQ(YearMonth::Of(d).ToString(), "2026-10");
  EXPECT_EQ((YearMonth{2026, 1}.Previous()), (YearMonth{2025, 12}));
  EXPECT_FALSE(YearMonth::Parse("2026-00"));
}

// The local time of every quarter hour, and the UTC time of every local quarter hour, across the
// days around both changes: as the C library computed them before (skipped and repeated times
// read in standard time, as mktime does).
TEST(Calendar, StockholmAnswersAsTheCLibraryDidAcrossDaylightSaving) {
  const TimeZone zone = Zone("Europe/Stockholm");
  LibcZone libc("Europe/Stockholm");
  int checked = 0;
  for (int year : {2024, 2026, 2027}) {
    for (const Date change : {Date::FromCivil(year, 3, 31), Date::FromCivil(year, 10, 31)}) {
      // The last Sunday of the month, and the days around it.
      Date sunday = change;
      while (sunday.weekday() != 0) sunday = sunday - 1;
      for (Date d = sunday - 1; d <= sunday + 1; d = d + 1) {
        for (unsigned minute = 0; minute < 24 * 60; minute += 15) {
          const LocalTime l{d.year(), d.month(), d.day(), minute / 60, minute % 60, 0};
          const int64_t utc = zone.ToUtc(l);
          if (d == sunday && d.month() == 10 && l.hour == 2) {
            // The hour that comes twice: mktime's answer depends on what it was asked before
            // (glibc keeps its last guess), so the old per-hour cache had no one answer either.
            // Now it is always the second, in standard time.
            ASSERT_EQ(utc, LibcZone::ToUtc(LocalTime{l.year, l.month, l.day, 3, l.minute, 0}) - 3600);
          } else {
            ASSERT_EQ(utc, LibcZone::ToUtc(l)) << d.ToString() << " " << minute / 60 << ":" << minute % 60;
          }
          // And back: the local day and clock of that instant.
          const int64_t instant = zone.StartOfDay(d) + minute * 60;
          ASSERT_EQ(zone.Format(instant, "%Y-%m-%d %H:%M:%S"), LibcZone::Day(instant)) << instant;
          ASSERT_EQ(zone.LocalDate(instant).ToString(), LibcZone::Day(instant).substr(0, 10)) << instant;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 3 * 2 * 3 * 96);
  // The two changes of 2026: a day of 23 hours and one of 25.
  const Date spring = Date::FromCivil(2026, 3, 29), autumn = Date::FromCivil(2026, 10, 25);
  EXPECT_EQ(zone.StartOfDay(spring + 1) - zone.StartOfDay(spring), 23 * 3600);
  EXPECT_EQ(zone.StartOfDay(autumn + 1) - zone.StartOfDay(autumn), 25 * 3600);
}

// Archive names with time fields, around the changes: the same times as before.
TEST(Calendar, NamePatternsReadTheirFieldsAsBefore) {
  const TimeZone zone = Zone("Europe/Stockholm");
  LibcZone libc("Europe/Stockholm");
  const NamePattern p("db-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar");
  for (const char* name : {"db-20260329T015959.tar", "db-20260329T020000.tar", "db-20260329T023000.tar",
                           "db-20260329T030000.tar", "db-20261025T015959.tar", "db-20261025T023000.tar",
                           "db-20261025T030000.tar", "db-20261231T235959.tar"}) {
    int64_t t = 0;
    ASSERT_TRUE(p.Match(name, zone, &t)) << name;
    const std::string s(name);
    const LocalTime l{std::stoi(s.substr(3, 4)), static_cast<unsigned>(std::stoi(s.substr(7, 2))),
                      static_cast<unsigned>(std::stoi(s.substr(9, 2))), static_cast<unsigned>(std::stoi(s.substr(12, 2))),
                      static_cast<unsigned>(std::stoi(s.substr(14, 2))), static_cast<unsigned>(std::stoi(s.substr(16, 2)))};
    // The repeated hour of October: the second 02:30 (see above); elsewhere, mktime's answer.
    const bool repeated = l.month == 10 && l.hour == 2;
    EXPECT_EQ(t, repeated ? LibcZone::ToUtc(LocalTime{l.year, l.month, l.day, 3, l.minute, l.second}) - 3600
                          : LibcZone::ToUtc(l))
        << name;
  }
  int64_t t = 0;
  EXPECT_FALSE(p.Match("db-20260230T010000.tar", zone, &t)) << "30 February";
}

TEST(Calendar, TimestampsWithAndWithoutOffsets) {
  const TimeZone zone = Zone("Europe/Stockholm");
  EXPECT_EQ(ParseTimestamp("2026-11-22T08:00:00+01:00", zone), 1795330800);
  EXPECT_EQ(ParseTimestamp("2026-11-22T07:00:00Z", zone), 1795330800);
  EXPECT_EQ(ParseTimestamp("2026-11-22T07:00:00.123456789Z", zone), 1795330800);
  EXPECT_EQ(ParseTimestamp("2026-11-22T02:00:00-05:00", zone), 1795330800);
  EXPECT_EQ(ParseTimestamp("2026-11-22T08:00:00", zone), 1795330800) << "no offset: the zone's time";
  EXPECT_EQ(ParseTimestamp("2026-11-22", zone), 1795302000) << "a date: midnight in the zone";
  EXPECT_EQ(ParseTimestamp("2026-11-22T08:00:00", TimeZone::Utc()), 1795334400);
  for (const char* bad : {"2026-11-22T08:00", "2026-11-22T25:00:00Z", "2026-02-30", "2026-11-22T08:00:00+1",
                          "2026-11-22T08:00:00Zjunk", "yesterday", ""})
    EXPECT_FALSE(ParseTimestamp(bad, zone)) << bad;
}

TEST(Calendar, UnknownZonesAreRefused) {
  EXPECT_FALSE(TimeZone::Locate("Europe/Atlantis"));
  EXPECT_FALSE(TimeZone::Locate("../../etc/passwd"));
  EXPECT_FALSE(TimeZone::Locate("/usr/share/zoneinfo/Europe/Stockholm"));
  EXPECT_FALSE(TimeZone::Locate(""));
  EXPECT_EQ(TimeZone::Utc().OffsetSeconds(1795334400), 0);
}

// Two threads, two zones, at once: each gets its own answers (the appliance's zone and a
// target's own zone, or the web server's, will run side by side).
TEST(Calendar, TwoThreadsUseTwoZonesAtOnce) {
  const TimeZone stockholm = Zone("Europe/Stockholm"), new_york = Zone("America/New_York");
  const int64_t start = 1774656000;  // 2026-03-28T00:00:00Z: both zones change clocks within the span
  constexpr int kSteps = 20000;
  struct Answers {
    std::vector<int64_t> offsets;
    std::vector<int64_t> days;
  };
  auto compute = [&](const TimeZone& zone) {
    Answers a;
    for (int i = 0; i < kSteps; ++i) {
      const int64_t t = start + static_cast<int64_t>(i) * 1800;
      a.offsets.push_back(zone.OffsetSeconds(t));
      a.days.push_back(zone.LocalDate(t).days);
      const std::string f = zone.Format(t, "%H");
      (void)f;
    }
    return a;
  };
  const Answers expect_s = compute(stockholm), expect_n = compute(new_york);
  Answers got_s, got_n;
  std::thread a([&] { got_s = compute(stockholm); });
  std::thread b([&] { got_n = compute(new_york); });
  a.join();
  b.join();
  EXPECT_EQ(got_s.offsets, expect_s.offsets);
  EXPECT_EQ(got_n.offsets, expect_n.offsets);
  EXPECT_EQ(got_s.days, expect_s.days);
  EXPECT_EQ(got_n.days, expect_n.days);
  // And the answers are the zones' own, step by step across each change (step i is
  // start + i * 30 min): Stockholm at 01:00Z on 29 March and 25 October, New York at 06:00Z
  // on 1 November; New York's spring change, 8 March, lies before the span.
  auto at = [&](int64_t utc) { return static_cast<size_t>((utc - start) / 1800); };
  EXPECT_EQ(got_s.offsets.front(), 3600);
  EXPECT_EQ(got_s.offsets[at(1774746000) - 1], 3600);  // 2026-03-29T00:30Z, 01:30 CET
  EXPECT_EQ(got_s.offsets[at(1774746000)], 7200);      // 2026-03-29T01:00Z, 03:00 CEST
  EXPECT_EQ(got_s.offsets[at(1792890000) - 1], 7200);  // 2026-10-25T00:30Z, 02:30 CEST
  EXPECT_EQ(got_s.offsets[at(1792890000)], 3600);      // 2026-10-25T01:00Z, 02:00 CET
  EXPECT_EQ(got_s.offsets.back(), 7200);
  EXPECT_EQ(got_n.offsets.front(), -4 * 3600);
  EXPECT_EQ(got_n.offsets[at(1793512800) - 1], -4 * 3600);  // 2026-11-01T05:30Z, 01:30 EDT
  EXPECT_EQ(got_n.offsets[at(1793512800)], -5 * 3600);      // 2026-11-01T06:00Z, 01:00 EST
  // The local day: 2026-03-28T23:00Z is the 29th in Stockholm and still the 28th in New York.
  EXPECT_EQ(Date{got_s.days[at(1774738800)]}.ToString(), "2026-03-29");
  EXPECT_EQ(Date{got_n.days[at(1774738800)]}.ToString(), "2026-03-28");
  EXPECT_EQ(Date{got_s.days[at(1774738800) - 1]}.ToString(), "2026-03-28");  // 22:30Z, 23:30 CET
}

}  // namespace
}  // namespace rp
