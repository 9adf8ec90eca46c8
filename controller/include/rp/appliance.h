// What every command of the appliance starts from: the configuration loaded and checked, its
// hash, and the store opened (migrated and integrity-checked). Errors are printed to `err` and
// come back as the exit code (2 configuration, 3 store).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "rp/config.h"
#include "rp/store.h"

namespace rp {

struct Appliance {
  std::shared_ptr<const Config> config;
  std::string config_hash;  // SHA-256 of the file's bytes
  std::unique_ptr<Store> store;
};

int LoadConfigOnly(const std::string& config_path, Appliance* out, std::ostream& err);
// `integrity_check`: PRAGMA integrity_check on the store (`serve` at start-up; it reads the
// whole file, so the short commands skip it).
int OpenAppliance(const std::string& config_path, Appliance* out, std::ostream& err, bool integrity_check = false);

// The user running a command: $SUDO_USER, else the login name, else the uid.
std::string InvokingUser();

}  // namespace rp
