// The runner threads of `serve` and `agent` (docs/controller.md, docs/multi-host.md): each
// claims a run, executes it (ExecuteRun) and claims the next; as many threads as `workers`
// says, extra ones idle after their current run. Draining stops the claims; stopping the runs
// interrupts the ones still running (recorded interrupted and queued again). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "rp/runner.h"

namespace rp {

class RunnerPool {
 public:
  // `claim`: the next run for this process, or nullopt (errors are logged by the pool);
  // `context`: the runner context for one run, the configuration in force.
  RunnerPool(std::function<std::optional<RunRecord>()> claim, std::function<RunnerContext()> context, EventLog* log);
  ~RunnerPool();  // drains and joins

  void SetCount(int n);  // starts threads up to n; beyond n they idle
  void Wake();           // runs were queued: claim now rather than at the next second
  void Drain();          // no new claims; each thread ends after its current run
  void StopRuns();       // the running runs are stopped (after the drain's grace)
  int busy() const { return busy_; }
  void Join();  // waits for every thread (after Drain)

 private:
  void Loop(int index);

  const std::function<std::optional<RunRecord>()> claim_;
  const std::function<RunnerContext()> context_;
  EventLog* const log_;
  std::mutex mu_;  // threads_
  std::vector<std::thread> threads_;
  std::atomic<int> wanted_{0}, busy_{0};
  std::atomic<bool> draining_{false}, stop_runs_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
};

}  // namespace rp
