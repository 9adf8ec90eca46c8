#include "rp/serve.h"
#include "rp/verify.h"

#include <signal.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "rp/appliance.h"
#include "rp/codec.h"
#include "rp/config_change.h"
#include "rp/restoration_log.h"
#include "rp/targets.h"
#include "rp/drill.h"
#include "rp/notify_policy.h"
#include "rp/runner.h"
#include "rp/runner_pool.h"
#include "rp/sandbox.h"
#include "rp/scheduler.h"
#include "rp/sweep.h"
#include "rp/syslog_forward.h"

namespace rp {

namespace {

namespace asio = boost::asio;

class Controller {
 public:
  Controller(const ServeOptions& options, Appliance appliance, std::ostream& err)
      : options_(options), log_(&err), store_(std::move(appliance.store)), config_(std::move(appliance.config)),
        config_hash_(appliance.config_hash), owner_(ProcessIdentity()), signals_(io_, SIGTERM, SIGINT, SIGHUP),
        schedule_timer_(io_), sweep_timer_(io_), lead_timer_(io_), drain_timer_(io_) {}

  int Run() {
    log_.Info("serve-started", "", 0,
              {{"owner", owner_}, {"workers", config_->appliance.workers}, {"targets", config_->targets.size()},
               {"config_hash", config_hash_}, {"store", config_->store.url.empty() ? StorePath(config_->appliance.data_dir) : config_->store.url},
               {"worker", options_.worker_binary.empty() ? PinWorkerBinary() : options_.worker_binary}});
    if (options_.extension) {
      extension_ = options_.extension(ServeContext{config(), store_.get(), &log_, &ready_, &scheduling_});
      if (extension_) extension_->Start();
    }
    WaitForSignal();
    Blocking([this] { RecordConfigChange(options_.config_path, *config(), store_.get(), NowS(), &log_); });
    Blocking([this] { Sweep(); });  // runs a process that died left running are interrupted first
    Blocking([this] { CheckScheduling(); });  // the scheduler: its first tick, forwarding, the catalog
    ArmSweep();
    ArmSchedulingPoll();
    pool_.SetCount(config_->appliance.workers);
    notifier_ = std::thread([this] { NotifierLoop(); });
    Blocking([this] { ready_ = !draining_; });
    io_.run();
    if (drain_thread_.joinable()) drain_thread_.join();
    pool_.Join();
    notifier_stop_ = true;
    wake_.notify_all();
    notifier_.join();
    blocking_.join();
    syslog_.reset();
    if (extension_) extension_->Stop();
    extension_.reset();
    log_.Info("serve-stopped");
    return 0;
  }

 private:
  std::shared_ptr<const Config> config() {
    std::lock_guard lock(mu_);
    return config_;
  }

  template <class F>
  void Blocking(F f) {
    asio::post(blocking_, [this, f = std::move(f)] {
      try {
        f();
      } catch (const std::exception& e) {
        log_.Error("controller-error", "", 0, {{"error", e.what()}});
      }
    });
  }

  RunnerContext Context() {
    RunnerContext ctx;
    {
      std::lock_guard lock(mu_);  // the configuration and its hash as one
      ctx.config = config_;
      ctx.config_hash = config_hash_;
    }
    ctx.store = store_.get();
    ctx.owner = owner_;
    ctx.log = &log_;
    ctx.worker_binary = options_.worker_binary;
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

  // SIGTERM/SIGINT: no new run starts; running ones get the grace period, then are stopped.
  void Drain(int sig) {
    if (draining_.exchange(true)) return;
    ready_ = false;
    log_.Info("drain-started", "", 0, {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                       {"grace_s", config()->appliance.drain_grace_s}});
    pool_.Drain();
    wake_.notify_all();
    schedule_timer_.cancel();
    sweep_timer_.cancel();
    lead_timer_.cancel();
    drain_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(config()->appliance.drain_grace_s * 1000)));
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (pool_.busy() > 0) log_.Warn("drain-grace-over", "", 0, {{"running", pool_.busy()}});
      pool_.StopRuns();
    });
    // The runner threads end after their current run; they are joined off the io_context's
    // thread, and Run() waits for that before it returns.
    drain_thread_ = std::thread([this] {
      pool_.Join();
      asio::post(io_, [this] {
        drain_timer_.cancel();
        signals_.cancel();
      });
    });
  }

  void Reload() {
    Appliance next;
    std::ostringstream errors;
    if (LoadConfigOnly(options_.config_path, &next, errors) != 0) {
      log_.Error("reload-refused", "", 0,
                 {{"errors", errors.str()}, {"detail", "the configuration in force stays in force"}});
      return;
    }
    {
      std::lock_guard lock(mu_);
      const ApplianceConfig& now_in_force = config_->appliance;
      if (next.config->appliance.data_dir != now_in_force.data_dir ||
          next.config->appliance.sandbox_dir != now_in_force.sandbox_dir) {
        log_.Warn("reload-data-dir-ignored", "", 0,
                  {{"detail", "data_dir and sandbox_dir changes take effect at the next start"}});
        auto kept = std::make_shared<Config>(*next.config);
        kept->appliance.data_dir = now_in_force.data_dir;
        kept->appliance.sandbox_dir = now_in_force.sandbox_dir;
        next.config = kept;
      }
      config_ = next.config;
      config_hash_ = next.config_hash;
    }
    log_.Info("reload-done", "", 0, {{"config_hash", next.config_hash}, {"targets", next.config->targets.size()}});
    RecordConfigChange(options_.config_path, *config(), store_.get(), NowS(), &log_);
    if (scheduling_) StartSyslog(*config());
    if (extension_) extension_->Reload(config());
    asio::post(io_, [this] { pool_.SetCount(config()->appliance.workers); });
    Tick();
  }

  // On the blocking pool: fire what is due, then arm the timer for the next.
  void Tick() {
    if (draining_ || !scheduling_) return;  // another serve schedules (docs/multi-host.md)
    const auto cfg = config();
    FireResult r;
    r.next = NowS() + 60;
    try {
      r = FireDue(*cfg, store_.get(), NowS(), &log_);
    } catch (const std::exception& e) {  // tried again at the next tick, never given up
      log_.Error("schedule-failed", "", 0, {{"error", e.what()}, {"detail", "tried again within a minute"}});
      r.runs_queued = 0;
      r.drills_started.clear();
      r.next = NowS() + 30;
    }
    if (r.runs_queued) {
      log_.Info("runs-queued", "", 0, {{"count", r.runs_queued}});
      pool_.Wake();
    }
    if (!r.drills_started.empty()) pool_.Wake();
    const int64_t wait_s = std::clamp<int64_t>(r.next - NowS(), 1, 60);  // re-read the clock at least each minute
    asio::post(io_, [this, wait_s] {
      if (draining_) return;
      schedule_timer_.expires_after(std::chrono::seconds(wait_s));
      schedule_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) Blocking([this] { Tick(); });
      });
    });
  }

  void ArmSweep() {
    const double every = std::max(1.0, config()->appliance.lease_s / 3);
    sweep_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(every * 1000)));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      // The next sweep is armed when this one has ended, so sweeps never pile up.
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

  // Runs whose lease ran out (or whose process died) become interrupted and are queued again;
  // sandboxes nobody holds are wiped (rp/sweep.h, shared with `agent`). The scheduler alone
  // also does the duties that must not be done twice (SchedulerDuties).
  void Sweep() {
    const auto cfg = config();
    for (const auto& run : SweepStaleRuns(*cfg, store_.get(), &log_))
      if (run.request.drill_id) pending_drills_.insert(run.request.drill_id);
    if (scheduling_) SchedulerDuties(*cfg);
  }

  // What only the process that schedules does (docs/multi-host.md, "Who does what"): sign the
  // restoration log's head, check the catalog (snapshots and their notifications), finish the
  // drills whose runs have all ended.
  void SchedulerDuties(const Config& cfg) {
    if (NowS() >= next_checkpoint_) {
      next_checkpoint_ = NowS() + kCheckpointEvery;
      SignCheckpoint(cfg);
    }
    if (NowS() >= next_catalog_check_) {
      next_catalog_check_ = NowS() + kCatalogEvery;
      CheckCatalog(cfg);
    }
    for (const auto& d : store_->ListDrills(50))
      if (d.state == DrillState::kRunning) pending_drills_.insert(d.id);
    for (auto it = pending_drills_.begin(); it != pending_drills_.end();) {
      if (auto report = CompleteDrillIfDone(cfg, store_.get(), *it, NowS())) {
        log_.Info("drill-finished", "", 0, {{"drill", report->id}, {"passed", report->passed}});
        notifications_.OnDrillFinished(cfg, store_.get(), *report, NowS());
        wake_.notify_all();  // the notifier: the drill's notification
      }
      it = pending_drills_.erase(it);
    }
  }

  // On the blocking pool, at start-up and every few seconds: whether this process schedules
  // (Store::HoldScheduling; on PostgreSQL an advisory lock, so one serve of many schedules and
  // another takes over within a lease when it stops). Taking it over starts the scheduler's
  // tick, the [syslog] forwarder and the scheduler's duties; losing it stops them.
  void CheckScheduling() {
    if (draining_) return;
    bool hold = false;
    try {
      hold = store_->HoldScheduling();
    } catch (const std::exception& e) {
      log_.Error("scheduling-check-failed", "", 0, {{"error", e.what()}});
    }
    if (hold == scheduling_) return;
    scheduling_ = hold;
    if (hold) {
      log_.Info("scheduling-taken", "", 0, {{"owner", owner_}, {"store", std::string(store_->Backend())}});
      const auto cfg = config();
      Tick();  // first: a catalog check of many targets must not hold up the schedule
      StartSyslog(*cfg);
      SchedulerDuties(*cfg);
    } else {
      log_.Warn("scheduling-lost", "", 0,
                {{"owner", owner_}, {"detail", "another process schedules; this one serves the page and runs restores"}});
      syslog_.reset();
    }
  }

  void ArmSchedulingPoll() {
    const double every = std::clamp(config()->appliance.lease_s / 3, 1.0, 5.0);
    lead_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(every * 1000)));
    lead_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      Blocking([this] {
        CheckScheduling();
        asio::post(io_, [this] { ArmSchedulingPoll(); });
      });
    });
  }

  // On the blocking pool: a forwarder for [syslog] as configured now. One for another target
  // (or none) is stopped first; each target's cursor stays in the store.
  void StartSyslog(const Config& cfg) {
    if (syslog_ && cfg.syslog && syslog_->config() == *cfg.syslog) return;
    syslog_.reset();
    if (!cfg.syslog) return;
    syslog_ = std::make_unique<SyslogForwarder>(*cfg.syslog, store_.get(), &log_);
    syslog_->Start();
  }

  // The restoration log's head, signed with the appliance's key: at start-up, then daily.
  void SignCheckpoint(const Config& cfg) {
    std::unique_ptr<SigningKey> key;
    if (Status s = SigningKey::LoadOrCreate(cfg.appliance.data_dir, &key); !s.ok()) {
      log_.Error("checkpoint-failed", "", 0, {{"error", s.message()}});
      return;
    }
    std::optional<LogCheckpoint> made;
    if (Status s = Checkpoint(*store_, *key, NowS(), &made); !s.ok())
      log_.Error("checkpoint-failed", "", 0, {{"error", s.message()}});
    else if (made)
      log_.Info("log-checkpoint", "", 0, {{"seq", made->seq}, {"head", made->head_hash}, {"key", made->key_fingerprint}});
  }

  // Every target's copies judged against its policy (without hashing archives): the snapshot
  // is kept, and a target turning failing or stale, or recovering, is told.
  void CheckCatalog(const Config& cfg) {
    for (const auto& t : cfg.targets) {
      if (draining_) return;
      const TargetEvaluation e = CheckTarget(cfg, t, NowS(), /*compare_content=*/false, nullptr, store_.get());
      store_->PutCatalogSnapshot(t.name, NowS(), std::string(VerdictName(e.verdict)), EncodeJson(e));
      notifications_.OnCatalogChecked(cfg, store_.get(), e, NowS());
    }
    log_.Info("catalog-checked", "", 0, {{"targets", cfg.targets.size()}});
  }

  void OnRunFinished(const RunRecord& run) {
    AfterRunFinished(*config(), store_.get(), run, &notifications_, &log_);
    wake_.notify_all();  // the notifier: the run's notifications
  }

  void NotifierLoop() {
    while (!notifier_stop_) {
      try {
        notifications_.DeliverDue(*config(), store_.get(), NowS(), &log_);
      } catch (const std::exception& e) {
        log_.Error("notify-error", "", 0, {{"error", e.what()}});
      }
      std::unique_lock lock(wake_mu_);
      wake_.wait_for(lock, std::chrono::seconds(1));
    }
  }

  const ServeOptions options_;
  EventLog log_;
  std::unique_ptr<Store> store_;
  std::mutex mu_;  // config_, config_hash_
  std::shared_ptr<const Config> config_;
  std::string config_hash_;
  const std::string owner_;
  asio::io_context io_;
  asio::thread_pool blocking_{1};
  asio::signal_set signals_;
  asio::steady_timer schedule_timer_, sweep_timer_, lead_timer_, drain_timer_;
  std::atomic<bool> draining_{false}, notifier_stop_{false}, ready_{false};
  std::atomic<bool> scheduling_{false};  // this process schedules (CheckScheduling)
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread notifier_;
  std::thread drain_thread_;
  std::set<int64_t> pending_drills_;  // the blocking pool's only
  static constexpr int64_t kCatalogEvery = 600;
  static constexpr int64_t kCheckpointEvery = 86400;
  int64_t next_checkpoint_ = 0;  // the blocking pool's only
  int64_t next_catalog_check_ = 0;  // the blocking pool's only
  NotificationPolicy notifications_;
  // After what its threads use, so that they end first.
  RunnerPool pool_{[this] {
                     const int64_t now = NowS();
                     return store_->ClaimRun(owner_, now, now + static_cast<int64_t>(config()->appliance.lease_s));
                   },
                   [this] { return Context(); }, &log_};
  std::unique_ptr<SyslogForwarder> syslog_;  // the blocking pool's only, until it is joined
  std::unique_ptr<ServeExtension> extension_;  // the web server; destroyed before the store
};

}  // namespace

int ServeCommand(const ServeOptions& options, std::ostream& err) {
  Appliance appliance;
  if (const int rc = OpenAppliance(options.config_path, &appliance, err, /*integrity_check=*/true); rc != 0) return rc;
  Controller controller(options, std::move(appliance), err);
  return controller.Run();
}

}  // namespace rp
