// agent_bench: the multi-host benchmarks of issue 18 on a real PostgreSQL (the test helper's
// server, rp/pg_server.h), in three parts (bench/agent_bench.sh runs it; docs/BENCHMARKS.md):
//
//   jobs        AGENTS real `restoreproof agent` processes (workers each) work through JOBS
//               queued small restore tests (pax tars of a few files with xxh128 manifests, over
//               TARGETS targets): wall time, jobs/s, and every job passed exactly once.
//   overhead    AGENTS processes using the store directly take JOBS runs through what an agent's
//               store calls are per job: ClaimRun + RecordStart + FinishRun + AppendLog. Each
//               job's sum is timed; p50, p99 and max over all jobs (goal: p99 < 10 ms).
//   contention  CLAIMERS processes claim and finish CLAIMS trivial runs concurrently, each
//               writing "run-id owner" to a file of its own; afterwards no run id may appear
//               twice, every run must have been claimed once and ended, none left running.
//
// agent_bench --binary PATH [--dir DIR] [--jobs 1000] [--agents 3] [--workers 2] [--targets 100]
//             [--claims 10000] [--claimers 8] [--parts jobs,overhead,contention]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/pg_server.h"
#include "rp/restoration_log.h"
#include "rp/store.h"
#include "rp/store_url.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Args {
  std::string binary, dir = "/tmp/agent-bench", parts = "jobs,overhead,contention";
  int jobs = 1000, agents = 3, workers = 2, targets = 100, claims = 10000, claimers = 8;
};

rp::test::PgServer* pg = nullptr;

std::unique_ptr<rp::Store> OpenDb(const std::string& database) {
  rp::StoreUrl url;
  url.user = pg->superuser();
  url.host = "127.0.0.1";
  url.port = pg->port();
  url.database = database;
  std::unique_ptr<rp::Store> store;
  const rp::Status s = rp::OpenPostgresStore(url, pg->password(), &store);
  if (!s.ok()) {
    std::fprintf(stderr, "agent_bench: %s\n", s.message().c_str());
    std::exit(3);
  }
  return store;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

rp::RunRequest Trivial(const std::string& target) {
  rp::RunRequest q;
  q.target = target;
  q.test_index = -1;
  q.trigger = rp::Trigger::kOperator;
  q.requested_by = "agent_bench";
  return q;
}

// --- jobs: real agents -----------------------------------------------------------------------

int Jobs(const Args& a) {
  const std::string root = a.dir + "/jobs";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string database = pg->NewDatabase();
  std::string targets;
  const std::string stamp = [] {
    const time_t t = time(nullptr) / 86400 * 86400 - 86400 + 7200;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
    return std::string(buf);
  }();
  for (int t = 0; t < a.targets; ++t) {
    const std::string name = "t" + std::to_string(t);
    const std::string dir = root + "/backups/" + name;
    std::filesystem::create_directories(dir);
    rp::SampleTreeOptions o;
    o.seed = static_cast<uint64_t>(t) + 1;
    o.files = 4;
    o.large_file_bytes = 16 * 1024;
    o.exotic_names = false;
    o.links = false;
    const auto tree = rp::SampleTree(o);
    const std::string file = name + "-" + stamp + ".tar";
    if (const rp::Status s = rp::WriteArchive(dir + "/" + file, rp::ArchiveSpec{"pax", {}}, tree); !s.ok()) {
      std::fprintf(stderr, "agent_bench: %s\n", s.message().c_str());
      return 3;
    }
    std::ofstream(dir + "/" + file + ".xxh128") << rp::ManifestFor(tree, rp::HashAlgo::kXxh128);
    targets += "[[targets]]\nname = \"" + name +
               "\"\nowner = \"Bench\"\nclassification = { K = 1, R = 1, T = 1 }\npersonal_data = \"none\"\n"
               "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + dir + "\"\npattern = \"" +
               name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n\n";
  }
  auto store = OpenDb(database);
  for (int j = 0; j < a.jobs; ++j) store->EnqueueRun(Trivial("t" + std::to_string(j % a.targets)), rp::NowS());
  std::vector<pid_t> agents;
  const auto t0 = Clock::now();
  for (int i = 0; i < a.agents; ++i) {
    const std::string own = root + "/agent" + std::to_string(i);
    std::filesystem::create_directories(own + "/sandboxes");
    const std::string config = own + "/restoreproof.toml";
    std::ofstream(config) << "[appliance]\ndata_dir = \"" << own << "/data\"\nsandbox_dir = \"" << own
                          << "/sandboxes\"\ntimezone = \"UTC\"\nworkers = " << a.workers
                          << "\nlease = \"30s\"\n\n[store]\nurl = \"" << pg->Url(database) << "\"\npassword_file = \""
                          << pg->password_file() << "\"\n\n"
                          << targets;
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string log = own + "/agent.log";
      if (!freopen(log.c_str(), "w", stderr)) _exit(3);
      execl(a.binary.c_str(), a.binary.c_str(), "--config", config.c_str(), "agent", static_cast<char*>(nullptr));
      _exit(127);
    }
    agents.push_back(pid);
  }
  int64_t done = 0;
  for (;;) {
    const auto counts = store->CountRunsByState();
    done = 0;
    int64_t pending = 0;
    for (const auto& [state, n] : counts) (rp::RunStateFinal(state) ? done : pending) += n;
    if (pending == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double wall_s = Ms(Clock::now() - t0) / 1000;
  for (pid_t p : agents) kill(p, SIGTERM);
  for (pid_t p : agents) waitpid(p, nullptr, 0);
  const auto counts = store->CountRunsByState();
  const int64_t passed = counts.count(rp::RunState::kPassed) ? counts.at(rp::RunState::kPassed) : 0;
  std::printf("jobs        %d jobs, %d agents x %d workers: %.1f s, %.1f jobs/s; passed %lld of %lld runs%s\n", a.jobs,
              a.agents, a.workers, wall_s, a.jobs / wall_s, static_cast<long long>(passed), static_cast<long long>(done),
              passed == a.jobs && done == a.jobs ? " (each job once)" : "  <-- NOT every job passed exactly once");
  return passed == a.jobs && done == a.jobs ? 0 : 1;
}

// --- overhead: an agent's store calls per job -------------------------------------------------

int Overhead(const Args& a) {
  const std::string database = pg->NewDatabase();
  {
    auto store = OpenDb(database);
    for (int j = 0; j < a.jobs; ++j) store->EnqueueRun(Trivial("t" + std::to_string(j % a.targets)), rp::NowS());
  }
  const std::string dir = a.dir + "/overhead";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<pid_t> kids;
  for (int i = 0; i < a.agents; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      auto store = OpenDb(database);
      const std::string owner = "bench-" + std::to_string(i) + "/" + std::to_string(getpid()) + "/0";
      std::ofstream out(dir + "/" + std::to_string(i) + ".ms");
      const rp::TimeZone zone = rp::TimeZone::Utc();
      for (int idle = 0; idle < 20;) {
        const auto t0 = Clock::now();
        const int64_t now = rp::NowS();
        const auto run = store->ClaimRun(owner, now, now + 30, rp::ClaimFilter{});
        if (!run) {
          ++idle;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        idle = 0;
        const auto t1 = Clock::now();
        store->RecordStart(run->id, owner, "point.tar", now, "site-a", 0, owner, "bench", "hash");
        const auto t2 = Clock::now();
        rp::RunOutcome o;
        o.state = rp::RunState::kPassed;
        o.finished_at = rp::NowS();
        o.files = 4;
        o.bytes = 65536;
        const bool held = store->FinishRun(run->id, owner, o);
        const auto t3 = Clock::now();
        rp::LogRecord r = rp::NewLogRecord(rp::LogKind::kOperatorTest, o.finished_at, zone);
        r.target = run->request.target;
        r.point = "point.tar";
        r.location = "site-a";
        r.responsible = "Bench";
        r.personal_data = "none";
        r.reason = "benchmark";
        r.result = "passed";
        r.run_id = run->id;
        store->AppendLog(r);
        const auto t4 = Clock::now();
        out << Ms(t4 - t0) << " " << Ms(t1 - t0) << " " << Ms(t2 - t1) << " " << Ms(t3 - t2) << " " << Ms(t4 - t3) << " "
            << (held ? 1 : 0) << "\n";
      }
      out.close();
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  std::vector<double> total, claim, start, finish, append;
  int lost = 0;
  for (int i = 0; i < a.agents; ++i) {
    std::ifstream in(dir + "/" + std::to_string(i) + ".ms");
    double t, c, s, f, l;
    int held;
    while (in >> t >> c >> s >> f >> l >> held) {
      total.push_back(t);
      claim.push_back(c);
      start.push_back(s);
      finish.push_back(f);
      append.push_back(l);
      lost += held ? 0 : 1;
    }
  }
  const double p99 = Percentile(total, 0.99);
  std::printf("overhead    %zu jobs by %d processes, ClaimRun+RecordStart+FinishRun+AppendLog per job: p50 %.2f ms, "
              "p99 %.2f ms, max %.2f ms (goal p99 < 10 ms: %s)\n",
              total.size(), a.agents, Percentile(total, 0.5), p99, *std::max_element(total.begin(), total.end()),
              p99 < 10 ? "met" : "MISSED");
  std::printf("            p50/p99 each: claim %.2f/%.2f, start %.2f/%.2f, finish %.2f/%.2f, log %.2f/%.2f ms%s\n",
              Percentile(claim, 0.5), Percentile(claim, 0.99), Percentile(start, 0.5), Percentile(start, 0.99),
              Percentile(finish, 0.5), Percentile(finish, 0.99), Percentile(append, 0.5), Percentile(append, 0.99),
              lost ? "  <-- a FinishRun was refused" : "");
  return static_cast<int>(total.size()) == a.jobs && lost == 0 && p99 < 10 ? 0 : 1;
}

// --- contention: no run held by two -----------------------------------------------------------

int Contention(const Args& a) {
  const std::string database = pg->NewDatabase();
  const int targets = std::max(1, a.claims / 10);
  {
    auto store = OpenDb(database);
    for (int j = 0; j < a.claims; ++j) store->EnqueueRun(Trivial("c" + std::to_string(j % targets)), rp::NowS());
  }
  const std::string dir = a.dir + "/contention";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto t0 = Clock::now();
  std::vector<pid_t> kids;
  for (int i = 0; i < a.claimers; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      auto store = OpenDb(database);
      const std::string owner = "claimer-" + std::to_string(i) + "/" + std::to_string(getpid()) + "/0";
      std::ofstream out(dir + "/" + std::to_string(i) + ".claims");
      int refused = 0;
      for (int idle = 0; idle < 10;) {
        const int64_t now = rp::NowS();
        const auto run = store->ClaimRun(owner, now, now + 60, rp::ClaimFilter{});
        if (!run) {
          ++idle;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        idle = 0;
        out << run->id << " " << owner << "\n";
        out.flush();
        rp::RunOutcome o;
        o.state = rp::RunState::kPassed;
        o.finished_at = rp::NowS();
        if (!store->FinishRun(run->id, owner, o)) ++refused;
      }
      out << "refused " << refused << "\n";
      out.close();
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  const double wall_s = Ms(Clock::now() - t0) / 1000;
  std::map<int64_t, std::vector<std::string>> holders;
  int refused = 0;
  for (int i = 0; i < a.claimers; ++i) {
    std::ifstream in(dir + "/" + std::to_string(i) + ".claims");
    std::string first, second;
    while (in >> first >> second) {
      if (first == "refused") {
        refused += std::atoi(second.c_str());
        continue;
      }
      holders[std::atoll(first.c_str())].push_back(second);
    }
  }
  int doubled = 0;
  for (const auto& [id, who] : holders) doubled += who.size() > 1 ? 1 : 0;
  auto store = OpenDb(database);
  const auto counts = store->CountRunsByState();
  const int64_t passed = counts.count(rp::RunState::kPassed) ? counts.at(rp::RunState::kPassed) : 0;
  const bool ok = doubled == 0 && refused == 0 && static_cast<int>(holders.size()) == a.claims && passed == a.claims;
  std::printf("contention  %d claims by %d processes in %.1f s (%.0f claims/s): %zu distinct runs claimed, %d held by "
              "two, %d finishes refused, %lld passed in the store: %s\n",
              a.claims, a.claimers, wall_s, a.claims / wall_s, holders.size(), doubled, refused,
              static_cast<long long>(passed), ok ? "no run held by two, every run once" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--binary") a.binary = v;
    else if (k == "--dir") a.dir = v;
    else if (k == "--parts") a.parts = v;
    else if (k == "--jobs") a.jobs = std::atoi(v.c_str());
    else if (k == "--agents") a.agents = std::atoi(v.c_str());
    else if (k == "--workers") a.workers = std::atoi(v.c_str());
    else if (k == "--targets") a.targets = std::atoi(v.c_str());
    else if (k == "--claims") a.claims = std::atoi(v.c_str());
    else if (k == "--claimers") a.claimers = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "agent_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.jobs < 1 || a.agents < 1 || a.workers < 1 || a.targets < 1 || a.claims < 1 || a.claimers < 1) {
    std::fprintf(stderr, "agent_bench: counts must be at least 1\n");
    return 2;
  }
  std::string error;
  pg = rp::test::PgServer::Shared(&error);
  if (!pg) {
    std::fprintf(stderr, "agent_bench: PostgreSQL could not be started: %s\n", error.c_str());
    return 3;
  }
  int rc = 0;
  if (a.parts.find("jobs") != std::string::npos) {
    if (a.binary.empty()) {
      std::fprintf(stderr, "agent_bench: --binary PATH (restoreproof) is needed for the jobs part\n");
      return 2;
    }
    rc |= Jobs(a);
  }
  if (a.parts.find("overhead") != std::string::npos) rc |= Overhead(a);
  if (a.parts.find("contention") != std::string::npos) rc |= Contention(a);
  return rc;
}
