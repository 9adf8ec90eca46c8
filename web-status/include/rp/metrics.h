// The Prometheus text of /metrics (docs/web.md lists every series): built afresh on each scrape
// from the configuration in force and the store (coverage from the status board), so a target
// removed by a reload disappears.
// Targets that hold personal data are labelled with their pseudonym (rp/evidence_bundle.h), and
// left out when no pseudonymiser is given, so their names never leave the appliance.
// Thread-safe as the Store is; owns nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "rp/config.h"
#include "rp/coverage.h"
#include "rp/evidence_bundle.h"
#include "rp/store.h"

namespace rp {

// The exposition format 0.0.4 (prometheus-cpp's TextSerializer); `version` labels build_info.
// `coverage`: the coverage of the targets that sample, by name, as the status board computed it
// (so that a scrape does not read every sampling target's window of runs again); a sampling
// target missing from it, or every one when it is null, is computed here (CoverageOf).
std::string RenderMetrics(const Config& config, Store& store, const Pseudonymiser* names, int64_t now,
                          std::string_view version, const std::map<std::string, TargetCoverage>* coverage = nullptr);

// The value of a target's `target` label: its name, or its pseudonym when it holds personal data.
std::string TargetLabel(const TargetConfig& target, const Pseudonymiser& names);

}  // namespace rp
