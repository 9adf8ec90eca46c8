#include "rp/calendar.h"

#include <date/date.h>
#include <date/tz.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>

namespace rp {
namespace {

using std::chrono::seconds;

date::year_month_day Ymd(Date d) { return date::year_month_day{date::sys_days{date::days{d.days}}}; }

std::string TwoDigits(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02u", v % 100);
  return buf;
}

std::string Year(int y) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", y);
  return buf;
}

// Reads exactly `width` digits at text[*pos].
std::optional<unsigned> Digits(std::string_view text, size_t* pos, size_t width) {
  if (*pos + width > text.size()) return std::nullopt;
  unsigned v = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *pos += width;
  return v;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

Date Date::FromCivil(int year, unsigned month, unsigned day) {
  const date::sys_days d{date::year{year} / date::month{month} / date::day{day}};
  return Date{d.time_since_epoch().count()};
}

bool Date::Valid(int year, unsigned month, unsigned day) {
  return (date::year{year} / date::month{month} / date::day{day}).ok();
}

std::optional<Date> Date::Parse(std::string_view text) {
  size_t pos = 0;
  const auto y = Digits(text, &pos, 4);
  if (!y || !Expect(text, &pos, '-')) return std::nullopt;
  const auto m = Digits(text, &pos, 2);
  if (!m || !Expect(text, &pos, '-')) return std::nullopt;
  const auto d = Digits(text, &pos, 2);
  if (!d || pos != text.size() || !Valid(static_cast<int>(*y), *m, *d)) return std::nullopt;
  return FromCivil(static_cast<int>(*y), *m, *d);
}

int Date::year() const { return static_cast<int>(Ymd(*this).year()); }
unsigned Date::month() const { return static_cast<unsigned>(Ymd(*this).month()); }
unsigned Date::day() const { return static_cast<unsigned>(Ymd(*this).day()); }
unsigned Date::weekday() const { return date::weekday{date::sys_days{date::days{days}}}.c_encoding(); }

std::string Date::ToString() const { return Year(year()) + "-" + TwoDigits(month()) + "-" + TwoDigits(day()); }

std::optional<YearMonth> YearMonth::Parse(std::string_view text) {
  size_t pos = 0;
  const auto y = Digits(text, &pos, 4);
  if (!y || !Expect(text, &pos, '-')) return std::nullopt;
  const auto m = Digits(text, &pos, 2);
  if (!m || pos != text.size() || *m < 1 || *m > 12) return std::nullopt;
  return YearMonth{static_cast<int>(*y), *m};
}

std::string YearMonth::ToString() const { return Year(year) + "-" + TwoDigits(month); }

std::optional<TimeZone> TimeZone::Locate(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) return std::nullopt;
  try {
    return TimeZone(date::locate_zone(name), std::string(name));
  } catch (const std::exception&) {  // the tz database has no such zone, or none at all
    return std::nullopt;
  }
}

TimeZone TimeZone::Utc() { return TimeZone(nullptr, "UTC"); }

int64_t TimeZone::OffsetSeconds(int64_t utc) const {
  if (!zone_) return 0;
  return zone_->get_info(date::sys_seconds{seconds{utc}}).offset.count();
}

Date TimeZone::LocalDate(int64_t utc) const {
  const int64_t local = utc + OffsetSeconds(utc);
  return Date{local >= 0 ? local / 86400 : (local - 86399) / 86400};
}

int64_t TimeZone::ToUtc(const LocalTime& t) const {
  const int64_t local = Date::FromCivil(t.year, t.month, t.day).days * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
  if (!zone_) return local;
  const date::local_info li = zone_->get_info(date::local_seconds{seconds{local}});
  date::sys_info info = li.first;
  if (li.result != date::local_info::unique) {
    // Skipped or repeated: the side of the change that is standard time (no daylight saving).
    if (li.second.save == std::chrono::minutes{0}) info = li.second;
    if (li.first.save == std::chrono::minutes{0}) info = li.first;
  }
  return local - info.offset.count();
}

int64_t TimeZone::StartOfDay(Date d) const { return ToUtc(LocalTime{d.year(), d.month(), d.day(), 0, 0, 0}); }

std::string TimeZone::Format(int64_t utc, const char* format) const {
  const date::sys_seconds t{seconds{utc}};
  if (!zone_) return date::format(format, date::zoned_time<seconds>{"UTC", t});
  return date::format(format, date::zoned_time<seconds>{zone_, t});
}

std::optional<int64_t> ParseTimestamp(std::string_view s, const TimeZone& zone) {
  size_t pos = 0;
  const auto y = Digits(s, &pos, 4);
  if (!y || !Expect(s, &pos, '-')) return std::nullopt;
  const auto mo = Digits(s, &pos, 2);
  if (!mo || !Expect(s, &pos, '-')) return std::nullopt;
  const auto d = Digits(s, &pos, 2);
  if (!d || !Date::Valid(static_cast<int>(*y), *mo, *d)) return std::nullopt;
  LocalTime t{static_cast<int>(*y), *mo, *d, 0, 0, 0};
  if (pos == s.size()) return zone.ToUtc(t);
  if (!Expect(s, &pos, 'T') && !Expect(s, &pos, ' ')) return std::nullopt;
  const auto h = Digits(s, &pos, 2);
  if (!h || !Expect(s, &pos, ':')) return std::nullopt;
  const auto mi = Digits(s, &pos, 2);
  if (!mi || !Expect(s, &pos, ':')) return std::nullopt;
  const auto se = Digits(s, &pos, 2);
  if (!se || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  t.hour = *h;
  t.minute = *mi;
  t.second = *se;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t digits = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == digits) return std::nullopt;
  }
  if (pos == s.size()) return zone.ToUtc(t);
  const int64_t as_utc = TimeZone::Utc().ToUtc(t);
  if (s[pos] == 'Z' && pos + 1 == s.size()) return as_utc;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '+' ? 1 : -1;
  ++pos;
  const auto oh = Digits(s, &pos, 2);
  if (!oh) return std::nullopt;
  Expect(s, &pos, ':');
  const auto om = Digits(s, &pos, 2);
  if (!om || pos != s.size() || *oh > 23 || *om > 59) return std::nullopt;
  return as_utc - sign * static_cast<int64_t>(*oh * 3600 + *om * 60);
}

}  // namespace rp
