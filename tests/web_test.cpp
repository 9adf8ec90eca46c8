// The web server inside `serve` as a monitoring system and a hostile client meet it: the real
// binary on a loopback port it chose itself (port 0, read back from its JSON log; web_kit.h),
// raw HTTP over POSIX sockets so that headers, sizes and timing are the test's own, a real
// SQLite store and real archives. The metrics text is also checked without HTTP, and `promtool check metrics`
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
#include "web_kit.h"

extern char** environ;

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;
using SteadyClock = std::chrono::steady_clock;
using webtest::AddUser;
using webtest::Appliance;
using webtest::Connect;
using webtest::Request;
using webtest::Response;
using webtest::SendAll;
using webtest::Serve;

using webtest::NowUtc;

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

  // Past the no-admin mode, which answers every other route with set-up advice (web_auth_test).
  ASSERT_EQ(AddUser(a, "admin", "admin", "a long enough password"), 0);
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
  ASSERT_EQ(AddUser(a, "admin", "admin", "a long enough password"), 0);
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
