#include "rp/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/types.h>
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

// argv[0] looked up in the PATH of `env` (glibc's execvpe would use our own PATH instead).
std::string ResolveProgram(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find(':', start), path.size());
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;  // exec fails with ENOENT: exit 127
}

// In the child: a descriptor that must survive the standard ones being set up is moved above
// them first (a caller whose own 0-2 were closed can get a pipe end there).
int Lift(int fd) { return (fd >= 0 && fd <= 2) ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd; }

// In the child: `fd` onto `target` (the copy is inherited), or /dev/null when fd < 0.
void Redirect(int fd, int target, int null_flags) {
  if (fd < 0) fd = open("/dev/null", null_flags | O_CLOEXEC);
  if (fd < 0) return;
  if (fd != target) dup2(fd, target);  // dup2 clears close-on-exec on the copy
  else fcntl(fd, F_SETFD, 0);
}

}  // namespace

pid_t StartChild(const ChildSpec& spec, std::string* error) {
  if (spec.argv.empty()) {
    *error = "no command given";
    return -1;
  }
  if (spec.inherit_fd >= 0 && spec.inherit_fd <= 2) {
    *error = "an inherited descriptor must be above the standard ones, not " + std::to_string(spec.inherit_fd);
    return -1;
  }
  const std::string program = spec.search_path ? ResolveProgram(spec.argv[0], spec.env) : spec.argv[0];
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
  if (pid > 0) {
    // Also here, so that the group exists before CollectChild may need to kill it.
    if (spec.own_process_group) setpgid(pid, pid);
    return pid;
  }

  // The child: async-signal-safe calls only.
  if (spec.own_process_group) setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);
  const int out_fd = Lift(spec.stdout_fd), err_fd = Lift(spec.stderr_fd), cwd_fd = Lift(spec.cwd_fd);
  Redirect(-1, 0, O_RDONLY);
  if (!spec.stdout_path.empty()) {
    const int fd = open(spec.stdout_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) _exit(126);
    Redirect(fd, 1, O_WRONLY);
  } else {
    Redirect(out_fd, 1, O_WRONLY);
  }
  if (spec.stderr_to_stdout) {
    dup2(1, 2);
  } else if (!spec.stderr_path.empty()) {
    Redirect(open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 2, O_WRONLY);
  } else {
    Redirect(err_fd, 2, O_WRONLY);
  }
  if (cwd_fd >= 0 && fchdir(cwd_fd) != 0) _exit(126);
  if (spec.close_other_fds) {
    // Nothing else of ours reaches the program (Landlock, for one, does not cover descriptors
    // that are already open).
    if (spec.inherit_fd > 3) close_range(3, static_cast<unsigned>(spec.inherit_fd) - 1, 0);
    if (spec.inherit_fd >= 3) close_range(static_cast<unsigned>(spec.inherit_fd) + 1, ~0U, 0);
    else close_range(3, ~0U, 0);
  }
  if (spec.inherit_fd >= 0) fcntl(spec.inherit_fd, F_SETFD, 0);
  execve(program.c_str(), av.data(), ev.data());
  if (note_len > 0) (void)!write(1, note, note_len);
  _exit(127);
}

ChildOutput CollectChild(pid_t pid, int out_fd, int err_fd, const CollectOptions& o) {
  ChildOutput r;
  const double deadline = Now() + o.timeout_s;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = (out_fd >= 0) + (err_fd >= 0);
  char buf[65536];
  auto stop = [&](pollfd& f) {
    close(f.fd);
    f.fd = -1;
    --open_fds;
  };
  while (open_fds > 0) {
    const double left = deadline - Now();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    const int pr = poll(fds, 2, static_cast<int>(std::ceil(std::min(left, 0.5) * 1000)));
    if (pr < 0 && errno != EINTR) {  // cannot wait for output any more: stop reading
      for (auto& f : fds)
        if (f.fd >= 0) stop(f);
      break;
    }
    if (pr <= 0) continue;
    for (auto& f : fds) {
      if (f.fd < 0 || f.revents == 0) continue;
      if (f.revents & POLLNVAL) {
        f.fd = -1;
        --open_fds;
        continue;
      }
      const ssize_t n = read(f.fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        stop(f);
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
  auto kill_it = [&] {
    if (o.kill_group) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  };
  if (r.timed_out || r.too_much) kill_it();
  // The output is closed, but the program may still run (it can close or redirect its own
  // output): the deadline holds for its exit too. The exit is awaited without reaping, so that
  // the group can still be killed while its leader's pid is held.
  for (;;) {
    siginfo_t info{};
    const int w = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 || info.si_pid == pid) break;
    if (Now() >= deadline && !r.timed_out) {
      r.timed_out = true;
      kill_it();
    }
    timespec nap{0, 10'000'000};
    nanosleep(&nap, nullptr);
  }
  if (o.kill_group) kill(-pid, SIGKILL);  // whatever the program left running in its group
  while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

}  // namespace rp
