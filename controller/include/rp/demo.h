// The demo estate: a small, realistic set of backups (archives with manifests, one silently
// damaged) generated under a directory and verified one by one. Single-threaded.
#pragma once

#include <ostream>
#include <string>

namespace rp {

struct DemoOptions {
  std::string dir;  // where the estate and sandboxes are created
  bool json = false;
};

// Generates the estate, verifies every archive, prints a summary to `out`.
// Returns the number of archives that failed verification (the demo expects exactly one).
int RunDemo(const DemoOptions& options, std::ostream& out);

// `restoreproof demo`: exit 0 when the demo showed what it should (its one damaged backup
// caught), 1 otherwise, 3 when the estate could not be built. `port`: noted; the dashboard
// arrives with the web issue.
int DemoCommand(const DemoOptions& options, int port, std::ostream& out, std::ostream& err);

}  // namespace rp
