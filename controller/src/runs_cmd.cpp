#include "rp/runs_cmd.h"

#include <cstdio>
#include <iomanip>
#include <sstream>
#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "rp/appliance.h"
#include "rp/codec.h"
#include "rp/drill.h"
#include "rp/event_log.h"
#include "rp/next_run.h"
#include "rp/notify_policy.h"
#include "rp/path_text.h"
#include "rp/progress_line.h"
#include "rp/runner.h"
#include "rp/scheduler.h"
#include "rp/commands.h"
#include "rp/sandbox.h"
#include "rp/units.h"

namespace rp {

void to_json(nlohmann::json& j, const RunRecord& v) {
  j = nlohmann::json{{"id", v.id},
                     {"target", v.request.target},
                     {"test", v.request.test_index},
                     {"trigger", TriggerName(v.request.trigger)},
                     {"drill", v.request.drill_id},
                     {"select", v.request.select},
                     {"requested_by", v.request.requested_by},
                     {"attempt", v.request.attempt},
                     {"retry_of", v.request.retry_of},
                     {"status", RunStateName(v.state)},
                     {"queued_at", v.queued_at},
                     {"started_at", v.started_at},
                     {"finished_at", v.finished_at},
                     {"point", EscapePath(v.point_id)},
                     {"point_time", v.point_time},
                     {"location", v.location},
                     {"seed", v.seed},
                     {"files", v.files},
                     {"bytes", v.bytes},
                     {"duration_s", v.duration_s},
                     {"throughput_bps", v.throughput_bps()},
                     {"worker", v.worker},
                     {"version", v.version},
                     {"config_hash", v.config_hash},
                     {"message", EscapePath(v.message)},
                     {"cancel_requested", v.cancel_requested}};
  if (v.clock.known)
    j["clock"] = {{"synchronised", v.clock.synchronised},
                  {"estimated_error_us", v.clock.estimated_error_us},
                  {"maximum_error_us", v.clock.maximum_error_us}};
  if (v.state == RunState::kRunning) {
    j["lease_owner"] = v.lease_owner;
    j["lease_until"] = v.lease_until;
  }
  if (v.report) {
    j["findings"] = v.report->findings;
    j["findings_dropped"] = v.report->findings_dropped;
    j["isolation"] = v.report->isolation;
    j["format"] = v.report->format;
    j["algorithm"] = HashAlgoName(v.report->algo);
    j["sandbox_kind"] = SandboxKindName(v.report->sandbox_kind);
    j["limits"] = v.report->limits;
  }
}

namespace {

std::string Local(const TimeZone& zone, int64_t t) { return t ? zone.Format(t, "%Y-%m-%d %H:%M:%S %z") : "-"; }

std::optional<int64_t> ParseSince(const std::string& text, const TimeZone& zone, std::ostream& err) {
  if (text.empty()) return 0;
  auto t = ParseTimestamp(text, zone);
  if (!t) err << "restoreproof: --since: expected ISO 8601 like 2026-11-22T08:00:00+01:00 or a date, found \"" << text
              << "\"\n";
  return t;
}

void PrintRunDetail(const RunRecord& r, const TimeZone& zone, std::ostream& out) {
  out << "run " << r.id << ": " << r.request.target << " " << RunStateName(r.state) << "\n"
      << "  trigger:     " << TriggerName(r.request.trigger)
      << (r.request.drill_id ? " (drill " + std::to_string(r.request.drill_id) + ")" : "") << ", by "
      << (r.request.requested_by.empty() ? "-" : r.request.requested_by) << ", attempt " << r.request.attempt
      << (r.request.retry_of ? " (after run " + std::to_string(r.request.retry_of) + ")" : "") << "\n"
      << "  queued:      " << Local(zone, r.queued_at) << "\n"
      << "  started:     " << Local(zone, r.started_at) << "\n"
      << "  finished:    " << Local(zone, r.finished_at) << "\n"
      << "  point:       " << (r.point_id.empty() ? "-" : EscapePath(r.point_id)) << " at "
      << (r.location.empty() ? "-" : r.location) << (r.seed ? " (seed " + std::to_string(r.seed) + ")" : "") << "\n"
      << "  restored:    " << r.files << " files, " << r.bytes << " bytes in " << std::fixed << std::setprecision(2)
      << r.duration_s << " s (" << std::setprecision(1) << r.throughput_bps() / 1e6 << " MB/s)\n"
      << "  worker:      " << (r.worker.empty() ? "-" : r.worker) << ", restoreproof " << r.version << "\n"
      << "  config:      sha256 " << (r.config_hash.empty() ? "-" : r.config_hash) << "\n"
      << "  clock:       "
      << (!r.clock.known ? std::string("not known")
                         : std::string(r.clock.synchronised ? "synchronised" : "NOT synchronised") + ", estimated error " +
                               std::to_string(r.clock.estimated_error_us) + " us")
      << "\n";
  if (!r.message.empty()) out << "  message:     " << EscapeMessage(r.message) << "\n";
  if (r.report) {
    for (const auto& i : r.report->isolation.records())
      out << "  isolation:   " << IsolationLayerName(i.layer) << " " << LayerStateName(i.state)
          << (i.detail.empty() ? "" : ": " + EscapeMessage(i.detail)) << "\n";
    for (const auto& f : r.report->findings)
      out << "  finding:     " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapeMessage(f.message)
          << "\n";
  }
}

void PrintDrill(const DrillReport& d, const TimeZone& zone, std::ostream& out) {
  out << "drill " << d.id << " (" << d.name << "): " << (d.finished_at ? (d.passed ? "passed" : "failed") : "running")
      << ", " << TriggerName(d.trigger) << (d.responsible.empty() ? "" : ", responsible " + d.responsible) << "\n"
      << "  started " << Local(zone, d.started_at) << ", finished " << Local(zone, d.finished_at) << "\n";
  for (const auto& t : d.targets) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-20s %-11s RTO %8.1f s of %8.0f s %s", t.target.c_str(),
                  std::string(RunStateName(t.state)).c_str(), t.measured_s, t.objective_s, t.met ? "met" : "NOT MET");
    out << line << "  run " << t.run_id << "  " << (t.point_id.empty() ? "-" : EscapePath(t.point_id)) << " at "
        << (t.location.empty() ? "-" : t.location) << "\n";
    if (!t.message.empty()) out << "      " << EscapeMessage(t.message) << "\n";
    for (const auto& f : t.findings)
      out << "      " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapeMessage(f.message) << "\n";
  }
}

// `drill run`'s progress line: the runs this process restores now, summed, named by their
// targets; at the end every run's final figures over the time since the first report.
// Thread-safe: the runner threads report into it.
class DrillProgress {
 public:
  DrillProgress(ProgressLine* line, int64_t drill_id) : line_(line), drill_id_(drill_id) {}

  void OnProgress(const RunRecord& run, const ProgressFigures& f) {
    std::lock_guard lock(mu_);
    if (!started_) started_ = std::chrono::steady_clock::now();
    Run& r = runs_[run.id];
    r.target = run.request.target;
    r.figures = f;
    std::vector<ProgressFigures> active;
    std::string label;
    for (const auto& [id, each] : runs_) {
      if (each.ended) continue;
      active.push_back(each.figures);
      label += (label.empty() ? "" : ", ") + each.target;
    }
    line_->Show(CombineProgress(active, label));
  }

  void OnFinished(const RunRecord& run) {
    std::lock_guard lock(mu_);
    if (auto it = runs_.find(run.id); it != runs_.end()) it->second.ended = true;
  }

  // Draws the whole drill's figures once and erases the line (nothing when no run was here).
  void Finish() {
    std::lock_guard lock(mu_);
    if (!started_) {
      line_->Erase();
      return;
    }
    std::vector<ProgressFigures> all;
    for (const auto& [id, each] : runs_) all.push_back(each.figures);
    ProgressFigures f = CombineProgress(all, "drill " + std::to_string(drill_id_));
    f.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - *started_).count();
    line_->Finish(f);
  }

 private:
  struct Run {
    std::string target;
    ProgressFigures figures;
    bool ended = false;
  };
  ProgressLine* line_;
  const int64_t drill_id_;
  std::mutex mu_;
  std::map<int64_t, Run> runs_;
  std::optional<std::chrono::steady_clock::time_point> started_;
};

}  // namespace

int RunsListCommand(const std::string& config_path, const RunsListOptions& o, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  RunFilter f;
  f.target = o.target;
  f.limit = o.limit;
  const auto since = ParseSince(o.since, a.config->appliance.zone, err);
  if (!since) return 2;
  f.since = *since;
  if (!o.status.empty()) {
    f.state = ParseRunState(o.status);
    if (!f.state) {
      err << "restoreproof: --status: expected queued, running, passed, failed, aborted, interrupted or cancelled, found \""
          << o.status << "\"\n";
      return 2;
    }
  }
  const auto runs = a.store->ListRuns(f);
  if (o.json) {
    out << nlohmann::json{{"runs", runs}}.dump(2) << "\n";
    return 0;
  }
  out << "    ID  TARGET               STATUS       TRIGGER   QUEUED                     DURATION       FILES  POINT\n";
  for (const auto& r : runs) {
    char line[512];
    std::snprintf(line, sizeof line, "%6lld  %-20s %-12s %-9s %-26s %8.1f s %10llu  ", static_cast<long long>(r.id),
                  r.request.target.c_str(), std::string(RunStateName(r.state)).c_str(),
                  std::string(TriggerName(r.request.trigger)).c_str(), Local(a.config->appliance.zone, r.queued_at).c_str(),
                  r.duration_s, static_cast<unsigned long long>(r.files));
    out << line << (r.point_id.empty() ? "-" : EscapePath(r.point_id) + " at " + r.location) << "\n";
  }
  return 0;
}

int RunsShowCommand(const std::string& config_path, int64_t id, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto run = a.store->GetRun(id);
  if (!run) {
    err << "restoreproof: runs show: no run " << id << " in the store\n";
    return 2;
  }
  if (json) out << nlohmann::json(*run).dump(2) << "\n";
  else PrintRunDetail(*run, a.config->appliance.zone, out);
  return 0;
}

int RunsCancelCommand(const std::string& config_path, int64_t id, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto run = a.store->GetRun(id);
  if (!run) {
    err << "restoreproof: runs cancel: no run " << id << " in the store\n";
    return 2;
  }
  if (!a.store->CancelRun(id, NowS(), "cancelled by " + InvokingUser())) {
    err << "restoreproof: runs cancel: run " << id << " has already ended (" << RunStateName(run->state) << ")\n";
    return 2;
  }
  out << (run->state == RunState::kQueued ? "cancelled queued run " : "asked running run ") << id
      << (run->state == RunState::kQueued ? "\n" : " to stop; its worker is stopped within seconds\n");
  return 0;
}

int DrillRunCommand(const std::string& config_path, const DrillRunOptions& o, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const std::string responsible = o.responsible.empty() ? InvokingUser() : o.responsible;
  int64_t drill_id = 0;
  if (Status s = StartDrill(*a.config, a.store.get(), "on-demand", o.targets, Trigger::kOperator, responsible, NowS(),
                            &drill_id);
      !s.ok()) {
    err << "restoreproof: " << s.message() << "\n";
    return s.exit_code();
  }
  // The progress line shares the terminal with the event log: each log line erases it first.
  ProgressLine line(o.progress_fd, o.json);
  ProgressAwareStream log_stream(&line, &err);
  DrillProgress progress(&line, drill_id);
  EventLog log(&log_stream);
  log.Info("drill-started", "", 0, {{"drill", drill_id}, {"responsible", responsible}});
  NotificationPolicy notifications;
  RunnerContext ctx;
  ctx.config = a.config;
  ctx.config_hash = a.config_hash;
  ctx.store = a.store.get();
  ctx.owner = ProcessIdentity();
  ctx.log = &log;
  ctx.worker_binary = o.worker_binary;
  ctx.on_finished = [&](const RunRecord& run) {
    progress.OnFinished(run);
    notifications.OnRunFinished(*a.config, a.store.get(), run, NowS());
  };
  if (line.enabled())
    ctx.on_progress = [&](const RunRecord& run, const ProgressFigures& f) { progress.OnProgress(run, f); };
  const std::atomic<bool>* stop = CancelOnSignals();
  // The runners claim only this drill's runs and end when none is left to claim; each run that
  // ends wakes the wait below at once.
  std::mutex mu;
  std::condition_variable ended;
  std::optional<DrillReport> report;
  const auto pending = [&] {
    RunFilter f;
    f.drill_id = drill_id;
    f.limit = 1'000'000;
    for (const auto& run : a.store->ListRuns(f))
      if (!RunStateFinal(run.state)) return true;
    return false;
  };
  std::vector<std::thread> runners;
  for (int i = 0; i < a.config->appliance.workers; ++i) {
    runners.emplace_back([&] {
      while (!stop->load()) {
        try {
          const int64_t now = NowS();
          auto run = a.store->ClaimRun(ctx.owner, now, now + static_cast<int64_t>(a.config->appliance.lease_s), drill_id);
          if (run) {
            ExecuteRun(ctx, *run, stop);
            ended.notify_all();
            continue;
          }
          if (!pending()) break;
        } catch (const std::exception& e) {  // a busy store: tried again; the lease protects the run
          log.Warn("drill-store-error", "", 0, {{"error", e.what()}});
        }
        std::unique_lock lock(mu);  // another runner, `serve` or a retry's backoff holds the rest
        ended.wait_for(lock, std::chrono::milliseconds(200));
      }
      ended.notify_all();
    });
  }
  // This process waits for its drill: its own runners, `serve`'s or another host's finish it.
  // Only the process that finishes the drill tells its channels.
  bool finished_here = false;
  while (!stop->load()) {
    try {
      a.store->InterruptStale(NowS(), &OwnerIsDeadLocally);
      if ((report = CompleteDrillIfDone(*a.config, a.store.get(), drill_id, NowS()))) {
        finished_here = true;
        break;
      }
      if (auto d = a.store->GetDrill(drill_id); d && d->state == DrillState::kFinished) {
        report = DrillReportOf(*a.config, a.store.get(), *d);
        break;
      }
    } catch (const std::exception& e) {
      log.Warn("drill-store-error", "", 0, {{"error", e.what()}});
    }
    std::unique_lock lock(mu);
    ended.wait_for(lock, std::chrono::milliseconds(200));
  }
  for (auto& t : runners) t.join();
  progress.Finish();
  if (!report) {
    err << "restoreproof: drill " << drill_id << " interrupted; its runs not yet ended stay queued for serve\n";
    return 3;
  }
  if (finished_here) notifications.OnDrillFinished(*a.config, a.store.get(), *report, NowS());
  if (o.json) out << nlohmann::json(*report).dump(2) << "\n";
  else PrintDrill(*report, a.config->appliance.zone, out);
  return report->passed ? 0 : 1;
}

int DrillsListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto drills = a.store->ListDrills(1000);
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& d : drills) arr.push_back(DrillReportOf(*a.config, a.store.get(), d));
    out << nlohmann::json{{"drills", arr}}.dump(2) << "\n";
    return 0;
  }
  out << "    ID  NAME                 STATUS    STARTED                    TARGETS  RESPONSIBLE\n";
  for (const auto& d : drills) {
    char line[512];
    std::snprintf(line, sizeof line, "%6lld  %-20s %-9s %-26s %7zu  ", static_cast<long long>(d.id), d.name.c_str(),
                  d.state == DrillState::kRunning ? "running" : d.passed ? "passed" : "failed",
                  Local(a.config->appliance.zone, d.started_at).c_str(), d.targets.size());
    out << line << (d.responsible.empty() ? "-" : d.responsible) << "\n";
  }
  return 0;
}

int DrillsShowCommand(const std::string& config_path, int64_t id, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto d = a.store->GetDrill(id);
  if (!d) {
    err << "restoreproof: drills show: no drill " << id << " in the store\n";
    return 2;
  }
  const DrillReport report = DrillReportOf(*a.config, a.store.get(), *d);
  if (json) out << nlohmann::json(report).dump(2) << "\n";
  else PrintDrill(report, a.config->appliance.zone, out);
  return d->state == DrillState::kFinished && !d->passed ? 1 : 0;
}

int TargetsScheduleCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const Config& cfg = *a.config;
  const int64_t now = NowS();
  const auto marks = a.store->ScheduleMarks();
  const auto mark_of = [&](const std::string& key) -> std::optional<int64_t> {
    const auto it = marks.find(key);
    return it == marks.end() ? std::nullopt : std::optional(it->second);
  };
  const auto entries = ScheduleEntries(cfg);
  nlohmann::json doc{{"timezone", cfg.appliance.zone.name()}, {"targets", nlohmann::json::array()}};
  for (const auto& t : cfg.targets) {
    nlohmann::json jt{{"name", t.name}, {"tests", nlohmann::json::array()}};
    for (const auto& e : entries) {
      if (e.target != t.name) continue;
      const int64_t at = std::max(now, NextFire(e, e.cron ? mark_of(e.key).value_or(now) : mark_of(e.key), cfg.appliance.zone, now));
      jt["tests"].push_back({{"test", e.test_index},
                             {"schedule", e.cron ? e.cron->ToString() : "every " + std::to_string(static_cast<int64_t>(e.interval_s)) + " s"},
                             {"next", at},
                             {"next_local", cfg.appliance.zone.Format(at, "%Y-%m-%dT%H:%M:%S%z")}});
    }
    std::optional<int64_t> drill_at;
    std::string drill_name;
    for (const auto& d : cfg.drills) {
      if (!d.targets.empty() && std::find(d.targets.begin(), d.targets.end(), t.name) == d.targets.end()) continue;
      if (const auto n = NextRun(d.schedule, cfg.appliance.zone, now); n && (!drill_at || *n < *drill_at)) {
        drill_at = n;
        drill_name = d.name;
      }
    }
    if (drill_at)
      jt["drill"] = {{"name", drill_name}, {"next", *drill_at}, {"next_local", cfg.appliance.zone.Format(*drill_at, "%Y-%m-%dT%H:%M:%S%z")}};
    doc["targets"].push_back(jt);
  }
  if (json) {
    out << doc.dump(2) << "\n";
    return 0;
  }
  out << "TARGET               NEXT RESTORE TEST          SCHEDULE                  NEXT DRILL\n";
  for (const auto& jt : doc["targets"]) {
    for (const auto& test : jt["tests"]) {
      char line[512];
      std::snprintf(line, sizeof line, "%-20s %-26s %-25s ", jt["name"].get<std::string>().c_str(),
                    Local(cfg.appliance.zone, test["next"].get<int64_t>()).c_str(),
                    test["schedule"].get<std::string>().c_str());
      out << line
          << (jt.contains("drill") ? Local(cfg.appliance.zone, jt["drill"]["next"].get<int64_t>()) + " (" +
                                         jt["drill"]["name"].get<std::string>() + ")"
                                   : "-")
          << "\n";
    }
  }
  return 0;
}

}  // namespace rp
