#include "rp/appliance.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "rp/posix_io.h"
#include "rp/runner.h"

namespace rp {

int LoadConfigOnly(const std::string& config_path, Appliance* out, std::ostream& err) {
  ConfigResult r = LoadConfigFile(config_path);
  if (!r.errors.empty()) {
    err << FormatConfigErrors(r);
    return 2;
  }
  out->config_hash = FileSha256(config_path);
  out->config = std::make_shared<const Config>(std::move(r.config));
  return 0;
}

int OpenAppliance(const std::string& config_path, Appliance* out, std::ostream& err, bool integrity_check) {
  if (const int rc = LoadConfigOnly(config_path, out, err); rc != 0) return rc;
  const std::string& data_dir = out->config->appliance.data_dir;
  if (Status s = MakeDirectories(data_dir, 0700); !s.ok()) {
    err << "restoreproof: data_dir: " << s.message() << "\n";
    return 3;
  }
  if (Status s = OpenSqliteStore(StorePath(data_dir), &out->store, integrity_check); !s.ok()) {
    err << "restoreproof: " << s.message() << "\n";
    return 3;
  }
  return 0;
}

std::string InvokingUser() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(getuid());
}

}  // namespace rp
