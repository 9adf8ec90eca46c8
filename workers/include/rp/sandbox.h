// Sandbox directories: created fresh (mode 0700) under a parent, removed without ever
// following a symbolic link, and checked to be gone. Functions are thread-safe; a sandbox
// belongs to the run that created it.
#pragma once

#include <string>
#include <vector>

#include "rp/status.h"

namespace rp {

struct Sandbox {
  std::string path;
  int fd = -1;  // O_RDONLY|O_DIRECTORY descriptor of the sandbox root, owned; holds its lock
};

// Creates "<parent>/rp-sandbox-XXXXXX" with mode 0700 and takes an exclusive flock on it,
// held as long as `fd` (or a copy a worker inherits) is open: a run that dies, even by
// SIGKILL, releases it.
Status CreateSandbox(const std::string& parent, Sandbox* out);
// Finds sandboxes under `parent` whose run is gone (their lock is free), wipes each and
// checks it is gone; their paths go to *wiped. Safe while other runs are live.
Status WipeOrphanSandboxes(const std::string& parent, std::vector<std::string>* wiped);
// Removes the tree at `path` (never following symlinks) and checks it is gone. A first pass
// empties directories on `threads` threads (default: the cores, 2 to 4); a serial pass then
// removes the rest and reports what it could not.
Status RemoveTree(const std::string& path);
Status RemoveTree(const std::string& path, unsigned threads);
void CloseSandbox(Sandbox* sb);
// RemoveTree's first pass, exposed for its tests: removes everything but directories from the
// tree open at `dir_fd` (taken over and closed), on `threads` threads, never following a link.
// Best effort and silent: what it leaves, the serial pass removes or reports.
void EmptyTreeInParallel(int dir_fd, unsigned threads);

}  // namespace rp
