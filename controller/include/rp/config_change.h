// A change of the configuration is a restoration-log record (Säker drift §8): when, which keys
// changed (never their values) and who, where known (the file's owner). `serve` checks at
// start-up and on every reload, against the key digests it kept in data_dir/config-keys.json.
#pragma once

#include <string>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/store.h"

namespace rp {

// Appends a config-change record when the file's keys differ from the last ones seen (or were
// never seen), and keeps the new digests. Errors are logged, never fatal.
void RecordConfigChange(const std::string& config_path, const Config& config, Store* store, int64_t now,
                        EventLog* log);

}  // namespace rp
