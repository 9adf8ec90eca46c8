// The restore-and-verify engine: restores one recovery point (an archive file of any format
// libarchive reads, or a directory tree) into a fresh sandbox directory, hashing every byte as
// it is written, refusing unsafe entries, enforcing limits, and comparing with a manifest.
// RunVerify runs in the calling process; RunVerifyIsolated runs the restore in a child
// process and enforces the wall-time limit from outside. Both are thread-compatible: one call
// owns its sandbox; calls on different sandboxes may run concurrently.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "rp/hash.h"
#include "rp/report.h"

namespace rp {

struct VerifyOptions {
  std::string source;                         // archive file or directory
  std::optional<std::string> manifest;        // manifest file to compare with
  std::optional<HashAlgo> algo;               // forced algorithm; default: manifest's or xxh128
  std::string sandbox_parent;                 // the sandbox is created under this directory
  bool keep = false;                          // keep the sandbox after the run
  bool readback = false;                      // re-read every file from disk and hash again
  std::optional<std::string> write_manifest;  // write computed hashes here when the run passes
  Limits limits;
  // Memory for what the run remembers per entry (and for the manifest's lines, as much
  // again); beyond it, sorted runs spill to an unnamed file in the sandbox. Tests set it
  // small to exercise the spill.
  size_t row_budget = 8u << 20;
  // Set by the caller (e.g. from a signal handler) to stop a RunVerifyIsolated run: the child
  // is killed, the sandbox wiped, and the run aborts as an environment error.
  const std::atomic<bool>* cancel = nullptr;
};

VerifyReport RunVerify(const VerifyOptions& options);
VerifyReport RunVerifyIsolated(const VerifyOptions& options);

}  // namespace rp
