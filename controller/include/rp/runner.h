// Running one queued restore test to its recorded end (docs/controller.md): choose the copy
// (rotating over the target's locations) and the recovery point (the test's select form), record
// the start before the worker starts, restore and verify in the isolated worker, renew the lease
// while it runs, and record the outcome only while the lease is still held. The same code runs
// under `serve` and under `drill run`. Thread-safe: one ExecuteRun per claimed run, on any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/store.h"

namespace rp {

struct RunnerContext {
  std::shared_ptr<const Config> config;
  std::string config_hash;  // SHA-256 of the configuration file in force
  Store* store = nullptr;
  std::string owner;  // this process's lease identity (ProcessIdentity())
  EventLog* log = nullptr;
  std::string worker_binary;  // "" : this executable
  // Told of every run this process recorded as ended (notifications, drills).
  std::function<void(const RunRecord&)> on_finished;
};

// Restores, verifies and records `run`, which this process has claimed. `stop` (may be null):
// set when the process drains; the worker is stopped and the run recorded as interrupted and
// queued again.
void ExecuteRun(const RunnerContext& ctx, const RunRecord& run, const std::atomic<bool>* stop);

// "host/pid/start-ticks": unique per process across restarts of the same pid.
std::string ProcessIdentity();
// True when `owner` names a process on this host that has ended.
bool OwnerIsDeadLocally(const std::string& owner);

// SHA-256 (hex) of a file's bytes; "" when it cannot be read.
std::string FileSha256(const std::string& path);

}  // namespace rp
