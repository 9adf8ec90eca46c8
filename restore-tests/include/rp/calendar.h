// Calendar arithmetic and time zones, in one place. A Date is a day of the proleptic Gregorian
// calendar; a TimeZone is an IANA zone read from the system's tz database (Howard Hinnant's
// date/tz over /usr/share/zoneinfo) and passed around as a value: threads may use different
// zones at once, and nothing reads or sets the process's TZ. Times are UTC seconds. All types
// are small, immutable values; every function is thread-safe.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace rp {

struct Date {
  int64_t days = 0;  // since 1970-01-01
  auto operator<=>(const Date&) const = default;

  static Date FromCivil(int year, unsigned month, unsigned day);  // no range check: see Valid
  static bool Valid(int year, unsigned month, unsigned day);
  // "2026-10-25"; nullopt for anything else (a date that does not exist included).
  static std::optional<Date> Parse(std::string_view text);
  int year() const;
  unsigned month() const;  // 1-12
  unsigned day() const;    // 1-31
  unsigned weekday() const;  // 0 Sunday .. 6 Saturday
  std::string ToString() const;  // "2026-10-25"
  Date operator+(int64_t n) const { return Date{days + n}; }
  Date operator-(int64_t n) const { return Date{days - n}; }
  int64_t operator-(Date other) const { return days - other.days; }
};

// A span of days, both ends included.
struct DateRange {
  Date first, last;
  bool operator==(const DateRange&) const = default;
};

struct YearMonth {
  int year = 1970;
  unsigned month = 1;  // 1-12
  auto operator<=>(const YearMonth&) const = default;
  static YearMonth Of(Date d) { return {d.year(), d.month()}; }
  YearMonth Previous() const { return month == 1 ? YearMonth{year - 1, 12} : YearMonth{year, month - 1}; }
  static std::optional<YearMonth> Parse(std::string_view text);  // "2026-10"
  std::string ToString() const;                                  // "2026-10"
};

// Wall-clock fields of a local time.
struct LocalTime {
  int year = 1970;
  unsigned month = 1, day = 1;
  unsigned hour = 0, minute = 0, second = 0;
};

class TimeZone {
 public:
  // The zone of that IANA name ("Europe/Stockholm"); nullopt when the tz database has none.
  static std::optional<TimeZone> Locate(std::string_view iana_name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // The local calendar day of a UTC time: a day of 23 or 25 hours is one day.
  Date LocalDate(int64_t utc) const;
  // Seconds the local time is ahead of UTC at that instant.
  int64_t OffsetSeconds(int64_t utc) const;
  // A local wall time as UTC. A time the clocks skip or repeat (daylight saving) is read in the
  // zone's standard time: 02:30 on the morning Stockholm's clocks go forward is 01:30 UTC, and
  // the 02:30 that comes twice in October is the second one (the same as glibc's mktime).
  int64_t ToUtc(const LocalTime& t) const;
  // The first instant of a local day.
  int64_t StartOfDay(Date d) const;
  // strftime-like: %Y %m %d %H %M %S %Z (abbreviation) %z (+0100) and the others date::format
  // knows.
  std::string Format(int64_t utc, const char* format) const;
  bool operator==(const TimeZone& other) const { return zone_ == other.zone_; }

 private:
  TimeZone(const date::time_zone* zone, std::string name) : zone_(zone), name_(std::move(name)) {}
  const date::time_zone* zone_;  // owned by the tz database, which lives as long as the process
  std::string name_;
};

// ISO 8601 with an offset or Z ("2026-11-22T08:00:00+01:00", fractions of a second allowed),
// or without one, read in `zone`: restic's and borg's times, and `--now`. nullopt when
// malformed. A date alone ("2026-11-22") is midnight in `zone`.
std::optional<int64_t> ParseTimestamp(std::string_view text, const TimeZone& zone);

}  // namespace rp
