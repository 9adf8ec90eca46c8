// The progress line of `verify`, `restore` and `drill run` as a person at a terminal meets it: the
// real binary on a real pseudo-terminal (raw mode, so every byte it writes is read back as
// written) restoring a real pax archive. On the terminal the line is drawn in place (\r, the
// figures against the archive's size, \x1b[K) and erased before the result is printed; with
// standard error on a pipe, or with --json, not one byte of it is written. A content check that
// sleeps keeps the worker reporting for two seconds, so a drawing from the run's own progress
// (not only the final one) is certain where the command runs checks.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/hash.h"
#include "rp/progress_line.h"
#include "testkit.h"

namespace rp {
namespace {

using nlohmann::json;

constexpr std::string_view kErase = "\r\x1b[K";

struct TerminalRun {
  int rc = -1;
  std::string terminal;   // every byte written to the terminal
  std::string piped_err;  // standard error, when it went to a pipe
};

// `restoreproof ARGS` with standard input, output and error on a new pseudo-terminal (its
// controlling terminal, 300 columns, raw), or standard error on a pipe. Reads until every
// holder of the terminal has closed it; kills the command after 180 s.
TerminalRun RunOnTerminal(const std::vector<std::string>& args, bool stderr_to_pipe = false) {
  TerminalRun r;
  std::vector<std::string> argv = {RP_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  termios raw{};
  cfmakeraw(&raw);
  winsize ws{};
  ws.ws_col = 300;
  ws.ws_row = 50;
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, &raw, &ws) != 0) {
    ADD_FAILURE() << "openpty: " << std::strerror(errno);
    return r;
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  int err_pipe[2] = {-1, -1};
  if (stderr_to_pipe && pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return r;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(stderr_to_pipe ? err_pipe[1] : slave, 2);
    if (slave > 2) close(slave);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(slave);
  if (stderr_to_pipe) close(err_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  bool term_open = true, pipe_open = stderr_to_pipe;
  while ((term_open || pipe_open) && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{term_open ? master : -1, POLLIN, 0}, {pipe_open ? err_pipe[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, 200) <= 0) continue;
    char buf[4096];
    if (fds[0].revents) {
      const ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) r.terminal.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) term_open = false;  // EIO: the last holder closed it
    }
    if (fds[1].revents) {
      const ssize_t n = read(err_pipe[0], buf, sizeof buf);
      if (n > 0) r.piped_err.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) pipe_open = false;
    }
  }
  if (term_open || pipe_open) {
    ADD_FAILURE() << "the command did not end within 180 s";
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  if (stderr_to_pipe) close(err_pipe[0]);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The progress drawings in `text`: what stands between a \r and the next \x1b[K on one line
// (the erasures, \r\x1b[K, draw nothing and are left out).
std::vector<std::string> Frames(const std::string& text) {
  std::vector<std::string> frames;
  for (size_t at = text.find('\r'); at != std::string::npos; at = text.find('\r', at + 1)) {
    const size_t end = text.find("\x1b[K", at);
    if (end == std::string::npos) break;
    const std::string frame = text.substr(at + 1, end - at - 1);
    if (!frame.empty() && frame.find('\n') == std::string::npos && frame.find('\r') == std::string::npos)
      frames.push_back(frame);
  }
  return frames;
}

// Text as a failure message shows it: escapes and carriage returns visible.
std::string Visible(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') out += "\\r";
    else if (c == '\x1b') out += "\\e";
    else out += c;
  }
  return out;
}

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Nothing of a progress line: no carriage return, no clearing to the end of the line.
void ExpectNoProgress(const std::string& text, const std::string& where) {
  EXPECT_EQ(text.find('\r'), std::string::npos) << where << ":\n" << Visible(text);
  EXPECT_EQ(text.find("\x1b[K"), std::string::npos) << where << ":\n" << Visible(text);
  EXPECT_EQ(text.find("B/s"), std::string::npos) << where << ":\n" << Visible(text);
}

// The drawings are the archive's figures, the last one (the final figures) erased before
// `result`, the command's own output, is printed. Returns the drawings.
std::vector<std::string> ExpectDrawnThenErased(const TerminalRun& r, uint64_t archive_size, size_t files,
                                               const std::string& result) {
  const std::vector<std::string> frames = Frames(r.terminal);
  EXPECT_FALSE(frames.empty()) << Visible(r.terminal);
  if (frames.empty()) return frames;
  for (const auto& f : frames) {
    EXPECT_EQ(f.rfind("  ", 0), 0u) << Visible(f);
    EXPECT_NE(f.find(" of " + FormatBytes(archive_size) + " ("), std::string::npos) << Visible(f);
    EXPECT_NE(f.find("B/s"), std::string::npos) << Visible(f);
  }
  EXPECT_TRUE(EndsWith(frames.back(), "  files " + std::to_string(files))) << Visible(frames.back());
  const size_t last = r.terminal.rfind("\r" + frames.back() + "\x1b[K");
  const size_t erased = r.terminal.find(kErase, last + 1);
  const size_t printed = r.terminal.find(result);
  EXPECT_NE(erased, std::string::npos) << "the line was not erased:\n" << Visible(r.terminal);
  EXPECT_NE(printed, std::string::npos) << Visible(r.terminal);
  if (erased != std::string::npos && printed != std::string::npos) {
    EXPECT_LT(erased, printed) << "the result was printed over the line:\n" << Visible(r.terminal);
  }
  return frames;
}

std::string SleepCheckToml(int seconds) {
  return "[[targets.tests]]\nschedule = \"@yearly\"\nchecks = [ { kind = \"command\", argv = [\"/bin/sleep\", \"" +
         std::to_string(seconds) + "\"], timeout = \"120s\" } ]\n";
}

// An appliance with one target, `payroll`, one copy at site-a holding one pax point with its
// xxh128 sidecar manifest, and a restore test whose check sleeps two seconds.
struct Estate {
  test::TempDir dir;
  std::string config = dir / "restoreproof.toml";
  std::string site = dir / "site-a/payroll";
  std::string archive = site + "/payroll-20261202T020000.tar";
  std::string sandbox_dir = dir / "sandboxes";
  size_t files = 0;
  uint64_t archive_size = 0;

  Estate() {
    std::filesystem::create_directories(site);
    std::filesystem::create_directories(sandbox_dir);
    SampleTreeOptions o;
    o.seed = 17;
    o.files = 40;
    o.large_file_bytes = 4 * 1024 * 1024;
    o.exotic_names = false;
    o.links = false;
    const std::vector<TreeEntry> tree = SampleTree(o);
    for (const auto& e : tree) files += e.kind == TreeEntry::Kind::kFile ? 1 : 0;
    const Status s = WriteArchive(archive, ArchiveSpec{"pax", {}}, tree);
    EXPECT_TRUE(s.ok()) << s.message();
    test::WriteFile(archive + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
    archive_size = std::filesystem::file_size(archive);
    test::WriteFile(dir / "checks.json",
                    R"([{"kind": "command", "name": "pause", "argv": ["/bin/sleep", "2"], "timeout_s": 120}])");
    test::WriteFile(config, "[appliance]\ndata_dir = \"" + dir / "data" + "\"\nsandbox_dir = \"" + sandbox_dir +
                                "\"\ntimezone = \"UTC\"\n\n[[targets]]\nname = \"payroll\"\nowner = \"Test Owner\"\n"
                                "classification = { K = 1, R = 1, T = 1 }\npersonal_data = \"none\"\n"
                                "sandbox = \"disk\"\n[[targets.copies]]\nlocation = \"site-a\"\n"
                                "kind = \"archive-dir\"\npath = \"" + site + "\"\n"
                                "pattern = \"payroll-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n" +
                                SleepCheckToml(2));
  }

  std::vector<std::string> Verify(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"verify", archive, "--sandbox", sandbox_dir, "--checks", dir / "checks.json"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::vector<std::string> Restore(const std::string& to, std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"--config", config, "restore", "payroll", "--to", dir / to, "--responsible",
                                     "Åsa Öberg", "--personal-data", "none", "--reason", "disk failure"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::vector<std::string> Drill(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"--config", config, "drill", "run", "--target", "payroll"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
};

TEST(progress_cli, VerifyDrawsItsProgressOnATerminalAndErasesItBeforeTheSummary) {
  Estate e;
  const TerminalRun r = RunOnTerminal(e.Verify());
  EXPECT_EQ(r.rc, 0) << Visible(r.terminal);
  const auto frames = ExpectDrawnThenErased(r, e.archive_size, e.files, ": PASSED");
  // The worker reports while the check sleeps: drawn from the run's progress, then the final.
  EXPECT_GE(frames.size(), 2u) << Visible(r.terminal);
}

TEST(progress_cli, VerifyWritesNoProgressWhenStandardErrorIsAPipe) {
  Estate e;
  const TerminalRun r = RunOnTerminal(e.Verify(), /*stderr_to_pipe=*/true);
  EXPECT_EQ(r.rc, 0) << Visible(r.terminal) << r.piped_err;
  ExpectNoProgress(r.piped_err, "standard error");
  ExpectNoProgress(r.terminal, "standard output");
  EXPECT_NE(r.terminal.find(": PASSED"), std::string::npos) << r.terminal;
}

TEST(progress_cli, VerifyWithJsonWritesOnlyTheDocumentOnATerminal) {
  Estate e;
  const TerminalRun r = RunOnTerminal(e.Verify({"--json"}));
  EXPECT_EQ(r.rc, 0) << Visible(r.terminal);
  ExpectNoProgress(r.terminal, "terminal");
  const json j = json::parse(r.terminal, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << Visible(r.terminal);
  EXPECT_EQ(j.value("status", ""), "passed") << r.terminal;
}

TEST(progress_cli, RestoreDrawsItsProgressOnATerminalAndErasesItBeforeTheSummary) {
  Estate e;
  const TerminalRun r = RunOnTerminal(e.Restore("restored"));
  EXPECT_EQ(r.rc, 0) << Visible(r.terminal);
  ExpectDrawnThenErased(r, e.archive_size, e.files, "payroll: RESTORED and verified");
}

TEST(progress_cli, RestoreWritesNoProgressWhenStandardErrorIsAPipeOrWithJson) {
  Estate e;
  const TerminalRun piped = RunOnTerminal(e.Restore("piped"), /*stderr_to_pipe=*/true);
  EXPECT_EQ(piped.rc, 0) << Visible(piped.terminal) << piped.piped_err;
  ExpectNoProgress(piped.piped_err, "standard error");
  ExpectNoProgress(piped.terminal, "standard output");
  EXPECT_NE(piped.terminal.find("payroll: RESTORED and verified"), std::string::npos) << piped.terminal;

  const TerminalRun with_json = RunOnTerminal(e.Restore("json", {"--json"}));
  EXPECT_EQ(with_json.rc, 0) << Visible(with_json.terminal);
  ExpectNoProgress(with_json.terminal, "terminal");
  const json j = json::parse(with_json.terminal, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << Visible(with_json.terminal);
  EXPECT_EQ(j.value("result", ""), "passed") << with_json.terminal;
}

TEST(progress_cli, DrillRunDrawsItsRunsProgressBetweenItsLogLines) {
  Estate e;
  const TerminalRun r = RunOnTerminal(e.Drill());
  EXPECT_EQ(r.rc, 0) << Visible(r.terminal);
  const auto frames = ExpectDrawnThenErased(r, e.archive_size, e.files, "drill 1 (on-demand)");
  ASSERT_GE(frames.size(), 2u) << Visible(r.terminal);
  // While the run restores (its check sleeps) the line names its target; the final one the drill.
  EXPECT_EQ(frames.front().rfind("  payroll  ", 0), 0u) << Visible(frames.front());
  EXPECT_EQ(frames.back().rfind("  drill 1  ", 0), 0u) << Visible(frames.back());
  // Every log line starts in the first column: at the start of a line, or after the progress
  // line drawn there was erased.
  size_t lines = 0;
  std::istringstream text(r.terminal);
  for (std::string line; std::getline(text, line);) {
    if (line.find("\"event\":\"") == std::string::npos) continue;
    ++lines;
    const std::string before = line.substr(0, line.find("{\""));
    EXPECT_TRUE(before.empty() || EndsWith(before, std::string(kErase)))
        << "a log line written over the progress line: " << Visible(line);
  }
  EXPECT_GE(lines, 3u) << Visible(r.terminal);  // drill-started, run-started, run-finished at least
}

TEST(progress_cli, DrillRunWritesNoProgressWhenStandardErrorIsAPipeOrWithJson) {
  Estate e;
  const TerminalRun piped = RunOnTerminal(e.Drill(), /*stderr_to_pipe=*/true);
  EXPECT_EQ(piped.rc, 0) << Visible(piped.terminal) << piped.piped_err;
  ExpectNoProgress(piped.piped_err, "standard error");
  ExpectNoProgress(piped.terminal, "standard output");
  EXPECT_NE(piped.piped_err.find("\"run-finished\""), std::string::npos) << piped.piped_err;  // the log is kept

  const TerminalRun with_json = RunOnTerminal(e.Drill({"--json"}));
  EXPECT_EQ(with_json.rc, 0) << Visible(with_json.terminal);
  ExpectNoProgress(with_json.terminal, "terminal");
  EXPECT_NE(with_json.terminal.find("\"passed\": true"), std::string::npos) << with_json.terminal;
}

}  // namespace
}  // namespace rp
