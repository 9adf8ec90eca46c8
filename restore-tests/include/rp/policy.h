// What a target must meet and what it was found to meet: the effective policy (baseline,
// availability class and the target's own overrides merged), and the typed findings of a policy
// evaluation, each naming the rule it comes from (Säker drift av IS/IT §6.1, §6.2) with the
// facts a page or a report needs (the copy, the missing days as dates, ages in seconds), not
// only a message. The catalog's evaluation fills them (controller/policy_eval.h); the CLI, the
// store and the evidence read them through the codec. Plain data; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/calendar.h"

namespace rp {

struct Policy {
  double backup_interval_s = 86400;               // a recovery point at least this often
  int retention_days = 30;                        // every day of the last N has a point
  double restore_test_interval_s = 30 * 86400.0;  // a passed restore test at least this often
  int min_copies = 2;                             // copies at distinct locations
  double rto_s = 4 * 3600.0;                      // recovery time objective
  std::optional<int> max_retention_days;          // older points are a finding (storage limitation)
  double freshness_grace_s = 6 * 3600.0;          // beyond the interval before "stale" fails
  double copy_lag_s = 86400;                      // how far a copy's newest point may trail
  int weekly_keeps = 0;                           // a point in each of the last N weeks
  int monthly_keeps = 0;                          // a point in each of the last N months
  bool operator==(const Policy&) const = default;
};

enum class Verdict { kOk, kWarning, kFailing };
std::string_view VerdictName(Verdict v);  // "ok", "warning", "failing"
std::optional<Verdict> ParseVerdict(std::string_view name);

enum class PolicyRule {
  kRetentionDaily,            // a point on each of the last retention_days local days
  kRetentionWeekly,           // a point in each of the last weekly_keeps weeks
  kRetentionMonthly,          // a point in each of the last monthly_keeps months
  kRetentionMax,              // nothing older than max_retention_days
  kFreshness,                 // the newest point is at most backup_interval (+ grace) old
  kRedundancyCopies,          // points at min_copies distinct locations
  kRedundancySameFilesystem,  // no two copies (nor a copy and production) on one file system
  kRedundancyLag,             // no copy's newest point trails the newest by more than copy_lag
  kRedundancyContent,         // the copies of one point hold the same bytes
  kChainBroken,               // no incremental/differential point without the full one it needs
  kLocationOffline,           // every copy's location can be read
  kLocationEmpty,             // every copy holds a point
  kRestoreTest,               // a passed restore test at least every restore_test_interval
  kRestoreTestCopy,           // every copy restore-tested (passed) within restore_test_interval
  kRestoreTestCoverage,       // sampled tests verified every file of the newest point within coverage_days
};
// "retention.daily", "redundancy.same-filesystem", "chain.broken", "location.offline", ...
std::string_view PolicyRuleName(PolicyRule rule);
std::optional<PolicyRule> ParsePolicyRule(std::string_view name);
// The family, the part before the dot: "retention", "freshness", "redundancy", "chain",
// "location", "restore-test".
std::string_view PolicyRuleFamily(PolicyRule rule);

struct PolicyFinding {
  PolicyRule rule = PolicyRule::kFreshness;
  Verdict severity = Verdict::kFailing;
  std::string message;  // for a person
  // Facts, each set where the rule has it (docs/json.md lists them per rule):
  std::string location;                     // the copy concerned
  std::vector<std::string> locations;       // copies concerned together (same file system, content)
  std::vector<Date> missing_days;           // retention.daily: each local day without a point
  std::vector<DateRange> missing_weeks;     // retention.weekly: each week without a point
  std::vector<YearMonth> missing_months;    // retention.monthly: each month without a point
  std::optional<double> age_s;              // freshness: the newest point's age; lag: how far behind
  std::optional<double> limit_s;            // the interval or allowed lag it was measured against
  std::optional<uint64_t> count;            // how many: points too old, broken points, locations
  std::optional<uint64_t> required;         // what the policy asks: days, weeks, months, copies
  std::string point;                        // a recovery point: oldest too old, first broken, differing
  std::string path;                         // the production path, or a file that cannot be read
  std::string error;                        // location.offline: why the copy cannot be read
  bool operator==(const PolicyFinding&) const = default;
};

struct TargetEvaluation {
  std::string target;
  Verdict verdict = Verdict::kOk;
  Policy policy;
  int64_t newest = 0;  // newest point over all copies (UTC seconds), 0 when there is none
  std::vector<PolicyFinding> findings;
  bool operator==(const TargetEvaluation&) const = default;
};

}  // namespace rp
