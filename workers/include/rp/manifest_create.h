// `manifest create`: hashes every regular file of a directory tree or an archive, without
// restoring anything, and returns the manifest text. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "rp/hash.h"
#include "rp/report.h"

namespace rp {

struct ManifestCreateResult {
  Status status;                  // abort (environment) when the source cannot be opened
  std::string text;               // manifest lines, sorted by path
  std::vector<Finding> findings;  // entries skipped (unsafe names) and integrity errors
  uint64_t files = 0;
};

ManifestCreateResult CreateManifest(const std::string& source, HashAlgo algo, const Limits& limits);

}  // namespace rp
