#include "rp/agent.h"
#include "rp/verify.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "rp/appliance.h"
#include "rp/drill.h"
#include "rp/event_log.h"
#include "rp/notify_policy.h"
#include "rp/runner.h"
#include "rp/runner_pool.h"
#include "rp/sweep.h"

namespace rp {

ClaimFilter AgentClaimFilter(const Config& config) {
  ClaimFilter filter;
  const auto& locations = config.agent.locations;
  if (locations.empty()) return filter;
  filter.locations = locations;
  std::vector<std::string> targets;
  for (const auto& t : config.targets)
    for (const auto& c : t.copies)
      if (std::find(locations.begin(), locations.end(), c.location) != locations.end()) {
        targets.push_back(t.name);
        break;
      }
  filter.targets = std::move(targets);
  return filter;
}

namespace {

namespace asio = boost::asio;

class Agent {
 public:
  Agent(const AgentOptions& options, Appliance appliance, std::ostream& err)
      : options_(options), log_(&err), store_(std::move(appliance.store)), owner_(ProcessIdentity()),
        signals_(io_, SIGTERM, SIGINT, SIGHUP), sweep_timer_(io_), drain_timer_(io_) {
    Install(std::move(appliance.config), appliance.config_hash);
  }

  int Run() {
    const auto cfg = config();
    const ClaimFilter filter = Filter();
    nlohmann::json started = {{"owner", owner_},
                              {"workers", cfg->appliance.workers},
                              {"store", std::string(store_->Backend())},
                              {"config_hash", config_hash()},
                              {"locations", cfg->agent.locations},
                              {"worker", options_.worker_binary.empty() ? PinWorkerBinary() : options_.worker_binary}};
    started["targets"] = filter.targets ? filter.targets->size() : cfg->targets.size();
    log_.Info("agent-started", "", 0, std::move(started));
    WarnAboutLocations(*cfg);
    WaitForSignal();
    Blocking([this] { Sweep(); });  // runs an agent that died here left running are interrupted first
    ArmSweep();
    pool_.SetCount(cfg->appliance.workers);
    io_.run();
    if (drain_thread_.joinable()) drain_thread_.join();
    pool_.Join();
    blocking_.join();
    log_.Info("agent-stopped");
    return 0;
  }

 private:
  std::shared_ptr<const Config> config() {
    std::lock_guard lock(mu_);
    return config_;
  }
  std::string config_hash() {
    std::lock_guard lock(mu_);
    return config_hash_;
  }
  ClaimFilter Filter() {
    std::lock_guard lock(mu_);
    return filter_;
  }

  // The configuration in force, its hash and the claim filter it implies, as one.
  void Install(std::shared_ptr<const Config> config, const std::string& hash) {
    ClaimFilter filter = AgentClaimFilter(*config);
    std::lock_guard lock(mu_);
    config_ = std::move(config);
    config_hash_ = hash;
    filter_ = std::move(filter);
  }

  // A location no copy is at is most likely a typing error: the agent would wait for ever.
  void WarnAboutLocations(const Config& cfg) {
    for (const auto& l : cfg.agent.locations) {
      bool used = false;
      for (const auto& t : cfg.targets)
        for (const auto& c : t.copies) used = used || c.location == l;
      if (!used)
        log_.Warn("agent-location-unknown", "", 0,
                  {{"location", l}, {"detail", "no copy of any target is at this location"}});
    }
    const ClaimFilter f = Filter();
    if (f.targets && f.targets->empty())
      log_.Warn("agent-no-targets", "", 0,
                {{"detail", "no target has a copy at this agent's [agent] locations: it claims no run"}});
  }

  template <class F>
  void Blocking(F f) {
    asio::post(blocking_, [this, f = std::move(f)] {
      try {
        f();
      } catch (const std::exception& e) {
        log_.Error("agent-error", "", 0, {{"error", e.what()}});
      }
    });
  }

  RunnerContext Context() {
    RunnerContext ctx;
    {
      std::lock_guard lock(mu_);
      ctx.config = config_;
      ctx.config_hash = config_hash_;
    }
    ctx.store = store_.get();
    ctx.owner = owner_;
    ctx.log = &log_;
    ctx.worker_binary = options_.worker_binary;
    ctx.locations = ctx.config->agent.locations;
    ctx.on_finished = [this](const RunRecord& run) { OnRunFinished(run); };
    return ctx;
  }

  void WaitForSignal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log_.Info("reload-requested");
        Blocking([this] { Reload(); });
        WaitForSignal();
        return;
      }
      Drain(sig);
    });
  }

  // SIGTERM/SIGINT: no new run is claimed; running ones get drain_grace, then are stopped and
  // recorded interrupted (queued again for another agent).
  void Drain(int sig) {
    if (draining_.exchange(true)) return;
    log_.Info("drain-started", "", 0,
              {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}, {"grace_s", config()->appliance.drain_grace_s}});
    pool_.Drain();
    sweep_timer_.cancel();
    drain_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(config()->appliance.drain_grace_s * 1000)));
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (pool_.busy() > 0) log_.Warn("drain-grace-over", "", 0, {{"running", pool_.busy()}});
      pool_.StopRuns();
    });
    drain_thread_ = std::thread([this] {
      pool_.Join();
      asio::post(io_, [this] {
        drain_timer_.cancel();
        signals_.cancel();
      });
    });
  }

  // SIGHUP: a valid configuration replaces the one in force (workers, locations, targets); the
  // data and sandbox directories in force are kept until the next start.
  void Reload() {
    Appliance next;
    std::ostringstream errors;
    if (LoadConfigOnly(options_.config_path, &next, errors) != 0) {
      log_.Error("reload-refused", "", 0,
                 {{"errors", errors.str()}, {"detail", "the configuration in force stays in force"}});
      return;
    }
    const auto now_in_force = config();
    if (next.config->appliance.data_dir != now_in_force->appliance.data_dir ||
        next.config->appliance.sandbox_dir != now_in_force->appliance.sandbox_dir) {
      log_.Warn("reload-data-dir-ignored", "", 0,
                {{"detail", "data_dir and sandbox_dir changes take effect at the next start"}});
      auto kept = std::make_shared<Config>(*next.config);
      kept->appliance.data_dir = now_in_force->appliance.data_dir;
      kept->appliance.sandbox_dir = now_in_force->appliance.sandbox_dir;
      next.config = kept;
    }
    Install(next.config, next.config_hash);
    log_.Info("reload-done", "", 0,
              {{"config_hash", next.config_hash}, {"locations", next.config->agent.locations}});
    WarnAboutLocations(*next.config);
    asio::post(io_, [this] { pool_.SetCount(config()->appliance.workers); });
  }

  void ArmSweep() {
    const double every = std::max(1.0, config()->appliance.lease_s / 3);
    sweep_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(every * 1000)));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      Blocking([this] {
        try {
          Sweep();
        } catch (const std::exception& e) {
          log_.Error("sweep-failed", "", 0, {{"error", e.what()}});
        }
        asio::post(io_, [this] { ArmSweep(); });
      });
    });
  }

  // The sweep `serve` does (rp/sweep.h): a dead agent's run is queued again even when no serve
  // runs; this host's orphan sandboxes are wiped. Interrupted runs wake the runners.
  void Sweep() {
    if (!SweepStaleRuns(*config(), store_.get(), &log_).empty()) pool_.Wake();
  }

  // The run's notifications go to the store's outbox (serve delivers them); a drill whose last
  // run this was is finished here (only the first to finish it does: Store::FinishDrill).
  void OnRunFinished(const RunRecord& run) {
    AfterRunFinished(*config(), store_.get(), run, &notifications_, &log_);
  }

  const AgentOptions options_;
  EventLog log_;
  std::unique_ptr<Store> store_;
  std::mutex mu_;  // config_, config_hash_, filter_
  std::shared_ptr<const Config> config_;
  std::string config_hash_;
  ClaimFilter filter_;
  const std::string owner_;
  asio::io_context io_;
  asio::thread_pool blocking_{1};
  asio::signal_set signals_;
  asio::steady_timer sweep_timer_, drain_timer_;
  std::atomic<bool> draining_{false};
  std::thread drain_thread_;
  NotificationPolicy notifications_;
  // Declared last: its threads end before anything they use.
  RunnerPool pool_{
      [this] {
        const int64_t now = NowS();
        return store_->ClaimRun(owner_, now, now + static_cast<int64_t>(config()->appliance.lease_s), Filter());
      },
      [this] { return Context(); }, &log_};
};

}  // namespace

int AgentCommand(const AgentOptions& options, std::ostream& err) {
  Appliance appliance;
  if (const int rc = OpenAppliance(options.config_path, &appliance, err, /*integrity_check=*/true); rc != 0) return rc;
  Agent agent(options, std::move(appliance), err);
  return agent.Run();
}

}  // namespace rp
