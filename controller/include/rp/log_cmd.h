// The commands over the restoration log (docs/restoration-log.md, docs/cli.md): `log show` lists
// records, `log verify` recomputes the chain and checks the signed checkpoints. Each loads the
// configuration and opens the store first; neither writes to the log or creates a key.
#pragma once

#include <ostream>
#include <string>

namespace rp {

struct LogShowOptions {
  std::string since;   // ISO 8601 or a date, in the appliance's zone when without an offset
  std::string target;  // "" every target
  bool json = false;
};
// Exit 0, or 2 for a malformed --since.
int LogShowCommand(const std::string& config_path, const LogShowOptions& o, std::ostream& out, std::ostream& err);

// Exit 0 when the chain is intact and every checkpoint verifies; 1 naming the first bad record
// and what happened to it (a failed verification is a result, printed on `out`). With `against`
// (an evidence bundle's path), the log must also still hold the chain head the bundle pins and
// the records of its excerpt unchanged: a log rewritten and signed again fails.
int LogVerifyCommand(const std::string& config_path, bool json, const std::string& against, std::ostream& out,
                     std::ostream& err);

}  // namespace rp
