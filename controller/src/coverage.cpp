#include "rp/coverage.h"

#include <cstdio>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "rp/path_text.h"
#include "rp/store.h"

namespace rp {

namespace {

constexpr size_t kHistory = 5000;  // runs of a target read per window

std::string Percent(double ratio) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", ratio * 100);
  return text;
}

bool Reached(RunState s) { return s == RunState::kPassed || s == RunState::kFailed; }

}  // namespace

void to_json(nlohmann::json& j, const TargetCoverage& v) {
  j = nlohmann::json{{"sampled", v.sampled}};
  if (!v.sampled) return;
  j["window_days"] = v.window_days;
  j["window_start"] = v.window_start;
  j["window_complete"] = v.window_complete;
  j["run"] = v.reference_run;
  j["point"] = EscapePath(v.point);
  j["full"] = v.full;
  j["seed"] = v.cycle.seed;
  j["slices"] = v.cycle.slices;
  j["slices_covered"] = v.slices_covered;
  j["point_files"] = v.point_files;
  j["point_bytes"] = v.point_bytes;
  j["covered_files"] = v.covered_files;
  j["covered_bytes"] = v.covered_bytes;
  j["files_ratio"] = v.files_ratio();
  j["bytes_ratio"] = v.bytes_ratio();
  j["complete"] = v.complete();
  nlohmann::json counted = nlohmann::json::array();
  for (const auto& r : v.counted) {
    nlohmann::json one{{"run", r.run}, {"full", r.full}};
    if (!r.full) one["slice"] = r.spec.slice;
    counted.push_back(one);
  }
  j["counted"] = counted;
}

TargetCoverage CoverageOf(const TargetConfig& target, Store* store, int64_t now) {
  TargetCoverage c;
  c.sampled = target.Samples();
  if (!c.sampled || !store) return c;
  c.window_days = target.coverage_days.value_or(kDefaultCoverageDays);
  c.window_start = now - int64_t{c.window_days} * 86400;
  RunFilter filter;
  filter.target = target.name;
  filter.since = c.window_start;
  filter.limit = kHistory;
  const std::vector<RunRecord> runs = store->ListRuns(filter);  // newest first
  // Tested for a whole window: a run queued before the window began (ids grow with time, so
  // any run older than the window's oldest).
  RunFilter older;
  older.target = target.name;
  older.limit = 1;
  older.before_id = runs.empty() ? 0 : runs.back().id;
  c.window_complete = !store->ListRuns(older).empty();
  const RunRecord* reference = nullptr;
  bool any_full = false;
  for (const auto& r : runs) {
    if (r.state != RunState::kPassed || r.finished_at < c.window_start || !r.report) continue;
    if (!reference) reference = &r;
    any_full = any_full || !r.report->sample;
  }
  if (!reference) return c;
  c.reference_run = reference->id;
  c.point = reference->point_id;
  if (!reference->report->sample) {
    c.full = true;
    c.counted.push_back({reference->id, true, {}});
    c.point_files = c.covered_files = reference->report->files;
    c.point_bytes = c.covered_bytes = reference->report->bytes;
    return c;
  }
  const SampleFigures& figures = *reference->report->sample;
  c.cycle = figures.spec;
  c.point_files = figures.point_files;
  c.point_bytes = figures.point_bytes;
  std::set<uint32_t> covered;
  for (auto r = runs.rbegin(); r != runs.rend(); ++r) {  // oldest first
    if (r->state != RunState::kPassed || r->finished_at < c.window_start || !r->report) continue;
    if (!r->report->sample) {
      c.counted.push_back({r->id, true, {}});
      continue;
    }
    const SampleSpec& s = r->report->sample->spec;
    if (s.seed != c.cycle.seed || s.slices != c.cycle.slices) continue;
    covered.insert(s.slice);
    c.counted.push_back({r->id, false, s});
  }
  if (any_full) {  // a whole point verified within the window covers every path
    for (uint32_t k = 0; k < c.cycle.slices; ++k) covered.insert(k);
  }
  c.slices_covered = static_cast<uint32_t>(covered.size());
  for (const uint32_t k : covered) {
    if (k < figures.slice_files.size()) c.covered_files += figures.slice_files[k];
    if (k < figures.slice_bytes.size()) c.covered_bytes += figures.slice_bytes[k];
  }
  return c;
}

SampleSpec NextSample(const TargetConfig& target, const SampleSize& size, uint64_t point_bytes, Store* store) {
  RunFilter filter;
  filter.target = target.name;
  filter.limit = 200;
  std::optional<SampleFigures> last;  // the newest sampled run that reached a verdict
  for (const auto& r : store->ListRuns(filter))
    if (Reached(r.state) && r.report && r.report->sample) {
      last = r.report->sample;
      break;
    }
  // A point whose size is not known before it is read (restic, borg): the last sampled point's.
  if (point_bytes == 0 && last) point_bytes = last->point_bytes;
  SampleSpec next;
  next.slices = SlicesFor(size, point_bytes);
  if (last && last->spec.slices == next.slices && last->spec.slice + 1 < last->spec.slices) {
    next.seed = last->spec.seed;
    next.slice = last->spec.slice + 1;
    return next;
  }
  // The newest sampled verdict ended its cycle, or the slice count changed, or there is none.
  std::random_device rd;
  next.seed = (uint64_t{rd()} << 32) | rd();
  next.slice = 0;
  return next;
}

std::optional<double> PredictedFullSeconds(const RunRecord& run) {
  if (!run.report || !run.report->sample || run.duration_s <= 0) return std::nullopt;
  const SampleFigures& f = *run.report->sample;
  if (f.sample_bytes > 0) return run.duration_s * static_cast<double>(f.point_bytes) / static_cast<double>(f.sample_bytes);
  if (f.sample_files > 0) return run.duration_s * static_cast<double>(f.point_files) / static_cast<double>(f.sample_files);
  return std::nullopt;
}

void AddCoverageFinding(const TargetCoverage& c, TargetEvaluation* ev) {
  if (!c.sampled || !c.window_complete || c.complete()) return;
  PolicyFinding f;
  f.rule = PolicyRule::kRestoreTestCoverage;
  f.severity = Verdict::kFailing;
  f.limit_s = c.window_days * 86400.0;
  f.count = c.covered_files;
  f.required = c.point_files;
  f.point = c.point;
  if (c.reference_run == 0)
    f.message = "no sampled restore test passed within the coverage window of " + std::to_string(c.window_days) +
                " days";
  else
    f.message = "passed restore tests within the last " + std::to_string(c.window_days) + " days verified " +
                Percent(c.files_ratio()) + " of the files and " + Percent(c.bytes_ratio()) + " of the bytes of " +
                EscapePath(c.point) + " (" + std::to_string(c.slices_covered) + " of " + std::to_string(c.cycle.slices) +
                " slices); every file is to be verified within coverage_days";
  ev->findings.push_back(std::move(f));
  if (Verdict::kFailing > ev->verdict) ev->verdict = Verdict::kFailing;
}

}  // namespace rp
