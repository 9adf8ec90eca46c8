// Sandbox directories: created fresh (mode 0700) under a parent, removed without ever
// following a symbolic link, and checked to be gone. Functions are thread-safe; a sandbox
// belongs to the run that created it.
#pragma once

#include <string>

#include "rp/status.h"

namespace rp {

struct Sandbox {
  std::string path;
  int fd = -1;  // O_PATH|O_DIRECTORY descriptor of the sandbox root, owned
};

// Creates "<parent>/rp-sandbox-XXXXXX" with mode 0700.
Status CreateSandbox(const std::string& parent, Sandbox* out);
// Removes the tree at `path` (never following symlinks) and checks it is gone.
Status RemoveTree(const std::string& path);
void CloseSandbox(Sandbox* sb);

}  // namespace rp
