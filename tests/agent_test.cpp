// Restore agents and serve on several hosts (docs/multi-host.md), as an operator meets them: the
// real binary as separate processes, each agent a "host" of its own (a UTS namespace with its own
// host name, so no agent can tell from /proc that another died, and, on PostgreSQL, a network
// namespace reaching the database over a veth link), real tar archives with manifests at two
// sites, and the real store read back through rp::Store. Leases are 3 s, so a dead or cut-off
// agent's run is taken over in seconds. Every wait polls the store or a log against a deadline.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/store.h"
#include "rp/store_url.h"
#include "process_kit.h"
#include "testkit.h"

#include "rp/pg_server.h"

extern char** environ;

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;
using test::WaitFor;

int64_t NowUtc() { return static_cast<int64_t>(time(nullptr)); }

std::string UtcStamp(int64_t t) {
  const time_t s = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

// Says once, in the test's output, how the "hosts" are made here.
void Note(const std::string& text) { std::printf("[   NOTE   ] %s\n", text.c_str()); }

// --- hosts: a UTS namespace each, and a network namespace with a veth link when they can be made --

bool CanUnshareUts() {
  static const bool ok = test::Run("unshare --uts true >/dev/null 2>&1") == 0;
  return ok;
}

// 10.NET.0.0/16 with NET in 100-199 that no interface of this namespace has an address in (a test
// process killed before its clean-up leaves its links behind), chosen once per test process.
int FreeNet() {
  static const int net = [] {
    std::string out;
    test::Run("ip -4 -o addr show 2>/dev/null", &out);
    for (int n = 100 + static_cast<int>(getpid() % 100), k = 0; k < 100; ++k, n = 100 + (n - 99) % 100)
      if (out.find(" 10." + std::to_string(n) + ".") == std::string::npos) return n;
    return 100;
  }();
  return net;
}

// A network namespace `name` joined to this one by a veth pair: the host end (in this namespace)
// has address `host_ip`, the agent end `agent_ip`. Removed (with its link) on destruction.
class NetHost {
 public:
  NetHost(const std::string& name, int index) : name_(name) {
    const int net = FreeNet();  // 10.NET.INDEX.0/30
    host_ip_ = "10." + std::to_string(net) + "." + std::to_string(index) + ".1";
    agent_ip_ = "10." + std::to_string(net) + "." + std::to_string(index) + ".2";
    host_if_ = "rph" + std::to_string(getpid() % 100000) + "x" + std::to_string(index);
    const std::string peer = "rpa" + std::to_string(getpid() % 100000) + "x" + std::to_string(index);
    const std::string cmd = "ip netns add " + name_ + " && ip link add " + host_if_ + " type veth peer name " + peer +
                            " && ip link set " + peer + " netns " + name_ + " && ip addr add " + host_ip_ + "/30 dev " +
                            host_if_ + " && ip link set " + host_if_ + " up && ip netns exec " + name_ +
                            " sh -c 'ip link set lo up && ip addr add " + agent_ip_ + "/30 dev " + peer +
                            " && ip link set " + peer + " up'";
    std::string out;
    ok_ = test::Run("{ " + cmd + "; } 2>&1", &out) == 0;
    error_ = out;
  }
  ~NetHost() {
    test::Run("ip link del " + host_if_ + " >/dev/null 2>&1");
    test::Run("ip netns del " + name_ + " >/dev/null 2>&1");
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& host_ip() const { return host_ip_; }
  // Cuts the host off (its link down) or joins it again.
  bool SetLink(bool up) { return test::Run("ip link set " + host_if_ + (up ? " up" : " down")) == 0; }

 private:
  std::string name_, host_ip_, agent_ip_, host_if_, error_;
  bool ok_ = false;
};

// --- the shared store ----------------------------------------------------------------------------

// PostgreSQL (the test helper's server, listening on 127.0.0.1 and on `addresses`, the host ends
// of the agents' links); when it cannot start, the test fails and goes on with one SQLite file
// that every process opens (several processes on one SQLite store work too, through its locks).
class SharedStore {
 public:
  SharedStore(const std::string& dir, const std::vector<std::string>& addresses) : dir_(dir) {
    std::filesystem::create_directories(data_dir());
    test::PgServerOptions options;
    options.extra_listen_addresses = addresses;
    pg_ = std::make_unique<test::PgServer>(options);
    if (pg_->ok()) {
      database_ = pg_->NewDatabase();
    } else {
      // scripts/deps.sh installs PostgreSQL: a server that does not start is a failure, not a
      // reason to test something else. The rest still runs on SQLite, to say what else fails.
      ADD_FAILURE() << "PostgreSQL could not be started (" << pg_->error() << "): the SQLite store instead";
      pg_.reset();
    }
  }
  bool network() const { return pg_ != nullptr; }
  std::string data_dir() const { return dir_ + "/shared-data"; }
  // The [store] section of a process that reaches the database at `address` ("" : 127.0.0.1).
  std::string ConfigSection(const std::string& address = "") const {
    if (pg_)
      return "[store]\nurl = \"postgresql://" + pg_->superuser() + "@" + (address.empty() ? "127.0.0.1" : address) + ":" +
             std::to_string(pg_->port()) + "/" + database_ + "\"\npassword_file = \"" + pg_->password_file() + "\"\n\n";
    return "";
  }
  std::unique_ptr<Store> Open() const {
    std::unique_ptr<Store> store;
    Status s = Status::Ok();
    if (pg_) {
      StoreUrl url;
      url.user = pg_->superuser();
      url.host = "127.0.0.1";
      url.port = pg_->port();
      url.database = database_;
      s = OpenPostgresStore(url, pg_->password(), &store);
      EXPECT_TRUE(s.ok()) << s.message();
      return store;
    }
    s = OpenSqliteStore(StorePath(data_dir()), &store, false);
    EXPECT_TRUE(s.ok()) << s.message();
    return store;
  }

 private:
  std::string dir_;
  std::unique_ptr<test::PgServer> pg_;
  std::string database_;
};

// --- the estate ------------------------------------------------------------------------------------

// A [[targets.tests]] entry whose check sleeps `seconds` inside the worker's sandbox: a run that
// lasts as long as the test needs. `@yearly` never fires within a test.
std::string SleepTest(int seconds) {
  return "[[targets.tests]]\nschedule = \"@yearly\"\nchecks = [ { kind = \"command\", argv = [\"/bin/sleep\", \"" +
         std::to_string(seconds) + "\"], timeout = \"" + std::to_string(seconds + 60) + "s\" } ]\n";
}

// Targets with one daily pax tar (and its xxh128 manifest) at the sites they name.
class Estate {
 public:
  explicit Estate(const std::string& root) : root_(root) {}

  void Add(const std::string& name, const std::vector<std::string>& sites, const std::string& tests,
           const std::string& keys = "") {
    SampleTreeOptions o;
    o.seed = std::hash<std::string>{}(name);
    o.files = 5;
    o.large_file_bytes = 32 * 1024;
    o.exotic_names = false;
    o.links = false;
    const auto tree = SampleTree(o);
    const std::string file = name + "-" + UtcStamp(NowUtc() / 86400 * 86400 - 86400 + 7200) + ".tar";
    std::string toml = "[[targets]]\nname = \"" + name +
                       "\"\nowner = \"Test Owner\"\nclassification = { K = 1, R = 1, T = 1 }\n"
                       "personal_data = \"none\"\nsandbox = \"disk\"\n" + keys;
    for (const auto& site : sites) {
      const std::string dir = root_ + "/" + site + "/" + name;
      std::filesystem::create_directories(dir);
      const Status s = WriteArchive(dir + "/" + file, ArchiveSpec{"pax", {}}, tree);
      EXPECT_TRUE(s.ok()) << s.message();
      test::WriteFile(dir + "/" + file + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
      toml += "[[targets.copies]]\nlocation = \"" + site + "\"\nkind = \"archive-dir\"\npath = \"" + dir +
              "\"\npattern = \"" + name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n";
    }
    targets_ += toml + tests + "\n";
  }
  const std::string& targets() const { return targets_; }

 private:
  std::string root_;
  std::string targets_;
};

// --- processes -------------------------------------------------------------------------------------

// A restoreproof process (`agent` or `serve`) in its own process group, stderr appended to `log`;
// started as a "host" of its own when `host_name` is given (a UTS namespace, and the network
// namespace `netns` when not empty). The pid is restoreproof's own: the wrappers exec it.
class Proc {
 public:
  Proc(const std::string& config, const std::string& command, const std::string& log, const std::string& host_name = "",
       const std::string& netns = "")
      : log_(log) {
    std::vector<std::string> args;
    if (!netns.empty()) args = {"/usr/bin/nsenter", "--net=/run/netns/" + netns};  // the network only: /sys stays
    if (!host_name.empty() && CanUnshareUts())
      args.insert(args.end(), {"/usr/bin/unshare", "--uts", "/bin/sh", "-c", "hostname \"$0\" && exec \"$@\"", host_name});
    args.insert(args.end(), {RP_BINARY, "--config", config, command});
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, &attr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    EXPECT_GT(pid_, 0) << "cannot start " << args[0];
  }
  ~Proc() {
    if (pid_ > 0 && !status_) {
      kill(-pid_, SIGCONT);
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }
  void Signal(int sig) const {
    if (pid_ > 0 && !status_) kill(pid_, sig);
  }
  // Its exit code (128 + signal when killed) once it ended within `timeout_s`.
  std::optional<int> Wait(double timeout_s) {
    WaitFor(
        [&] {
          int st = 0;
          if (!status_ && pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_)
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          return status_.has_value();
        },
        timeout_s);
    return status_;
  }
  // SIGKILL of the whole group (restoreproof and its worker), reaped.
  void Kill() {
    if (pid_ <= 0 || status_) return;
    kill(-pid_, SIGKILL);
    Wait(10);
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The pid in a lease owner or worker "host/pid/start-ticks".
pid_t PidOf(const std::string& owner) {
  const size_t a = owner.find('/');
  if (a == std::string::npos) return -1;
  return static_cast<pid_t>(std::atol(owner.c_str() + a + 1));
}

std::vector<json> Events(const std::string& log) {
  std::vector<json> out;
  std::istringstream in(test::ReadFile(log));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("event")) out.push_back(std::move(j));
  }
  return out;
}

std::optional<json> FindEvent(const std::string& log, const std::string& event,
                              const std::function<bool(const json&)>& pred = [](const json&) { return true; }) {
  for (const auto& j : Events(log))
    if (j["event"] == event && pred(j)) return j;
  return std::nullopt;
}

std::string LogText(const std::string& log) { return "\n--- " + log + " ---\n" + test::ReadFile(log); }

// Every run, oldest first: by id from 1 (a fresh store numbers its runs 1, 2, 3, ...) until ten
// ids in a row are not there.
std::vector<RunRecord> AllRuns(Store& store) {
  std::vector<RunRecord> runs;
  for (int64_t id = 1, missing = 0; missing < 10; ++id) {
    if (auto r = store.GetRun(id)) {
      runs.push_back(std::move(*r));
      missing = 0;
    } else {
      ++missing;
    }
  }
  return runs;
}

std::string Describe(const std::vector<RunRecord>& runs) {
  std::ostringstream os;
  for (const auto& r : runs)
    os << "  run " << r.id << " " << r.request.target << " " << RunStateName(r.state) << " retry_of "
       << r.request.retry_of << " [" << r.started_at << ", " << r.finished_at << ") at " << r.location << " by "
       << r.worker << (r.message.empty() ? "" : ": " + r.message) << "\n";
  return os.str();
}

bool NothingPending(Store& store) {
  for (const auto& r : AllRuns(store))
    if (!RunStateFinal(r.state)) return false;
  return true;
}

// The first run of each chain of retries (retry_of), by id: the job an operator queued.
int64_t RootOf(const std::map<int64_t, RunRecord>& by_id, int64_t id) {
  for (int guard = 0; guard < 100; ++guard) {
    const auto it = by_id.find(id);
    if (it == by_id.end() || it->second.request.retry_of == 0) return id;
    id = it->second.request.retry_of;
  }
  return id;
}

// For every queued job (by its first run): how many of its runs passed.
std::map<int64_t, int> PassedPerJob(const std::vector<RunRecord>& runs) {
  std::map<int64_t, RunRecord> by_id;
  for (const auto& r : runs) by_id[r.id] = r;
  std::map<int64_t, int> passed;
  for (const auto& r : runs) {
    const int64_t root = RootOf(by_id, r.id);
    passed[root] += r.state == RunState::kPassed ? 1 : 0;
  }
  return passed;
}

RunRequest OperatorRun(const std::string& target, const std::string& location = "") {
  RunRequest q;
  q.target = target;
  q.test_index = 0;
  q.trigger = Trigger::kOperator;
  q.requested_by = "agent_test";
  q.location = location;
  return q;
}

// Three agent "hosts" and what they share: the store, the estate's targets, the lease.
class Site {
 public:
  Site() : estate(dir / "backups") {
    for (int i = 1; i <= 3; ++i) {
      hosts.push_back(std::make_unique<NetHost>("rpag" + std::to_string(getpid()) + "n" + std::to_string(i), i));
      if (!hosts.back()->ok()) {
        Note("network namespaces are not available here (" + hosts.back()->error() +
             "): the agents run in this namespace, and a cut-off agent is stopped with SIGSTOP instead");
        hosts.clear();
        break;
      }
    }
    std::vector<std::string> addresses;
    for (const auto& h : hosts) addresses.push_back(h->host_ip());
    store = std::make_unique<SharedStore>(dir.path(), addresses);
    if (!store->network()) {
      Note("the SQLite store: the agents share one store file and this network namespace, and a cut-off agent is "
           "stopped with SIGSTOP");
      hosts.clear();
    }
    if (!CanUnshareUts()) Note("no UTS namespaces: the agents share this host name");
  }

  // Agent `i` (1..3): its own data and sandbox directories, its locations, its config file.
  std::string AgentConfig(int i, const std::vector<std::string>& locations, int workers = 1) {
    const std::string own = dir / ("agent" + std::to_string(i));
    std::filesystem::create_directories(own + "/sandboxes");
    std::string text = "[appliance]\ndata_dir = \"" + (store->network() ? own + "/data" : store->data_dir()) +
                       "\"\nsandbox_dir = \"" + own + "/sandboxes\"\ntimezone = \"UTC\"\nworkers = " +
                       std::to_string(workers) + "\nlease = \"3s\"\ndrain_grace = \"5s\"\nretry_backoff = \"1s\"\n\n";
    text += store->ConfigSection(hosts.empty() ? "" : hosts[static_cast<size_t>(i - 1)]->host_ip());
    if (!locations.empty()) {
      text += "[agent]\nlocations = [";
      for (size_t k = 0; k < locations.size(); ++k) text += (k ? ", \"" : "\"") + locations[k] + "\"";
      text += "]\n";
    }
    text += "\n" + estate.targets();
    const std::string path = own + "/restoreproof.toml";
    test::WriteFile(path, text);
    return path;
  }

  std::unique_ptr<Proc> StartAgent(int i, const std::vector<std::string>& locations = {}, int workers = 1) {
    const std::string config = AgentConfig(i, locations, workers);
    return std::make_unique<Proc>(config, "agent", dir / ("agent" + std::to_string(i) + ".log"),
                                  "rp-agent-" + std::to_string(i),
                                  hosts.empty() ? "" : hosts[static_cast<size_t>(i - 1)]->name());
  }

  std::string SandboxDir(int i) const { return dir / ("agent" + std::to_string(i) + "/sandboxes"); }

  TempDir dir;
  std::vector<std::unique_ptr<NetHost>> hosts;  // empty: no network namespaces
  std::unique_ptr<SharedStore> store;
  Estate estate;
};

bool AgentStarted(const Proc& p) { return FindEvent(p.log(), "agent-started").has_value(); }

std::vector<std::string> SandboxesIn(const std::string& parent) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(parent, ec))
    if (e.path().filename().string().rfind("rp-sandbox-", 0) == 0) out.push_back(e.path());
  return out;
}

// --- the tests -------------------------------------------------------------------------------------

// Three agents work through six slow jobs; one is killed with SIGKILL while it restores. Its run
// stays running until its lease expires (the others cannot see the process die: another host),
// is then recorded interrupted and queued again, and another agent finishes it. Every job ends
// with exactly one passed run; the killed agent, started again, wipes the sandbox it left.
TEST(Agents, KilledAgentsRunIsInterruptedAndFinishedByAnotherNoneLostOrDoubled) {
  Site site;
  for (int t = 1; t <= 6; ++t) site.estate.Add("app" + std::to_string(t), {"site-a"}, SleepTest(2));
  auto store = site.store->Open();
  ASSERT_TRUE(store);
  std::vector<std::unique_ptr<Proc>> agents;
  for (int i = 1; i <= 3; ++i) agents.push_back(site.StartAgent(i));
  ASSERT_TRUE(WaitFor([&] { return std::all_of(agents.begin(), agents.end(), [](auto& a) { return AgentStarted(*a); }); }, 20))
      << LogText(agents[0]->log()) << LogText(agents[1]->log()) << LogText(agents[2]->log());
  for (int t = 1; t <= 6; ++t) store->EnqueueRun(OperatorRun("app" + std::to_string(t)), NowUtc());

  // The victim: the agent holding the first run that has started restoring (its worker runs).
  std::optional<RunRecord> held;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& r : AllRuns(*store))
          if (r.state == RunState::kRunning && !r.point_id.empty()) {
            held = r;
            return true;
          }
        return false;
      },
      20))
      << Describe(AllRuns(*store));
  const pid_t victim_pid = PidOf(held->lease_owner);
  size_t victim = 3;
  for (size_t i = 0; i < agents.size(); ++i)
    if (agents[i]->pid() == victim_pid) victim = i;
  ASSERT_LT(victim, 3u) << "the run's owner " << held->lease_owner << " is none of the agents";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well inside its worker's 2 s check
  const int64_t killed_at = NowUtc();
  agents[victim]->Kill();
  ASSERT_FALSE(SandboxesIn(site.SandboxDir(static_cast<int>(victim) + 1)).empty())
      << "the killed agent's sandbox should be left behind for its restart to wipe";

  ASSERT_TRUE(WaitFor([&] { return NothingPending(*store) && AllRuns(*store).size() >= 7; }, 60))
      << Describe(AllRuns(*store));
  const auto runs = AllRuns(*store);
  const auto killed = store->GetRun(held->id);
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->state, RunState::kInterrupted) << Describe(runs);
  if (CanUnshareUts()) {
    EXPECT_NE(killed->message.find("expired"), std::string::npos) << "taken over by its lease: " << killed->message;
    EXPECT_GE(killed->finished_at, killed_at + 1) << "not before its lease ran out\n" << Describe(runs);
  }
  // Its retry: same point, another agent, passed.
  std::optional<RunRecord> retry;
  for (const auto& r : runs)
    if (r.request.retry_of == held->id) retry = r;
  ASSERT_TRUE(retry) << Describe(runs);
  EXPECT_EQ(retry->state, RunState::kPassed) << Describe(runs);
  EXPECT_EQ(retry->point_id, killed->point_id);
  EXPECT_NE(PidOf(retry->worker), victim_pid) << Describe(runs);
  // Every job exactly one passed run; none lost, none doubled.
  const auto passed = PassedPerJob(runs);
  EXPECT_EQ(passed.size(), 6u) << Describe(runs);
  for (const auto& [job, n] : passed) EXPECT_EQ(n, 1) << "job " << job << "\n" << Describe(runs);
  int interrupted = 0;
  for (const auto& r : runs) interrupted += r.state == RunState::kInterrupted ? 1 : 0;
  EXPECT_EQ(interrupted, 1) << Describe(runs);

  // The killed agent comes back: its orphan sandbox is wiped at start-up.
  auto again = site.StartAgent(static_cast<int>(victim) + 1);
  EXPECT_TRUE(WaitFor([&] { return FindEvent(again->log(), "sandbox-wiped").has_value(); }, 20)) << LogText(again->log());
  EXPECT_TRUE(SandboxesIn(site.SandboxDir(static_cast<int>(victim) + 1)).empty());
  for (auto& a : agents) a->Signal(SIGTERM);
  again->Signal(SIGTERM);
  for (size_t i = 0; i < agents.size(); ++i) {
    if (i != victim) {
      EXPECT_EQ(agents[i]->Wait(20), std::optional<int>(0)) << LogText(agents[i]->log());
    }
  }
  EXPECT_EQ(again->Wait(20), std::optional<int>(0)) << LogText(again->log());
}

// An agent cut off from the store (its link down; SIGSTOP where there is no network namespace)
// while it restores, past its lease: another agent takes the run over and finishes it. When the
// first comes back it cannot record a result (the store refuses: run-lease-lost), and the store
// shows one passed result for the job.
TEST(Agents, CutOffAgentIsTakenOverAndRefusedWhenItComesBack) {
  Site site;
  site.estate.Add("slow", {"site-a"}, SleepTest(6));
  auto store = site.store->Open();
  ASSERT_TRUE(store);
  auto first = site.StartAgent(1);
  ASSERT_TRUE(WaitFor([&] { return AgentStarted(*first); }, 20)) << LogText(first->log());
  const int64_t id = store->EnqueueRun(OperatorRun("slow"), NowUtc());
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto r = store->GetRun(id);
        return r && r->state == RunState::kRunning && !r->point_id.empty();
      },
      20))
      << LogText(first->log());
  auto second = site.StartAgent(2);
  ASSERT_TRUE(WaitFor([&] { return AgentStarted(*second); }, 20)) << LogText(second->log());

  const bool by_link = !site.hosts.empty();
  if (by_link) {
    ASSERT_TRUE(site.hosts[0]->SetLink(false));
  } else {
    kill(first->pid(), SIGSTOP);
  }  // the agent only: its worker goes on, as it would on a cut-off host
  // The lease runs out; the second agent interrupts the run, takes its retry and passes it.
  std::optional<RunRecord> retry;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& r : AllRuns(*store))
          if (r.request.retry_of == id && r.state == RunState::kPassed) retry = r;
        return retry.has_value();
      },
      40))
      << Describe(AllRuns(*store)) << LogText(second->log());
  EXPECT_EQ(PidOf(retry->worker), second->pid());
  // The first comes back, well past its lease, with its worker's result in hand.
  if (by_link) {
    ASSERT_TRUE(site.hosts[0]->SetLink(true));
  } else {
    kill(first->pid(), SIGCONT);
  }
  EXPECT_TRUE(WaitFor(
      [&] { return FindEvent(first->log(), "run-lease-lost", [&](const json& j) { return j.value("run", 0) == id; }).has_value(); },
      60))
      << LogText(first->log());
  const auto runs = AllRuns(*store);
  const auto original = store->GetRun(id);
  ASSERT_TRUE(original);
  EXPECT_EQ(original->state, RunState::kInterrupted) << Describe(runs);
  const auto passed = PassedPerJob(runs);
  ASSERT_EQ(passed.size(), 1u) << Describe(runs);
  EXPECT_EQ(passed.begin()->second, 1) << Describe(runs);
  EXPECT_FALSE(FindEvent(first->log(), "run-finished", [&](const json& j) { return j.value("run", 0) == id; }))
      << LogText(first->log());
  first->Signal(SIGTERM);
  second->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(30), std::optional<int>(0)) << LogText(first->log());
  EXPECT_EQ(second->Wait(20), std::optional<int>(0)) << LogText(second->log());
}

// An agent whose [agent] locations do not include a target's copy never claims that target's
// runs (nor a run pinned to a copy elsewhere), and restores a two-site target from its own site.
TEST(Agents, AnAgentClaimsOnlyRunsWithACopyAtItsLocations) {
  Site site;
  site.estate.Add("only-a", {"site-a"}, SleepTest(0));
  site.estate.Add("only-b", {"site-b"}, SleepTest(0));
  // site-b first: the rotation would take it (both copies untested), were the agent's locations ignored.
  site.estate.Add("both", {"site-b", "site-a"}, SleepTest(0));
  auto store = site.store->Open();
  ASSERT_TRUE(store);
  auto a = site.StartAgent(1, {"site-a"}, 2);
  ASSERT_TRUE(WaitFor([&] { return AgentStarted(*a); }, 20)) << LogText(a->log());
  std::vector<int64_t> b_runs, a_runs;
  for (int k = 0; k < 2; ++k) b_runs.push_back(store->EnqueueRun(OperatorRun("only-b"), NowUtc()));
  b_runs.push_back(store->EnqueueRun(OperatorRun("both", "site-b"), NowUtc()));  // pinned to site-b (a retry's copy)
  for (int k = 0; k < 2; ++k) a_runs.push_back(store->EnqueueRun(OperatorRun("only-a"), NowUtc()));
  a_runs.push_back(store->EnqueueRun(OperatorRun("both"), NowUtc()));
  // Agent A alone: it works through its own runs and leaves site-b's queued.
  ASSERT_TRUE(WaitFor(
      [&] {
        return std::all_of(a_runs.begin(), a_runs.end(), [&](int64_t id) {
          const auto r = store->GetRun(id);
          return r && RunStateFinal(r->state);
        });
      },
      40))
      << Describe(AllRuns(*store)) << LogText(a->log());
  std::this_thread::sleep_for(std::chrono::seconds(2));  // A polls the queue every second
  for (int64_t id : b_runs) EXPECT_EQ(store->GetRun(id)->state, RunState::kQueued) << Describe(AllRuns(*store));
  for (int64_t id : a_runs) {
    const auto r = store->GetRun(id);
    EXPECT_EQ(r->state, RunState::kPassed) << Describe(AllRuns(*store));
    EXPECT_EQ(r->location, "site-a");
    EXPECT_EQ(PidOf(r->worker), a->pid());
  }
  // Agent B (site-b) takes the rest.
  auto b = site.StartAgent(2, {"site-b"});
  ASSERT_TRUE(WaitFor([&] { return NothingPending(*store); }, 40)) << Describe(AllRuns(*store)) << LogText(b->log());
  for (int64_t id : b_runs) {
    const auto r = store->GetRun(id);
    EXPECT_EQ(r->state, RunState::kPassed) << Describe(AllRuns(*store));
    EXPECT_EQ(r->location, "site-b");
    EXPECT_EQ(PidOf(r->worker), b->pid());
  }
  a->Signal(SIGTERM);
  b->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(20), std::optional<int>(0)) << LogText(a->log());
  EXPECT_EQ(b->Wait(20), std::optional<int>(0)) << LogText(b->log());
}

// A location no copy is at is most likely mistyped: the agent says so, and claims nothing.
TEST(Agents, AnAgentWithAnUnknownLocationSaysSoAndClaimsNothing) {
  Site site;
  site.estate.Add("app", {"site-a"}, SleepTest(0));
  auto store = site.store->Open();
  ASSERT_TRUE(store);
  auto a = site.StartAgent(1, {"site-x"});
  ASSERT_TRUE(WaitFor([&] { return AgentStarted(*a); }, 20)) << LogText(a->log());
  const int64_t id = store->EnqueueRun(OperatorRun("app"), NowUtc());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(store->GetRun(id)->state, RunState::kQueued);
  const auto unknown = FindEvent(a->log(), "agent-location-unknown");
  ASSERT_TRUE(unknown) << LogText(a->log());
  EXPECT_EQ((*unknown)["location"], "site-x");
  EXPECT_TRUE(FindEvent(a->log(), "agent-no-targets")) << LogText(a->log());
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(20), std::optional<int>(0)) << LogText(a->log());
}

// Two serves on one PostgreSQL store: exactly one schedules (its log and /metrics say so, the
// other's say not); SIGKILL it, and the other takes over within the lease and queues the next
// scheduled run. On SQLite every serve schedules (each fires a slot at most once anyway), so this
// needs PostgreSQL.
TEST(MultiHostServe, OneOfTwoServesSchedulesAndTheOtherTakesOverWhenItIsKilled) {
  Site site;
  if (!site.store->network()) GTEST_SKIP() << "needs PostgreSQL: on SQLite every serve schedules (no scheduler lock)";
  site.estate.Add("ticking", {"site-a"}, "", "policy = { restore_test_interval = \"2s\" }\n");
  auto store = site.store->Open();
  ASSERT_TRUE(store);
  std::vector<std::unique_ptr<Proc>> serves;
  std::vector<std::string> configs;
  for (int i = 1; i <= 2; ++i) {
    const std::string own = site.dir / ("serve" + std::to_string(i));
    std::filesystem::create_directories(own + "/sandboxes");
    const std::string config = own + "/restoreproof.toml";
    test::WriteFile(config, "[appliance]\ndata_dir = \"" + own + "/data\"\nsandbox_dir = \"" + own +
                                "/sandboxes\"\ntimezone = \"UTC\"\nworkers = 1\nlease = \"3s\"\nlisten = \"127.0.0.1:0\"\n\n" +
                                site.store->ConfigSection() + "\n" + site.estate.targets());
    configs.push_back(config);
    serves.push_back(std::make_unique<Proc>(config, "serve", site.dir / ("serve" + std::to_string(i) + ".log")));
    // The first takes the lock before the second starts.
    ASSERT_TRUE(WaitFor([&] { return FindEvent(serves.back()->log(), "web-started").has_value(); }, 20))
        << LogText(serves.back()->log());
    if (i == 1) {
      ASSERT_TRUE(WaitFor([&] { return FindEvent(serves[0]->log(), "scheduling-taken").has_value(); }, 10))
          << LogText(serves[0]->log());
    }
  }
  const std::string password = "correct horse battery staple\n";
  test::WriteFile(site.dir / "password", password);
  ASSERT_EQ(test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(configs[0]) + " user add admin --role admin < " +
                      ShellQuote(site.dir / "password") + " >/dev/null 2>&1"),
            0);
  const auto metric = [&](const Proc& p) -> std::string {
    const auto started = FindEvent(p.log(), "web-started");
    if (!started) return "";
    std::string out;
    test::Run("curl -s http://127.0.0.1:" + std::to_string((*started)["port"].get<int>()) + "/metrics", &out);
    const size_t at = out.find("\nrestoreproof_scheduler_leader ");
    return at == std::string::npos ? "" : out.substr(at + 31, 1);
  };
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the second has polled the lock a few times
  EXPECT_FALSE(FindEvent(serves[1]->log(), "scheduling-taken")) << LogText(serves[1]->log());
  EXPECT_EQ(metric(*serves[0]), "1");
  EXPECT_EQ(metric(*serves[1]), "0");

  serves[0]->Kill();
  const int64_t killed_at = NowUtc();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return FindEvent(serves[1]->log(), "scheduling-taken").has_value(); }, 10))
      << LogText(serves[1]->log());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LE(took, 3.5) << "within the lease (3 s)";
  EXPECT_EQ(metric(*serves[1]), "1");
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& r : AllRuns(*store))
          if (r.request.trigger == Trigger::kSchedule && r.queued_at > killed_at) return true;
        return false;
      },
      10))
      << Describe(AllRuns(*store)) << LogText(serves[1]->log());
  serves[1]->Signal(SIGTERM);
  EXPECT_EQ(serves[1]->Wait(30), std::optional<int>(0)) << LogText(serves[1]->log());
}

}  // namespace
}  // namespace rp
