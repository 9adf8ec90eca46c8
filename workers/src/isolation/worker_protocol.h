// Internal: the job a parent hands a `restoreproof worker` on stdin, as JSON (protocol
// version kWorkerProtocol; docs/worker-protocol.md). The worker answers with JSON lines.
#pragma once

#include <optional>
#include <string>

#include "rp/verify.h"

namespace rp::detail {

constexpr int kWorkerProtocol = 1;

// Descriptors a worker inherits.
constexpr int kSandboxFd = 3;    // the sandbox directory (holds its lock)
constexpr int kManifestFd = 4;   // --write-manifest output, when asked for
constexpr int kInventoryFd = 5;  // --write-inventory output, when asked for

struct WorkerJob {
  VerifyOptions options;  // the fields a worker uses
  std::string sandbox_path;
  bool tmpfs = false;
  uint64_t tmpfs_bytes = 0;
  bool manifest_out = false;
  bool inventory_out = false;
  // How the parent bounds the worker's processes ("enforced: ..." / "unavailable: ...").
  std::string process_limit;
};

std::string JobToJson(const WorkerJob& job);
// nullopt with *error set when the text is not a job this worker understands.
std::optional<WorkerJob> JobFromJson(const std::string& text, std::string* error);

}  // namespace rp::detail
