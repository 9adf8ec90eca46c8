// `restoreproof demo`: a small, realistic estate (archives with manifests, one silently damaged;
// one restic repository) generated under a directory with its configuration, checked, verified
// point by point, drilled through the store, given a demo admin, and served as `serve` would
// serve it. Runs on the calling thread, with a few helper threads of its own while it builds
// the restic repository; `serve`'s threads while it serves.
#pragma once

#include <ostream>
#include <string>

#include "rp/serve.h"

namespace rp {

struct DemoOptions {
  std::string dir;     // where the estate, its configuration, store and sandboxes are created
  int port = 8080;     // the dashboard's port on 127.0.0.1; 0: any free one (the URL names it)
  bool serve = true;   // false: stop after the drill and the demo admin
  ServeExtensionFactory web;  // the web server `serve` runs (rp_web sits above this module)
};

// `restoreproof demo`: generates the estate and DIR/restoreproof.toml, checks its policy and
// verifies each target's newest point at its first site, printing a summary to `out`; then runs
// a drill through the store (as `drill run`), readies the demo admin with a one-time password,
// and runs `serve` with the web server until SIGTERM/SIGINT. Exit 0 when the demo showed what
// it should (its one damaged backup caught, the drill recorded, the admin ready, the appliance
// stopped cleanly), 1 when the damaged backup was not caught exactly, 3 when the estate, the
// drill, the admin or the web server could not be set up, or a signal stopped it before it served.
int DemoCommand(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace rp
