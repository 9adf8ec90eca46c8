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
// Both load the configuration at `config_path` first: its errors end the command (exit 2).
int TargetsListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

struct TargetsCheckOptions {
  std::string name;         // one target, or all when empty
  bool json = false;
  std::string now;          // judge as of this time (ISO 8601, or a date in the appliance's zone); "" now
  bool compare_content = true;
};
int TargetsCheckCommand(const std::string& config_path, const TargetsCheckOptions& options, std::ostream& out,
                        std::ostream& err);

class Store;

// Discovers every copy of a target and evaluates it. With a store, the restore-test rules are
// judged from its run history too.
TargetEvaluation CheckTarget(const Config& config, const TargetConfig& target, int64_t now, bool compare_content,
                             std::vector<CopyCatalog>* catalogs = nullptr, Store* store = nullptr);

// The restore-test rules (restore-test, restore-test.copy) from the recorded runs: no passed
// restore test within restore_test_interval fails the target; a copy without one is a warning.
void AddRestoreTestFindings(const Config& config, const TargetConfig& target, Store* store, int64_t now,
                            TargetEvaluation* evaluation);

}  // namespace rp
