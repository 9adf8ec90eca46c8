// When a cron schedule (rp/schedule.h) next fires in a time zone: the scheduler's clock and
// `schedule preview`'s answer (docs/scheduling.md). Pure functions over immutable values;
// thread-safe.
//
// The rule is crontab(5) as cronie's crond runs it. A wall-clock minute matches when its
// minute, hour and month are in their sets and its day matches by the classic rule of
// schedule.h (both day fields restricted: either decides; `mon#1` nth weekdays). A matching
// minute that the clocks show once fires then. Where daylight saving (or any change of the
// zone's offset) skips or repeats wall-clock time, cronie's crond (cron.c, its "time jump"
// cases) decides, and the schedule's kind matters:
//   - A wildcard schedule is one whose minute or hour field is `*` or `*/n`: its set is every
//     value of the field or an even progression from the field's first value to its end
//     (cronie: the field's text starts with `*`; @hourly too). It runs in real elapsed time:
//     at every matching wall-clock minute that occurs, so twice in a repeated hour, and not at
//     all for the minutes that a change skips.
//   - Any other schedule is fixed-time (`30 2 * * *`, `0 1-3 * * *`, @daily). A matching minute
//     that is skipped fires once at the first instant after the change (02:30 on the morning
//     Stockholm springs forward runs at 03:00 CEST); one that occurs twice fires only at its
//     first occurrence.
//   - cronie's limits apply: a skip of 1-4 minutes runs every schedule's skipped minutes at
//     the first instant after it; a skip of 3 hours or more runs none of them; a step back of
//     more than 181 minutes runs everything again, fixed-time schedules included.
// A Schedule keeps its sets, not its text, so a field written as an explicit list or range
// that equals a `*`/`*/n` set (`0-23`, `0,30`) counts as wildcard here, where cronie would
// call it fixed-time. A zone is assumed to change its offset at most once within any three
// days, as the rules in use today do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rp/calendar.h"
#include "rp/schedule.h"

namespace rp {

// The first instant (UTC seconds) strictly after `after` at which `s` fires in `zone`;
// nullopt when it fires at none within the 400 years after `after` (the Gregorian calendar
// repeats after 400 years, so such a schedule only ever matches times the clocks skip).
std::optional<int64_t> NextRun(const Schedule& s, const TimeZone& zone, int64_t after);

// The first `count` such instants, ascending; fewer when the schedule stops firing.
std::vector<int64_t> NextRuns(const Schedule& s, const TimeZone& zone, int64_t after, size_t count);

// Whether `s` runs in real elapsed time across a change of offset (see above).
bool IsWildcardSchedule(const Schedule& s);

}  // namespace rp
