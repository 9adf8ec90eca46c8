#include "rp/scheduler.h"

#include <algorithm>
#include <limits>

#include "rp/drill.h"
#include "rp/next_run.h"

namespace rp {

std::vector<ScheduleEntry> ScheduleEntries(const Config& config) {
  std::vector<ScheduleEntry> out;
  out.reserve(config.targets.size() + config.drills.size());
  for (const auto& t : config.targets) {
    if (t.tests.empty()) {
      ScheduleEntry e;
      e.key = "interval:" + t.name;
      e.target = t.name;
      e.interval_s = config.PolicyFor(t).restore_test_interval_s;
      out.push_back(std::move(e));
    }
    for (size_t i = 0; i < t.tests.size(); ++i) {
      ScheduleEntry e;
      e.key = "test:" + t.name + ":" + std::to_string(i);
      e.target = t.name;
      e.test_index = static_cast<int>(i);
      e.cron = t.tests[i].schedule;
      out.push_back(std::move(e));
    }
  }
  for (const auto& d : config.drills) {
    ScheduleEntry e;
    e.key = "drill:" + d.name;
    e.drill = d.name;
    e.cron = d.schedule;
    out.push_back(std::move(e));
  }
  return out;
}

int64_t NextFire(const ScheduleEntry& entry, std::optional<int64_t> mark, const TimeZone& zone, int64_t now) {
  if (!entry.cron) return mark ? *mark + static_cast<int64_t>(entry.interval_s) : now;
  const auto next = NextRun(*entry.cron, zone, mark ? *mark : now);
  return next ? *next : std::numeric_limits<int64_t>::max();
}

FireResult FireDue(const Config& config, Store* store, int64_t now, EventLog* log) {
  FireResult r;
  r.next = std::numeric_limits<int64_t>::max();
  const auto marks = store->ScheduleMarks();
  const auto pending = store->PendingScheduled();
  std::vector<FireItem> items;
  for (const auto& e : ScheduleEntries(config)) {
    const auto it = marks.find(e.key);
    const std::optional<int64_t> mark = it == marks.end() ? std::nullopt : std::optional(it->second);
    FireItem item;
    item.key = e.key;
    item.old_slot = mark;
    item.new_slot = now;
    if (!mark && e.cron) {  // a new schedule starts counting now
      items.push_back(std::move(item));
      r.next = std::min(r.next, NextFire(e, now, config.appliance.zone, now));
      continue;
    }
    const int64_t due = NextFire(e, mark, config.appliance.zone, now);
    if (due > now) {
      r.next = std::min(r.next, due);
      continue;
    }
    r.next = std::min(r.next, NextFire(e, now, config.appliance.zone, now));
    if (!e.drill.empty()) {
      for (const auto& d : config.drills) {
        if (d.name != e.drill) continue;
        DrillRecord drill;
        if (Status s = PlanDrill(config, d.name, d.targets, Trigger::kSchedule, "", now, &drill, &item.drill_runs); !s.ok()) {
          if (log) log->Error("drill-not-started", "", 0, {{"name", d.name}, {"error", s.message()}});
        } else {
          item.drill = std::move(drill);
        }
      }
    } else if (pending.count({e.target, e.test_index})) {
      ++r.coalesced;
      if (log) log->Info("run-coalesced", e.target, 0, {{"detail", "the previous scheduled run has not ended"}});
    } else {
      RunRequest q;
      q.target = e.target;
      q.test_index = e.test_index;
      q.trigger = Trigger::kSchedule;
      q.requested_by = "scheduler";
      item.run = std::move(q);
      ++r.runs_queued;
    }
    items.push_back(std::move(item));
  }
  r.drills_started = store->Fire(items, now);
  for (int64_t id : r.drills_started)
    if (log) log->Info("drill-started", "", 0, {{"drill", id}});
  return r;
}

}  // namespace rp
