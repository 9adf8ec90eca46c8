// What is due when (docs/scheduling.md): every restore test of every target (its cron schedule,
// or its policy's restore_test_interval when it has no [[targets.tests]]) and every drill, each
// under a key whose mark in the store is the last time it fired. A slot missed while the
// appliance was down fires once when it comes back (catch-up), never once per missed slot.
// Pure over the configuration and the marks, except FireDue, which writes to the store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/schedule.h"
#include "rp/store.h"

namespace rp {

struct ScheduleEntry {
  std::string key;     // "test:payroll:0", "interval:payroll", "drill:monthly"
  std::string target;  // a restore test's target ("" for a drill)
  int test_index = -1;
  std::string drill;   // a drill's name
  std::optional<Schedule> cron;  // else every interval_s
  double interval_s = 0;
};

std::vector<ScheduleEntry> ScheduleEntries(const Config& config);

// When an entry fires next, given its mark (nullopt: never fired) and the time now. A cron
// entry that has never fired waits for its next slot; an interval entry that never fired is due
// now (there is no restore test to rely on). A result <= now means due.
int64_t NextFire(const ScheduleEntry& entry, std::optional<int64_t> mark, const TimeZone& zone, int64_t now);

struct FireResult {
  size_t runs_queued = 0;
  size_t coalesced = 0;  // due, but the previous run of that test is still queued or running
  std::vector<int64_t> drills_started;
  int64_t next = 0;  // the earliest time an entry fires next
};

// Queues a run for every due restore test (one per test: a test whose last scheduled run has
// not ended is not queued again) and starts every due drill; advances their marks to `now`.
FireResult FireDue(const Config& config, Store* store, int64_t now, EventLog* log);

}  // namespace rp
