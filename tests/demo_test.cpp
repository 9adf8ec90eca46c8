// `restoreproof demo` as a new user runs it: the real binary builds its estate (archives with
// manifests, one silently damaged; a real restic repository), catches what an operator must
// see, runs a drill through the store, readies a demo admin with a one-time password, and
// serves the dashboard on a loopback port of its choosing until SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "process_kit.h"
#include "rp/subprocess.h"
#include "testkit.h"
#include "web_kit.h"

namespace rp::test {
namespace {

using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// `restoreproof ARGS` with stdout and stderr captured apart.
CliResult RunRp(const TempDir& dir, const std::string& args) {
  static int calls = 0;
  const std::string err_file = dir / ("stderr-" + std::to_string(++calls) + ".txt");
  CliResult r;
  r.rc = Run("{ " + ShellQuote(RP_BINARY) + " " + args + " 2>" + ShellQuote(err_file) + "; }", &r.out);
  r.err = ReadFile(err_file);
  return r;
}

// The one-time password the demo printed, or "".
std::string PrintedPassword(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex(R"(password: ([0-9a-f]{4}(-[0-9a-f]{4}){5})\n)")) ? m[1].str() : "";
}

std::optional<json> DemoAdmin(const TempDir& dir, const std::string& config) {
  const CliResult users = RunWithConfig(dir.path(), config, "user list --json");
  EXPECT_EQ(users.rc, 0) << users.err;
  const json j = json::parse(users.out, nullptr, false);
  if (j.is_discarded() || !j.contains("users")) return std::nullopt;
  for (const auto& u : j["users"])
    if (u.value("name", "") == "demo-admin") return u;
  return std::nullopt;
}

// The estate with the problems an operator must see, found; the restic repository real; the
// drill recorded in the store; the demo admin stored with a password to change at first use.
TEST(demo, ShowsTheStaleTargetTheMissingCopyTheDamagedBackupAndRecordsADrillAndAnAdmin) {
  TempDir dir;
  const std::string estate = dir / "estate-demo";
  const CliResult r = RunRp(dir, "demo --no-serve --dir " + ShellQuote(estate));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "payroll     ok")) << r.out;
  EXPECT_TRUE(Contains(r.out, "mail        ok")) << r.out;
  // The stale target's newest backup ran at 02:00 Stockholm time three days ago: between 2.9
  // and 3.9 days old, by the time of day the test runs.
  const std::string fresh = "[freshness] newest recovery point is ";
  const size_t at = r.out.find(fresh);
  ASSERT_NE(at, std::string::npos) << r.out;
  const double age = std::stod(r.out.substr(at + fresh.size()));
  EXPECT_GE(age, 2.85) << r.out;
  EXPECT_LT(age, 4.0) << r.out;
  EXPECT_TRUE(Contains(r.out, "[redundancy.copies] 1 location(s)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "[redundancy.content] the copies of hr-archive-")) << r.out;
  EXPECT_TRUE(Contains(r.out, "FAILED  hr-archive/")) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(PASSED  mail/[0-9a-f]{8} \(restic snapshot\))"))) << r.out;
  EXPECT_TRUE(Contains(r.out, "1 restore test(s) failed")) << r.out;
  EXPECT_FALSE(Contains(r.out, "Not in this demo yet")) << r.out;
  EXPECT_FALSE(Contains(r.out, "Dashboard: http")) << r.out;

  // The configuration it wrote is valid and judges the same estate.
  const std::string config = estate + "/restoreproof.toml";
  EXPECT_EQ(RunRp(dir, "--config " + ShellQuote(config) + " config check").rc, 0);
  const CliResult check = RunRp(dir, "--config " + ShellQuote(config) + " --json targets check");
  EXPECT_EQ(check.rc, 1) << check.out << check.err;
  EXPECT_TRUE(Contains(check.out, "\"verdict\": \"failing\"")) << check.out;

  // The mail target's site-a is a real restic repository: restic itself lists a daily snapshot
  // for each of the 40 days (39 before 02:00 Stockholm time).
  const std::string repo = estate + "/estate/site-a/mail";
  std::string snapshots;
  ASSERT_EQ(test::Run("RESTIC_PASSWORD_FILE=" + ShellQuote(estate + "/estate/mail.restic-password") +
                    " restic --no-cache --no-lock -r " + ShellQuote(repo) + " snapshots --json",
                &snapshots),
            0)
      << snapshots;
  const json snaps = json::parse(snapshots, nullptr, false);
  ASSERT_TRUE(snaps.is_array()) << snapshots;
  EXPECT_GE(snaps.size(), 39u) << snapshots;
  EXPECT_LE(snaps.size(), 40u) << snapshots;
  EXPECT_TRUE(Contains(ReadFile(config), "kind = \"restic\"")) << ReadFile(config);

  // The drill ran through the store: `drills list` shows it, every target had its run, and the
  // damaged backup at site-a (the copy a fresh store tests first) failed it.
  EXPECT_TRUE(Contains(r.out, "3. A drill")) << r.out;
  const CliResult drills = RunWithConfig(dir.path(), config, "drills list --json");
  ASSERT_EQ(drills.rc, 0) << drills.err;
  const json dj = json::parse(drills.out, nullptr, false);
  ASSERT_FALSE(dj.is_discarded()) << drills.out;
  ASSERT_EQ(dj["drills"].size(), 1u) << drills.out;
  const json& drill = dj["drills"][0];
  EXPECT_EQ(drill["responsible"], "restoreproof demo") << drill.dump(2);
  EXPECT_EQ(drill["passed"], false) << drill.dump(2);
  ASSERT_EQ(drill["targets"].size(), 5u) << drill.dump(2);
  for (const auto& t : drill["targets"]) {
    const std::string name = t["target"];
    EXPECT_EQ(t["location"], "site-a") << t.dump(2);
    EXPECT_EQ(t["status"], name == "hr-archive" ? "failed" : "passed") << t.dump(2);
  }
  const CliResult list = RunWithConfig(dir.path(), config, "drills list");
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(\n +1 +on-demand +failed .* restoreproof demo\n)"))) << list.out;

  // The demo admin: stored, an admin, its printed password one to change at first sign-in.
  const std::string first_password = PrintedPassword(r.out);
  EXPECT_FALSE(first_password.empty()) << r.out;
  const auto admin = DemoAdmin(dir, config);
  ASSERT_TRUE(admin) << "no demo-admin in `user list`";
  EXPECT_EQ((*admin)["role"], "admin");
  EXPECT_EQ((*admin)["must_change_password"], true);

  // Run again on the same directory: the admin is kept and given a new one-time password.
  const CliResult again = RunRp(dir, "demo --no-serve --dir " + ShellQuote(estate));
  EXPECT_EQ(again.rc, 0) << again.out << again.err;
  const std::string second_password = PrintedPassword(again.out);
  EXPECT_FALSE(second_password.empty()) << again.out;
  EXPECT_NE(second_password, first_password);
  const auto admin_again = DemoAdmin(dir, config);
  ASSERT_TRUE(admin_again);
  EXPECT_EQ((*admin_again)["created_at"], (*admin)["created_at"]);
  EXPECT_EQ((*admin_again)["must_change_password"], true);
  const CliResult both = RunWithConfig(dir.path(), config, "drills list --json");
  EXPECT_EQ(json::parse(both.out, nullptr, false)["drills"].size(), 2u) << both.out;
}

// `restoreproof demo --port 0` in its own process group, standard output and error to files.
class DemoProcess {
 public:
  DemoProcess(const std::string& dir, const std::string& out, const std::string& err) {
    WriteFile(out, "");  // the child opens stdout_path write-only, without creating it
    ChildSpec spec;
    spec.argv = {RP_BINARY, "demo", "--dir", dir, "--port", "0"};
    for (char** e = environ; *e; ++e) spec.env.push_back(*e);
    spec.stdout_path = out;
    spec.stderr_path = err;
    spec.own_process_group = true;
    std::string error;
    pid_ = StartChild(spec, &error);
    EXPECT_GT(pid_, 0) << error;
  }
  ~DemoProcess() {
    if (pid_ > 0 && !status_) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  DemoProcess(const DemoProcess&) = delete;
  DemoProcess& operator=(const DemoProcess&) = delete;

  void Signal(int sig) const {
    if (pid_ > 0 && !status_) kill(pid_, sig);
  }
  bool Ended() {
    int st = 0;
    if (!status_ && pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_)
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_.has_value();
  }
  std::optional<int> status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Without --no-serve the demo serves the dashboard: the URL it prints carries the port it
// really listens on (port 0 asked for any), /healthz answers over loopback HTTP, and SIGTERM
// stops it cleanly with the demo's own exit status.
TEST(demo, ServesTheDashboardAtThePrintedUrlUntilSigterm) {
  TempDir dir;
  const std::string out_file = dir / "demo.out", err_file = dir / "demo.err";
  DemoProcess demo(dir / "estate-demo", out_file, err_file);
  int port = 0;
  const std::regex url(R"(Dashboard: http://127\.0\.0\.1:([0-9]+)/\n)");
  ASSERT_TRUE(WaitFor(
      [&] {
        std::smatch m;
        const std::string out = ReadFile(out_file);
        if (std::regex_search(out, m, url)) port = std::stoi(m[1].str());
        return port != 0 || demo.Ended();
      },
      240))
      << ReadFile(out_file) << ReadFile(err_file);
  ASSERT_NE(port, 0) << "the demo ended without serving:\n" << ReadFile(out_file) << ReadFile(err_file);
  const std::string out = ReadFile(out_file);
  EXPECT_FALSE(PrintedPassword(out).empty()) << out;
  EXPECT_LT(out.find("3. A drill"), out.find("Dashboard: http")) << out;

  const webtest::Response health = webtest::Request(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200) << ReadFile(err_file);
  EXPECT_EQ(health.body.substr(0, 2), "ok") << health.body;
  // The port printed is the one the web server reported listening on.
  EXPECT_TRUE(Contains(ReadFile(err_file), "\"port\":" + std::to_string(port))) << ReadFile(err_file);

  demo.Signal(SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return demo.Ended(); }, 60)) << ReadFile(err_file);
  EXPECT_EQ(demo.status(), 0) << ReadFile(out_file) << ReadFile(err_file);
  EXPECT_TRUE(Contains(ReadFile(err_file), "\"event\":\"serve-stopped\"")) << ReadFile(err_file);
  EXPECT_EQ(webtest::Request(port, "GET", "/healthz").status, 0);  // nothing listens any more
}

}  // namespace
}  // namespace rp::test
