// Policy evaluation: judges a target by what its copies really hold (the catalog) against its
// effective policy (baseline, availability class, own overrides). Every finding names the
// rule it comes from, as a typed value with its facts (rp/policy.h). Retention days are local
// calendar days in the zone given, so daylight-saving days of 23 and 25 hours count as one day
// each. Pure functions over the catalog, except the content comparison, which reads archive
// files; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rp/catalog.h"
#include "rp/config.h"
#include "rp/policy.h"

namespace rp {

struct EvalOptions {
  int64_t now = 0;               // UTC seconds
  TimeZone zone = TimeZone::Utc();  // whose calendar days count (the appliance's)
  bool compare_content = true;   // hash the newest common archive of each pair of copies
  dev_t production_device = 0;   // file system of the target's production_path, if known
  bool production_device_known = false;
};

TargetEvaluation EvaluateTarget(const Config& config, const TargetConfig& target,
                                const std::vector<CopyCatalog>& copies, const EvalOptions& options);

}  // namespace rp
