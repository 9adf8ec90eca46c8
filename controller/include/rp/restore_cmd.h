// `restoreproof restore`: a real restoration (docs/restore.md). Restores a recovery point of a
// configured target to a new or empty destination outside the sandbox area, in the same isolated
// worker and with the same verification as a restore test, never overwriting anything, and
// appends a real-restore record to the restoration log naming the person responsible, the
// personal data restored, the reason, the verdict and, for personal data, the files to correct.
#pragma once

#include <unistd.h>

#include <ostream>
#include <string>

namespace rp {

struct RestoreOptions {
  std::string target;
  std::string point;     // "" the newest point
  std::string location;  // "" the first copy holding the point
  std::string to;        // the destination directory: absent or empty
  std::string responsible;
  std::string personal_data;
  std::string reason;
  bool json = false;
  // Where the progress line is drawn while the restore lasts, when it is a terminal and `json`
  // is off (rp/progress_line.h); -1: nowhere.
  int progress_fd = STDERR_FILENO;
};

// Exit 0 restored and verified; 1 restored with verification failures (the files to correct are
// named), or stopped by a limit; 2 usage (a missing --to, --responsible, --personal-data or
// --reason, an unknown target, point or location, a destination that is not new or empty, or
// inside the sandbox area, data_dir or a backup location); 3 environment. The summary or the JSON
// goes to `out`, refusals and errors to `err`. SIGINT and SIGTERM stop the restore (handlers are
// installed): call from the main thread, one at a time.
int RestoreCommand(const std::string& config_path, const RestoreOptions& o, std::ostream& out, std::ostream& err);

}  // namespace rp
