#include "rp/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace rp {
namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// In the child: `fd` onto `target`, or /dev/null when fd < 0. Async-signal-safe.
void Redirect(int fd, int target, int null_flags) {
  if (fd < 0) {
    fd = open("/dev/null", null_flags | O_CLOEXEC);
    if (fd < 0) return;
  }
  if (fd != target) dup2(fd, target);
  else fcntl(fd, F_SETFD, 0);
}

}  // namespace

pid_t StartChild(const ChildSpec& spec, std::string* error) {
  if (spec.argv.empty()) {
    *error = "no command given";
    return -1;
  }
  std::vector<char*> av, ev;
  for (const auto& a : spec.argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : spec.env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  const char* note = spec.exec_failure_note.c_str();
  const size_t note_len = spec.exec_failure_note.size();

  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid > 0) return pid;

  // The child.
  if (spec.own_process_group) setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);
  Redirect(-1, 0, O_RDONLY);
  if (!spec.stdout_path.empty()) {
    const int fd = open(spec.stdout_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
  } else {
    Redirect(spec.stdout_fd, 1, O_WRONLY);
  }
  if (spec.stderr_to_stdout) {
    dup2(1, 2);
  } else if (!spec.stderr_path.empty()) {
    const int fd = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    Redirect(fd, 2, O_WRONLY);
  } else {
    Redirect(spec.stderr_fd, 2, O_WRONLY);
  }
  if (spec.cwd_fd >= 0 && fchdir(spec.cwd_fd) != 0) _exit(126);
  if (spec.close_other_fds) {
    // Nothing else of ours reaches the program (Landlock, for one, does not cover descriptors
    // that are already open).
    if (spec.inherit_fd > 3) close_range(3, static_cast<unsigned>(spec.inherit_fd) - 1, 0);
    if (spec.inherit_fd >= 3) close_range(static_cast<unsigned>(spec.inherit_fd) + 1, ~0U, 0);
    else close_range(3, ~0U, 0);
  }
  if (spec.inherit_fd >= 0) fcntl(spec.inherit_fd, F_SETFD, 0);
  if (spec.search_path) execvpe(av[0], av.data(), ev.data());
  else execve(av[0], av.data(), ev.data());
  if (note_len > 0) (void)!write(1, note, note_len);
  _exit(127);
}

ChildOutput CollectChild(pid_t pid, int out_fd, int err_fd, const CollectOptions& o) {
  ChildOutput r;
  const double deadline = Now() + o.timeout_s;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = (out_fd >= 0) + (err_fd >= 0);
  char buf[65536];
  while (open_fds > 0) {
    const double left = deadline - Now();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    const int pr = poll(fds, 2, static_cast<int>(std::ceil(std::min(left, 0.5) * 1000)));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    for (auto& f : fds) {
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(f.fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(f.fd);
        f.fd = -1;
        --open_fds;
        continue;
      }
      std::string& into = (f.fd == out_fd) ? r.out : r.err;
      into.append(buf, static_cast<size_t>(n));
      if (o.tail_bytes > 0) {
        if (into.size() > 2 * o.tail_bytes) into.erase(0, into.size() - o.tail_bytes);
      } else if (into.size() > o.max_bytes) {
        r.too_much = true;
      }
    }
    if (r.too_much) break;
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (o.tail_bytes > 0) {
    if (r.out.size() > o.tail_bytes) r.out.erase(0, r.out.size() - o.tail_bytes);
    if (r.err.size() > o.tail_bytes) r.err.erase(0, r.err.size() - o.tail_bytes);
  }
  if (o.kill_group) kill(-pid, SIGKILL);
  else if (r.timed_out || r.too_much) kill(pid, SIGKILL);
  while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

}  // namespace rp
