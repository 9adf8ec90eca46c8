// The commands over the store: `runs list|show|cancel`, `drill run`, `drills list|show` and
// `targets schedule` (docs/cli.md). Each loads the configuration and opens the store first.
// Exit codes per DESIGN.md.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rp {

struct RunsListOptions {
  std::string target, since, status;
  size_t limit = 100;
  bool json = false;
};
int RunsListCommand(const std::string& config_path, const RunsListOptions& o, std::ostream& out, std::ostream& err);
int RunsShowCommand(const std::string& config_path, int64_t id, bool json, std::ostream& out, std::ostream& err);
int RunsCancelCommand(const std::string& config_path, int64_t id, std::ostream& out, std::ostream& err);

struct DrillRunOptions {
  std::vector<std::string> targets;  // empty: every target
  std::string responsible;           // empty: the invoking user
  bool json = false;
  std::string worker_binary;
  // Where the progress line is drawn while the drill's runs restore in this process, when it
  // is a terminal and `json` is off (rp/progress_line.h); -1: nowhere.
  int progress_fd = STDERR_FILENO;
};
// Runs a drill now and waits for it: its runs go through the same queue and claims as `serve`'s,
// so a target `serve` is restoring is not restored twice at once. Exit 1 when a target failed
// or missed its objective.
int DrillRunCommand(const std::string& config_path, const DrillRunOptions& o, std::ostream& out, std::ostream& err);
int DrillsListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);
int DrillsShowCommand(const std::string& config_path, int64_t id, bool json, std::ostream& out, std::ostream& err);

int TargetsScheduleCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

}  // namespace rp
