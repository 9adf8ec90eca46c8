// rp/subprocess.h with real programs: output capture on both streams, the deadline, the
// output cap, the tail, descriptor hygiene, process-group kill and exec failure.
#include "rp/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "testkit.h"

namespace rp::test {
namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
};

ChildOutput RunChild(ChildSpec spec, const CollectOptions& co, bool capture_err = true) {
  Pipe out, err;
  spec.stdout_fd = out.w;
  if (capture_err) spec.stderr_fd = err.w;
  std::string error;
  const pid_t pid = StartChild(spec, &error);
  close(out.w);
  close(err.w);
  EXPECT_GT(pid, 0) << error;
  if (!capture_err) {
    close(err.r);
    err.r = -1;
  }
  return CollectChild(pid, out.r, err.r, co);
}

// Runs `body` in a forked child of the test (which may then close or choose descriptors
// freely) and returns its exit status: 0 is success, anything else names the failing step.
int ExitOfForked(const std::function<int()>& body) {
  const pid_t helper = fork();
  if (helper == 0) _exit(body());
  int status = 0;
  if (waitpid(helper, &status, 0) != helper || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

ChildSpec Sh(const std::string& script) {
  ChildSpec s;
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin"};
  return s;
}

TEST(Subprocess, CapturesBothStreamsAndTheExitStatus) {
  const ChildOutput r = RunChild(Sh("echo out; echo err >&2; exit 3"), {});
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 3);
  EXPECT_FALSE(r.timed_out);
}

TEST(Subprocess, AProgramPastItsDeadlineIsKilled) {
  CollectOptions co;
  co.timeout_s = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  const ChildOutput r = RunChild(Sh("exec sleep 30"), co);
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(WIFSIGNALED(r.status));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(Subprocess, EndlessOutputIsCappedOrKeptAsATail) {
  CollectOptions capped;
  capped.max_bytes = 1u << 20;
  const ChildOutput a = RunChild(Sh("exec yes"), capped);
  EXPECT_TRUE(a.too_much);
  EXPECT_LE(a.out.size(), (1u << 20) + 65536);

  CollectOptions tail;
  tail.tail_bytes = 100;
  const ChildOutput b = RunChild(Sh("seq 1 100000"), tail);
  EXPECT_FALSE(b.too_much);
  EXPECT_LE(b.out.size(), 100u);
  ASSERT_GE(b.out.size(), 7u);
  EXPECT_EQ(b.out.substr(b.out.size() - 7), "100000\n");
}

TEST(Subprocess, OnlyTheInheritedDescriptorReachesTheProgram) {
  TempDir dir;
  const int leaked = open((dir / "a").c_str(), O_WRONLY | O_CREAT, 0600);  // no O_CLOEXEC
  const int secret = open((dir / "b").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(leaked, 3);
  ASSERT_GE(secret, 3);
  ChildSpec s;
  s.argv = {"/bin/ls", "/proc/self/fd"};
  s.close_other_fds = true;
  s.inherit_fd = secret;
  const ChildOutput r = RunChild(s, {}, false);
  close(leaked);
  close(secret);
  // ls opens one descriptor of its own to list the directory.
  std::set<std::string> fds;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) fds.insert(line);
  EXPECT_TRUE(fds.count(std::to_string(secret))) << r.out;
  EXPECT_FALSE(fds.count(std::to_string(leaked))) << r.out;
  EXPECT_LE(fds.size(), 5u) << r.out;
}

// The secret's descriptor right after the standard ones, and one below them refused.
TEST(Subprocess, AnInheritedDescriptorAtThreeSurvivesAndOneBelowIsRefused) {
  ChildSpec s;
  s.argv = {"/bin/sh", "-c", "test -e /proc/self/fd/3 && echo three"};
  s.close_other_fds = true;
  EXPECT_EQ(ExitOfForked([&] {  // descriptor 3 chosen freely
              close(3);
              if (open("/dev/null", O_RDONLY | O_CLOEXEC) != 3) return 2;
              s.inherit_fd = 3;
              Pipe out;
              s.stdout_fd = out.w;
              std::string error;
              const pid_t pid = StartChild(s, &error);
              close(out.w);
              if (pid < 0) return 3;
              return CollectChild(pid, out.r, -1, {}).out == "three\n" ? 0 : 4;
            }),
            0);

  s.inherit_fd = 2;
  std::string error;
  EXPECT_EQ(StartChild(s, &error), -1);
  EXPECT_NE(error.find("above the standard ones"), std::string::npos) << error;
}

// A caller whose own standard descriptors are closed: the pipe and the output file it opens
// land on 0-2, and must still reach the program as its stdout and stderr.
TEST(Subprocess, WorksForACallerWithoutStandardDescriptors) {
  TempDir dir;
  const std::string out_file = dir / "out";
  const std::string err_file = dir / "err";
  WriteFile(out_file, "");
  EXPECT_EQ(ExitOfForked([&] {
              close(0);
              close(1);
              close(2);
              // Path output: the child's open() of the file returns 1.
              ChildSpec a = Sh("echo via-path");
              a.stdout_path = out_file;
              std::string error;
              pid_t pid = StartChild(a, &error);
              int st = 0;
              if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 3;
              // Pipe output: the pipe's ends are 0 and 1 here.
              Pipe p;
              if (p.r != 0 || p.w != 1) return 4;
              ChildSpec b = Sh("echo via-pipe; echo to-err >&2");
              b.stdout_fd = p.w;
              b.stderr_path = err_file;
              pid = StartChild(b, &error);
              close(p.w);
              if (pid < 0) return 5;
              return CollectChild(pid, p.r, -1, {}).out == "via-pipe\n" ? 0 : 6;
            }),
            0);
  EXPECT_EQ(ReadFile(out_file), "via-path\n");
  EXPECT_EQ(ReadFile(err_file), "to-err\n");
}

// A program that closes its output and keeps running is still stopped at the deadline.
TEST(Subprocess, TheDeadlineHoldsAfterTheOutputIsClosed) {
  CollectOptions co;
  co.timeout_s = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  const ChildOutput r = RunChild(Sh("exec >/dev/null 2>&1; exec sleep 30"), co);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

// The program is looked up in the PATH given to it, not in ours.
TEST(Subprocess, SearchesThePathOfItsOwnEnvironment) {
  TempDir dir;
  std::filesystem::create_directories(dir / "bin");
  WriteFile(dir / "bin/rp-only-here", "#!/bin/sh\necho found\n");
  chmod((dir / "bin/rp-only-here").c_str(), 0755);
  ChildSpec s;
  s.argv = {"rp-only-here"};
  s.env = {"PATH=" + (dir / "bin")};
  s.search_path = true;
  const ChildOutput r = RunChild(s, {});
  EXPECT_EQ(r.out, "found\n");
}

TEST(Subprocess, TheWholeProcessGroupIsKilledAtTheEnd) {
  TempDir dir;
  ChildSpec s = Sh("sleep 30 >/dev/null 2>&1 & echo $!");
  s.own_process_group = true;
  CollectOptions co;
  co.kill_group = true;
  const ChildOutput r = RunChild(s, co);
  const std::string pid = r.out.substr(0, r.out.find('\n'));
  ASSERT_FALSE(pid.empty());
  // Killed: gone, or a zombie until its new parent reaps it.
  bool dead = false;
  for (int i = 0; i < 50 && !dead; ++i) {
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close_paren = text.rfind(')');
    dead = !stat.good() || text.empty() || (close_paren != std::string::npos && text.substr(close_paren + 2, 1) == "Z");
    if (!dead) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(dead) << "the background sleep " << pid << " survived";
}

TEST(Subprocess, StandardOutputToAPathAndAFailedExec) {
  TempDir dir;
  ChildSpec s = Sh("echo to-file; echo to-errfile >&2");
  s.stdout_path = dir / "out";
  WriteFile(dir / "out", "");
  s.stderr_path = dir / "err";
  std::string error;
  const pid_t pid = StartChild(s, &error);
  ASSERT_GT(pid, 0) << error;
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(ReadFile(dir / "out"), "to-file\n");
  EXPECT_EQ(ReadFile(dir / "err"), "to-errfile\n");

  ChildSpec missing;
  missing.argv = {"/nonexistent/program"};
  missing.exec_failure_note = "cannot execute\n";
  const ChildOutput r = RunChild(missing, {});
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 127);
  EXPECT_EQ(r.out, "cannot execute\n");
}

}  // namespace
}  // namespace rp::test
