// libFuzzer target for restore-test schedules and select forms (rp::ParseSchedule,
// rp::ParseTestSelect): any bytes give a value or an error, never a crash. An accepted text's
// ToString() parses back to an equal value and prints the same again; an error points inside
// the text, names a known field and says what it expected and found. Traps when one breaks.
// Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "rp/schedule.h"
#include "rp/units.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckError(const rp::ScheduleError& e, std::string_view text) {
  Check(e.offset <= text.size() && e.length <= text.size() - e.offset);
  Check(e.field.empty() || e.field == "minute" || e.field == "hour" || e.field == "day-of-month" ||
        e.field == "month" || e.field == "day-of-week");
  Check(!e.message.empty() && !e.expected.empty() && !e.found.empty());
  Check(e.field.empty() || e.message.rfind(e.field + ": ", 0) == 0);
}

void Schedules(std::string_view text) {
  const auto parsed = rp::ParseSchedule(text);
  if (const auto* e = std::get_if<rp::ScheduleError>(&parsed)) {
    CheckError(*e, text);
    return;
  }
  const rp::Schedule& s = std::get<rp::Schedule>(parsed);
  Check(!s.days_of_month().test(0) && !s.months().test(0));
  Check(s.minutes().any() && s.hours().any() && s.days_of_month().any() && s.months().any());
  Check(s.days_of_week().any() || !s.nth_weekdays().empty());
  for (const rp::NthWeekday& n : s.nth_weekdays())
    Check(n.weekday >= 0 && n.weekday <= 6 && n.nth >= 1 && n.nth <= 5 &&
          !s.days_of_week().test(static_cast<size_t>(n.weekday)));
  const auto again = rp::ParseSchedule(s.ToString());
  const auto* back = std::get_if<rp::Schedule>(&again);
  Check(back != nullptr);
  Check(*back == s);
  Check(back->ToString() == s.ToString());
}

void Selects(std::string_view text) {
  const auto parsed = rp::ParseTestSelect(text);
  if (const auto* e = std::get_if<rp::SelectError>(&parsed)) {
    CheckError(*e, text);
    Check(e->field.empty());
    return;
  }
  const rp::TestSelect& s = std::get<rp::TestSelect>(parsed);
  Check(s.kind == rp::SelectKind::kRandomWithin ? s.window_s >= 1 && s.window_s <= 36500 * 86400.0 : s.window_s == 0);
  const auto again = rp::ParseTestSelect(s.ToString());
  const auto* back = std::get_if<rp::TestSelect>(&again);
  Check(back != nullptr);
  Check(*back == s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Schedules(text);
  Selects(text);
  (void)rp::ParseDurationWithUnit(text);
  return 0;
}
