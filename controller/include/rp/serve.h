// `restoreproof serve`: the controller (docs/controller.md). One Boost.Asio io_context owns
// the timers (scheduler, lease sweep, drain) and the signal set (SIGTERM/SIGINT drain, SIGHUP
// reload); store writes of the scheduler and reloads run on a one-thread pool, restores on
// `workers` runner threads, deliveries on a notifier thread, [syslog] forwarding on its own
// thread: nothing blocking runs on the io_context's thread. Logs one JSON object per line to `err`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace rp {

struct Config;
class Store;
class EventLog;

// What `serve` lends an extension (the web server, which sits above the controller): all of it
// outlives the extension, which `serve` destroys before it closes the store.
struct ServeContext {
  std::shared_ptr<const Config> config;  // in force at start; Reload passes each new one
  Store* store = nullptr;                // thread-safe
  EventLog* log = nullptr;               // serve's JSON event log, thread-safe
  const std::atomic<bool>* ready = nullptr;  // the controller has swept and scheduled, and is not draining
  // This process schedules (docs/multi-host.md): one serve of several on one store does.
  const std::atomic<bool>* scheduling = nullptr;
};

// Called by `serve` on its main thread at start-up (before the controller is ready) and at the
// end (after the drain), and on its blocking pool after a SIGHUP reload was accepted. An
// extension reports its own failures to the log; they never stop the controller.
class ServeExtension {
 public:
  virtual ~ServeExtension() = default;
  virtual void Start() = 0;
  virtual void Reload(std::shared_ptr<const Config> config) = 0;
  virtual void Stop() = 0;
};
using ServeExtensionFactory = std::function<std::unique_ptr<ServeExtension>(const ServeContext&)>;

struct ServeOptions {
  std::string config_path;
  std::string worker_binary;  // "" : this executable
  ServeExtensionFactory extension;  // empty: none
};

// Runs until SIGTERM or SIGINT, then drains: no new run starts, running ones get drain_grace,
// then are stopped and recorded as interrupted. Exit 0 after draining; 2 for an invalid
// configuration; 3 when the store cannot be opened (a damaged store is never recreated).
int ServeCommand(const ServeOptions& options, std::ostream& err);

}  // namespace rp
