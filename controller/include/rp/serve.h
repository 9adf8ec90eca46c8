// `restoreproof serve`: the controller (docs/controller.md). One Boost.Asio io_context owns
// the timers (scheduler, lease sweep, drain) and the signal set (SIGTERM/SIGINT drain, SIGHUP
// reload); store writes of the scheduler and reloads run on a one-thread pool, restores on
// `workers` runner threads, deliveries on a notifier thread, [syslog] forwarding on its own
// thread: nothing blocking runs on the io_context's thread. Logs one JSON object per line to `err`.
#pragma once

#include <ostream>
#include <string>

namespace rp {

struct ServeOptions {
  std::string config_path;
  std::string worker_binary;  // "" : this executable
};

// Runs until SIGTERM or SIGINT, then drains: no new run starts, running ones get drain_grace,
// then are stopped and recorded as interrupted. Exit 0 after draining; 2 for an invalid
// configuration; 3 when the store cannot be opened (a damaged store is never recreated).
int ServeCommand(const ServeOptions& options, std::ostream& err);

}  // namespace rp
