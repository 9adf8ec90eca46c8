// `store migrate` and `store check` (rp/store_cmd.h).
#include "rp/store_cmd.h"

#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "rp/appliance.h"
#include "rp/store.h"

namespace rp {

int StoreMigrateCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = LoadConfigOnly(config_path, &a, err); rc != 0) return rc;
  umask(077);  // a new SQLite store is nobody else's to read
  std::unique_ptr<Store> store;
  int from = 0;
  if (Status s = OpenStore(*a.config, &store, false, &from); !s.ok()) {
    err << "store migrate: " << s.message() << "\n";
    return s.code() == Status::Code::kUsage ? 2 : 3;
  }
  const std::string where =
      a.config->store.url.empty() ? StorePath(a.config->appliance.data_dir) : a.config->store.url;
  if (json) {
    out << nlohmann::json{{"backend", store->Backend()}, {"store", where}, {"from", from},
                          {"to", store->SchemaVersion()}}
               .dump()
        << "\n";
  } else {
    out << "store " << store->Backend() << " " << where << ": schema " << from << " -> " << store->SchemaVersion()
        << (from == store->SchemaVersion() ? " (already current)" : "") << "\n";
  }
  return 0;
}

int StoreCheckCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = LoadConfigOnly(config_path, &a, err); rc != 0) return rc;
  StoreCheckResult r;
  if (Status s = CheckStore(*a.config, &r); !s.ok()) {
    err << "store check: " << s.message() << "\n";
    return s.code() == Status::Code::kUsage ? 2 : 3;
  }
  if (json) {
    out << nlohmann::json{{"backend", r.backend}, {"store", r.where},  {"role", r.role},
                          {"schema_version", r.version}, {"migrated_from", r.from_version},
                          {"ok", r.problems.empty()},      {"problems", r.problems}}
               .dump()
        << "\n";
  } else {
    out << "backend: " << r.backend << "\nstore: " << r.where << "\n";
    if (!r.role.empty()) out << "role: " << r.role << "\n";
    out << "schema version: " << r.version;
    if (r.from_version != r.version) out << " (migrated from " << r.from_version << ")";
    out << "\n";
    if (r.problems.empty()) out << (r.backend == "sqlite" ? "integrity: ok\n" : "triggers: all present\n");
    for (const auto& p : r.problems) out << "problem: " << p << "\n";
  }
  return r.problems.empty() ? 0 : 1;
}

}  // namespace rp
