// `serve` tells people once per change of state: a target whose restore tests keep failing
// sends one signed webhook (checked by a real HTTP listener, tests/tools/webhook_sink.py) and
// one e-mail (a real aiosmtpd, tests/tools/smtp_sink.py), and one of each again when it
// recovers, however many runs there were.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "rp/store.h"
#include "rp/subprocess.h"
#include "process_kit.h"
#include "testkit.h"

namespace rp {
namespace {

using Clock = std::chrono::steady_clock;
using test::ReadFile;
using test::ShellQuote;
using test::TempDir;
using test::WriteFile;

using test::PortListener;
using test::WaitFor;

std::vector<nlohmann::json> Files(const std::string& dir, const std::string& prefix) {
  std::vector<nlohmann::json> out;
  for (int i = 1; std::filesystem::exists(dir + "/" + prefix + std::to_string(i) + ".json"); ++i)
    out.push_back(nlohmann::json::parse(ReadFile(dir + "/" + prefix + std::to_string(i) + ".json")));
  return out;
}

TEST(ServeNotify, OneSignedWebhookAndOneMailPerChangeOfStateNeverAFlood) {
  TempDir dir;
  const std::string hooks = dir / "hooks", mails = dir / "mails", estate = dir / "estate";
  std::filesystem::create_directories(hooks);
  std::filesystem::create_directories(mails);
  std::filesystem::create_directories(estate + "/src/data");
  WriteFile(dir / "hook.key", "s3cret-hook-key\n");
  PortListener hook({"/usr/bin/python3", std::string(RP_SOURCE_DIR) + "/tests/tools/webhook_sink.py", "--out", hooks,
                 "--key-file", dir / "hook.key"},
                dir / "hook.err");
  PortListener smtp({"/usr/bin/python3", std::string(RP_SOURCE_DIR) + "/tests/tools/smtp_sink.py", "--out", mails},
                dir / "smtp.err");
  ASSERT_GT(hook.port(), 0) << ReadFile(dir / "hook.err");
  ASSERT_GT(smtp.port(), 0) << ReadFile(dir / "smtp.err");

  // One archive whose manifest disagrees with one file: every restore test fails.
  WriteFile(estate + "/src/data/ledger.txt", "debit 100\ncredit 100\n");
  WriteFile(estate + "/src/data/notes.txt", "quarterly close\n");
  const std::string archive = estate + "/backups/ledger-20261201T020000.tar";
  ASSERT_EQ(test::Run("mkdir -p " + ShellQuote(estate + "/backups") + " && cd " + ShellQuote(estate + "/src") +
                      " && tar -cf " + ShellQuote(archive) + " data && (xxhsum -H2 data/ledger.txt data/notes.txt 2>/dev/null) > " +
                      ShellQuote(dir / "good.xxh128")),
            0);
  const std::string good = ReadFile(dir / "good.xxh128");
  // The manifest of a tree where the ledger says something else.
  std::filesystem::create_directories(estate + "/other/data");
  WriteFile(estate + "/other/data/ledger.txt", "debit 100\ncredit 90\n");
  WriteFile(estate + "/other/data/notes.txt", "quarterly close\n");
  ASSERT_EQ(test::Run("cd " + ShellQuote(estate + "/other") + " && (xxhsum -H2 data/ledger.txt data/notes.txt 2>/dev/null) > " +
                      ShellQuote(archive + ".xxh128")),
            0);

  const std::string config = dir / "restoreproof.toml";
  WriteFile(config, "[appliance]\ndata_dir = \"" + dir.path() + "/data\"\ntimezone = \"Europe/Stockholm\"\n"
                    "workers = 1\nlease = \"5s\"\ndrain_grace = \"2s\"\n"
                    "[policy]\nrestore_test_interval = \"1s\"\nmin_copies = 1\n"
                    "[[notify]]\nname = \"ops-hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
                        std::to_string(hook.port()) + "/restoreproof\"\nsecret_file = \"" + dir.path() + "/hook.key\"\n"
                    "[[notify]]\nname = \"ops-mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = " +
                        std::to_string(smtp.port()) + "\nstarttls = \"off\"\nfrom = \"restoreproof@example.se\"\n"
                    "to = [\"drift@example.se\"]\n"
                    "[[targets]]\nname = \"ledger\"\nowner = \"Anna Svensson\"\n"
                    "classification = { K = 2, R = 2, T = 2 }\npersonal_data = \"none\"\n"
                    "notify = [\"ops-hook\", \"ops-mail\"]\n"
                    "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + estate +
                        "/backups\"\npattern = \"ledger-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n");

  ChildSpec spec;
  spec.argv = {RP_BINARY, "--config", config, "serve"};
  spec.env = {"PATH=/usr/bin:/bin", "HOME=" + dir.path()};
  spec.stderr_path = dir / "serve.log";
  std::string error;
  const pid_t serve = StartChild(spec, &error);
  ASSERT_GT(serve, 0) << error;
  const auto count_runs = [&](RunState state) {
    std::unique_ptr<Store> store;
    if (!OpenSqliteStore(dir.path() + "/data/restoreproof.db", &store).ok()) return size_t{0};
    RunFilter f;
    f.state = state;
    return store->ListRuns(f).size();
  };
  const auto restore_test_events = [&](const std::string& event) {
    size_t n = 0;
    for (const auto& h : Files(hooks, "hook-"))
      n += h.value("event", "") == event && h.value("aspect", "") == "restore-test";
    return n;
  };
  EXPECT_TRUE(WaitFor([&] { return count_runs(RunState::kFailed) >= 4 && restore_test_events("run-failed") >= 1; }, 90))
      << ReadFile(dir / "serve.log");

  // The damage repaired: the next run passes and the recovery is told, once.
  WriteFile(archive + ".xxh128", good);
  EXPECT_TRUE(WaitFor([&] { return count_runs(RunState::kPassed) >= 3 && restore_test_events("target-recovered") >= 1; }, 90))
      << ReadFile(dir / "serve.log");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a second message, were there one, would arrive now
  kill(serve, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(serve, &status, 0), serve);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(dir / "serve.log");

  EXPECT_EQ(restore_test_events("run-failed"), 1u) << "four failed runs are one change of state";
  EXPECT_EQ(restore_test_events("target-recovered"), 1u);
  EXPECT_FALSE(std::filesystem::exists(hooks + "/rejected.log")) << "every webhook carries a valid HMAC";
  size_t stale = 0;
  for (const auto& h : Files(hooks, "hook-")) stale += h.value("event", "") == "target-stale";
  EXPECT_EQ(stale, 1u) << "the backup is days old: the catalog check says so once";
  for (const auto& h : Files(hooks, "hook-")) {
    EXPECT_EQ(h.value("target", ""), "ledger");
    if (h.value("event", "") == "run-failed") {
      EXPECT_EQ(h["run"]["status"], "failed");
      ASSERT_FALSE(h["run"]["findings"].empty());
      EXPECT_EQ(h["run"]["findings"][0]["kind"], "checksum-mismatch");
    }
  }
  size_t failed_mails = 0, recovered_mails = 0;
  for (const auto& m : Files(mails, "msg-")) {
    const std::string subject = m.value("subject", "");
    failed_mails += subject.find("restore test of ledger failed") != std::string::npos;
    recovered_mails += subject.find("restore test of ledger passes again") != std::string::npos;
  }
  EXPECT_EQ(failed_mails, 1u) << ReadFile(dir / "serve.log");
  EXPECT_EQ(recovered_mails, 1u);
  EXPECT_GE(count_runs(RunState::kFailed), 4u);
}

}  // namespace
}  // namespace rp
