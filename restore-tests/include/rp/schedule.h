// When a restore test runs and which recovery point it takes (DESIGN.md "Configuration",
// docs/config.md "[[targets.tests]]"): the 5-field cron form and its @-macros parsed into a
// Schedule value, and the `select` forms into a TestSelect. Parse, validate and print only;
// when a schedule next fires is the scheduler's job. Immutable values and pure functions;
// thread-safe.
#pragma once

#include <bitset>
#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rp {

// The nth given weekday of a month, `mon#1` in the text: the month's first Monday. A month
// has four or five of each weekday; in a month without a fifth, `#5` matches no day.
struct NthWeekday {
  int weekday = 1;  // 0 = Sunday .. 6 = Saturday
  int nth = 1;      // 1..5
  auto operator<=>(const NthWeekday&) const = default;
};

// A 5-field cron schedule: minute hour day-of-month month day-of-week, in the appliance's
// time zone. A time matches when its minute, hour and month are in their sets and its day
// matches by the classic cron rule for the two day fields:
//   - both day fields `*`: every day;
//   - exactly one `*`: the other field decides;
//   - both restricted: either decides (day of month OR day of week), so `0 3 1 * mon`
//     runs on the 1st and on every Monday.
// The day-of-week field matches a day whose weekday is in days_of_week() or which is one of
// nth_weekdays(). A day field counts as `*` only when written `*` (or `*/1`, or by a macro);
// `1-31` and `*/2` are restricted (Vixie cron looks only at the first character and treats
// `*/2` as `*`; here the text decides, as its manual describes the rule).
//
// ToString() is canonical: numbers, ranges `a-b`, steps `*/n` and `a-b/n`, `mon#1` entries,
// and the macro when the schedule is one (`0 0 * * sun` prints `@weekly`). Parsing it gives an
// equal Schedule. Two Schedules are equal when their sets and `*` flags are, however written
// (`mon-fri` and `1-5`; but not `0 0 1-31 * *` and `@daily`, which differ in a flag).
class Schedule {
 public:
  // @monthly (0 0 1 * *): the restore tests' default.
  Schedule();

  const std::bitset<60>& minutes() const { return minutes_; }              // 0-59
  const std::bitset<24>& hours() const { return hours_; }                  // 0-23
  const std::bitset<32>& days_of_month() const { return days_of_month_; }  // 1-31; bit 0 unused
  const std::bitset<13>& months() const { return months_; }                // 1-12; bit 0 unused
  const std::bitset<7>& days_of_week() const { return days_of_week_; }     // 0 = Sunday (0 or 7)
  // Sorted, unique; none whose weekday is also in days_of_week() (it would add nothing).
  const std::vector<NthWeekday>& nth_weekdays() const { return nth_weekdays_; }
  bool day_of_month_star() const { return day_of_month_star_; }
  bool day_of_week_star() const { return day_of_week_star_; }

  const std::string& ToString() const { return text_; }

  bool operator==(const Schedule&) const = default;

 private:
  friend class ScheduleBuilder;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;
  std::bitset<13> months_;
  std::bitset<7> days_of_week_;
  std::vector<NthWeekday> nth_weekdays_;
  bool day_of_month_star_ = false;
  bool day_of_week_star_ = true;
  std::string text_;  // canonical, derived from the fields above
};

// Why a text is not a schedule (or not a select form), pointing at the offending token.
struct ScheduleError {
  size_t offset = 0;     // 0-based byte offset of the offending token in the text
  size_t length = 0;     // the token's length in bytes (0: something is missing at offset)
  std::string field;     // "minute", "hour", "day-of-month", "month", "day-of-week" or ""
  std::string message;   // "day-of-week: 8 is out of range 0-7"
  std::string expected;  // what the place accepts: "day-of-week 0-7 or sun-sat"
  std::string found;     // the token quoted, then why: "\"8\" (day-of-week: 8 is out of range 0-7)"
};

// "0 3 * * mon#1", "*/15 8-17 * * mon-fri", "@daily". Fields are separated by spaces or
// tabs; blanks around the whole text are ignored. Names (jan..dec, sun..sat) and macros are
// case-insensitive. Also rejects a day-of-month that occurs in none of the chosen months
// ("0 0 30 feb *"), since such a schedule would never run.
std::variant<Schedule, ScheduleError> ParseSchedule(std::string_view text);

// Which recovery point a restore test restores.
enum class SelectKind {
  kLatest,          // the newest point of any copy
  kRandomWithin,    // a random point among those at most window_s old
  kOldestRetained,  // the oldest point still held
};

struct TestSelect {
  SelectKind kind = SelectKind::kLatest;
  double window_s = 0;  // kRandomWithin: 1s to 36500d; 0 for the other kinds

  // "latest", "oldest-retained", "random-within:30d" (the window in the largest of d, h, m, s
  // that divides it). Parsing it gives an equal TestSelect.
  std::string ToString() const;
  bool operator==(const TestSelect&) const = default;
};

// A select form that does not parse: the same shape as a schedule's, with an empty field.
using SelectError = ScheduleError;

// "latest", "oldest-retained", "random-within:<duration>" with a unit s, m, h, d or w
// ("random-within:30d", "random-within:36h"; rp::ParseDurationWithUnit). Case-sensitive; no
// blanks.
std::variant<TestSelect, SelectError> ParseTestSelect(std::string_view text);

}  // namespace rp
