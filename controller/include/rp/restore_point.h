// Restore-testing one recovery point from the catalog through the engine: archive files and
// snapshot directories are read where they are; restic and borg points are streamed as tar
// (`restic dump --archive tar`, `borg export-tar`) through a FIFO into the worker, so the
// repository's contents are never copied to disk outside the sandbox.
#pragma once

#include <cstdint>
#include <optional>

#include "rp/catalog.h"
#include "rp/config.h"
#include "rp/verify.h"

namespace rp {

// `options.source` and (for archive-dir points with a sidecar) `options.manifest` are set from
// the point; everything else is taken as given. A failing dump command is a finding.
VerifyReport VerifyRecoveryPoint(const CopyConfig& copy, const RecoveryPoint& point, VerifyOptions options);

// What restoring `point` reads, for a progress line's estimate (rp/progress_line.h): the
// archive file's size, or a snapshot directory's files' sizes summed; nullopt for a restic or
// borg point (streamed, its size unknown in advance).
std::optional<uint64_t> RecoveryPointSize(const CopyConfig& copy, const RecoveryPoint& point);

// A target's sandbox for restoring `point`: the appliance's sandbox directory and tmpfs budget,
// the target's `sandbox` choice, and the restored size where the point itself shows it (an
// uncompressed tar or cpio archive restores to at most its own size), so that `auto` can pick
// a tmpfs. Other points' sizes are not known in advance: `auto` then means disk. Also the
// target's own stall, spin and memory limits, where it sets them.
void ApplySandboxSettings(const Config& config, const TargetConfig& target, const CopyConfig& copy,
                          const RecoveryPoint& point, VerifyOptions* options);

}  // namespace rp
