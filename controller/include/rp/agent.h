// `restoreproof agent`: a restore agent (docs/multi-host.md). It runs restore jobs only: it
// claims queued runs from the shared store (only those of targets with a copy at one of its
// `[agent] locations`, and only a copy there), up to `workers` at a time, renews each lease while
// the worker runs, records the result, and wipes its sandboxes as `serve` does. It also
// interrupts stale runs (a dead agent's job is queued again even when no `serve` runs). It
// schedules nothing and answers no web request. SIGTERM/SIGINT drain it as they drain `serve`;
// SIGHUP re-reads the configuration. Logs one JSON object per line to `err`.
#pragma once

#include <ostream>
#include <string>

#include "rp/config.h"
#include "rp/store.h"

namespace rp {

struct AgentOptions {
  std::string config_path;
  std::string worker_binary;  // "" : this executable
};

// Exit 0 after draining; 2 for an invalid configuration; 3 when the store cannot be opened.
int AgentCommand(const AgentOptions& options, std::ostream& err);

// What an agent with this configuration may claim: with `[agent] locations`, the runs of the
// targets that have a copy at one of them, whose copy is still to be chosen or is at one of
// them; without, every run.
ClaimFilter AgentClaimFilter(const Config& config);

}  // namespace rp
