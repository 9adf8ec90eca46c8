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
#include <vector>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/progress_line.h"
#include "rp/store.h"

namespace rp {

struct LogRecord;

struct RunnerContext {
  std::shared_ptr<const Config> config;
  std::string config_hash;  // SHA-256 of the configuration file in force
  Store* store = nullptr;
  std::string owner;  // this process's lease identity (ProcessIdentity())
  EventLog* log = nullptr;
  std::string worker_binary;  // "" : this executable
  // The locations whose copies this process can read (an agent's `[agent] locations`,
  // docs/multi-host.md); empty: every location. The copy is chosen among these only.
  std::vector<std::string> locations;
  // Told of every run this process recorded as ended (notifications, drills).
  std::function<void(const RunRecord&)> on_finished;
  // Told of a run's progress while it restores, and of its final figures once the worker has
  // ended (`drill run`'s progress line), on the run's thread. Optional.
  std::function<void(const RunRecord&, const ProgressFigures&)> on_progress;
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

// What the restoration log records of a restoration (docs/restoration-log.md), shared by restore
// tests and real restores (`restore`). The personal data a target declares: "none", its
// description, or its categories and data subjects.
std::string PersonalDataText(const PersonalData& p);
// The files a verification failed on, to be corrected: each path a failing finding names, once,
// in EscapePath form; not a failed content check's (its path is the check's name).
std::vector<std::string> FilesToCorrect(const VerifyReport& report);
// Sets a record's result (the state's name), files, bytes and count of failing findings and, for
// a target holding personal data, the correctness verdict (correct when passed, incorrect when
// failed, unverified otherwise) and the files to correct. `report` may be null (none ran).
void SetLogResult(const TargetConfig& target, RunState state, uint64_t files, uint64_t bytes,
                  const VerifyReport* report, LogRecord* r);

}  // namespace rp
