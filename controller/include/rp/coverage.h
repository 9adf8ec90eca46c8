// Coverage of sampled restore tests (docs/sampling.md): which slice the next sampled test of a
// target restores, how much of the target's newest tested point the passed tests within its
// coverage window have verified, and the time the whole point would take to restore, predicted
// from a sampled test's throughput. Reads the run history from the store; thread-safe as the
// store is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rp/config.h"
#include "rp/policy.h"
#include "rp/sample.h"

namespace rp {

class Store;
struct RunRecord;

// A target's coverage at a time.
struct TargetCoverage {
  bool sampled = false;       // one of the target's tests samples; nothing below is set otherwise
  int window_days = 0;        // coverage_days
  int64_t window_start = 0;   // UTC seconds: passed tests since then count
  bool window_complete = false;  // the target has been tested for a whole window: below 100% is a finding
  int64_t reference_run = 0;  // the newest passed test in the window (0: none), whose point is judged
  std::string point;          // its recovery point
  SampleSpec cycle;           // its seed and slice count (slice: the slice it restored)
  bool full = false;          // it restored the whole point
  uint32_t slices_covered = 0;  // distinct slices of the cycle passed within the window
  uint64_t point_files = 0, point_bytes = 0, covered_files = 0, covered_bytes = 0;
  // The passed runs in the window that count, oldest first: whole points and the cycle's slices.
  struct Counted {
    int64_t run = 0;
    bool full = false;  // restored the whole point; else `spec` is its slice
    SampleSpec spec;
    bool operator==(const Counted&) const = default;
  };
  std::vector<Counted> counted;
  double files_ratio() const { return point_files ? static_cast<double>(covered_files) / static_cast<double>(point_files) : (full ? 1 : 0); }
  double bytes_ratio() const { return point_bytes ? static_cast<double>(covered_bytes) / static_cast<double>(point_bytes) : (full ? 1 : 0); }
  bool complete() const { return reference_run != 0 && covered_files == point_files && covered_bytes == point_bytes; }
  bool operator==(const TargetCoverage&) const = default;
};

void to_json(nlohmann::json& j, const TargetCoverage& v);

// The target's coverage at `now` from its recorded runs.
TargetCoverage CoverageOf(const TargetConfig& target, Store* store, int64_t now);

// The sample the next test of `target` restores, given the test's size and the point's content
// bytes (for sample_bytes; 0 when unknown before reading, as for restic and borg: the last sampled
// point's): the slice after the newest sampled test that reached a verdict when
// it belongs to the same cycle (same slice count) and the cycle is not done; else slice 0 of a
// new cycle with a fresh random seed.
SampleSpec NextSample(const TargetConfig& target, const SampleSize& size, uint64_t point_bytes, Store* store);

// The time the whole point of a sampled run would take to restore, from the sample's throughput
// and the point's content bytes; nullopt for a run that did not sample (or restored nothing).
std::optional<double> PredictedFullSeconds(const RunRecord& run);

// The restore-test.coverage finding: a sampling target whose window is complete and whose
// coverage is below 100%.
void AddCoverageFinding(const TargetCoverage& coverage, TargetEvaluation* evaluation);

}  // namespace rp
