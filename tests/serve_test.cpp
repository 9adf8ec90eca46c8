// `serve`, drills and the `runs` commands as an operator meets them: the real binary as a
// process (serve in its own process group, its JSON log in a file), real tar archives with
// sidecar manifests at two sites, the real SQLite store read back through rp::Store, and real
// signals (SIGKILL of serve or of a worker, SIGTERM, SIGHUP). Every wait polls the store, the
// log or /proc against a deadline; a sleep only ever varies where a kill lands.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/hash.h"
#include "rp/store.h"
#include "process_kit.h"
#include "testkit.h"

extern char** environ;

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;
using SteadyClock = std::chrono::steady_clock;

int64_t NowUtc() { return static_cast<int64_t>(time(nullptr)); }

// Polls `done` every 100 ms until it holds or `timeout_s` passes; true when it held.
template <class F>
bool WaitUntil(double timeout_s, F done) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  for (;;) {
    if (done()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Sha256OfFile(const std::string& path) {
  const std::string data = test::ReadFile(path);
  Hasher h(HashAlgo::kSha256);
  h.Update(data.data(), data.size());
  return h.FinishHex();
}

// "1.2.3" of `restoreproof --version`.
std::string BinaryVersion() {
  std::string out;
  test::Run(ShellQuote(RP_BINARY) + " --version", &out);
  const size_t space = out.find(' ');
  std::string v = space == std::string::npos ? "" : out.substr(space + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

std::string UtcDate(int64_t t) {
  const time_t s = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string UtcStamp(int64_t t) {
  const time_t s = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

// --- the estate and its configuration ---------------------------------------------------------

// A [[targets.tests]] entry whose check sleeps `seconds` inside the worker's sandbox: a run that
// lasts as long as the test needs. `@yearly` never fires within a test (a new schedule starts
// counting when serve first sees it).
std::string SleepTest(int seconds, const std::string& schedule = "@yearly") {
  return "[[targets.tests]]\nschedule = \"" + schedule + "\"\nchecks = [ { kind = \"command\", argv = [\"/bin/sleep\", \"" +
         std::to_string(seconds) + "\"], timeout = \"" + std::to_string(seconds + 60) + "s\" } ]\n";
}

struct TargetSpec {
  std::string name;
  bool two_sites = false;
  std::string keys;   // further keys of its [[targets]] table
  std::string tests;  // its [[targets.tests]] tables
};

// What a target's newest point holds: the file name (the point's id) and what its restore
// must count.
struct Point {
  std::string file;
  uint64_t files = 0, bytes = 0;
};

// A temporary appliance: data and sandbox directories, the configuration file, serve's log and
// each target's archives (two daily points, pax tar with an xxh128 sidecar manifest) at site-a
// and, for two-site targets, the same files at site-b. Sandboxes are on disk, so that a
// sandbox left behind is visible in sandbox_dir.
class Estate {
 public:
  Estate()
      : config(dir / "restoreproof.toml"), data_dir(dir / "data"), sandbox_dir(dir / "sandboxes"),
        log(dir / "serve.log") {
    std::filesystem::create_directories(sandbox_dir);
    appliance = {{"timezone", "\"UTC\""}, {"drain_grace", "\"10s\""}, {"retry_backoff", "\"1s\""}};
  }

  void Add(const TargetSpec& t) {
    const std::string a = dir / ("site-a/" + t.name), b = dir / ("site-b/" + t.name);
    std::filesystem::create_directories(a);
    if (t.two_sites) std::filesystem::create_directories(b);
    const int64_t today = NowUtc() / 86400 * 86400;
    for (int day = 2; day >= 1; --day) {
      SampleTreeOptions o;
      o.seed = std::hash<std::string>{}(t.name) + static_cast<uint64_t>(day);
      o.files = 6;
      o.large_file_bytes = 64 * 1024;
      o.exotic_names = false;
      o.links = false;
      const auto tree = SampleTree(o);
      Point p;
      p.file = t.name + "-" + UtcStamp(today - day * 86400 + 2 * 3600) + ".tar";
      for (const auto& e : tree) {
        if (e.kind != TreeEntry::Kind::kFile) continue;
        ++p.files;
        p.bytes += e.size;
      }
      for (const std::string& site : t.two_sites ? std::vector{a, b} : std::vector{a}) {
        const Status s = WriteArchive(site + "/" + p.file, ArchiveSpec{"pax", {}}, tree);
        ASSERT_TRUE(s.ok()) << s.message();
        test::WriteFile(site + "/" + p.file + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
      }
      newest[t.name] = p;
    }
    std::string toml = "[[targets]]\nname = \"" + t.name +
                       "\"\nowner = \"Test Owner\"\nclassification = { K = 1, R = 1, T = 1 }\n"
                       "personal_data = \"none\"\nsandbox = \"disk\"\n" + t.keys;
    for (const auto& [site, path] : t.two_sites ? std::vector<std::pair<std::string, std::string>>{{"site-a", a}, {"site-b", b}}
                                                : std::vector<std::pair<std::string, std::string>>{{"site-a", a}})
      toml += "[[targets.copies]]\nlocation = \"" + site + "\"\nkind = \"archive-dir\"\npath = \"" + path +
              "\"\npattern = \"" + t.name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n";
    targets_ += toml + t.tests + "\n";
  }

  std::string ConfigText() const {
    std::string text = "[appliance]\ndata_dir = \"" + data_dir + "\"\nsandbox_dir = \"" + sandbox_dir + "\"\n";
    for (const auto& [k, v] : appliance) text += k + " = " + v + "\n";
    text += "\n[policy]\n";
    for (const auto& [k, v] : policy) text += k + " = " + v + "\n";
    return text + "\n" + targets_;
  }

  void WriteConfig() const { test::WriteFile(config, ConfigText()); }

  TempDir dir;
  const std::string config, data_dir, sandbox_dir, log;
  std::map<std::string, std::string> appliance;  // [appliance] key = TOML value
  std::map<std::string, std::string> policy;     // [policy] key = TOML value
  std::map<std::string, Point> newest;           // by target

 private:
  std::string targets_;
};

// --- processes ---------------------------------------------------------------------------------

// `restoreproof --config FILE serve` in its own process group, stderr appended to `log`. The
// destructor kills the group when serve has not been reaped yet.
class ServeProcess {
 public:
  ServeProcess(const std::string& config, const std::string& log) {
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
    std::string bin = RP_BINARY, opt = "--config", cfg = config, cmd = "serve";
    char* argv[] = {bin.data(), opt.data(), cfg.data(), cmd.data(), nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &fa, &attr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    EXPECT_GT(pid_, 0) << "cannot start " << bin;
  }
  ~ServeProcess() {
    if (pid_ > 0 && !status_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig) const {
    if (pid_ > 0 && !status_) kill(pid_, sig);
  }
  // Its exit code (128 + signal when killed) once it ended within `timeout_s`.
  std::optional<int> Wait(double timeout_s) {
    WaitUntil(timeout_s, [&] {
      int st = 0;
      if (!status_ && pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_)
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_.has_value();
    });
    return status_;
  }
  bool Alive() {
    int st = 0;
    if (!status_ && pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_)
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return pid_ > 0 && !status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Fields 3 (state) and 4 (ppid) of /proc/PID/stat; false when the process is gone.
bool ProcStat(pid_t pid, char* state, pid_t* ppid) {
  const std::string text = test::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream fields(text.substr(paren + 2));
  long parent = 0;
  if (!(fields >> *state >> parent)) return false;
  *ppid = static_cast<pid_t>(parent);
  return true;
}

// Children of `parent` whose command line has the argument "worker": the restore workers.
std::vector<pid_t> WorkersOf(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    char state = 0;
    pid_t ppid = 0;
    if (!ProcStat(pid, &state, &ppid) || ppid != parent || state == 'Z') continue;
    const std::string cmdline = test::ReadFile("/proc/" + name + "/cmdline");
    std::vector<std::string> args;
    std::string arg;
    std::istringstream in(cmdline);
    while (std::getline(in, arg, '\0')) args.push_back(arg);
    if (std::find(args.begin(), args.end(), "worker") != args.end()) out.push_back(pid);
  }
  return out;
}

bool ProcessGone(pid_t pid) {
  char state = 0;
  pid_t ppid = 0;
  return !ProcStat(pid, &state, &ppid) || state == 'Z' || state == 'X';
}

std::vector<std::string> SandboxesIn(const std::string& parent) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(parent, ec))
    if (e.path().filename().string().rfind("rp-sandbox-", 0) == 0) out.push_back(e.path());
  return out;
}

using test::CliResult;

// `restoreproof --config CONFIG ARGS`, stdout and stderr captured apart.
CliResult RunRp(const Estate& e, const std::string& args) { return test::RunWithConfig(e.dir.path(), e.config, args); }

json ParseJson(const CliResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n" << r.out << "\nstderr:\n" << r.err;
  return j;
}

// --- the log -----------------------------------------------------------------------------------

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

template <class P>
std::optional<json> FindEvent(const std::string& log, const std::string& event, P pred) {
  for (const auto& j : Events(log))
    if (j["event"] == event && pred(j)) return j;
  return std::nullopt;
}

std::optional<json> WaitForEvent(const std::string& log, const std::string& event, double timeout_s) {
  std::optional<json> found;
  WaitUntil(timeout_s, [&] { return (found = FindEvent(log, event, [](const json&) { return true; })).has_value(); });
  return found;
}

std::string LogText(const std::string& log) { return "\n--- " + log + " ---\n" + test::ReadFile(log); }

// --- the store ---------------------------------------------------------------------------------

std::unique_ptr<Store> OpenStore(const std::string& data_dir) {
  std::filesystem::create_directories(data_dir);
  std::unique_ptr<Store> store;
  const Status s = OpenSqliteStore(StorePath(data_dir), &store);
  EXPECT_TRUE(s.ok()) << s.message();
  return store;
}

std::vector<RunRecord> AllRuns(Store& store) {
  RunFilter f;
  f.limit = 1'000'000;
  auto runs = store.ListRuns(f);
  std::reverse(runs.begin(), runs.end());  // oldest first
  return runs;
}

RunRequest OperatorRun(const std::string& target, int test_index) {
  RunRequest q;
  q.target = target;
  q.test_index = test_index;
  q.trigger = Trigger::kOperator;
  q.requested_by = "serve_test";
  return q;
}

std::string Describe(const std::vector<RunRecord>& runs) {
  std::ostringstream os;
  for (const auto& r : runs)
    os << "  run " << r.id << " " << r.request.target << " " << RunStateName(r.state) << " trigger "
       << TriggerName(r.request.trigger) << " retry_of " << r.request.retry_of << " [" << r.started_at << ", "
       << r.finished_at << ") at " << r.location << " by " << r.worker << (r.message.empty() ? "" : ": " + r.message)
       << "\n";
  return os.str();
}

// Every pair of runs (of one target, or of all when `per_target` is false) whose spans
// [started_at, finished_at) overlap. A run still running spans to the end of time; runs that
// never started, or ended in the second they started, are left out.
std::vector<std::string> Overlaps(const std::vector<RunRecord>& runs, bool per_target) {
  std::vector<const RunRecord*> spans;
  for (const auto& r : runs)
    if (r.started_at != 0 && r.finished_at != r.started_at) spans.push_back(&r);
  const auto end = [](const RunRecord* r) { return r->finished_at == 0 ? INT64_MAX : r->finished_at; };
  std::vector<std::string> out;
  for (size_t i = 0; i < spans.size(); ++i)
    for (size_t j = i + 1; j < spans.size(); ++j) {
      const RunRecord &a = *spans[i], &b = *spans[j];
      if (per_target && a.request.target != b.request.target) continue;
      if (a.started_at < end(&b) && b.started_at < end(&a))
        out.push_back("run " + std::to_string(a.id) + " (" + a.request.target + ") [" + std::to_string(a.started_at) +
                      ", " + std::to_string(a.finished_at) + ") overlaps run " + std::to_string(b.id) + " (" +
                      b.request.target + ") [" + std::to_string(b.started_at) + ", " + std::to_string(b.finished_at) +
                      ")");
    }
  return out;
}

bool NothingPending(Store& store) {
  for (const auto& r : AllRuns(store))
    if (!RunStateFinal(r.state)) return false;
  return true;
}

std::string IntegrityCheck(const std::string& data_dir) {
  std::string out;
  test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(data_dir)) + " 'PRAGMA integrity_check'", &out);
  return out;
}

// SIGTERM, then the exit code within `timeout_s`.
std::optional<int> Stop(ServeProcess& serve, double timeout_s = 40) {
  serve.Signal(SIGTERM);
  return serve.Wait(timeout_s);
}

// --- serve -------------------------------------------------------------------------------------

TEST(Serve, RestoresVerifiesAndRecordsOnShortSchedules) {
  Estate e;
  e.policy["restore_test_interval"] = "\"3s\"";
  e.Add({"alpha", true, "", ""});
  e.Add({"beta", true, "", ""});
  e.Add({"gamma", false, "", ""});
  e.WriteConfig();
  ServeProcess serve(e.config, e.log);
  ASSERT_TRUE(WaitForEvent(e.log, "serve-started", 30)) << LogText(e.log);
  auto store = OpenStore(e.data_dir);
  ASSERT_TRUE(store);
  const std::map<std::string, std::set<std::string>> want = {
      {"alpha", {"site-a", "site-b"}}, {"beta", {"site-a", "site-b"}}, {"gamma", {"site-a"}}};
  const auto tested_everywhere = [&] {
    std::map<std::string, std::set<std::string>> seen;
    for (const auto& r : AllRuns(*store))
      if (r.state == RunState::kPassed) seen[r.request.target].insert(r.location);
    return seen == want;
  };
  const bool done = WaitUntil(120, tested_everywhere);
  EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
  const auto runs = AllRuns(*store);
  ASSERT_TRUE(done) << Describe(runs) << LogText(e.log);

  const std::string config_hash = Sha256OfFile(e.config), version = BinaryVersion();
  ASSERT_FALSE(version.empty());
  std::map<std::string, std::vector<std::string>> locations;  // passed runs' copies, in run order
  for (const auto& r : runs) {
    SCOPED_TRACE("run " + std::to_string(r.id) + " of " + r.request.target);
    EXPECT_TRUE(r.state == RunState::kPassed || r.state == RunState::kQueued) << RunStateName(r.state) << ": " << r.message;
    EXPECT_EQ(r.request.trigger, Trigger::kSchedule);
    EXPECT_EQ(r.request.test_index, -1);
    if (r.state != RunState::kPassed) continue;
    locations[r.request.target].push_back(r.location);
    EXPECT_EQ(r.point_id, e.newest.at(r.request.target).file);  // select = latest
    EXPECT_GT(r.point_time, 0);
    EXPECT_EQ(r.files, e.newest.at(r.request.target).files);
    EXPECT_EQ(r.bytes, e.newest.at(r.request.target).bytes);
    EXPECT_EQ(r.config_hash, config_hash);
    EXPECT_EQ(r.version, version);
    EXPECT_FALSE(r.worker.empty());
    EXPECT_GT(r.duration_s, 0);
    EXPECT_LE(r.queued_at, r.started_at);
    EXPECT_LE(r.started_at, r.finished_at);
    ASSERT_TRUE(r.report.has_value());
    EXPECT_EQ(r.report->algo, HashAlgo::kXxh128);
  }
  // Rotation: with two copies, each restore test takes the copy tested longest ago.
  for (const std::string t : {"alpha", "beta"})
    for (size_t i = 1; i < locations[t].size(); ++i)
      EXPECT_NE(locations[t][i], locations[t][i - 1]) << t << " run " << i << " repeats its copy";
  EXPECT_TRUE(SandboxesIn(e.sandbox_dir).empty());
}

TEST(Serve, AWorkerKilledMidRunFailsAndItsSandboxIsWiped) {
  Estate e;
  e.Add({"alpha", false, "", SleepTest(30)});
  e.WriteConfig();
  ServeProcess serve(e.config, e.log);
  ASSERT_TRUE(WaitForEvent(e.log, "serve-started", 30)) << LogText(e.log);
  auto store = OpenStore(e.data_dir);
  ASSERT_TRUE(store);
  const int64_t id = store->EnqueueRun(OperatorRun("alpha", 0), NowUtc());
  std::vector<pid_t> workers;
  // Mid-run: recorded as started, its worker alive and its sandbox made.
  ASSERT_TRUE(WaitUntil(30, [&] {
    const auto r = store->GetRun(id);
    workers = WorkersOf(serve.pid());
    return r && r->state == RunState::kRunning && !r->location.empty() && !workers.empty() &&
           !SandboxesIn(e.sandbox_dir).empty();
  })) << Describe(AllRuns(*store)) << LogText(e.log);
  for (pid_t w : workers) kill(w, SIGKILL);

  ASSERT_TRUE(WaitUntil(30, [&] { return RunStateFinal(store->GetRun(id)->state); }))
      << Describe(AllRuns(*store)) << LogText(e.log);
  const RunRecord run = *store->GetRun(id);
  EXPECT_EQ(run.state, RunState::kFailed) << Describe({run});
  EXPECT_TRUE(SandboxesIn(e.sandbox_dir).empty()) << "sandbox left: " << SandboxesIn(e.sandbox_dir)[0];

  const CliResult show = RunRp(e, "runs show " + std::to_string(id) + " --json");
  EXPECT_EQ(show.rc, 0) << show.err;
  const json j = ParseJson(show);
  ASSERT_TRUE(j.contains("findings") && j["findings"].is_array()) << show.out;
  const auto died = std::count_if(j["findings"].begin(), j["findings"].end(),
                                  [](const json& f) { return f.value("kind", "") == "worker-died"; });
  EXPECT_EQ(died, 1) << show.out;
  EXPECT_EQ(j["status"], "failed");
  EXPECT_TRUE(serve.Alive()) << "serve itself must survive its worker" << LogText(e.log);
  EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
}

TEST(Serve, SigkillDuringRunsTwentyTimesLosesAndDoublesNothing) {
  Estate e;
  e.appliance["workers"] = "2";
  e.appliance["lease"] = "\"3s\"";
  const std::vector<std::string> names = {"alpha", "beta", "gamma"};
  for (const auto& n : names) e.Add({n, false, "", SleepTest(2)});
  e.WriteConfig();
  auto store = OpenStore(e.data_dir);
  ASSERT_TRUE(store);
  for (int round = 0; round < 2; ++round)
    for (const auto& n : names) store->EnqueueRun(OperatorRun(n, 0), NowUtc());

  std::mt19937 jitter(20);
  std::set<int64_t> left_running;  // running when serve was killed
  std::set<int64_t> left_last_round;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string log = e.dir / ("serve-" + std::to_string(round) + ".log");
    ServeProcess serve(e.config, log);
    const std::string owner_pid = "/" + std::to_string(serve.pid()) + "/";
    // The runs the last serve left running are interrupted at start-up, and new ones start.
    ASSERT_TRUE(WaitUntil(30, [&] {
      bool mine = false;
      for (const auto& r : AllRuns(*store)) {
        if (left_last_round.count(r.id) && r.state == RunState::kRunning) return false;
        mine = mine || (r.state == RunState::kRunning && !r.location.empty() &&
                        r.lease_owner.find(owner_pid) != std::string::npos);
      }
      return mine;
    })) << Describe(AllRuns(*store)) << LogText(log);
    // Somewhere in the run: in the restore, the sleeping check, or the next claim.
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter() % 1500));
    const std::vector<pid_t> workers = WorkersOf(serve.pid());
    serve.Signal(SIGKILL);
    ASSERT_EQ(serve.Wait(10), 128 + SIGKILL);
    // The workers die with serve (PR_SET_PDEATHSIG), not by a signal to the group.
    const bool workers_gone = WaitUntil(10, [&] {
      return std::all_of(workers.begin(), workers.end(), [](pid_t w) { return ProcessGone(w); });
    });
    EXPECT_TRUE(workers_gone) << workers.size() << " worker(s) outlived serve";
    if (!workers_gone)
      for (pid_t w : workers) kill(w, SIGKILL);
    left_last_round.clear();
    int pending = 0;
    for (const auto& r : AllRuns(*store)) {
      if (r.state == RunState::kRunning) {
        left_running.insert(r.id);
        left_last_round.insert(r.id);
      }
      pending += !RunStateFinal(r.state);
    }
    EXPECT_EQ(IntegrityCheck(e.data_dir), "ok\n");
    // Work for the next round.
    for (size_t i = 0; pending < 4; ++i, ++pending) store->EnqueueRun(OperatorRun(names[i % names.size()], 0), NowUtc());
  }

  {
    ServeProcess serve(e.config, e.log);
    EXPECT_TRUE(WaitUntil(120, [&] { return NothingPending(*store); })) << Describe(AllRuns(*store)) << LogText(e.log);
    EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
  }
  EXPECT_EQ(IntegrityCheck(e.data_dir), "ok\n");
  const auto runs = AllRuns(*store);
  // Each round killed serve with at least one run recorded as started and not yet ended.
  EXPECT_GE(left_running.size(), 20u) << Describe(runs);
  std::map<int64_t, std::vector<const RunRecord*>> retries;  // by retry_of
  std::map<int64_t, const RunRecord*> by_id;
  for (const auto& r : runs) {
    by_id[r.id] = &r;
    if (r.request.retry_of) retries[r.request.retry_of].push_back(&r);
    EXPECT_NE(r.state, RunState::kRunning) << Describe({r});
  }
  for (int64_t id : left_running) {
    SCOPED_TRACE("run " + std::to_string(id) + ", running when serve was killed");
    ASSERT_TRUE(by_id.count(id));
    EXPECT_EQ(by_id[id]->state, RunState::kInterrupted) << Describe({*by_id[id]});
    EXPECT_EQ(retries[id].size(), 1u);
  }
  // Every queued run's chain of retries ends in exactly one pass; each link was interrupted.
  for (const auto& r : runs) {
    if (r.request.retry_of) continue;
    const RunRecord* link = &r;
    while (retries.count(link->id)) {
      EXPECT_EQ(retries[link->id].size(), 1u) << "run " << link->id << " was retried more than once";
      EXPECT_EQ(link->state, RunState::kInterrupted) << Describe({*link});
      link = retries[link->id][0];
    }
    EXPECT_EQ(link->state, RunState::kPassed) << "the chain of run " << r.id << " ends in " << Describe({*link});
  }
  const auto overlaps = Overlaps(runs, /*per_target=*/true);
  EXPECT_TRUE(overlaps.empty()) << overlaps[0] << "\n" << Describe(runs);
  EXPECT_TRUE(SandboxesIn(e.sandbox_dir).empty());
}

TEST(Serve, CatchUpRunsOnceAfterDowntime) {
  Estate e;
  e.Add({"alpha", false, "", "[[targets.tests]]\nschedule = \"@hourly\"\n"});
  e.WriteConfig();
  const std::string key = "test:alpha:0";
  {
    ServeProcess serve(e.config, e.log);
    ASSERT_TRUE(WaitForEvent(e.log, "serve-started", 30)) << LogText(e.log);
    auto store = OpenStore(e.data_dir);
    ASSERT_TRUE(WaitUntil(30, [&] { return store->ScheduleMark(key).has_value(); })) << LogText(e.log);
    ASSERT_EQ(Stop(serve), 0) << LogText(e.log);
  }
  auto store = OpenStore(e.data_dir);
  const auto scheduled = [&] {
    int n = 0;
    for (const auto& r : AllRuns(*store)) n += r.request.trigger == Trigger::kSchedule && r.request.target == "alpha";
    return n;
  };
  const int before = scheduled();
  const int64_t three_days_ago = NowUtc() - 3 * 86400;
  std::string out;
  ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(e.data_dir)) + " \"UPDATE schedule_marks SET slot = " +
                          std::to_string(three_days_ago) + " WHERE key = '" + key + "'\"",
                      &out),
            0)
      << out;
  ASSERT_EQ(store->ScheduleMark(key), three_days_ago);

  const std::string log = e.dir / "serve-2.log";
  const int64_t restarted = NowUtc();
  ServeProcess serve(e.config, log);
  ASSERT_TRUE(WaitUntil(60, [&] {
    for (const auto& r : AllRuns(*store))
      if (r.request.trigger == Trigger::kSchedule && RunStateFinal(r.state)) return true;
    return false;
  })) << Describe(AllRuns(*store)) << LogText(log);
  // A scheduler that caught up slot by slot would tick again within a second of each run.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(scheduled() - before, 1) << Describe(AllRuns(*store)) << LogText(log);
  EXPECT_GE(store->ScheduleMark(key).value_or(0), restarted);
  int queued_in_log = 0;
  for (const auto& j : Events(log))
    if (j["event"] == "runs-queued") queued_in_log += j.value("count", 0);
  EXPECT_EQ(queued_in_log, 1) << LogText(log);
  EXPECT_EQ(Stop(serve), 0) << LogText(log);
  for (const auto& r : AllRuns(*store))
    if (r.request.trigger == Trigger::kSchedule) {
      EXPECT_EQ(r.state, RunState::kPassed) << Describe({r});
    }
}

TEST(Serve, NeverRunsMoreThanWorkersAtOnce) {
  Estate e;
  e.appliance["workers"] = "1";
  const std::vector<std::string> names = {"alpha", "beta", "gamma", "delta"};
  for (const auto& n : names) e.Add({n, false, "", SleepTest(1)});
  e.WriteConfig();
  auto store = OpenStore(e.data_dir);
  for (const auto& n : names) store->EnqueueRun(OperatorRun(n, 0), NowUtc());
  ServeProcess serve(e.config, e.log);
  const bool done = WaitUntil(90, [&] { return NothingPending(*store); });
  EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
  const auto runs = AllRuns(*store);
  ASSERT_TRUE(done) << Describe(runs) << LogText(e.log);
  ASSERT_EQ(runs.size(), names.size()) << Describe(runs);
  for (const auto& r : runs) EXPECT_EQ(r.state, RunState::kPassed) << Describe({r});
  const auto overlaps = Overlaps(runs, /*per_target=*/false);
  EXPECT_TRUE(overlaps.empty()) << overlaps[0] << "\n" << Describe(runs);
  // The log, to the millisecond: never a second run-started before the run-finished.
  int open = 0, most = 0;
  for (const auto& j : Events(e.log)) {
    if (j["event"] == "run-started") most = std::max(most, ++open);
    if (j["event"] == "run-finished") --open;
  }
  EXPECT_EQ(most, 1) << LogText(e.log);
}

TEST(Serve, SighupWithABrokenConfigKeepsTheRunningOne) {
  Estate e;
  e.policy["restore_test_interval"] = "\"2s\"";
  e.Add({"alpha", false, "", ""});
  e.WriteConfig();
  const std::string first_hash = Sha256OfFile(e.config);
  ServeProcess serve(e.config, e.log);
  ASSERT_TRUE(WaitForEvent(e.log, "serve-started", 30)) << LogText(e.log);
  auto store = OpenStore(e.data_dir);
  // Passed runs of `target` queued after run `after` (ids grow with time; seconds are too coarse).
  const auto passed_after = [&](const std::string& target, int64_t after) {
    std::vector<RunRecord> out;
    for (const auto& r : AllRuns(*store))
      if (r.request.target == target && r.state == RunState::kPassed && r.id > after) out.push_back(r);
    return out;
  };
  const auto last_id = [&] {
    const auto runs = AllRuns(*store);
    return runs.empty() ? int64_t{0} : runs.back().id;
  };
  ASSERT_TRUE(WaitUntil(60, [&] { return !passed_after("alpha", 0).empty(); })) << LogText(e.log);

  e.appliance["retries"] = "\"lots\"";
  e.WriteConfig();
  serve.Signal(SIGHUP);
  const auto refused = WaitForEvent(e.log, "reload-refused", 30);
  ASSERT_TRUE(refused) << LogText(e.log);
  EXPECT_NE(refused->dump().find("appliance.retries"), std::string::npos) << refused->dump();
  EXPECT_FALSE(FindEvent(e.log, "reload-done", [](const json&) { return true; })) << LogText(e.log);
  const int64_t at_refusal = last_id();
  EXPECT_TRUE(WaitUntil(60, [&] { return !passed_after("alpha", at_refusal).empty(); }))
      << Describe(AllRuns(*store)) << LogText(e.log);
  ASSERT_TRUE(serve.Alive()) << LogText(e.log);
  for (const auto& r : passed_after("alpha", 0)) EXPECT_EQ(r.config_hash, first_hash) << Describe({r});

  e.appliance.erase("retries");
  e.Add({"beta", false, "", ""});
  e.WriteConfig();
  const std::string second_hash = Sha256OfFile(e.config);
  serve.Signal(SIGHUP);
  const auto done = WaitForEvent(e.log, "reload-done", 30);
  ASSERT_TRUE(done) << LogText(e.log);
  EXPECT_EQ(done->value("targets", 0), 2) << done->dump();
  EXPECT_EQ(done->value("config_hash", ""), second_hash) << done->dump();
  EXPECT_TRUE(WaitUntil(60, [&] { return !passed_after("beta", 0).empty(); })) << Describe(AllRuns(*store)) << LogText(e.log);
  for (const auto& r : passed_after("beta", 0)) EXPECT_EQ(r.config_hash, second_hash) << Describe({r});
  EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
}

TEST(Serve, SigtermDrainsAndRecordsInterrupted) {
  Estate e;
  e.appliance["drain_grace"] = "\"1s\"";
  e.Add({"alpha", false, "", SleepTest(30)});
  e.WriteConfig();
  ServeProcess serve(e.config, e.log);
  ASSERT_TRUE(WaitForEvent(e.log, "serve-started", 30)) << LogText(e.log);
  auto store = OpenStore(e.data_dir);
  const int64_t id = store->EnqueueRun(OperatorRun("alpha", 0), NowUtc());
  ASSERT_TRUE(WaitUntil(30, [&] {
    const auto r = store->GetRun(id);
    return r && r->state == RunState::kRunning && !r->location.empty() && !WorkersOf(serve.pid()).empty();
  })) << Describe(AllRuns(*store)) << LogText(e.log);

  const auto t0 = SteadyClock::now();
  serve.Signal(SIGTERM);
  const auto rc = serve.Wait(20);
  const double took = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  ASSERT_TRUE(rc) << "serve still running 20 s after SIGTERM with a 1 s drain_grace" << LogText(e.log);
  EXPECT_EQ(*rc, 0) << LogText(e.log);
  EXPECT_LT(took, 10) << LogText(e.log);
  EXPECT_TRUE(FindEvent(e.log, "drain-started", [](const json&) { return true; })) << LogText(e.log);
  EXPECT_TRUE(FindEvent(e.log, "serve-stopped", [](const json&) { return true; })) << LogText(e.log);

  const auto runs = AllRuns(*store);
  const RunRecord run = *store->GetRun(id);
  EXPECT_EQ(run.state, RunState::kInterrupted) << Describe(runs) << LogText(e.log);
  std::vector<RunRecord> retries;
  for (const auto& r : runs)
    if (r.request.retry_of == id) retries.push_back(r);
  ASSERT_EQ(retries.size(), 1u) << Describe(runs);
  EXPECT_EQ(retries[0].state, RunState::kQueued);
  EXPECT_EQ(retries[0].request.location, run.location);  // the same copy and point again
  EXPECT_EQ(retries[0].request.point_id, run.point_id);
  EXPECT_EQ(retries[0].request.attempt, run.request.attempt + 1);
  EXPECT_TRUE(SandboxesIn(e.sandbox_dir).empty());
}

// --- drills ------------------------------------------------------------------------------------

TEST(Drill, CliDrillWhileServeRunsNeverRestoresATargetTwiceAtOnce) {
  Estate e;
  e.appliance["workers"] = "2";
  const std::vector<std::string> names = {"alpha", "beta", "gamma"};
  for (const auto& n : names) e.Add({n, false, "", SleepTest(2, "* * * * *")});
  e.WriteConfig();
  auto store = OpenStore(e.data_dir);
  for (const auto& n : names) {
    store->SetScheduleMark("test:" + n + ":0", NowUtc() - 120);  // due the moment serve starts
    store->EnqueueRun(OperatorRun(n, 0), NowUtc());
  }
  ServeProcess serve(e.config, e.log);
  ASSERT_TRUE(WaitUntil(30, [&] {
    for (const auto& r : AllRuns(*store))
      if (r.state == RunState::kRunning) return true;
    return false;
  })) << LogText(e.log);

  const CliResult drill = RunRp(e, "drill run --json");
  EXPECT_EQ(drill.rc, 0) << drill.out << drill.err;
  const json report = ParseJson(drill);
  std::set<std::string> listed;
  for (const auto& t : report.value("targets", json::array())) {
    listed.insert(t.value("target", ""));
    EXPECT_EQ(t.value("status", ""), "passed") << t.dump();
    EXPECT_TRUE(t.value("met", false)) << t.dump();
  }
  EXPECT_EQ(listed, std::set<std::string>(names.begin(), names.end())) << drill.out;

  EXPECT_TRUE(WaitUntil(60, [&] {
    for (const auto& r : AllRuns(*store))
      if (r.state == RunState::kRunning) return false;
    return true;
  }));
  EXPECT_EQ(Stop(serve), 0) << LogText(e.log);
  const auto runs = AllRuns(*store);
  const auto overlaps = Overlaps(runs, /*per_target=*/true);
  EXPECT_TRUE(overlaps.empty()) << overlaps[0] << "\n" << Describe(runs) << drill.err << LogText(e.log);
  int drill_runs = 0;
  for (const auto& r : runs) {
    if (r.request.drill_id == report.value("id", int64_t{-1})) ++drill_runs;
    EXPECT_NE(r.state, RunState::kFailed) << Describe({r});
    EXPECT_NE(r.state, RunState::kAborted) << Describe({r});
  }
  EXPECT_EQ(drill_runs, 3) << Describe(runs);
  // Both processes restored: serve (workers = 2) left one target free for the drill's runners.
  const std::string serve_owner = "/" + std::to_string(serve.pid()) + "/";
  EXPECT_TRUE(std::any_of(runs.begin(), runs.end(), [&](const RunRecord& r) {
    return r.worker.find(serve_owner) == std::string::npos;
  })) << Describe(runs);
}

TEST(Drill, ReportMeasuresRtoAgainstTheObjective) {
  Estate e;
  e.Add({"slow", false, "policy = { rto = \"1s\" }\n", SleepTest(2)});
  e.Add({"quick", false, "", ""});
  e.WriteConfig();
  const CliResult drill = RunRp(e, "drill run --json");
  EXPECT_EQ(drill.rc, 1) << drill.out << drill.err;
  const json report = ParseJson(drill);
  ASSERT_TRUE(report.is_object()) << drill.out;
  EXPECT_EQ(report.value("passed", true), false);
  std::map<std::string, json> by_target;
  for (const auto& t : report.value("targets", json::array())) by_target[t.value("target", "")] = t;
  ASSERT_TRUE(by_target.count("slow") && by_target.count("quick")) << drill.out;
  const json &slow = by_target["slow"], &quick = by_target["quick"];
  EXPECT_EQ(slow.value("status", ""), "passed") << slow.dump();
  EXPECT_GE(slow.value("measured_s", 0.0), 2.0) << "the 2 s check is part of the time to restore\n" << slow.dump();
  EXPECT_EQ(slow.value("objective_s", 0.0), 1.0) << slow.dump();
  EXPECT_FALSE(slow.value("met", true)) << slow.dump();
  EXPECT_EQ(quick.value("status", ""), "passed") << quick.dump();
  EXPECT_GT(quick.value("measured_s", 0.0), 0.0) << quick.dump();
  EXPECT_EQ(quick.value("objective_s", 0.0), 4 * 3600.0) << quick.dump();  // the default rto
  EXPECT_TRUE(quick.value("met", false)) << quick.dump();

  const int64_t id = report.value("id", int64_t{0});
  ASSERT_GT(id, 0) << drill.out;
  const CliResult show = RunRp(e, "drills show " + std::to_string(id) + " --json");
  EXPECT_EQ(show.rc, 1) << show.err;  // a failed drill
  EXPECT_EQ(ParseJson(show), report);

  const CliResult list = RunRp(e, "drills list");
  EXPECT_EQ(list.rc, 0) << list.err;
  EXPECT_NE(list.out.find(std::to_string(id) + "  on-demand"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("failed"), std::string::npos) << list.out;
  const CliResult list_json = RunRp(e, "drills list --json");
  EXPECT_EQ(list_json.rc, 0) << list_json.err;
  const json drills = ParseJson(list_json).value("drills", json::array());
  ASSERT_EQ(drills.size(), 1u) << list_json.out;
  EXPECT_EQ(drills[0], report);
}

// --- runs --------------------------------------------------------------------------------------

TEST(Runs, ListFiltersAndShowJson) {
  Estate e;
  e.Add({"alpha", false, "", ""});
  e.Add({"beta", false, "", ""});
  e.WriteConfig();
  const CliResult drill = RunRp(e, "drill run --json");
  ASSERT_EQ(drill.rc, 0) << drill.out << drill.err;
  auto store = OpenStore(e.data_dir);
  const int64_t now = NowUtc();
  const int64_t old_alpha = store->EnqueueRun(OperatorRun("alpha", -1), now - 10 * 86400);  // queued, never run
  const int64_t queued_beta = store->EnqueueRun(OperatorRun("beta", -1), now);
  int64_t passed_alpha = 0;
  for (const auto& r : AllRuns(*store))
    if (r.request.target == "alpha" && r.state == RunState::kPassed) passed_alpha = r.id;
  ASSERT_GT(passed_alpha, 0) << Describe(AllRuns(*store));
  const std::string since = UtcDate(now - 5 * 86400);

  const auto ids_of = [](const CliResult& r) {
    std::set<int64_t> ids;
    const json j = ParseJson(r);
    for (const auto& run : j.value("runs", json::array())) ids.insert(run.value("id", int64_t{0}));
    return ids;
  };
  const CliResult all = RunRp(e, "runs list --target alpha --since " + since + " --status passed --json");
  EXPECT_EQ(all.rc, 0) << all.err;
  EXPECT_EQ(ids_of(all), std::set<int64_t>{passed_alpha}) << all.out;
  for (const auto& run : ParseJson(all).value("runs", json::array())) {
    EXPECT_EQ(run.value("target", ""), "alpha");
    EXPECT_EQ(run.value("status", ""), "passed");
  }
  const CliResult target_only = RunRp(e, "runs list --target alpha --json");
  EXPECT_EQ(ids_of(target_only), (std::set<int64_t>{passed_alpha, old_alpha})) << target_only.out;
  const CliResult queued = RunRp(e, "runs list --status queued --json");
  EXPECT_EQ(ids_of(queued), (std::set<int64_t>{old_alpha, queued_beta})) << queued.out;
  const CliResult recent_queued = RunRp(e, "runs list --since " + since + " --status queued --json");
  EXPECT_EQ(ids_of(recent_queued), std::set<int64_t>{queued_beta}) << recent_queued.out;
  const CliResult future = RunRp(e, "runs list --since " + UtcDate(now + 2 * 86400) + " --json");
  EXPECT_EQ(future.rc, 0) << future.err;
  EXPECT_TRUE(ids_of(future).empty()) << future.out;
  EXPECT_EQ(RunRp(e, "runs list --status done --json").rc, 2);
  EXPECT_EQ(RunRp(e, "runs list --since yesterday --json").rc, 2);

  const CliResult show = RunRp(e, "runs show " + std::to_string(passed_alpha) + " --json");
  EXPECT_EQ(show.rc, 0) << show.err;
  const json j = ParseJson(show);
  for (const char* field : {"id", "target", "test", "trigger", "drill", "select", "requested_by", "attempt", "retry_of",
                            "status", "queued_at", "started_at", "finished_at", "point", "point_time", "location", "seed",
                            "files", "bytes", "duration_s", "throughput_bps", "worker", "version", "config_hash", "message",
                            "cancel_requested", "findings", "findings_dropped", "isolation", "format", "algorithm",
                            "sandbox_kind", "limits"})
    EXPECT_TRUE(j.contains(field)) << field << " missing from\n" << show.out;
  EXPECT_EQ(j.value("id", int64_t{0}), passed_alpha);
  EXPECT_EQ(j.value("target", ""), "alpha");
  EXPECT_EQ(j.value("status", ""), "passed");
  EXPECT_EQ(j.value("trigger", ""), "drill");
  EXPECT_EQ(j.value("point", ""), e.newest["alpha"].file);
  EXPECT_EQ(j.value("location", ""), "site-a");
  EXPECT_EQ(j.value("files", uint64_t{0}), e.newest["alpha"].files);
  EXPECT_EQ(j.value("bytes", uint64_t{0}), e.newest["alpha"].bytes);
  EXPECT_EQ(j.value("config_hash", ""), Sha256OfFile(e.config));
  EXPECT_EQ(j.value("version", ""), BinaryVersion());
  EXPECT_FALSE(j.contains("lease_owner")) << "only a running run has a lease";
  EXPECT_EQ(RunRp(e, "runs show 999999 --json").rc, 2);

  const CliResult cancel = RunRp(e, "runs cancel " + std::to_string(old_alpha));
  EXPECT_EQ(cancel.rc, 0) << cancel.err;
  EXPECT_EQ(store->GetRun(old_alpha)->state, RunState::kCancelled);
  EXPECT_EQ(store->GetRun(queued_beta)->state, RunState::kQueued);
  const CliResult again = RunRp(e, "runs cancel " + std::to_string(old_alpha));
  EXPECT_EQ(again.rc, 2) << again.out;  // it has ended
  const CliResult unknown = RunRp(e, "runs cancel 999999");
  EXPECT_EQ(unknown.rc, 2) << unknown.out;
  EXPECT_NE(unknown.err.find("999999"), std::string::npos) << unknown.err;
  EXPECT_EQ(store->GetRun(passed_alpha)->state, RunState::kPassed);
}

}  // namespace
}  // namespace rp
