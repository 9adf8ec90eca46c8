// The evidence commands (docs/evidence.md, docs/cli.md): `evidence export` builds and signs a
// bundle for a period, `evidence verify` checks one without trusting the appliance, and
// `evidence personal-data` prints which personal data each target's backups hold.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace rp {

struct EvidenceExportOptions {
  std::string from, to;              // ISO 8601 or dates (the appliance's zone); `to` is inclusive of its day
  std::vector<std::string> targets;  // empty: every target
  bool clear_names = false;
  std::string reason;  // required with clear_names
  std::string output;  // the bundle's path; refused when it exists
  bool json = false;
};
// Exit 0 written; 2 usage; 3 environment.
int EvidenceExportCommand(const std::string& config_path, const EvidenceExportOptions& o, std::ostream& out,
                          std::ostream& err);

// Needs no configuration. `key_path`: a PEM public key the bundle must be signed with ("" trusts
// the key inside, and says so). Exit 0 every check passed; 1 naming each that failed; 3 unreadable.
int EvidenceVerifyCommand(const std::string& bundle, const std::string& key_path, bool json, std::ostream& out,
                          std::ostream& err);

// `log verify --against BUNDLE` (rp/log_cmd.h): the bundle verifies with `key` (the appliance's,
// when it has one), every record of its excerpt is still in `store` with the same hash, and the
// whole log verifies. Exit 0, 1 naming what differs, 3 unreadable.
class Store;
struct PublicKey;
int VerifyLogAgainstBundle(Store& store, const std::optional<PublicKey>& key, const std::string& bundle, bool json,
                           std::ostream& out, std::ostream& err);

// Exit 0, or 2 for a bad configuration.
int EvidencePersonalDataCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

}  // namespace rp
