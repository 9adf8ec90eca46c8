// `restoreproof schedule preview EXPR`: the next run times of a cron expression in the
// appliance's time zone, printed as `systemd-analyze calendar --iterations=N` does, or as JSON
// (docs/cli.md). Reads the configuration only for its time zone. Stateless; thread-safe.
#pragma once

#include <ostream>
#include <string>

namespace rp {

struct SchedulePreviewOptions {
  std::string expression;  // 5 cron fields or a macro (rp::ParseSchedule)
  int count = 5;           // how many runs, 1..1000
  std::string from;        // runs at or after this time (ISO 8601 with an offset, or a date); "" now
  bool json = false;
};

// The zone is the configuration's `appliance.timezone`: from the file at `config_path`, or,
// when no file is at the default path and none was named (`config_named`), the default
// zone. Exit 0 with the runs (none when the schedule never fires), 2 for a malformed
// expression (its message, the expression and a caret under the offending token), a bad
// option, or an invalid or unreadable configuration.
int SchedulePreviewCommand(const std::string& config_path, bool config_named, const SchedulePreviewOptions& options,
                           std::ostream& out, std::ostream& err);

}  // namespace rp
