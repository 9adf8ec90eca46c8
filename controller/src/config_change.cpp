#include "rp/config_change.h"

#include <pwd.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "rp/posix_io.h"
#include "rp/restoration_log.h"

namespace rp {

namespace {

std::string OwnerOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";
  const passwd* pw = getpwuid(st.st_uid);
  return std::string("owner of ") + path + ": " + (pw && pw->pw_name ? pw->pw_name : "uid " + std::to_string(st.st_uid));
}

}  // namespace

void RecordConfigChange(const std::string& config_path, const Config& config, Store* store, int64_t now,
                        EventLog* log) {
  std::ifstream in(config_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto digests = ConfigKeyDigests(text);
  if (!digests) return;  // a loaded configuration parses; a file changed since is the next reload's
  const std::string kept_path = config.appliance.data_dir + "/config-keys.json";
  std::map<std::string, std::string> before;
  bool known = false;
  {
    std::ifstream kept(kept_path);
    const auto j = nlohmann::json::parse(kept, nullptr, false);
    if (j.is_object()) {
      known = true;
      for (const auto& [k, v] : j.items())
        if (v.is_string()) before[k] = v.get<std::string>();
    }
  }
  const std::vector<std::string> changed = ChangedConfigKeys(before, *digests);
  if (known && changed.empty()) return;
  try {
    LogRecord r = NewLogRecord(LogKind::kConfigChange, now, config.appliance.zone);
    r.responsible = OwnerOf(config_path);
    r.reason = known ? "the configuration " + config_path + " changed" : "the configuration " + config_path + " was first loaded";
    r.result = "in force";
    r.changed_keys = changed;
    store->AppendLog(r);
    if (Status s = WriteFileAtomically(kept_path, nlohmann::json(*digests).dump(), 0600); !s.ok())
      log->Warn("config-keys-not-kept", "", 0, {{"error", s.message()}});
    log->Info("config-change-logged", "", 0, {{"keys", changed.size()}});
  } catch (const std::exception& e) {
    log->Error("restoration-log-failed", "", 0, {{"error", e.what()}});
  }
}

}  // namespace rp
