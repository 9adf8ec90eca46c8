#include "rp/schedule.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include "rp/units.h"

namespace rp {
namespace {

enum FieldIndex { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek, kFieldCount };

struct FieldSpec {
  FieldIndex index;
  std::string_view name;
  int lo, hi;                 // values accepted in the text (day-of-week: 0-7, both Sunday)
  std::string_view expected;  // what the field accepts, for errors
};

constexpr std::array<FieldSpec, kFieldCount> kFields = {{
    {kMinute, "minute", 0, 59, "minute 0-59"},
    {kHour, "hour", 0, 23, "hour 0-23"},
    {kDayOfMonth, "day-of-month", 1, 31, "day-of-month 1-31"},
    {kMonth, "month", 1, 12, "month 1-12 or jan-dec"},
    {kDayOfWeek, "day-of-week", 0, 7, "day-of-week 0-7 or sun-sat"},
}};

constexpr std::array<std::string_view, 13> kMonthNames = {"",    "jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::string_view kFieldsExpected =
    "5 fields (minute hour day-of-month month day-of-week) or @daily/@weekly/@monthly/@yearly/@hourly";

struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};
// The macro a canonical 5-field text prints as; the first of each pair of synonyms.
constexpr std::array<Macro, 5> kCanonicalMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool AllDigits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit); }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

// The text as it can be shown inside quotes on one terminal line.
std::string Shown(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

// A month's (1-12) or day's (0-6) three-letter name, any case.
std::optional<int> Name(std::string_view token, FieldIndex field) {
  if (field == kMonth) {
    for (size_t m = 1; m < kMonthNames.size(); ++m)
      if (EqualsIgnoringCase(token, kMonthNames[m])) return static_cast<int>(m);
  } else {
    for (size_t d = 0; d < kDayNames.size(); ++d)
      if (EqualsIgnoringCase(token, kDayNames[d])) return static_cast<int>(d);
  }
  return std::nullopt;
}

// A number of at most 9 digits; longer ones are out of every range here.
std::optional<int> SmallNumber(std::string_view digits) {
  if (!AllDigits(digits) || digits.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// What one field's text selects.
struct FieldValues {
  std::bitset<64> values;  // as written; day-of-week 7 is folded into 0 afterwards
  std::vector<NthWeekday> nth;
  bool star = false;  // the field is `*` (or `*/1`)
};

// Parses the text one field at a time; every offset is into the whole text.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  const ScheduleError& error() const { return *error_; }

  // Records the first error and returns false, for `return Fail(...)`.
  bool Fail(size_t offset, size_t length, const FieldSpec* field, const std::string& problem, std::string_view expected,
            std::string found = "") {
    if (error_) return false;
    ScheduleError e;
    e.offset = offset;
    e.length = length;
    e.field = field ? std::string(field->name) : "";
    e.message = field ? e.field + ": " + problem : problem;
    e.expected = std::string(expected);
    if (!found.empty())
      e.found = std::move(found);
    else if (length == 0)
      e.found = "nothing (" + e.message + ")";
    else
      e.found = "\"" + Shown(text_.substr(offset, length)) + "\" (" + e.message + ")";
    error_ = std::move(e);
    return false;
  }

  bool Field(size_t b, size_t e, const FieldSpec& f, FieldValues* out) {
    size_t item = b;
    int items = 0;
    bool star_item = false;
    for (;;) {
      size_t comma = text_.find(',', item);
      if (comma == std::string_view::npos || comma > e) comma = e;
      if (comma == item) {
        const size_t at = item < e ? item : item - 1;  // the comma that closes or opens it
        return Fail(at, 1, &f, "empty list item", f.expected);
      }
      ++items;
      if (!Item(item, comma, f, out, &star_item)) return false;
      if (comma == e) break;
      item = comma + 1;
    }
    out->star = items == 1 && star_item;
    return true;
  }

 private:
  // One list item: `*`, `a`, `a-b`, each optionally `/step`, or `day#n` in day-of-week.
  bool Item(size_t b, size_t e, const FieldSpec& f, FieldValues* out, bool* star) {
    size_t p = b;
    int first = f.lo, last = f.hi;
    bool whole = false, range = false;
    if (text_[p] == '*') {
      whole = true;
      ++p;
    } else {
      if (!Value(&p, e, f, &first)) return false;
      last = first;
      if (p < e && text_[p] == '-') {
        ++p;
        if (!Value(&p, e, f, &last)) return false;
        // Sunday closing a range is 7, so that fri-sun is Friday to Sunday.
        if (f.index == kDayOfWeek && last == 0 && first > 0) last = 7;
        if (first > last)
          return Fail(b, p - b, &f, "range " + Shown(text_.substr(b, p - b)) + " runs backwards", f.expected);
        range = true;
      }
    }
    if (p < e && text_[p] == '#') return Nth(b, p, e, f, whole || range, first, out);
    int step = 1;
    if (p < e && text_[p] == '/') {
      const size_t slash = p++;
      if (!Step(slash, e, f, &step)) return false;
      if (!whole && !range) last = f.hi;  // a/n: from a to the field's last value
      p = e;
    }
    if (p != e) {
      return Fail(p, e - p, &f,
                  "unexpected '" + Shown(text_.substr(p, e - p)) + "' after '" + Shown(text_.substr(b, p - b)) + "'",
                  f.expected);
    }
    for (int v = first; v <= last; v += step) out->values.set(static_cast<size_t>(v));
    *star = whole && step == 1;
    return true;
  }

  // A number or (month, day-of-week) a name, up to the next '-', '/', '#' or the item's end.
  bool Value(size_t* p, size_t e, const FieldSpec& f, int* value) {
    size_t end = *p;
    while (end < e && text_[end] != '-' && text_[end] != '/' && text_[end] != '#') ++end;
    const std::string_view token = text_.substr(*p, end - *p);
    if (token.empty()) {
      if (*p < e && text_[*p] == '-' && *p + 1 < e && IsDigit(text_[*p + 1])) {
        size_t sign_end = *p + 1;
        while (sign_end < e && IsDigit(text_[sign_end])) ++sign_end;
        return Fail(*p, sign_end - *p, &f, "'" + Shown(text_.substr(*p, sign_end - *p)) + "': numbers have no sign",
                    f.expected);
      }
      if (*p == e) return Fail(*p, 0, &f, "a value is missing at the end of '" + Shown(ItemText(*p)) + "'", f.expected);
      return Fail(*p, 1, &f, "a value is missing before '" + std::string(1, text_[*p]) + "'", f.expected);
    }
    if (token[0] == '+' && token.size() > 1 && AllDigits(token.substr(1)))
      return Fail(*p, token.size(), &f, "'" + Shown(token) + "': numbers have no sign", f.expected);
    if (AllDigits(token)) {
      const auto v = SmallNumber(token);
      if (!v || *v < f.lo || *v > f.hi) {
        return Fail(*p, token.size(), &f,
                    std::string(token) + " is out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi),
                    f.expected);
      }
      *value = *v;
      *p = end;
      return true;
    }
    if (f.index == kMonth || f.index == kDayOfWeek) {
      if (const auto named = Name(token, f.index)) {
        *value = *named;
        *p = end;
        return true;
      }
      if (std::any_of(token.begin(), token.end(), IsLetter)) {
        return Fail(*p, token.size(), &f,
                    "'" + Shown(token) + "' is not a " + (f.index == kMonth ? "month" : "day") + " name", f.expected);
      }
    }
    return Fail(*p, token.size(), &f, "'" + Shown(token) + "' is not a number", f.expected);
  }

  // The step after the '/' at `slash`, up to the item's end.
  bool Step(size_t slash, size_t e, const FieldSpec& f, int* step) {
    const size_t b = slash + 1;
    const std::string_view token = text_.substr(b, e - b);
    const int max = f.hi - f.lo;
    const std::string expected = "a step from 1 to " + std::to_string(max);
    if (token.empty()) return Fail(slash, 1, &f, "'/' needs a step, like */5", expected);
    if ((token[0] == '+' || token[0] == '-') && AllDigits(token.substr(1)))
      return Fail(b, token.size(), &f, "'" + Shown(token) + "': numbers have no sign", expected);
    if (!AllDigits(token)) return Fail(b, token.size(), &f, "step '" + Shown(token) + "' is not a number", expected);
    const auto v = SmallNumber(token);
    if (v && *v == 0) return Fail(b, token.size(), &f, "step 0 is not allowed", expected);
    if (!v || *v > max) {
      return Fail(b, token.size(), &f, "step " + std::string(token) + " is out of range 1-" + std::to_string(max),
                  expected);
    }
    *step = *v;
    return true;
  }

  // `day#n` from the item's start `b`; `hash` is the '#'.
  bool Nth(size_t b, size_t hash, size_t e, const FieldSpec& f, bool not_single, int day, FieldValues* out) {
    const std::string_view token = text_.substr(hash, e - hash);
    const std::string expected = "a single day and its number in the month, like mon#1 (#1 to #5)";
    if (f.index != kDayOfWeek) {
      return Fail(hash, token.size(), &f, "'#' is only allowed in day-of-week (like mon#1)", f.expected);
    }
    if (not_single) {
      return Fail(b, hash - b, &f,
                  "'#' needs a single day before it, like mon#1, not '" + Shown(text_.substr(b, hash - b)) + "'",
                  expected);
    }
    const std::string_view digits = token.substr(1);
    if (!AllDigits(digits)) return Fail(hash, token.size(), &f, Shown(token) + ": expected #1 to #5", expected);
    const auto n = SmallNumber(digits);
    if (n && *n == 0) return Fail(hash, token.size(), &f, "#0: the first of a weekday in a month is #1", expected);
    if (!n || *n > 5)
      return Fail(hash, token.size(), &f, Shown(token) + ": a month has at most 5 of a weekday", expected);
    out->nth.push_back(NthWeekday{day % 7, *n});
    return true;
  }

  // The list item around a position, for messages.
  std::string_view ItemText(size_t p) const {
    size_t b = p;
    while (b > 0 && text_[b - 1] != ',' && !IsBlank(text_[b - 1])) --b;
    return text_.substr(b, p - b);
  }

  std::string_view text_;
  std::optional<ScheduleError> error_;
};

// The canonical text of one field's values, `lo`..`hi` its real range (day-of-week 0-6) and
// `open_hi` where `*` and `a/n` end in the text (day-of-week 7).
std::string FormatValues(const std::vector<int>& v, int lo, int hi, int open_hi, bool full_is_star) {
  if (full_is_star && v.size() == static_cast<size_t>(hi - lo + 1)) return "*";
  if (v.size() >= 3) {
    const int step = v[1] - v[0];
    bool progression = step >= 2;
    for (size_t i = 2; progression && i < v.size(); ++i) progression = v[i] - v[i - 1] == step;
    if (progression) {
      if (v.front() == lo && v.back() + step > open_hi) return "*/" + std::to_string(step);
      return std::to_string(v.front()) + "-" + std::to_string(v.back()) + "/" + std::to_string(step);
    }
  }
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::to_string(v[i]) + "-" + std::to_string(v[j]);
      i = j + 1;
    } else {
      out += std::to_string(v[i]);
      ++i;
    }
  }
  return out;
}

template <size_t N>
std::vector<int> Members(const std::bitset<N>& bits) {
  std::vector<int> v;
  for (size_t i = 0; i < N; ++i)
    if (bits.test(i)) v.push_back(static_cast<int>(i));
  return v;
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<64>& wide) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out.set(i, wide.test(i));
  return out;
}

// The most days month `m` can have (February: 29).
int MaxDays(int m) {
  static constexpr std::array<int, 13> kDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[static_cast<size_t>(m)];
}

std::string FormatWindow(double s) {
  if (s == std::floor(s)) {
    const auto n = static_cast<int64_t>(s);
    for (const auto& [unit, mult] : {std::pair<char, int64_t>{'d', 86400}, {'h', 3600}, {'m', 60}})
      if (n % mult == 0) return std::to_string(n / mult) + unit;
    return std::to_string(n) + "s";
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, s, std::chars_format::fixed);
  return std::string(buf, r.ptr) + "s";
}

}  // namespace

// Builds Schedules from parsed fields; the one place that sets their members.
class ScheduleBuilder {
 public:
  static Schedule Make(const std::array<FieldValues, kFieldCount>& f) {
    Schedule s;
    s.minutes_ = Narrow<60>(f[kMinute].values);
    s.hours_ = Narrow<24>(f[kHour].values);
    s.days_of_month_ = Narrow<32>(f[kDayOfMonth].values);
    s.months_ = Narrow<13>(f[kMonth].values);
    std::bitset<64> dow = f[kDayOfWeek].values;
    if (dow.test(7)) dow.set(0);
    s.days_of_week_ = Narrow<7>(dow);
    s.nth_weekdays_.clear();
    for (const NthWeekday& n : f[kDayOfWeek].nth)
      if (!s.days_of_week_.test(static_cast<size_t>(n.weekday))) s.nth_weekdays_.push_back(n);
    std::sort(s.nth_weekdays_.begin(), s.nth_weekdays_.end());
    s.nth_weekdays_.erase(std::unique(s.nth_weekdays_.begin(), s.nth_weekdays_.end()), s.nth_weekdays_.end());
    s.day_of_month_star_ = f[kDayOfMonth].star;
    s.day_of_week_star_ = f[kDayOfWeek].star;
    s.text_ = Canonical(s);
    return s;
  }

  static std::string Canonical(const Schedule& s) {
    std::string dow = s.days_of_week_.any() ? FormatValues(Members(s.days_of_week_), 0, 6, 7, s.day_of_week_star_) : "";
    for (const NthWeekday& n : s.nth_weekdays_) {
      if (!dow.empty()) dow += ',';
      dow += std::string(kDayNames[static_cast<size_t>(n.weekday)]) + "#" + std::to_string(n.nth);
    }
    const std::string text = FormatValues(Members(s.minutes_), 0, 59, 59, true) + " " +
                             FormatValues(Members(s.hours_), 0, 23, 23, true) + " " +
                             FormatValues(Members(s.days_of_month_), 1, 31, 31, s.day_of_month_star_) + " " +
                             FormatValues(Members(s.months_), 1, 12, 12, true) + " " + dow;
    for (const Macro& m : kCanonicalMacros)
      if (text == m.fields) return std::string(m.name);
    return text;
  }
};

Schedule::Schedule() {
  minutes_.set(0);
  hours_.set(0);
  days_of_month_.set(1);
  for (size_t m = 1; m <= 12; ++m) months_.set(m);
  days_of_week_.set();
  day_of_month_star_ = false;
  day_of_week_star_ = true;
  text_ = "@monthly";
}

std::variant<Schedule, ScheduleError> ParseSchedule(std::string_view text) {
  Parser parser(text);
  size_t b = 0, e = text.size();
  while (b < e && IsBlank(text[b])) ++b;
  while (e > b && IsBlank(text[e - 1])) --e;

  if (b < e && text[b] == '@') {
    size_t name_end = b;
    while (name_end < e && !IsBlank(text[name_end])) ++name_end;
    const std::string_view name = text.substr(b, name_end - b);
    const Macro* macro = nullptr;
    for (const Macro& m : kMacros)
      if (EqualsIgnoringCase(name, m.name)) macro = &m;
    if (!macro) {
      parser.Fail(
          b, name.size(), nullptr,
          "'" + Shown(name) + "' is not a macro: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly",
          kFieldsExpected);
      return parser.error();
    }
    size_t rest = name_end;
    while (rest < e && IsBlank(text[rest])) ++rest;
    if (rest < e) {
      parser.Fail(rest, e - rest, nullptr,
                  "unexpected '" + Shown(text.substr(rest, e - rest)) + "' after " + std::string(macro->name),
                  "nothing after " + std::string(macro->name));
      return parser.error();
    }
    return ParseSchedule(macro->fields);
  }

  std::vector<std::pair<size_t, size_t>> fields;  // [begin, end) of each
  for (size_t p = b; p < e;) {
    size_t q = p;
    while (q < e && !IsBlank(text[q])) ++q;
    fields.emplace_back(p, q);
    while (q < e && IsBlank(text[q])) ++q;
    p = q;
  }
  if (fields.size() != kFieldCount) {
    const std::string n = std::to_string(fields.size());
    parser.Fail(b, e - b, nullptr, "expected " + std::string(kFieldsExpected) + ", found " + n, kFieldsExpected,
                "\"" + Shown(text.substr(b, e - b)) + "\" (" + n + (fields.size() == 1 ? " field)" : " fields)"));
    return parser.error();
  }

  std::array<FieldValues, kFieldCount> values;
  for (size_t i = 0; i < kFieldCount; ++i)
    if (!parser.Field(fields[i].first, fields[i].second, kFields[i], &values[i])) return parser.error();

  // A day of month that no chosen month has never runs (unless day-of-week, ORed, decides).
  if (!values[kDayOfMonth].star && values[kDayOfWeek].star) {
    bool occurs = false;
    for (int m = 1; m <= 12 && !occurs; ++m)
      for (int d = 1; d <= MaxDays(m) && !occurs; ++d)
        occurs = values[kMonth].values.test(static_cast<size_t>(m)) &&
                 values[kDayOfMonth].values.test(static_cast<size_t>(d));
    if (!occurs) {
      const auto [db, de] = fields[kDayOfMonth];
      const auto [mb, me] = fields[kMonth];
      parser.Fail(db, de - db, &kFields[kDayOfMonth],
                  "'" + Shown(text.substr(db, de - db)) + "' occurs in none of the months '" +
                      Shown(text.substr(mb, me - mb)) + "', so the schedule would never run",
                  "a day-of-month that occurs in the chosen months");
      return parser.error();
    }
  }
  return ScheduleBuilder::Make(values);
}

std::string TestSelect::ToString() const {
  switch (kind) {
    case SelectKind::kLatest:
      return "latest";
    case SelectKind::kOldestRetained:
      return "oldest-retained";
    case SelectKind::kRandomWithin:
      return "random-within:" + FormatWindow(window_s);
  }
  return "latest";
}

std::variant<TestSelect, SelectError> ParseTestSelect(std::string_view text) {
  constexpr std::string_view kExpected = "latest, oldest-retained or random-within:<duration>, like random-within:30d";
  constexpr std::string_view kWindowExpected = "a duration from 1s to 36500d with a unit s, m, h, d or w, like 30d";
  constexpr std::string_view kRandom = "random-within";
  constexpr double kMaxWindow = 36500 * 86400.0;
  Parser parser(text);
  if (text == "latest") return TestSelect{SelectKind::kLatest, 0};
  if (text == "oldest-retained") return TestSelect{SelectKind::kOldestRetained, 0};
  if (!text.starts_with(kRandom) || (text.size() > kRandom.size() && text[kRandom.size()] != ':')) {
    parser.Fail(0, text.size(), nullptr, "'" + Shown(text) + "' is not a select form", kExpected);
    return parser.error();
  }
  if (text.size() == kRandom.size()) {
    parser.Fail(text.size(), 0, nullptr, "random-within needs a window, like random-within:30d", kExpected);
    return parser.error();
  }
  const size_t at = kRandom.size() + 1;
  const std::string_view window = text.substr(at);
  const auto seconds = ParseDurationWithUnit(window);
  if (window.empty()) {
    parser.Fail(at, 0, nullptr, "random-within: the window is missing, like random-within:30d", kWindowExpected);
  } else if (!seconds && window.find_first_not_of("0123456789.") == std::string_view::npos) {
    parser.Fail(at, window.size(), nullptr, "random-within: '" + Shown(window) + "' has no unit (s, m, h, d or w)",
                kWindowExpected);
  } else if (!seconds) {
    parser.Fail(at, window.size(), nullptr, "random-within: '" + Shown(window) + "' is not a duration like 30d",
                kWindowExpected);
  } else if (*seconds < 1) {
    parser.Fail(at, window.size(), nullptr, "random-within: the window " + Shown(window) + " is shorter than 1s",
                kWindowExpected);
  } else if (*seconds > kMaxWindow) {
    parser.Fail(at, window.size(), nullptr, "random-within: the window " + Shown(window) + " is longer than 36500d",
                kWindowExpected);
  } else {
    return TestSelect{SelectKind::kRandomWithin, *seconds};
  }
  return parser.error();
}

}  // namespace rp
