// `manifest create DIR`: hashes every regular file of a directory tree in place and writes the
// manifest, sorted by path, without holding it in memory: each file's row goes to a row sorter
// that spills sorted runs to an unnamed file beyond its budget. Archives are not read here: they
// are untrusted input and are restored in the isolated worker (`verify --write-manifest`).
// Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rp/hash.h"
#include "rp/report.h"

namespace rp {

struct ManifestCreateResult {
  Status status;                  // abort: the tree cannot be read, or the output not written
  std::vector<Finding> findings;  // entries skipped (unsafe names, unreadable files)
  uint64_t files = 0;             // lines written
};

struct ManifestCreateOptions {
  std::string dir;       // the directory tree to hash
  HashAlgo algo = HashAlgo::kXxh128;
  Limits limits;
  int out_fd = 1;        // where the manifest lines go (not owned), unless open_output is set
  // Called once the walk is over, before the first line is written: gives the descriptor to
  // write to (so that an output file inside the tree is not hashed as part of it).
  std::function<Status(int* fd)> open_output;
  int spill_dir_fd = -1; // where sorted runs spill (O_TMPFILE; not owned, must stay open)
  size_t row_budget = 8u << 20;  // bytes of rows kept in memory before a run spills
};

ManifestCreateResult CreateManifest(const ManifestCreateOptions& options);

}  // namespace rp
