#include "status_board.h"

#include <algorithm>
#include <chrono>

#include "rp/codec.h"
#include "rp/event_log.h"

namespace rp::web {

namespace {

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The worst severity among the findings whose family is one of `families`; ok when none.
Verdict Worst(const std::vector<PolicyFinding>& findings, std::initializer_list<std::string_view> families) {
  Verdict v = Verdict::kOk;
  for (const auto& f : findings)
    for (std::string_view fam : families)
      if (PolicyRuleFamily(f.rule) == fam) v = std::max(v, f.severity);
  return v;
}

}  // namespace

RunBrief BriefOf(const RunRecord& run) {
  RunBrief b;
  b.id = run.id;
  b.state = run.state;
  b.started_at = run.started_at;
  b.finished_at = run.finished_at;
  b.duration_s = run.duration_s;
  b.files = run.files;
  b.bytes = run.bytes;
  b.location = run.location;
  b.progress = run.progress;
  if (run.report && run.report->sample) {
    const SampleFigures& f = *run.report->sample;
    b.sample = f.spec;
    b.point_files = f.point_files;
    b.point_bytes = f.point_bytes;
    b.sample_files = f.sample_files;
    b.sample_bytes = f.sample_bytes;
    b.predicted_s = PredictedFullSeconds(run);
  }
  return b;
}

int StatusBoard::Count(Verdict v) const {
  return static_cast<int>(std::count_if(targets.begin(), targets.end(),
                                        [v](const TargetStatus& t) { return t.verdict && *t.verdict == v; }));
}

int StatusBoard::Unchecked() const {
  return static_cast<int>(
      std::count_if(targets.begin(), targets.end(), [](const TargetStatus& t) { return !t.verdict; }));
}

const TargetStatus* StatusBoard::Find(const std::string& name) const {
  for (const auto& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

StatusBoard BuildStatusBoard(const Config& config, Store& store, int64_t now, const StatusBoard* previous) {
  StatusBoard b;
  b.built_at = now;
  b.targets.reserve(config.targets.size());
  for (const TargetConfig& tc : config.targets) {
    TargetStatus t;
    t.name = tc.name;
    t.owner = tc.owner;
    t.classification = tc.classification;
    t.personal_data = !tc.personal_data.none;
    t.rto_objective_s = config.PolicyFor(tc).rto_s;
    if (const auto snapshot = store.LatestCatalogSnapshot(tc.name)) {
      TargetEvaluation e;
      if (DecodeJson(snapshot->second, "catalog snapshot", &e).ok()) {
        t.verdict = e.verdict;
        t.checked_at = snapshot->first;
        t.newest_backup = e.newest;
        t.retention = Worst(e.findings, {"retention"});
        t.redundancy = Worst(e.findings, {"redundancy", "location"});
        t.findings = std::move(e.findings);
      }
    }
    if (auto run = store.LastRun(tc.name, std::nullopt)) {
      t.last_test = BriefOf(*run);
      if (run->state == RunState::kPassed)
        t.last_passed = t.last_test;
      else if (auto passed = store.LastRun(tc.name, RunState::kPassed))
        t.last_passed = BriefOf(*passed);
    }
    if (tc.Samples()) {
      // The previous board's coverage while no run of the target has ended since, for a minute.
      const TargetStatus* before = previous ? previous->Find(tc.name) : nullptr;
      const bool same_runs = before && before->last_test.has_value() == t.last_test.has_value() &&
                             (!t.last_test || (before->last_test->id == t.last_test->id &&
                                               before->last_test->state == t.last_test->state));
      if (before && before->coverage && same_runs && now - before->coverage_at >= 0 &&
          now - before->coverage_at <= kCoverageReuseS) {
        t.coverage = before->coverage;
        t.coverage_at = before->coverage_at;
      } else {
        t.coverage = CoverageOf(tc, &store, now);
        t.coverage_at = now;
      }
    }
    b.targets.push_back(std::move(t));
  }
  // Failing first, then warning, then not checked yet, then ok.
  auto rank = [](const TargetStatus& t) { return t.verdict ? 2 * static_cast<int>(*t.verdict) : 1; };
  std::stable_sort(b.targets.begin(), b.targets.end(), [&rank](const TargetStatus& x, const TargetStatus& y) {
    if (rank(x) != rank(y)) return rank(x) > rank(y);
    return x.name < y.name;
  });
  for (const auto& t : b.targets) b.overall = std::max(b.overall.value_or(Verdict::kOk), t.Effective());
  RunFilter running;
  running.state = RunState::kRunning;
  running.limit = 100;
  for (const RunRecord& r : store.ListRuns(running)) b.running.push_back({r.request.target, BriefOf(r), r.request.trigger});
  std::reverse(b.running.begin(), b.running.end());
  b.runs = store.CountRunsByState();
  return b;
}

StatusCache::~StatusCache() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Builds a board for config_ from store_ with mu_ released; one build at a time.
std::shared_ptr<const StatusBoard> StatusCache::BuildLocked(std::unique_lock<std::mutex>& lock) {
  while (building_) cv_.wait(lock);
  const auto config = config_;
  Store* store = store_;
  const uint64_t generation = generation_;
  // The previous board lends its coverage figures when it was built for the same configuration.
  const auto previous = board_ && built_for_ == config ? board_ : nullptr;
  building_ = true;
  asked_ = false;
  lock.unlock();
  std::shared_ptr<const StatusBoard> fresh;
  try {
    fresh = std::make_shared<const StatusBoard>(BuildStatusBoard(*config, *store, NowS(), previous.get()));
  } catch (...) {
    lock.lock();
    building_ = false;
    cv_.notify_all();
    throw;
  }
  lock.lock();
  building_ = false;
  board_ = fresh;
  built_for_ = config;
  // Invalidated while it was read: the board may predate the change, so the next Get builds again.
  built_steady_ = generation == generation_ ? SteadyNow() : 0;
  cv_.notify_all();
  return fresh;
}

std::shared_ptr<const StatusBoard> StatusCache::Get(const std::shared_ptr<const Config>& config, Store& store) {
  std::unique_lock lock(mu_);
  asked_ = true;
  config_ = config;
  store_ = &store;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  // Fresh enough: built for this configuration, not invalidated since, and not left to age while
  // nobody asked (the thread sleeps then) beyond two rebuild periods.
  auto usable = [&] {
    return board_ && built_for_ == config && built_steady_ > 0 && SteadyNow() - built_steady_ <= 2 * max_age_s_;
  };
  if (usable()) return board_;
  // None yet, for another configuration, invalidated or gone stale: this caller waits for a build.
  if (building_) {
    cv_.wait(lock, [&] { return !building_; });
    if (usable()) return board_;
  }
  return BuildLocked(lock);
}

void StatusCache::Invalidate() {
  std::lock_guard lock(mu_);
  ++generation_;
  built_steady_ = 0;
}

void StatusCache::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const double age = SteadyNow() - built_steady_;
    if (!asked_ || building_ || age < max_age_s_) {
      const double wait = asked_ && !building_ ? std::max(0.01, max_age_s_ - age) : max_age_s_;
      cv_.wait_for(lock, std::chrono::duration<double>(wait));
      continue;
    }
    try {
      BuildLocked(lock);
    } catch (const std::exception&) {
      // The store did not answer: the board stays as it was and the next round tries again.
      cv_.wait_for(lock, std::chrono::duration<double>(max_age_s_));
    }
  }
}

}  // namespace rp::web
