// Test helpers for programs the tests start: a helper server that prints "PORT n" once it
// listens (killed with its process group at the end), the restoreproof binary run with a
// configuration (standard output and standard error kept apart), and polling for a condition
// with a deadline instead of sleeping.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "rp/subprocess.h"
#include "testkit.h"

namespace rp::test {

// Polls `done` every `poll_ms` until it holds or `seconds` pass; the last answer.
inline bool WaitFor(const std::function<bool()>& done, double seconds, int poll_ms = 100) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return done();
}

// A helper program (argv) whose first line on stdout is "PORT n" once it listens; its stderr
// goes to `err_path`. port() is 0 when it did not say so within 20 s.
class PortListener {
 public:
  PortListener(std::vector<std::string> argv, const std::string& err_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    ChildSpec spec;
    spec.argv = std::move(argv);
    spec.env = {"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"};
    spec.stdout_fd = fds[1];
    spec.stderr_path = err_path;
    spec.own_process_group = true;
    std::string error;
    pid_ = StartChild(spec, &error);
    close(fds[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pid_ > 0 && line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[64];
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::atoi(line.c_str() + 5);
  }
  ~PortListener() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  PortListener(const PortListener&) = delete;
  PortListener& operator=(const PortListener&) = delete;
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

struct CliResult {
  int rc = -1;
  std::string out, err;
};

// `restoreproof --config CONFIG ARGS`; stderr is written to a file under `scratch_dir` and
// read back, so stdout holds only what the command printed there.
inline CliResult RunWithConfig(const std::string& scratch_dir, const std::string& config, const std::string& args) {
  static int calls = 0;
  const std::string err_file = scratch_dir + "/stderr-" + std::to_string(++calls) + ".txt";
  CliResult r;
  r.rc = Run("{ " + ShellQuote(RP_BINARY) + " --config " + ShellQuote(config) + " " + args + " 2>" +
                 ShellQuote(err_file) + "; }",
             &r.out);
  r.err = ReadFile(err_file);
  return r;
}

}  // namespace rp::test
