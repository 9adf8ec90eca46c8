// The store, the queue's claims and leases, the scheduler's catch-up and the restore-test rule,
// on real SQLite files in a per-test directory.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rp/config.h"
#include "rp/notify_policy.h"
#include "rp/scheduler.h"
#include "rp/store.h"
#include "rp/targets.h"
#include "store_backends.h"
#include "testkit.h"

namespace rp {
namespace {

// A store's tests, on SQLite (RulesTest, and what only a file can show) ...
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    path_ = dir_ + "/restoreproof.db";
  }

  // Every call opens the same store (a new connection to it).
  std::unique_ptr<Store> Open() {
    if (!stores_) stores_ = std::make_unique<test::BackendStores>(backend_, path_);
    return stores_->Open();
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  test::TempDir tmp_;
  std::string dir_, path_;
  test::StoreBackend backend_ = test::StoreBackend::kSqlite;
  std::unique_ptr<test::BackendStores> stores_;
};
using SqliteStoreTest = StoreFixture;

// ... and the store's behaviour on both backends (StoreTest/SQLite.*, StoreTest/PostgreSQL.*).
class StoreTest : public StoreFixture, public ::testing::WithParamInterface<test::StoreBackend> {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    backend_ = GetParam();
  }
};

RunRequest Req(const std::string& target) {
  RunRequest q;
  q.target = target;
  q.trigger = Trigger::kOperator;
  return q;
}

TEST_P(StoreTest, OpensMigratesAndKeepsWhatItStoredAcrossReopens) {
  int64_t id = 0;
  {
    auto s = Open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->SchemaVersion(), 10);
    id = s->EnqueueRun(Req("payroll"), 1000);
  }
  auto s = Open();
  ASSERT_TRUE(s);
  const auto run = s->GetRun(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->request.target, "payroll");
  EXPECT_EQ(run->state, RunState::kQueued);
  EXPECT_EQ(run->queued_at, 1000);
}

TEST_F(SqliteStoreTest, ADamagedStoreIsRefusedAndLeftAsItIs) {
  {
    auto s = Open();
    for (int i = 0; i < 200; ++i) s->EnqueueRun(Req("t" + std::to_string(i)), i);
  }
  // A checkpointed file whose b-tree pages after the first have damaged headers.
  ASSERT_EQ(std::system(("sqlite3 " + test::ShellQuote(path_) + " 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null").c_str()), 0);
  std::string bytes = Slurp(path_);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  for (size_t page = 1; page * 4096 < bytes.size(); ++page)
    for (size_t i = page * 4096; i < page * 4096 + 12; ++i) bytes[i] = static_cast<char>(0xA5);
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  std::unique_ptr<Store> s;
  const Status st = OpenSqliteStore(path_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kEnvironment);
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.message();
  EXPECT_EQ(Slurp(path_), bytes) << "a damaged store is never recreated or repaired";
}

TEST_F(SqliteStoreTest, AFileThatIsNotAStoreIsRefused) {
  std::ofstream(path_) << "this is not a database, but it has more than a header's worth of text in it ........";
  std::unique_ptr<Store> s;
  EXPECT_FALSE(OpenSqliteStore(path_, &s).ok());
  ASSERT_EQ(std::system(("rm -f " + test::ShellQuote(path_) + " && sqlite3 " + test::ShellQuote(path_) +
                         " 'CREATE TABLE other (x INTEGER);'").c_str()),
            0);
  const Status st = OpenSqliteStore(path_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a restoreproof store"), std::string::npos) << st.message();
}

TEST_F(SqliteStoreTest, AStoreFromANewerVersionIsRefused) {
  Open();
  ASSERT_EQ(std::system(("sqlite3 " + test::ShellQuote(path_) + " 'UPDATE schema_version SET version = 99;'").c_str()), 0);
  std::unique_ptr<Store> s;
  const Status st = OpenSqliteStore(path_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("newer"), std::string::npos) << st.message();
}

TEST_P(StoreTest, ClaimsTakeOneRunOfATargetAtATimeOldestFirst) {
  auto s = Open();
  const int64_t a1 = s->EnqueueRun(Req("a"), 10);
  const int64_t a2 = s->EnqueueRun(Req("a"), 11);
  const int64_t b1 = s->EnqueueRun(Req("b"), 12);
  auto c1 = s->ClaimRun("me", 100, 200);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->id, a1);
  EXPECT_EQ(c1->state, RunState::kRunning);
  EXPECT_EQ(c1->lease_owner, "me");
  auto c2 = s->ClaimRun("me", 100, 200);
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->id, b1) << "a's second run waits while a's first runs";
  EXPECT_FALSE(s->ClaimRun("me", 100, 200));
  RunOutcome o;
  o.state = RunState::kPassed;
  o.finished_at = 150;
  ASSERT_TRUE(s->FinishRun(a1, "me", o));
  auto c3 = s->ClaimRun("me", 151, 250);
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->id, a2);
}

TEST_P(StoreTest, ARunIsNotClaimedBeforeItsNotBefore) {
  auto s = Open();
  RunRequest q = Req("a");
  q.not_before = 500;
  s->EnqueueRun(q, 10);
  EXPECT_FALSE(s->ClaimRun("me", 499, 600));
  EXPECT_TRUE(s->ClaimRun("me", 500, 600));
}

TEST_P(StoreTest, OnlyTheLeaseHolderRecordsAResult) {
  auto s = Open();
  const int64_t id = s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("holder", 100, 200));
  RunOutcome o;
  o.state = RunState::kPassed;
  o.finished_at = 120;
  EXPECT_FALSE(s->FinishRun(id, "someone-else", o));
  EXPECT_FALSE(s->RenewLease(id, "someone-else", 300, nullptr));
  EXPECT_EQ(s->GetRun(id)->state, RunState::kRunning);
  EXPECT_TRUE(s->FinishRun(id, "holder", o));
  EXPECT_EQ(s->GetRun(id)->state, RunState::kPassed);
  EXPECT_FALSE(s->FinishRun(id, "holder", o)) << "a run ends once";
}

TEST_P(StoreTest, AnExpiredLeaseIsInterruptedNeverPassedAndQueuedAgain) {
  auto s = Open();
  const int64_t id = s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("gone", 100, 130));
  ASSERT_TRUE(s->RecordStart(id, "gone", "p-1", 90, "site-b", 7, "w", "0.1.0", "hash"));
  EXPECT_TRUE(s->InterruptStale(129, nullptr).empty()) << "the lease still holds";
  const auto interrupted = s->InterruptStale(131, nullptr);
  ASSERT_EQ(interrupted.size(), 1u);
  EXPECT_EQ(s->GetRun(id)->state, RunState::kInterrupted);
  RunOutcome o;
  o.state = RunState::kPassed;
  EXPECT_FALSE(s->FinishRun(id, "gone", o)) << "a process that lost its lease cannot record a result";
  RunFilter f;
  f.state = RunState::kQueued;
  const auto queued = s->ListRuns(f);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].request.retry_of, id);
  EXPECT_EQ(queued[0].request.attempt, 2);
  EXPECT_EQ(queued[0].request.location, "site-b") << "the same point at the same copy is tried again";
  EXPECT_EQ(queued[0].request.point_id, "p-1");
  EXPECT_EQ(queued[0].request.seed, 7u);
  EXPECT_TRUE(s->InterruptStale(200, nullptr).empty()) << "interrupted once, queued again once";
}

TEST_P(StoreTest, ARunOfADeadProcessIsInterruptedAtOnce) {
  auto s = Open();
  s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("dead-owner", 100, 10'000));
  const auto interrupted = s->InterruptStale(101, [](const std::string& owner) { return owner == "dead-owner"; });
  ASSERT_EQ(interrupted.size(), 1u);
  EXPECT_NE(interrupted[0].message.find("dead-owner"), std::string::npos);
}

TEST_P(StoreTest, CancelEndsAQueuedRunAndAsksARunningOneToStop) {
  auto s = Open();
  const int64_t running = s->EnqueueRun(Req("a"), 10);
  const int64_t queued = s->EnqueueRun(Req("b"), 11);
  ASSERT_TRUE(s->ClaimRun("me", 100, 200));
  EXPECT_TRUE(s->CancelRun(queued, 120, "by test"));
  EXPECT_EQ(s->GetRun(queued)->state, RunState::kCancelled);
  EXPECT_TRUE(s->CancelRun(running, 120, "by test"));
  bool cancel = false;
  ASSERT_TRUE(s->RenewLease(running, "me", 300, &cancel));
  EXPECT_TRUE(cancel);
  EXPECT_FALSE(s->CancelRun(queued, 130, "again")) << "an ended run cannot be cancelled";
  EXPECT_FALSE(s->CancelRun(9999, 130, "none"));
}

TEST_P(StoreTest, AnEnvironmentRetryIsQueuedWithTheResultInOneStep) {
  auto s = Open();
  const int64_t id = s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("me", 100, 200));
  RunOutcome o;
  o.state = RunState::kAborted;
  o.finished_at = 110;
  RunRequest again = Req("a");
  again.retry_of = id;
  again.attempt = 2;
  again.not_before = 170;
  o.retry = again;
  ASSERT_TRUE(s->FinishRun(id, "me", o));
  EXPECT_FALSE(s->ClaimRun("me", 169, 300));
  auto next = s->ClaimRun("me", 170, 300);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->request.retry_of, id);
}

TEST_P(StoreTest, ASlotFiresOnceWhenTwoSchedulersReadTheSameMark) {
  auto first = Open();
  auto second = Open();
  first->SetScheduleMark("test:a:0", 100);
  FireItem item;
  item.key = "test:a:0";
  item.old_slot = 100;  // both read 100
  item.new_slot = 200;
  item.run = Req("a");
  first->Fire({item}, 200);
  second->Fire({item}, 200);
  EXPECT_EQ(first->ListRuns({}).size(), 1u) << "the second scheduler finds the mark moved and queues nothing";
  EXPECT_EQ(first->ScheduleMark("test:a:0"), 200);
  FireItem drill;
  drill.key = "drill:monthly";
  drill.new_slot = 300;  // no mark yet, read by both
  drill.drill = DrillRecord{};
  drill.drill->name = "monthly";
  drill.drill->targets = {"a", "b"};
  drill.drill_runs = {Req("a"), Req("b")};
  EXPECT_EQ(first->Fire({drill}, 300).size(), 1u);
  EXPECT_TRUE(second->Fire({drill}, 300).empty());
  EXPECT_EQ(first->ListDrills(10).size(), 1u);
}

TEST_P(StoreTest, ACancelledRunOfADeadProcessEndsCancelledAndIsNotQueuedAgain) {
  auto s = Open();
  const int64_t id = s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("dead", 100, 10'000));
  ASSERT_TRUE(s->CancelRun(id, 110, "cancelled by anna"));
  const auto ended = s->InterruptStale(120, [](const std::string&) { return true; });
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(s->GetRun(id)->state, RunState::kCancelled);
  RunFilter f;
  f.state = RunState::kQueued;
  EXPECT_TRUE(s->ListRuns(f).empty());
}

TEST_P(StoreTest, ANotificationIsTakenForAnAttemptByOneProcessOnly) {
  auto first = Open();
  auto second = Open();
  NotificationRecord n;
  n.channel = "hook";
  n.event = "run-failed";
  n.created_at = 100;
  n.next_attempt = 100;
  first->EnqueueNotification(n);
  const auto due = first->DueNotifications(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(first->ClaimNotification(due[0], 200));
  EXPECT_FALSE(second->ClaimNotification(due[0], 200)) << "read before the first took it: not sent twice";
  EXPECT_TRUE(second->DueNotifications(150, 10).empty());
}

// Two connections (as two processes, or serve and `drill run`) claiming at once never share a run.
TEST_P(StoreTest, ConcurrentClaimsFromTwoConnectionsNeverShareARun) {
  auto first = Open();
  auto second = Open();
  constexpr int kRuns = 300;
  for (int i = 0; i < kRuns; ++i) first->EnqueueRun(Req("t" + std::to_string(i % 60)), i);
  std::mutex mu;
  std::map<int64_t, int> claimed;
  const auto claimer = [&](Store* store, const std::string& who) {
    for (;;) {
      auto run = store->ClaimRun(who, 100, 1000);
      if (!run) {
        RunFilter f;
        f.state = RunState::kQueued;
        f.limit = 1;
        if (store->ListRuns(f).empty()) return;
        continue;
      }
      {
        std::lock_guard lock(mu);
        ++claimed[run->id];
      }
      RunOutcome o;
      o.state = RunState::kPassed;
      o.finished_at = 101;
      EXPECT_TRUE(store->FinishRun(run->id, who, o));
    }
  };
  std::thread a(claimer, first.get(), "a"), b(claimer, second.get(), "b");
  a.join();
  b.join();
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kRuns));
  for (const auto& [id, n] : claimed) EXPECT_EQ(n, 1) << "run " << id;
}

TEST_P(StoreTest, AClaimTakesOnlyRunsOfTheFilteredTargetsAndLocations) {
  auto s = Open();
  RunRequest at_b = Req("a");
  at_b.location = "site-b";  // a retry that must read site-b's copy
  const int64_t a_b = s->EnqueueRun(at_b, 10);
  const int64_t b_any = s->EnqueueRun(Req("b"), 11);
  const int64_t c_any = s->EnqueueRun(Req("c"), 12);
  ClaimFilter only_c;
  only_c.targets = std::vector<std::string>{"c"};
  auto c = s->ClaimRun("agent", 100, 200, only_c);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, c_any);
  ClaimFilter none;
  none.targets = std::vector<std::string>{};
  EXPECT_FALSE(s->ClaimRun("agent", 100, 200, none)) << "an empty target list claims nothing";
  ClaimFilter site_a;
  site_a.locations = std::vector<std::string>{"site-a"};
  auto b = s->ClaimRun("agent", 100, 200, site_a);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, b_any) << "the run that must read site-b is passed over by an agent of site-a";
  EXPECT_FALSE(s->ClaimRun("agent", 100, 200, site_a));
  ClaimFilter site_b;
  site_b.targets = std::vector<std::string>{"a", "c"};
  site_b.locations = std::vector<std::string>{"site-x", "site-b"};
  auto a = s->ClaimRun("agent", 100, 200, site_b);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, a_b);
}

TEST_P(StoreTest, AFinishedRunNamesTheDatabaseRoleThatRecordedIt) {
  auto s = Open();
  const int64_t id = s->EnqueueRun(Req("a"), 10);
  ASSERT_TRUE(s->ClaimRun("me", 100, 200));
  EXPECT_EQ(s->GetRun(id)->db_role, "");
  RunOutcome o;
  o.state = RunState::kPassed;
  o.finished_at = 120;
  ASSERT_TRUE(s->FinishRun(id, "me", o));
  const std::string expected = GetParam() == test::StoreBackend::kPostgres ? stores_->server()->superuser() : "";
  EXPECT_EQ(s->GetRun(id)->db_role, expected);
  EXPECT_EQ(s->Backend(), GetParam() == test::StoreBackend::kPostgres ? "postgresql" : "sqlite");
}

TEST_P(StoreTest, OneStoreConnectionAtATimeHoldsTheScheduler) {
  auto first = Open();
  auto second = Open();
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->HoldScheduling());
  EXPECT_TRUE(first->HoldScheduling()) << "held, and still held";
  if (GetParam() == test::StoreBackend::kSqlite) {
    EXPECT_TRUE(second->HoldScheduling()) << "SQLite: every process schedules (Fire fires a slot once)";
    return;
  }
  EXPECT_FALSE(second->HoldScheduling()) << "PostgreSQL: the first holds the advisory lock";
  first.reset();  // its connections close: the server releases the lock
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    taken = second->HoldScheduling();
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(taken);
  // The server ends the connection holding the lock (a restart, a network failure): the next
  // call finds it dead, connects again and takes the lock again.
  std::string out;
  ASSERT_EQ(stores_->server()->Psql(stores_->database(),
                                    "-tA -c \"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())\"",
                                    &out),
            0)
      << out;
  EXPECT_EQ(out, "t\n") << "the one connection holding the lock was ended";
  EXPECT_TRUE(second->HoldScheduling()) << "reconnected and holding again";
  auto third = Open();
  EXPECT_FALSE(third->HoldScheduling());
}

TEST_P(StoreTest, ConcurrentLogAppendsFromSeveralConnectionsFormOneChain) {
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(Open());
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < kEach; ++k) {
        LogRecord r;
        r.time = 1000 + k;
        r.kind = LogKind::kScheduledTest;
        r.target = "t" + std::to_string(i);
        stores[static_cast<size_t>(i)]->AppendLog(r);
      }
    });
  for (auto& t : threads) t.join();
  const auto log = stores[0]->ReadLog(1, 0);
  ASSERT_EQ(log.size(), static_cast<size_t>(kThreads * kEach));
  std::string prev(kLogGenesisHash);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(log[i].prev_hash, prev) << "record " << log[i].seq << " chains to the one before it";
    EXPECT_EQ(log[i].hash, LogRecordHash(log[i].prev_hash, log[i]));
    prev = log[i].hash;
  }
}

TEST_P(StoreTest, TwoConnectionsSwappingATargetStateSeeEachOthersChange) {
  auto first = Open();
  auto second = Open();
  EXPECT_EQ(first->SwapTargetState("a", "restore-test", "failing", 10), "");
  EXPECT_EQ(second->SwapTargetState("a", "restore-test", "failing", 11), "failing");
  EXPECT_EQ(second->SwapTargetState("a", "restore-test", "ok", 12), "failing");
}

// Several connections (agents on several hosts) claiming and finishing at once: no run is held
// by two, and no target ever has two runs running.
TEST_P(StoreTest, ManyConnectionsClaimingAtOnceNeverShareARunNorRunATargetTwice) {
  constexpr int kThreads = 6, kRuns = 240, kTargets = 12;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(Open());
  for (int i = 0; i < kRuns; ++i) stores[0]->EnqueueRun(Req("t" + std::to_string(i % kTargets)), i);
  std::mutex mu;
  std::map<int64_t, int> claimed;
  std::map<std::string, int> running;
  int overlaps = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      Store* store = stores[static_cast<size_t>(i)].get();
      const std::string who = "agent-" + std::to_string(i);
      for (int idle = 0; idle < 200;) {
        auto run = store->ClaimRun(who, 100, 1000);
        if (!run) {
          RunFilter f;
          f.state = RunState::kQueued;
          f.limit = 1;
          if (store->ListRuns(f).empty()) return;
          ++idle;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        {
          std::lock_guard lock(mu);
          ++claimed[run->id];
          if (++running[run->request.target] > 1) ++overlaps;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        {
          std::lock_guard lock(mu);
          --running[run->request.target];
        }
        RunOutcome o;
        o.state = RunState::kPassed;
        o.finished_at = 101;
        EXPECT_TRUE(store->FinishRun(run->id, who, o));
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kRuns));
  for (const auto& [id, n] : claimed) EXPECT_EQ(n, 1) << "run " << id;
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(stores[0]->CountEndedRuns()[RunState::kPassed], kRuns);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(test::StoreBackend::kSqlite, test::StoreBackend::kPostgres),
                         test::StoreBackendName);

class RulesTest : public StoreFixture {
 protected:
  Config Load(const std::string& extra_policy = "") {
    const std::string cfg = dir_ + "/c.toml";
    std::ofstream(cfg) << "[appliance]\ndata_dir = \"" << dir_ << "\"\ntimezone = \"Europe/Stockholm\"\n"
                       << "[policy]\nrestore_test_interval = \"7d\"\n" << extra_policy
                       << "[[targets]]\nname = \"payroll\"\nowner = \"Anna\"\nclassification = { K = 1, R = 1, T = 1 }\n"
                          "personal_data = \"none\"\n"
                          "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"dir-snapshots\"\npath = \"/nonexistent-a\"\n"
                          "[[targets.copies]]\nlocation = \"site-b\"\nkind = \"dir-snapshots\"\npath = \"/nonexistent-b\"\n"
                          "[[targets.tests]]\nschedule = \"@hourly\"\n";
    ConfigResult r = LoadConfigFile(cfg);
    EXPECT_TRUE(r.errors.empty()) << FormatConfigErrors(r);
    return r.config;
  }

  void Passed(Store* s, const std::string& location, int64_t at) {
    const int64_t id = s->EnqueueRun(Req("payroll"), at - 10);
    auto run = s->ClaimRun("me", at - 10, at + 100);
    ASSERT_TRUE(run);
    ASSERT_EQ(run->id, id);
    ASSERT_TRUE(s->RecordStart(id, "me", "p", at - 20, location, 0, "w", "v", "h"));
    RunOutcome o;
    o.state = RunState::kPassed;
    o.finished_at = at;
    ASSERT_TRUE(s->FinishRun(id, "me", o));
  }

  static std::vector<PolicyFinding> Of(const TargetEvaluation& ev, PolicyRule rule) {
    std::vector<PolicyFinding> out;
    for (const auto& f : ev.findings)
      if (f.rule == rule) out.push_back(f);
    return out;
  }
};

TEST_F(RulesTest, RestoreTestRuleReadsTheRunHistory) {
  const Config cfg = Load();
  auto s = Open();
  const int64_t now = 2'000'000'000;
  TargetEvaluation ev;
  AddRestoreTestFindings(cfg, cfg.targets[0], s.get(), now, &ev);
  ASSERT_EQ(Of(ev, PolicyRule::kRestoreTest).size(), 1u) << "never tested";
  EXPECT_EQ(ev.verdict, Verdict::kFailing);
  EXPECT_EQ(Of(ev, PolicyRule::kRestoreTestCopy).size(), 2u);

  Passed(s.get(), "site-a", now - 86400);
  ev = TargetEvaluation{};
  AddRestoreTestFindings(cfg, cfg.targets[0], s.get(), now, &ev);
  EXPECT_TRUE(Of(ev, PolicyRule::kRestoreTest).empty());
  const auto copies = Of(ev, PolicyRule::kRestoreTestCopy);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].location, "site-b") << "the copy never restore-tested is named";
  EXPECT_EQ(copies[0].severity, Verdict::kWarning);
  EXPECT_EQ(ev.verdict, Verdict::kWarning);

  ev = TargetEvaluation{};
  AddRestoreTestFindings(cfg, cfg.targets[0], s.get(), now + 8 * 86400, &ev);
  const auto stale = Of(ev, PolicyRule::kRestoreTest);
  ASSERT_EQ(stale.size(), 1u) << "the last pass is older than the 7-day interval";
  EXPECT_EQ(ev.verdict, Verdict::kFailing);
  ASSERT_TRUE(stale[0].age_s);
  EXPECT_DOUBLE_EQ(*stale[0].age_s, 9 * 86400.0);
}

TEST_F(RulesTest, ASlotMissedWhileDownFiresOnceAndARunningTestIsNotQueuedAgain) {
  const Config cfg = Load();
  auto s = Open();
  const int64_t now = 2'000'000'000;
  FireResult r = FireDue(cfg, s.get(), now, nullptr);
  EXPECT_EQ(r.runs_queued, 0u) << "a new schedule waits for its next slot";
  EXPECT_GT(r.next, now);
  EXPECT_LE(r.next, now + 3600);
  EXPECT_EQ(s->ScheduleMark("test:payroll:0"), now);

  s->SetScheduleMark("test:payroll:0", now - 3 * 86400);  // down for three days: 72 slots missed
  r = FireDue(cfg, s.get(), now, nullptr);
  EXPECT_EQ(r.runs_queued, 1u) << "caught up once, not once per missed slot";
  EXPECT_EQ(FireDue(cfg, s.get(), now, nullptr).runs_queued, 0u);

  s->SetScheduleMark("test:payroll:0", now - 7200);
  r = FireDue(cfg, s.get(), now, nullptr);
  EXPECT_EQ(r.runs_queued, 0u) << "the previous scheduled run is still queued";
  EXPECT_EQ(r.coalesced, 1u);
  RunFilter f;
  f.target = "payroll";
  EXPECT_EQ(s->ListRuns(f).size(), 1u);
}

TEST_F(RulesTest, ADueDrillQueuesOneRunPerTarget) {
  const Config cfg = Load();
  auto s = Open();
  const int64_t now = 2'000'000'000;
  FireDue(cfg, s.get(), now - 40 * 86400, nullptr);  // marks set 40 days ago: a monthly drill is due
  const FireResult r = FireDue(cfg, s.get(), now, nullptr);
  ASSERT_EQ(r.drills_started.size(), 1u);
  RunFilter f;
  f.drill_id = r.drills_started[0];
  const auto runs = s->ListRuns(f);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].request.trigger, Trigger::kDrill);
  EXPECT_EQ(runs[0].request.target, "payroll");
}

TEST_F(RulesTest, AChannelThatIsDownIsTriedAgainWithBackoffAndRecorded) {
  Config cfg = Load();
  NotifyConfig hook;
  hook.name = "hook";
  hook.kind = NotifyKind::kWebhook;
  hook.url = "http://127.0.0.1:1/down";  // nothing listens on port 1
  hook.secret_file = dir_ + "/hook.key";
  hook.timeout_s = 2;
  std::ofstream(hook.secret_file) << "key\n";
  cfg.notify.push_back(hook);
  cfg.targets[0].notify = {"hook"};
  auto s = Open();
  NotificationPolicy policy;
  RunRecord run;
  run.id = 1;
  run.request.target = "payroll";
  run.state = RunState::kFailed;
  const int64_t now = 2'000'000'000;
  policy.OnRunFinished(cfg, s.get(), run, now);
  policy.OnRunFinished(cfg, s.get(), run, now + 1);  // still failing: no second message
  ASSERT_EQ(s->ListNotifications(10).size(), 1u);

  policy.DeliverDue(cfg, s.get(), now, nullptr);
  auto n = s->ListNotifications(10)[0];
  EXPECT_EQ(n.attempts, 1);
  EXPECT_EQ(n.sent_at, 0);
  EXPECT_FALSE(n.given_up);
  EXPECT_NE(n.outcome.find("refused"), std::string::npos) << n.outcome;
  EXPECT_EQ(n.next_attempt, now + 30);
  policy.DeliverDue(cfg, s.get(), now + 10, nullptr);  // not due yet
  EXPECT_EQ(s->ListNotifications(10)[0].attempts, 1);
  policy.DeliverDue(cfg, s.get(), now + 30, nullptr);
  n = s->ListNotifications(10)[0];
  EXPECT_EQ(n.attempts, 2);
  EXPECT_EQ(n.next_attempt, now + 30 + 60) << "the wait doubles";
  for (int i = 0; i < NotificationPolicy::kMaxAttempts; ++i) policy.DeliverDue(cfg, s.get(), now + 100'000 * (i + 1), nullptr);
  n = s->ListNotifications(10)[0];
  EXPECT_TRUE(n.given_up);
  EXPECT_EQ(n.attempts, NotificationPolicy::kMaxAttempts);
}

}  // namespace
}  // namespace rp
