#include "rp/appliance.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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
  // The store and the runs' scratch files list the restored files of personal data: nothing
  // this process creates is readable by other users, and data_dir is closed to them.
  umask(077);
  const std::string& data_dir = out->config->appliance.data_dir;
  if (Status s = MakeDirectories(data_dir, 0700); !s.ok()) {
    err << "restoreproof: data_dir: " << s.message() << "\n";
    return 3;
  }
  struct stat st {};
  if (stat(data_dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && st.st_uid == geteuid() &&
      chmod(data_dir.c_str(), st.st_mode & 0700) != 0) {
    err << "restoreproof: data_dir " << data_dir << " is open to other users and cannot be closed: "
        << std::strerror(errno) << "\n";
    return 3;
  }
  if (Status s = OpenStore(*out->config, &out->store, integrity_check); !s.ok()) {
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
