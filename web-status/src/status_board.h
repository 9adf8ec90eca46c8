// What the dashboard, /api/v1/status and /api/v1/targets show, read from the store in one pass
// and kept for a second or two (private to rp_web, docs/web.md "The status board"). A page
// request never walks a thousand targets itself: it takes the board as it stands, and at most
// one request at a time builds a new one when it has aged. Typed values only; the pages and the
// API each render it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "rp/config.h"
#include "rp/coverage.h"
#include "rp/policy.h"
#include "rp/sample.h"
#include "rp/store.h"

namespace rp::web {

// A run as the board shows it: enough for a row, without the engine's report.
struct RunBrief {
  int64_t id = 0;
  RunState state = RunState::kQueued;
  int64_t started_at = 0, finished_at = 0;
  double duration_s = 0;
  uint64_t files = 0, bytes = 0;
  std::string location;
  RunProgress progress;  // running runs only
  // A sampled run (docs/sampling.md): its slice and seed, what of the point it restored, and
  // the time the whole point would take, predicted from its throughput (PredictedFullSeconds).
  std::optional<SampleSpec> sample;
  uint64_t point_files = 0, point_bytes = 0, sample_files = 0, sample_bytes = 0;
  std::optional<double> predicted_s;
  // The time the RTO is judged by: the predicted whole-point time of a sampled run, else the
  // measured duration.
  double RestoreSeconds() const { return predicted_s.value_or(duration_s); }
};

struct TargetStatus {
  std::string name, owner;
  Classification classification;
  bool personal_data = false;
  // The verdict of the newest catalog check (nullopt: not checked yet) and when it ran.
  std::optional<Verdict> verdict;
  int64_t checked_at = 0;
  int64_t newest_backup = 0;  // the newest point over all copies, 0 none
  // The worst finding of each family: retention (retention.*), redundancy (redundancy.*,
  // location.*); nullopt when not checked.
  std::optional<Verdict> retention, redundancy;
  std::vector<PolicyFinding> findings;
  std::optional<RunBrief> last_test;    // the newest ended run
  std::optional<RunBrief> last_passed;  // the newest passed run: the RTO is measured by it
  double rto_objective_s = 0;
  // A target that samples (TargetConfig::Samples()): its coverage at the board's time
  // (CoverageOf), computed by the board's own thread, never per request.
  std::optional<TargetCoverage> coverage;
  int64_t coverage_at = 0;  // when it was computed (a later board may reuse it, BuildStatusBoard)
  // Sorting and the overall verdict: not checked counts as a warning.
  Verdict Effective() const { return verdict.value_or(Verdict::kWarning); }
  // Judged by the predicted whole-point time when the newest passed test sampled.
  bool RtoMet() const { return last_passed && last_passed->RestoreSeconds() <= rto_objective_s; }
  // Below 100% at the end of a whole window: the restore-test.coverage finding.
  bool CoverageShort() const { return coverage && coverage->window_complete && !coverage->complete(); }
};

struct RunningRun {
  std::string target;
  RunBrief run;
  Trigger trigger = Trigger::kSchedule;
};

struct StatusBoard {
  int64_t built_at = 0;
  std::optional<Verdict> overall;     // the worst target's; nullopt when there are no targets
  std::vector<TargetStatus> targets;  // failing, warning, not checked, ok; by name within each
  std::vector<RunningRun> running;    // restores running now, oldest first
  std::map<RunState, int64_t> runs;   // how many runs are in each state
  int Count(Verdict v) const;
  int Unchecked() const;
  const TargetStatus* Find(const std::string& name) const;
};

RunBrief BriefOf(const RunRecord& run);

// Reads the board from the store for `config` at `now`. With `previous` (a board built for the
// same configuration), a target's coverage is taken from it when the target's newest ended run
// is the same and it is at most kCoverageReuseS old: coverage reads a window of runs with their
// reports, and changes only when a run ends (or, slowly, as the window moves on).
StatusBoard BuildStatusBoard(const Config& config, Store& store, int64_t now, const StatusBoard* previous = nullptr);
inline constexpr int64_t kCoverageReuseS = 60;

// The board, kept fresh by a thread of its own: once asked for, it is rebuilt every `max_age_s`
// while someone keeps asking (it sleeps when nobody has asked since the last build), so a request
// never waits for a build except the very first, the first after the configuration changed or
// Invalidate(), and the first after a quiet spell longer than two periods. Thread-safe.
class StatusCache {
 public:
  explicit StatusCache(double max_age_s = 2.0) : max_age_s_(max_age_s) {}
  ~StatusCache();
  std::shared_ptr<const StatusBoard> Get(const std::shared_ptr<const Config>& config, Store& store);
  void Invalidate();  // after a change the next page must show (a run queued from the page)

 private:
  void Loop();
  std::shared_ptr<const StatusBoard> BuildLocked(std::unique_lock<std::mutex>& lock);

  const double max_age_s_;
  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::shared_ptr<const StatusBoard> board_;
  std::shared_ptr<const Config> built_for_, config_;
  Store* store_ = nullptr;
  double built_steady_ = 0;  // 0: invalidated
  uint64_t generation_ = 0;  // counts Invalidate(): a build that saw another is not fresh
  bool asked_ = false;     // a Get since the last build
  bool building_ = false;  // a build is under way (mu_ released meanwhile)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rp::web
