// The `config check`, `targets list` and `targets check` commands over a loaded
// configuration: discovery of every copy, policy evaluation, and the printed or JSON result.
// Exit codes per DESIGN.md: 0 all targets ok (warnings allowed), 1 a target fails, 2 a
// configuration error.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "rp/config.h"
#include "rp/policy_eval.h"

namespace rp {

int ConfigCheckCommand(const std::string& path, bool json, std::ostream& out, std::ostream& err);
int TargetsListCommand(const Config& config, bool json, std::ostream& out);

struct TargetsCheckOptions {
  std::string name;         // one target, or all when empty
  bool json = false;
  int64_t now = 0;          // UTC seconds; 0: the current time
  bool compare_content = true;
};
int TargetsCheckCommand(const Config& config, const TargetsCheckOptions& options, std::ostream& out, std::ostream& err);

// Discovers every copy of a target and evaluates it.
TargetEvaluation CheckTarget(const Config& config, const TargetConfig& target, int64_t now, bool compare_content,
                             std::vector<CopyCatalog>* catalogs = nullptr);

}  // namespace rp
