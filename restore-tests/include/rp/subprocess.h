// Starting a helper program and collecting what it prints, the one way the appliance does it:
// restic and borg listings (controller/catalog), the dump streamed into a restore
// (controller/restore_point) and an operator's check command inside the worker
// (workers/content_checks). Everything the child needs is built before fork(), so callers
// may have other threads; between fork and exec the child only makes async-signal-safe calls.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace rp {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path, or a name with search_path
  std::vector<std::string> env;   // the child's whole environment
  bool search_path = false;       // look argv[0] up in the PATH of `env` (resolved before fork)

  // Standard descriptors: an fd of ours (duplicated), or a path the child opens itself (a FIFO
  // then blocks in the child, not here), or neither: /dev/null.
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string stdout_path;  // opened write-only; failure: exit 126
  std::string stderr_path;  // created 0600, truncated
  bool stderr_to_stdout = false;

  int cwd_fd = -1;                // the child's working directory; failure: exit 126
  int inherit_fd = -1;            // kept open across exec (a secret's descriptor); must be >= 3
  bool close_other_fds = false;   // every descriptor above 2 but inherit_fd closed before exec
  bool own_process_group = false; // setpgid(0, 0): the whole group can be killed
  std::string exec_failure_note;  // written to stdout when exec fails (exit 127)
};

// fork + exec. Returns the child's pid, or -1 with *error set.
pid_t StartChild(const ChildSpec& spec, std::string* error);

struct ChildOutput {
  std::string out;         // what the child wrote on out_fd (the last tail_bytes with a tail)
  std::string err;         // what it wrote on err_fd
  int status = 0;          // waitpid status; meaningful unless timed_out or too_much
  bool timed_out = false;  // killed at the deadline
  bool too_much = false;   // killed: more than max_bytes on either stream (without a tail)
};

struct CollectOptions {
  double timeout_s = 60;
  size_t max_bytes = 256u << 20;  // without tail_bytes: more than this on a stream kills the child
  size_t tail_bytes = 0;          // keep only the last this many bytes, without a limit
  bool kill_group = false;        // SIGKILL the child's process group at the end in any case
};

// Reads out_fd and err_fd (either may be -1) until both reach end of file, then waits for the
// child to exit; the deadline covers both. Kills the child (and its group with kill_group) on
// timeout or too much output, reaps it, and closes both descriptors.
ChildOutput CollectChild(pid_t pid, int out_fd, int err_fd, const CollectOptions& options);

}  // namespace rp
