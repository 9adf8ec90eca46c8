// The web server inside `serve` as a monitoring system and a hostile client meet it: the real
// binary on a loopback port it chose itself (port 0, read back from its JSON log), raw HTTP over
// POSIX sockets so that headers, sizes and timing are the test's own, a real SQLite store and
// real archives. The metrics text is also checked without HTTP, and `promtool check metrics`
// (Debian's prometheus) lints what is scraped.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/codec.h"
#include "rp/evidence_bundle.h"
#include "rp/metrics.h"
#include "rp/policy.h"
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

// --- the metrics text ---------------------------------------------------------------------------

using Labels = std::map<std::string, std::string>;

// Every sample of an exposition text: (name, labels) -> value.
std::map<std::pair<std::string, Labels>, double> Samples(const std::string& text) {
  std::map<std::pair<std::string, Labels>, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    const double value = std::stod(line.substr(space + 1));
    const size_t brace = series.find('{');
    Labels labels;
    if (brace != std::string::npos) {
      std::string rest = series.substr(brace + 1, series.size() - brace - 2);
      while (!rest.empty()) {
        const size_t eq = rest.find("=\"");
        const size_t end = rest.find('"', eq + 2);
        labels[rest.substr(0, eq)] = rest.substr(eq + 2, end - eq - 2);
        rest = end + 1 < rest.size() ? rest.substr(end + 2) : "";
      }
    }
    out[{series.substr(0, brace), labels}] = value;
  }
  return out;
}

std::optional<double> Sample(const std::string& text, const std::string& name, const Labels& labels) {
  const auto all = Samples(text);
  const auto it = all.find({name, labels});
  if (it == all.end()) return std::nullopt;
  return it->second;
}

// `promtool check metrics` over `text`: its output (empty when it finds nothing), or nullopt
// when promtool is not installed.
std::optional<std::string> Promtool(const std::string& text, const std::string& dir) {
  if (test::Run("command -v promtool >/dev/null") != 0) return std::nullopt;
  test::WriteFile(dir + "/scrape.txt", text);
  std::string out;
  const int rc = test::Run("promtool check metrics < " + ShellQuote(dir + "/scrape.txt") + " 2>&1", &out);
  if (rc != 0 && out.empty()) out = "promtool exit " + std::to_string(rc);
  return out;
}

TargetConfig Target(const std::string& name, bool personal_data) {
  TargetConfig t;
  t.name = name;
  t.owner = "Test Owner";
  t.personal_data.none = !personal_data;
  if (personal_data) t.personal_data.description = "Anställda: namn, personnummer";
  CopyConfig c;
  c.location = "site-a";
  t.copies.push_back(c);
  CopyConfig d;
  d.location = "site-b";
  t.copies.push_back(d);
  return t;
}

// A run of `target` recorded as the controller records it: queued, claimed, started, finished.
RunRecord RecordRun(Store& store, const std::string& target, RunState state, int64_t now, double duration_s) {
  RunRequest q;
  q.target = target;
  q.test_index = 0;
  q.requested_by = "web_test";
  const int64_t id = store.EnqueueRun(q, now - 100);
  auto claimed = store.ClaimRun("web_test/1/1", now - 100, now + 1000);
  EXPECT_TRUE(claimed && claimed->id == id);
  EXPECT_TRUE(store.RecordStart(id, "web_test/1/1", "p1", now - 86400, "site-a", 0, "web_test", "0", ""));
  RunOutcome o;
  o.state = state;
  o.finished_at = now;
  o.duration_s = duration_s;
  EXPECT_TRUE(store.FinishRun(id, "web_test/1/1", o));
  return *store.GetRun(id);
}

TEST(MetricsText, CarriesEachTargetsRunsAndCatalogAndNamesPersonalDataTargetsByPseudonymOnly) {
  TempDir dir;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(OpenSqliteStore(StorePath(dir.path()), &store).ok());
  Config cfg;
  cfg.targets = {Target("open-files", false), Target("payroll-secret", true)};
  const int64_t now = NowUtc();
  const RunRecord passed = RecordRun(*store, "open-files", RunState::kPassed, now - 50, 12.5);
  RecordRun(*store, "open-files", RunState::kFailed, now - 10, 3.25);
  RecordRun(*store, "payroll-secret", RunState::kPassed, now - 5, 1);

  TargetEvaluation e;
  e.target = "open-files";
  e.verdict = Verdict::kFailing;
  e.newest = now - 3600;
  PolicyFinding retention;
  retention.rule = PolicyRule::kRetentionDaily;
  retention.severity = Verdict::kFailing;
  PolicyFinding offline;
  offline.rule = PolicyRule::kLocationOffline;
  offline.severity = Verdict::kWarning;
  offline.location = "site-b";
  e.findings = {retention, offline};
  store->PutCatalogSnapshot("open-files", now - 60, "failing", EncodeJson(e));
  TargetEvaluation p;
  p.target = "payroll-secret";
  p.newest = now - 7200;
  store->PutCatalogSnapshot("payroll-secret", now - 60, "ok", EncodeJson(p));

  std::unique_ptr<Pseudonymiser> names;
  ASSERT_TRUE(Pseudonymiser::LoadOrCreate(dir.path(), &names).ok());
  const std::string text = RenderMetrics(cfg, *store, names.get(), now, "9.8.7");
  const Labels open{{"target", "open-files"}};
  EXPECT_EQ(Sample(text, "restoreproof_target_last_success_timestamp_seconds", open), passed.finished_at) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_last_test_duration_seconds", open), 3.25) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_newest_backup_age_seconds", open), 3600) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_copies", open), 1) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_compliant", {{"target", "open-files"}, {"rule", "retention"}}), 0) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_compliant", {{"target", "open-files"}, {"rule", "redundancy"}}), 1) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_status", open), 2) << text;
  EXPECT_EQ(Sample(text, "restoreproof_runs_total", {{"result", "passed"}}), 2) << text;
  EXPECT_EQ(Sample(text, "restoreproof_runs_total", {{"result", "failed"}}), 1) << text;
  EXPECT_EQ(Sample(text, "restoreproof_runs_total", {{"result", "cancelled"}}), 0) << text;
  EXPECT_EQ(Sample(text, "restoreproof_build_info", {{"version", "9.8.7"}}), 1) << text;

  const Labels pseudonym{{"target", names->Target("payroll-secret")}};
  EXPECT_EQ(Sample(text, "restoreproof_target_status", pseudonym), 0) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_newest_backup_age_seconds", pseudonym), 7200) << text;
  EXPECT_EQ(text.find("payroll-secret"), std::string::npos) << text;

  // Without the appliance's key the personal-data target is left out, never named.
  const std::string without = RenderMetrics(cfg, *store, nullptr, now, "9.8.7");
  EXPECT_EQ(without.find("payroll-secret"), std::string::npos) << without;
  EXPECT_EQ(without.find(names->Target("payroll-secret")), std::string::npos) << without;
  EXPECT_TRUE(Sample(without, "restoreproof_target_status", open)) << without;

  if (const auto lint = Promtool(text, dir.path())) {
    EXPECT_EQ(*lint, "") << text;
  }
}

// --- [web] in the configuration -------------------------------------------------------------

TEST(WebConfigSection, DefaultsAndEveryBadValueIsAnErrorAtItsPosition) {
  const ConfigResult defaults = ParseConfig("[appliance]\nlisten = \"127.0.0.1:0\"\n", "f.toml");
  EXPECT_TRUE(defaults.errors.empty()) << defaults.errors[0].Format();
  EXPECT_EQ(defaults.config.web, WebConfig{});
  EXPECT_EQ(defaults.config.appliance.listen, "127.0.0.1:0");

  const ConfigResult set = ParseConfig("[web]\nenabled = false\nthreads = 8\nqueue = 10\nmax_request_bytes = 4096\ntimeout = \"5s\"\n", "f.toml");
  ASSERT_TRUE(set.errors.empty()) << set.errors[0].Format();
  EXPECT_FALSE(set.config.web.enabled);
  EXPECT_EQ(set.config.web.threads, 8);
  EXPECT_EQ(set.config.web.queue, 10);
  EXPECT_EQ(set.config.web.max_request_bytes, 4096);
  EXPECT_EQ(set.config.web.timeout_s, 5);

  const ConfigResult bad = ParseConfig(
      "[web]\nenabled = \"yes\"\nthreads = 0\nqueue = 5000\nmax_request_bytes = 10\ntimeout = \"1h\"\nport = 1\n", "f.toml");
  std::map<std::string, std::pair<int, int>> at;
  for (const auto& e : bad.errors) at[e.key] = {e.line, e.column};
  EXPECT_EQ(at["web.enabled"], std::make_pair(2, 11));
  EXPECT_EQ(at["web.threads"], std::make_pair(3, 11));
  EXPECT_EQ(at["web.queue"], std::make_pair(4, 9));
  EXPECT_EQ(at["web.max_request_bytes"], std::make_pair(5, 21));
  EXPECT_EQ(at["web.timeout"], std::make_pair(6, 11));
  EXPECT_EQ(at["web.port"], std::make_pair(7, 8));
  EXPECT_EQ(bad.errors.size(), 6u);
}

// --- raw HTTP -----------------------------------------------------------------------------------

int Connect(int port, double timeout_s = 10) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{static_cast<time_t>(timeout_s), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct Response {
  int status = 0;  // 0: no status line came (the connection was closed or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

Response ReadResponse(int fd) {
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  r.body = raw.substr(end + 4);
  return r;
}

Response Request(int port, const std::string& method, const std::string& path, const std::string& extra = "") {
  const int fd = Connect(port);
  if (fd < 0) return {};
  SendAll(fd, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + "\r\n");
  Response r = ReadResponse(fd);
  close(fd);
  return r;
}

// --- serve as a process -------------------------------------------------------------------------

// A temporary appliance whose web server listens on a port of its choosing: `open-files` (no
// personal data) and `payroll-secret` (personal data), each with two daily tar points and
// their xxh128 manifests at one site.
class Appliance {
 public:
  Appliance(const std::string& web = "") : config(dir / "restoreproof.toml"), data_dir(dir / "data"), log(dir / "serve.log") {
    std::filesystem::create_directories(dir / "sandboxes");
    std::string toml = "[appliance]\ndata_dir = \"" + data_dir + "\"\nsandbox_dir = \"" + (dir / "sandboxes") +
                       "\"\ntimezone = \"UTC\"\nlisten = \"127.0.0.1:0\"\ndrain_grace = \"5s\"\n\n[policy]\nmin_copies = 1\n\n" +
                       web + "\n";
    for (const auto& [name, pd] : {std::pair<std::string, std::string>{"open-files", "none"},
                                   {"payroll-secret", "Anställda: namn, personnummer"}}) {
      const std::string site = dir / ("site-a/" + name);
      std::filesystem::create_directories(site);
      for (int day = 2; day >= 1; --day) {
        SampleTreeOptions o;
        o.seed = static_cast<uint64_t>(day) + name.size();
        o.files = 4;
        o.large_file_bytes = 16 * 1024;
        o.exotic_names = false;
        o.links = false;
        const auto tree = SampleTree(o);
        const int64_t t = NowUtc() / 86400 * 86400 - day * 86400 + 7200;
        const time_t s = static_cast<time_t>(t);
        std::tm tm{};
        gmtime_r(&s, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        const std::string file = site + "/" + name + "-" + stamp + ".tar";
        EXPECT_TRUE(WriteArchive(file, ArchiveSpec{"pax", {}}, tree).ok());
        test::WriteFile(file + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
      }
      toml += "[[targets]]\nname = \"" + name + "\"\nowner = \"Test Owner\"\nclassification = { K = 1, R = 1, T = 1 }\n"
              "personal_data = \"" + pd + "\"\nsandbox = \"disk\"\n[[targets.copies]]\nlocation = \"site-a\"\n"
              "kind = \"archive-dir\"\npath = \"" + site + "\"\npattern = \"" + name +
              "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n"
              "[[targets.tests]]\nschedule = \"@yearly\"\n\n";
    }
    test::WriteFile(config, toml);
  }

  TempDir dir;
  const std::string config, data_dir, log;
};

// `restoreproof --config FILE serve` in its own process group, its log in a file; killed at the end.
class Serve {
 public:
  explicit Serve(const Appliance& a) : log_(a.log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, a.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    std::string bin = RP_BINARY, opt = "--config", cfg = a.config, cmd = "serve";
    char* argv[] = {bin.data(), opt.data(), cfg.data(), cmd.data(), nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &fa, &attr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  ~Serve() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // The port of its `nth` `web-started` event (1: the first); 0 when none came within 30 s.
  int Port(int nth = 1) {
    int port = 0;
    test::WaitFor([&] {
      std::istringstream in(test::ReadFile(log_));
      std::string line;
      int seen = 0;
      while (std::getline(in, line)) {
        const json j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.value("event", "") == "web-started" && ++seen == nth)
          port = j.value("port", 0);
      }
      return port != 0;
    }, 30);
    return port;
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  std::string Log() const { return test::ReadFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

TEST(WebServer, AnswersHealthzAndReadyzAndRefusesUnknownRoutesAndOtherMethods) {
  Appliance a;
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();

  Response health = Request(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200) << serve.Log();
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(health.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(health.headers["cache-control"], "no-store");
  EXPECT_NE(health.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_TRUE(test::WaitFor([&] { return Request(port, "GET", "/readyz").status == 200; }, 30)) << serve.Log();

  Response head = Request(port, "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  Response unknown = Request(port, "GET", "/etc/passwd");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.headers["x-content-type-options"], "nosniff");
  Response post = Request(port, "POST", "/metrics", "Content-Length: 0\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  Response body = Request(port, "GET", "/healthz", "Content-Length: 10000000\r\n");
  EXPECT_EQ(body.status, 413);
}

TEST(WebServer, MetricsCarryEachTargetAfterARunAndNeverAPersonalDataTargetsName) {
  Appliance a;
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  std::unique_ptr<Store> store;
  ASSERT_TRUE(OpenSqliteStore(StorePath(a.data_dir), &store).ok());
  RunRequest q;
  q.target = "open-files";
  q.test_index = 0;
  q.requested_by = "web_test";
  const int64_t id = store->EnqueueRun(q, NowUtc());
  ASSERT_TRUE(test::WaitFor([&] { return RunStateFinal(store->GetRun(id)->state); }, 60)) << serve.Log();
  const RunRecord run = *store->GetRun(id);
  ASSERT_EQ(run.state, RunState::kPassed) << run.message << serve.Log();

  std::string text;
  const Labels open{{"target", "open-files"}};
  ASSERT_TRUE(test::WaitFor([&] {
    const Response r = Request(port, "GET", "/metrics");
    text = r.body;
    return r.status == 200 && Sample(text, "restoreproof_target_status", open).has_value();
  }, 30)) << text << serve.Log();
  EXPECT_EQ(Sample(text, "restoreproof_target_last_success_timestamp_seconds", open), run.finished_at) << text;
  EXPECT_NEAR(Sample(text, "restoreproof_target_last_test_duration_seconds", open).value_or(-1), run.duration_s, 1e-6)
      << text;
  EXPECT_TRUE(Sample(text, "restoreproof_target_newest_backup_age_seconds", open)) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_copies", open), 1) << text;
  EXPECT_EQ(Sample(text, "restoreproof_target_compliant", {{"target", "open-files"}, {"rule", "redundancy"}}), 1) << text;
  EXPECT_TRUE(Sample(text, "restoreproof_target_compliant", {{"target", "open-files"}, {"rule", "retention"}})) << text;
  EXPECT_GE(Sample(text, "restoreproof_runs_total", {{"result", "passed"}}).value_or(0), 1) << text;

  std::unique_ptr<Pseudonymiser> names;
  ASSERT_TRUE(Pseudonymiser::LoadOrCreate(a.data_dir, &names).ok());
  EXPECT_TRUE(Sample(text, "restoreproof_target_status", {{"target", names->Target("payroll-secret")}})) << text;
  EXPECT_EQ(text.find("payroll"), std::string::npos) << text;

  const auto lint = Promtool(text, a.dir.path());
  if (!lint) GTEST_SKIP() << "promtool (Debian's prometheus) is not installed";
  EXPECT_EQ(*lint, "") << text;
}

TEST(WebServer, AHugeHeaderIsRefusedAndTheServerStillAnswers) {
  Appliance a;
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  for (const std::string& extra : {"X-Huge: " + std::string(100 * 1024, 'a') + "\r\n",
                                   [] {
                                     std::string many;
                                     for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": " + std::string(40, 'b') + "\r\n";
                                     return many;
                                   }()}) {
    Response r = Request(port, "GET", "/healthz", extra);
    EXPECT_TRUE(r.status == 0 || (r.status >= 400 && r.status < 500)) << r.status << " " << r.body;
  }
  EXPECT_EQ(Request(port, "GET", "/healthz").status, 200) << serve.Log();
}

TEST(WebServer, AClientTricklingBytesDoesNotKeepOthersWaiting) {
  // One thread, so without a deadline on the whole request the trickling client would hold it
  // for all of its 12 s.
  Appliance a("[web]\nthreads = 1\ntimeout = \"2s\"\n");
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  ASSERT_EQ(Request(port, "GET", "/healthz").status, 200) << serve.Log();

  std::atomic<bool> cut{false};
  std::thread slow([&] {
    const int fd = Connect(port);
    if (fd < 0) return;
    bool ok = SendAll(fd, "GET /healthz HTTP/1.1\r\nX-Slow: ");
    for (int i = 0; ok && i < 12; ++i) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      char c = 0;
      if (recv(fd, &c, 1, MSG_DONTWAIT) == 0) break;  // the server closed it
      ok = SendAll(fd, "z");
    }
    cut = true;
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto start = SteadyClock::now();
  Response r = Request(port, "GET", "/healthz");
  const double waited = std::chrono::duration<double>(SteadyClock::now() - start).count();
  EXPECT_EQ(r.status, 200) << serve.Log();
  EXPECT_LT(waited, 6) << "a trickling client held the server's only thread";
  slow.join();
  EXPECT_TRUE(cut);
}

TEST(WebServer, AReloadThatChangesWebRestartsTheServerOnTheNewSettings) {
  Appliance a;
  Serve serve(a);
  const int first = serve.Port();
  ASSERT_GT(first, 0) << serve.Log();
  ASSERT_TRUE(test::WaitFor([&] { return Request(first, "GET", "/readyz").status == 200; }, 30)) << serve.Log();

  test::WriteFile(a.config, test::ReadFile(a.config) + "\n[web]\nthreads = 2\n");
  serve.Signal(SIGHUP);
  const int second = serve.Port(2);
  ASSERT_GT(second, 0) << serve.Log();
  EXPECT_NE(serve.Log().find("\"threads\":2"), std::string::npos) << serve.Log();
  EXPECT_EQ(Request(second, "GET", "/healthz").status, 200) << serve.Log();
  EXPECT_EQ(Request(second, "GET", "/readyz").status, 200) << serve.Log();
}

}  // namespace
}  // namespace rp
