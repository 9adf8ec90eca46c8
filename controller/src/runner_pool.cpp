#include "rp/runner_pool.h"

#include <chrono>

namespace rp {

RunnerPool::RunnerPool(std::function<std::optional<RunRecord>()> claim, std::function<RunnerContext()> context,
                       EventLog* log)
    : claim_(std::move(claim)), context_(std::move(context)), log_(log) {}

RunnerPool::~RunnerPool() {
  Drain();
  Join();
}

void RunnerPool::SetCount(int n) {
  wanted_ = n;
  std::lock_guard lock(mu_);
  if (draining_) return;
  while (static_cast<int>(threads_.size()) < n) {
    const int index = static_cast<int>(threads_.size());
    threads_.emplace_back([this, index] { Loop(index); });
  }
}

void RunnerPool::Wake() { wake_.notify_all(); }

void RunnerPool::Drain() {
  draining_ = true;
  wake_.notify_all();
}

void RunnerPool::StopRuns() { stop_runs_ = true; }

void RunnerPool::Join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void RunnerPool::Loop(int index) {
  const auto idle = [this] {
    std::unique_lock lock(wake_mu_);
    wake_.wait_for(lock, std::chrono::seconds(1));
  };
  while (!draining_) {
    if (index >= wanted_) {
      idle();
      continue;
    }
    std::optional<RunRecord> run;
    try {
      run = claim_();
    } catch (const std::exception& e) {
      log_->Error("claim-failed", "", 0, {{"error", e.what()}});
    }
    if (!run) {
      idle();
      continue;
    }
    ++busy_;
    try {
      ExecuteRun(context_(), *run, &stop_runs_);
    } catch (const std::exception& e) {
      log_->Error("run-error", run->request.target, run->id, {{"error", e.what()}});
    }
    --busy_;
  }
}

}  // namespace rp
