// `restoreproof store migrate` and `restoreproof store check` (docs/store.md, docs/cli.md).
#pragma once

#include <ostream>
#include <string>

namespace rp {

// Brings the configured store (SQLite under data_dir, or [store] url) to this binary's schema
// and prints "store BACKEND WHERE: schema FROM -> TO" (or one JSON document). Exit 0; 2 for a
// configuration error; 3 when the store cannot be opened, is not a store, or is newer.
int StoreMigrateCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

// Connects and reports the backend, the schema version and the store's integrity: SQLite's
// integrity_check; on PostgreSQL the triggers and the role connected. Exit 0 nothing found, 1 a
// problem found (each printed), 2 configuration, 3 the store cannot be opened.
int StoreCheckCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

}  // namespace rp
