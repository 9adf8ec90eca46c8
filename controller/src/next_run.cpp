#include "rp/next_run.h"

#include <algorithm>
#include <bitset>

namespace rp {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kDay = 86400;
constexpr int64_t kHorizonDays = 146097;  // 400 Gregorian years: the calendar's whole cycle

// cronie's bounds on a jump of the wall clock, in minutes (cron.c): a skip of d - 1 minutes
// with 1 < d <= 5 catches every job up, up to 180 only the fixed-time ones, beyond that none;
// a step back of more than 180 + 1 minutes runs everything again.
constexpr int64_t kSmallJump = 5;
constexpr int64_t kLargeJump = 180;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A field's set as `*` or `*/n` makes it: every value from `lo`, evenly spaced, to the end.
template <size_t N>
bool EvenFromStart(const std::bitset<N>& bits, size_t lo, size_t hi) {
  if (!bits.test(lo)) return false;
  size_t previous = lo, step = 0, count = 1;
  for (size_t v = lo + 1; v <= hi; ++v) {
    if (!bits.test(v)) continue;
    if (count == 1)
      step = v - previous;
    else if (v - previous != step)
      return false;
    previous = v;
    ++count;
  }
  return count >= 2 && previous + step > hi;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int y, unsigned m) {
  static constexpr unsigned kDays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m];
}

// A local calendar day, stepped forward without converting from day numbers each time.
struct Day {
  int64_t days;  // since 1970-01-01
  int year;
  unsigned month, day, weekday;

  static Day Of(Date d) { return Day{d.days, d.year(), d.month(), d.day(), d.weekday()}; }
  void Next() { Advance(1); }
  void NextMonth() { Advance(DaysInMonth(year, month) - day + 1); }

 private:
  void Advance(unsigned n) {
    days += n;
    weekday = (weekday + n) % 7;
    day += n;
    while (day > DaysInMonth(year, month)) {
      day -= DaysInMonth(year, month);
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }
};

// The classic rule of schedule.h; the month is checked by the caller.
bool DayMatches(const Schedule& s, const Day& d) {
  if (s.day_of_month_star() && s.day_of_week_star()) return true;
  const bool by_month = s.days_of_month().test(d.day);
  bool by_week = s.days_of_week().test(d.weekday);
  for (const NthWeekday& n : s.nth_weekdays())
    by_week = by_week ||
              (static_cast<unsigned>(n.weekday) == d.weekday && static_cast<unsigned>(n.nth) == (d.day - 1) / 7 + 1);
  if (s.day_of_month_star()) return by_week;
  if (s.day_of_week_star()) return by_month;
  return by_month || by_week;
}

// When the clocks show one wall-clock time.
struct Occurrence {
  int64_t first = 0;              // its first occurrence; when skipped, the first instant after
  std::optional<int64_t> second;  // its second occurrence, when the clocks step back over it
  int64_t skip_minutes = 0;       // > 0: the clocks skip it, jumping this far
  int64_t repeat_minutes = 0;     // > 0: it occurs twice, the clocks stepping back this far
};

// `local` is a wall-clock time as seconds since the epoch read as UTC; `before` and `after`
// the zone's offsets a day before and a day after it.
Occurrence Locate(const TimeZone& zone, int64_t local, int64_t before, int64_t after) {
  Occurrence o;
  if (before == after) {
    o.first = local - before;
    return o;
  }
  const int64_t as_before = local - before, as_after = local - after;
  const bool before_holds = zone.OffsetSeconds(as_before) == before;
  const bool after_holds = zone.OffsetSeconds(as_after) == after;
  if (before_holds && after_holds) {
    o.first = std::min(as_before, as_after);
    if (as_before != as_after) {
      o.second = std::max(as_before, as_after);
      o.repeat_minutes = (before - after) / kMinute;
    }
  } else if (before_holds || after_holds) {
    o.first = before_holds ? as_before : as_after;
  } else if (after > before) {
    // Skipped: the change lies in (as_after, as_before]; find its instant.
    int64_t lo = as_after, hi = as_before;
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      (zone.OffsetSeconds(mid) == after ? hi : lo) = mid;
    }
    o.first = hi;
    o.skip_minutes = (after - before) / kMinute;
  } else {
    o.first = as_after;  // not one change within the window (see the header); read it after
  }
  return o;
}

// The instants at which a matching wall-clock time fires, by cronie's rules (next_run.h).
int Fires(const Occurrence& o, bool wildcard, int64_t out[2]) {
  if (o.skip_minutes > 0) {
    const int64_t jump = o.skip_minutes + 1;  // cronie's timeDiff
    if (jump <= kSmallJump || (jump <= kLargeJump && !wildcard)) {
      out[0] = o.first;
      return 1;
    }
    return 0;
  }
  out[0] = o.first;
  if (!o.second) return 1;
  const int64_t jump = 1 - o.repeat_minutes;
  if (wildcard || jump < -kLargeJump) {
    out[1] = *o.second;
    return 2;
  }
  return 1;
}

}  // namespace

bool IsWildcardSchedule(const Schedule& s) {
  return EvenFromStart(s.minutes(), 0, 59) || EvenFromStart(s.hours(), 0, 23);
}

std::optional<int64_t> NextRun(const Schedule& s, const TimeZone& zone, int64_t after) {
  const bool wildcard = IsWildcardSchedule(s);
  // Start at the wall-clock time of `after`, or earlier by as much as the clocks change within a
  // day of it, so that the second occurrences of a repeated hour still to come are seen.
  const int64_t offset = zone.OffsetSeconds(after);
  const int64_t day_before = zone.OffsetSeconds(after - kDay), day_after = zone.OffsetSeconds(after + kDay);
  const int64_t spread = std::max({offset, day_before, day_after}) - std::min({offset, day_before, day_after});
  const int64_t start_minute = FloorDiv(after + offset - spread, kMinute);
  Day day = Day::Of(Date{FloorDiv(start_minute, 1440)});
  int64_t from_minute = start_minute - day.days * 1440;  // of the first day
  const int64_t end = day.days + kHorizonDays;

  std::optional<int64_t> best;
  while (day.days < end) {
    if (!s.months().test(day.month)) {
      day.NextMonth();
      from_minute = 0;
      continue;
    }
    if (DayMatches(s, day)) {
      const int64_t midnight = day.days * kDay;
      const int64_t before = zone.OffsetSeconds(midnight - kDay);
      const int64_t after_day = zone.OffsetSeconds(midnight + 2 * kDay);
      const auto from_hour = static_cast<size_t>(from_minute / 60);
      for (size_t h = from_hour; h < 24; ++h) {
        if (!s.hours().test(h)) continue;
        for (size_t m = h == from_hour ? static_cast<size_t>(from_minute % 60) : 0; m < 60; ++m) {
          if (!s.minutes().test(m)) continue;
          const int64_t local = midnight + static_cast<int64_t>(h * 3600 + m * 60);
          const Occurrence o = Locate(zone, local, before, after_day);
          // First occurrences never go backwards as the wall clock advances; only a second
          // occurrence can come later than a later time's first.
          if (best && o.first >= *best) return best;
          int64_t fires[2];
          const int n = Fires(o, wildcard, fires);
          for (int i = 0; i < n; ++i)
            if (fires[i] > after && (!best || fires[i] < *best)) best = fires[i];
        }
      }
    }
    day.Next();
    from_minute = 0;
  }
  return best;
}

std::vector<int64_t> NextRuns(const Schedule& s, const TimeZone& zone, int64_t after, size_t count) {
  std::vector<int64_t> runs;
  runs.reserve(std::min<size_t>(count, 1024));
  for (int64_t t = after; runs.size() < count;) {
    const auto next = NextRun(s, zone, t);
    if (!next) break;
    runs.push_back(*next);
    t = *next;
  }
  return runs;
}

}  // namespace rp
