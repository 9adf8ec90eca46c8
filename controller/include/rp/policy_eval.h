// Policy evaluation: judges a target by what its copies really hold (the catalog) against its
// effective policy (baseline, availability class, own overrides). Every finding names the
// rule it comes from. Retention days are local calendar days in the process's time zone
// (UseTimeZone), so daylight-saving days of 23 and 25 hours count as one day each. Pure
// functions over the catalog, except the content comparison, which reads archive files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rp/catalog.h"
#include "rp/config.h"

namespace rp {

enum class Verdict { kOk, kWarning, kFailing };
std::string_view VerdictName(Verdict v);

struct PolicyFinding {
  std::string rule;  // e.g. "retention.daily", "redundancy.same-filesystem"
  Verdict severity = Verdict::kFailing;
  std::string message;
};

struct TargetEvaluation {
  std::string target;
  Verdict verdict = Verdict::kOk;
  Policy policy;
  int64_t newest = 0;  // newest point over all copies (UTC seconds), 0 when there is none
  std::vector<PolicyFinding> findings;
};

struct EvalOptions {
  int64_t now = 0;               // UTC seconds
  bool compare_content = true;   // hash the newest common archive of each pair of copies
  dev_t production_device = 0;   // file system of the target's production_path, if known
  bool production_device_known = false;
};

TargetEvaluation EvaluateTarget(const Config& config, const TargetConfig& target,
                                const std::vector<CopyCatalog>& copies, const EvalOptions& options);

// Local calendar day number (days since 1970-01-01 in the local time zone) of a UTC time.
int64_t LocalDay(int64_t utc);
// "2026-10-25" for a local day number.
std::string DayText(int64_t day);

}  // namespace rp
