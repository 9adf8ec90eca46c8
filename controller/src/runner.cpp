#include "rp/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "rp/catalog.h"
#include "rp/coverage.h"
#include "rp/hash.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/restoration_log.h"
#include "rp/restore_point.h"
#include "rp/schedule.h"

namespace rp {

namespace {

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  return host;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
std::string StartTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return "";
  std::istringstream fields(text.substr(paren + 2));
  std::string f;
  for (int i = 3; i <= 22 && (fields >> f); ++i) {
  }
  return f;
}

// The copy and point a run restores.
struct Choice {
  const CopyConfig* copy = nullptr;
  RecoveryPoint point;
  uint64_t seed = 0;
  std::string error;  // why none could be chosen
};

Choice Choose(const RunnerContext& ctx, const TargetConfig& target, const RunRecord& run, const TestSelect& select,
              int64_t now) {
  Choice c;
  std::vector<std::pair<const CopyConfig*, CopyCatalog>> candidates;
  std::string offline;
  for (const auto& copy : target.copies) {
    if (!run.request.location.empty() && copy.location != run.request.location) continue;
    if (!ctx.locations.empty() && std::find(ctx.locations.begin(), ctx.locations.end(), copy.location) == ctx.locations.end())
      continue;  // a copy this process cannot read (an agent's [agent] locations)
    CopyCatalog cat = DiscoverCopy(copy, ctx.config->appliance.zone);
    if (!cat.online) {
      offline += (offline.empty() ? "" : "; ") + copy.location + ": " + cat.error;
      continue;
    }
    if (!cat.points.empty()) candidates.emplace_back(&copy, std::move(cat));
  }
  if (candidates.empty()) {
    std::string readable;
    for (const auto& l : ctx.locations) readable += (readable.empty() ? " at " : ", ") + l;
    c.error = run.request.location.empty()
                  ? "no copy of the target" + readable + " holds a recovery point" + (offline.empty() ? "" : " (" + offline + ")")
                  : "copy at " + run.request.location + " holds no recovery point" +
                        (offline.empty() ? "" : " (" + offline + ")");
    return c;
  }
  // Rotation: the copy whose last restore test is oldest (never tested first), so that every
  // copy is tested over time.
  size_t pick = 0;
  int64_t oldest = INT64_MAX;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto last = ctx.store->LastRun(target.name, std::nullopt, candidates[i].first->location);
    const int64_t at = last ? last->finished_at : 0;
    if (at < oldest) {
      oldest = at;
      pick = i;
    }
  }
  c.copy = candidates[pick].first;
  const auto& points = candidates[pick].second.points;  // oldest first
  if (!run.request.point_id.empty()) {
    for (const auto& p : points)
      if (p.id == run.request.point_id) c.point = p;
    if (c.point.id.empty()) c.error = "recovery point " + run.request.point_id + " is no longer at " + c.copy->location;
    c.seed = run.request.seed;
    return c;
  }
  switch (select.kind) {
    case SelectKind::kLatest: c.point = points.back(); break;
    case SelectKind::kOldestRetained: c.point = points.front(); break;
    case SelectKind::kRandomWithin: {
      std::vector<const RecoveryPoint*> within;
      for (const auto& p : points)
        if (static_cast<double>(now - p.time) <= select.window_s) within.push_back(&p);
      if (within.empty()) {
        c.error = "no recovery point at " + c.copy->location + " within " + select.ToString().substr(14);
        return c;
      }
      c.seed = run.request.seed ? run.request.seed : std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
      std::mt19937_64 gen(c.seed);
      c.point = *within[std::uniform_int_distribution<size_t>(0, within.size() - 1)(gen)];
      break;
    }
  }
  return c;
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Keeps the lease while the worker runs; turns a cancellation, a drain or a lost lease into the
// engine's cancel flag.
class LeaseKeeper {
 public:
  LeaseKeeper(const RunnerContext& ctx, int64_t id, const std::atomic<bool>* stop)
      : ctx_(ctx), id_(id), stop_(stop), thread_([this] { Loop(); }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  const std::atomic<bool>* cancel_flag() const { return &cancel_; }
  bool lost() const { return lost_; }
  bool cancelled() const { return cancelled_; }
  bool drained() const { return drained_; }

 private:
  void Loop() {
    const double lease = ctx_.config->appliance.lease_s;
    const auto renew_every = std::chrono::milliseconds(static_cast<int64_t>(lease * 1000 / 3));
    auto next_renewal = std::chrono::steady_clock::now() + renew_every;
    std::unique_lock lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (done_) break;
      if (stop_ && stop_->load() && !drained_) {
        drained_ = true;
        cancel_ = true;
      }
      if (std::chrono::steady_clock::now() < next_renewal) continue;
      next_renewal = std::chrono::steady_clock::now() + renew_every;
      lock.unlock();
      bool cancel = false;
      bool held = true;
      try {
        held = ctx_.store->RenewLease(id_, ctx_.owner, NowS() + static_cast<int64_t>(lease), &cancel);
      } catch (const std::exception& e) {
        ctx_.log->Warn("lease-renewal-failed", "", id_, {{"error", e.what()}});
      }
      lock.lock();
      if (!held) {
        lost_ = true;
        cancel_ = true;
      } else if (cancel && !cancelled_) {
        cancelled_ = true;
        cancel_ = true;
      }
    }
  }

  const RunnerContext& ctx_;
  const int64_t id_;
  const std::atomic<bool>* stop_;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> lost_{false}, cancelled_{false}, drained_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

RunRequest RetryOf(const RunRecord& run, const std::string& location, const std::string& point, uint64_t seed,
                   int64_t not_before) {
  RunRequest again = run.request;
  again.retry_of = run.id;
  again.attempt = run.request.attempt + 1;
  again.not_before = not_before;
  again.location = location;
  again.point_id = point;
  again.seed = seed;
  return again;
}

// Every restore test is a restoration: one record in the restoration log
// (docs/restoration-log.md). Scheduled tests and drills name the target's owner as the person
// responsible; an operator's test names who asked for it.
void AppendRestoreTestRecord(const RunnerContext& ctx, const TargetConfig& target, const RunRecord& run,
                             const RunOutcome& o, const std::string& point, const std::string& location) {
  const Trigger trigger = run.request.trigger;
  const LogKind kind = trigger == Trigger::kSchedule ? LogKind::kScheduledTest
                       : trigger == Trigger::kDrill  ? LogKind::kDrill
                                                     : LogKind::kOperatorTest;
  LogRecord r = NewLogRecord(kind, o.finished_at, ctx.config->appliance.zone);
  r.target = target.name;
  r.point = EscapePath(point);
  r.location = location;
  r.responsible = kind == LogKind::kOperatorTest && !run.request.requested_by.empty() ? run.request.requested_by
                                                                                        : target.owner;
  r.personal_data = PersonalDataText(target.personal_data);
  r.reason = kind == LogKind::kScheduledTest ? "scheduled restore test"
             : kind == LogKind::kDrill       ? "restore drill " + std::to_string(run.request.drill_id)
                                             : "restore test asked for by " + run.request.requested_by;
  SetLogResult(target, o.state, o.files, o.bytes, o.report ? &*o.report : nullptr, &r);
  r.run_id = run.id;
  ctx.store->AppendLog(r);
}

}  // namespace

std::string PersonalDataText(const PersonalData& p) {
  if (p.none) return "none";
  if (!p.description.empty()) return p.description;
  std::string text = "categories: ";
  for (size_t i = 0; i < p.categories.size(); ++i) text += (i ? ", " : "") + p.categories[i];
  text += "; data subjects: ";
  for (size_t i = 0; i < p.subjects.size(); ++i) text += (i ? ", " : "") + p.subjects[i];
  return text;
}

std::vector<std::string> FilesToCorrect(const VerifyReport& report) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const auto& f : report.findings)
    if (FindingFailsRun(f.kind) && !f.path.empty() && f.kind != FindingKind::kCheckFailed && seen.insert(f.path).second)
      files.push_back(EscapePath(f.path));
  return files;
}

void SetLogResult(const TargetConfig& target, RunState state, uint64_t files, uint64_t bytes,
                  const VerifyReport* report, LogRecord* r) {
  r->result = RunStateName(state);
  r->files = files;
  r->bytes = bytes;
  if (report)
    for (const auto& f : report->findings) r->failing_findings += FindingFailsRun(f.kind) ? 1u : 0u;
  if (!target.personal_data.none) {
    r->correctness = state == RunState::kPassed   ? Correctness::kCorrect
                     : state == RunState::kFailed ? Correctness::kIncorrect
                                                  : Correctness::kUnverified;
    if (report) r->failed_files = FilesToCorrect(*report);  // the files to correct
  }
}

ClockState ClockState::Now() {
  ClockState c;
  timex tx{};
  const int state = adjtimex(&tx);
  if (state == -1) return c;
  c.known = true;
  c.synchronised = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  c.estimated_error_us = tx.esterror;
  c.maximum_error_us = tx.maxerror;
  return c;
}

std::string ProcessIdentity() {
  return HostName() + "/" + std::to_string(getpid()) + "/" + StartTicks(getpid());
}

bool OwnerIsDeadLocally(const std::string& owner) {
  const size_t a = owner.find('/');
  const size_t b = a == std::string::npos ? std::string::npos : owner.find('/', a + 1);
  if (b == std::string::npos || owner.substr(0, a) != HostName()) return false;
  const std::string pid_text = owner.substr(a + 1, b - a - 1);
  if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
    return false;
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  return StartTicks(pid) != owner.substr(b + 1);
}

std::string FileSha256(const std::string& path) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  Hasher h(HashAlgo::kSha256);
  char buf[65536];
  for (;;) {
    const ssize_t n = ReadSome(fd.get(), buf, sizeof buf);
    if (n < 0) return "";
    if (n == 0) break;
    h.Update(buf, static_cast<size_t>(n));
  }
  return h.FinishHex();
}

void ExecuteRun(const RunnerContext& ctx, const RunRecord& run, const std::atomic<bool>* stop) {
  const Config& config = *ctx.config;
  const std::string& name = run.request.target;
  RunOutcome outcome;
  outcome.clock = ClockState::Now();
  // The lease is kept from the claim on: listing the copies may take long (restic, borg).
  std::optional<LeaseKeeper> keeper;
  keeper.emplace(ctx, run.id, stop);
  // A passed run's inventory and where it came from, stored once the run is recorded.
  std::string baseline_text, baseline_location, baseline_point;
  // What the restoration log records: the point and copy, once chosen.
  std::string logged_point, logged_location;
  const TargetConfig* target_of_run = config.FindTarget(name);
  const auto finish = [&](RunOutcome o) {
    keeper.reset();
    o.finished_at = NowS();
    bool recorded = false;
    try {
      recorded = ctx.store->FinishRun(run.id, ctx.owner, o);
    } catch (const std::exception& e) {
      ctx.log->Error("run-record-failed", name, run.id, {{"error", e.what()}});
      return;
    }
    if (!recorded) {
      ctx.log->Warn("run-lease-lost", name, run.id,
                    {{"detail", "another process took the run over; this result is not recorded"}});
      return;
    }
    try {
      if (target_of_run) AppendRestoreTestRecord(ctx, *target_of_run, run, o, logged_point, logged_location);
    } catch (const std::exception& e) {
      ctx.log->Error("restoration-log-failed", name, run.id, {{"error", e.what()}});
    }
    if (!baseline_text.empty()) {
      try {
        ctx.store->PutBaseline(name, baseline_location, baseline_point, run.id, NowS(), baseline_text);
      } catch (const std::exception& e) {
        ctx.log->Warn("baseline-not-stored", name, run.id, {{"error", e.what()}});
      }
    }
    ctx.log->Info("run-finished", name, run.id,
                  {{"status", RunStateName(o.state)}, {"files", o.files}, {"bytes", o.bytes}, {"duration_s", o.duration_s},
                   {"message", o.message}});
    if (ctx.on_finished) {
      if (auto rec = ctx.store->GetRun(run.id)) ctx.on_finished(*rec);
    }
  };
  const TargetConfig* target = config.FindTarget(name);
  if (!target) {
    outcome.state = RunState::kAborted;
    outcome.message = "target " + name + " is no longer in the configuration";
    finish(outcome);
    return;
  }
  TestSelect select;
  std::vector<ContentCheck> checks;
  std::optional<SampleSize> sample_size;  // a sampled test (docs/sampling.md); drills restore everything
  if (run.request.test_index >= 0 && static_cast<size_t>(run.request.test_index) < target->tests.size()) {
    select = target->tests[static_cast<size_t>(run.request.test_index)].select;
    checks = target->tests[static_cast<size_t>(run.request.test_index)].checks;
    if (run.request.trigger != Trigger::kDrill) sample_size = target->tests[static_cast<size_t>(run.request.test_index)].sample;
  }
  if (!run.request.select.empty()) {
    auto parsed = ParseTestSelect(run.request.select);
    if (const auto* s = std::get_if<TestSelect>(&parsed)) select = *s;
  }
  const int64_t now = NowS();
  Choice choice = Choose(ctx, *target, run, select, now);
  const std::string worker = ctx.owner;
  logged_point = choice.point.id;
  logged_location = choice.copy ? choice.copy->location : "";
  if (!choice.copy || !choice.error.empty()) {
    outcome.state = RunState::kAborted;
    outcome.message = choice.error;
    if (run.request.attempt <= config.appliance.retries)
      outcome.retry = RetryOf(run, run.request.location, run.request.point_id, run.request.seed,
                              now + static_cast<int64_t>(config.appliance.retry_backoff_s *
                                                         static_cast<double>(1 << (run.request.attempt - 1))));
    finish(outcome);
    return;
  }
  // Recorded before the worker starts: a crash from here on leaves a run that is running.
  if (!ctx.store->RecordStart(run.id, ctx.owner, choice.point.id, choice.point.time, choice.copy->location, choice.seed,
                              worker, RP_VERSION, ctx.config_hash)) {
    ctx.log->Warn("run-lease-lost", name, run.id, {{"detail", "lost the run before it started"}});
    return;
  }
  ctx.log->Info("run-started", name, run.id,
                {{"point", EscapePath(choice.point.id)}, {"location", choice.copy->location}, {"attempt", run.request.attempt}});

  VerifyOptions options;
  options.worker_binary = ctx.worker_binary;
  options.limits.max_seconds = config.appliance.run_timeout_s;
  options.checks = checks;
  options.algo = target->checksum_set ? std::optional(target->checksum) : std::nullopt;
  ApplySandboxSettings(config, *target, *choice.copy, choice.point, &options);
  const std::string scratch = config.appliance.data_dir + "/runs";
  for (const std::string& dir : {options.sandbox_parent, scratch}) {
    if (Status s = MakeDirectories(dir, 0700); !s.ok()) {
      outcome.state = RunState::kAborted;
      outcome.message = s.message();
      finish(outcome);
      return;
    }
  }
  const std::string inventory = scratch + "/" + std::to_string(run.id) + ".inventory";
  const std::string baseline_file = scratch + "/" + std::to_string(run.id) + ".baseline";
  // A sample's hashes must not pass for the whole point's: only a full run leaves a baseline.
  if (!sample_size) options.write_inventory = inventory;
  bool wants_baseline = false;
  for (auto& c : options.checks) wants_baseline = wants_baseline || c.kind == CheckKind::kUnchangedSinceBaseline;
  if (wants_baseline) {
    if (auto text = ctx.store->LatestBaseline(name); text && WriteFileAtomically(baseline_file, *text, 0600).ok()) {
      for (auto& c : options.checks)
        if (c.kind == CheckKind::kUnchangedSinceBaseline) c.baseline = baseline_file;
    } else {
      // The first verified run makes the baseline the next one compares with.
      std::erase_if(options.checks, [](const ContentCheck& c) { return c.kind == CheckKind::kUnchangedSinceBaseline; });
      ctx.log->Info("baseline-missing", name, run.id, {{"detail", "no verified run yet: this one becomes the baseline"}});
    }
  }

  if (sample_size) {
    // The next slice of the target's cycle; sample_bytes needs the point's size: the restored
    // size when known, else the source's.
    const uint64_t point_bytes =
        options.expected_bytes.value_or(RecoveryPointSize(*choice.copy, choice.point).value_or(0));
    options.sample = NextSample(*target, *sample_size, point_bytes, ctx.store);
    ctx.log->Info("run-sampled", name, run.id, {{"sample", DescribeSample(*options.sample)}});
  }
  options.cancel = keeper->cancel_flag();
  // Progress for the page: at most once a second, only while this process holds the run.
  // (A sample writes about its share of the point.)
  const uint64_t total_bytes = options.expected_bytes.value_or(0) / (options.sample ? options.sample->slices : 1u);
  int64_t progress_at = 0;
  // And for a caller's own display, as often as the engine reports.
  const std::optional<uint64_t> source_size =
      ctx.on_progress ? RecoveryPointSize(*choice.copy, choice.point) : std::nullopt;
  options.on_progress = [&ctx, &run, &progress_at, total_bytes, &source_size](const Progress& p) {
    const int64_t t = NowS();
    if (t != progress_at) {
      progress_at = t;
      try {
        ctx.store->RecordProgress(run.id, ctx.owner, RunProgress{p.files, p.bytes, total_bytes, t});
      } catch (const std::exception& e) {
        ctx.log->Warn("run-progress-failed", run.request.target, run.id, {{"error", e.what()}});
      }
    }
    if (ctx.on_progress) ctx.on_progress(run, FiguresOf(p, source_size));
  };
  VerifyReport report = VerifyRecoveryPoint(*choice.copy, choice.point, options);
  if (ctx.on_progress) ctx.on_progress(run, FiguresOf(FinalProgress(report), source_size));
  const bool lost = keeper->lost(), cancelled = keeper->cancelled(), drained = keeper->drained();
  keeper.reset();
  std::remove(baseline_file.c_str());
  if (lost) {
    std::remove(inventory.c_str());
    ctx.log->Warn("run-lease-lost", name, run.id, {{"detail", "the lease expired while the worker ran; result dropped"}});
    return;
  }
  outcome.files = report.files;
  outcome.bytes = report.bytes;
  outcome.duration_s = report.duration_s;
  if (cancelled) {  // an operator's cancel wins over a drain: it is not queued again
    outcome.state = RunState::kCancelled;
    outcome.message = "cancelled by an operator";
  } else if (drained) {
    outcome.state = RunState::kInterrupted;
    outcome.message = "stopped when the appliance shut down; queued again";
    outcome.retry = RetryOf(run, choice.copy->location, choice.point.id, choice.seed, 0);
  } else {
    switch (report.status) {
      case RunStatus::kPassed: outcome.state = RunState::kPassed; break;
      case RunStatus::kFailed: outcome.state = RunState::kFailed; break;
      case RunStatus::kAborted:
        outcome.state = RunState::kAborted;
        outcome.message = report.abort_status.message();
        // Only an environment error is tried again; a verification failure never is.
        if (report.abort_status.code() == Status::Code::kEnvironment && run.request.attempt <= config.appliance.retries)
          outcome.retry = RetryOf(run, choice.copy->location, choice.point.id, choice.seed,
                                  NowS() + static_cast<int64_t>(config.appliance.retry_backoff_s *
                                                                static_cast<double>(1 << (run.request.attempt - 1))));
        break;
    }
  }
  const bool passed = outcome.state == RunState::kPassed;
  outcome.report = std::move(report);
  if (passed) {
    baseline_text = ReadWhole(inventory);
    baseline_location = choice.copy->location;
    baseline_point = choice.point.id;
  }
  std::remove(inventory.c_str());
  finish(std::move(outcome));
}

}  // namespace rp
