// The backup catalog: what recovery points really exist at each copy of a target, found by
// reading the backup locations (never by trusting a backup job's settings). Discovery is
// read-only; a location that cannot be read is a finding, never a crash. Source adapters:
// archive-dir, dir-snapshots, restic and borg (the last two through the real commands).
// Times are UTC seconds; the fields of archive names are read in the appliance's time zone,
// given as a value. Thread-compatible: discoveries of different copies may run at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rp/calendar.h"
#include "rp/config.h"
#include "rp/posix_io.h"

namespace rp {

enum class ChainKind { kFull, kIncremental, kDifferential };

struct RecoveryPoint {
  std::string id;        // file name, snapshot directory, restic id, borg archive name
  std::string path;      // where it is (archive file or directory; repository for restic/borg)
  int64_t time = 0;      // UTC seconds
  uint64_t size = 0;     // bytes when known (0: not read; names with a time are listed without a stat)
  std::string manifest;  // sidecar manifest, when found
  ChainKind chain = ChainKind::kFull;
  bool chain_broken = false;  // an incremental/differential without the full point it needs
};

struct CopyCatalog {
  const CopyConfig* copy = nullptr;
  bool online = true;
  std::string error;  // why the location could not be read
  std::optional<dev_t> device;  // file system of the copy's path
  std::vector<RecoveryPoint> points;  // oldest first
};

// A compiled archive-dir file name pattern: {YYYY} {MM} {DD} {hh} {mm} {ss} fields, '*'
// for any run of characters, everything else literal.
class NamePattern {
 public:
  explicit NamePattern(const std::string& pattern);
  bool has_time() const { return has_date_; }
  // True when `name` matches; *time is set from the fields, read as local time in `zone`, when
  // it has them.
  bool Match(const std::string& name, const TimeZone& zone, int64_t* time) const;

 private:
  struct Part {
    enum Kind { kLiteral, kStar, kField } kind;
    std::string literal;
    char field = 0;  // 'Y', 'M', 'D', 'h', 'm', 's'
    int width = 0;
  };
  std::vector<Part> parts_;
  bool has_date_ = false;
  bool MatchFrom(size_t part, const std::string& name, size_t pos, int fields[6]) const;
};

// `zone`: the appliance's, for the time fields of archive names.
CopyCatalog DiscoverCopy(const CopyConfig& copy, const TimeZone& zone);

// What restic or borg needs to open a copy's repository: the secret from the file or the
// environment variable the config names (never config text), and borg's settings. `secret`
// (borg's passphrase file) is owned and must be passed to the child. False with *error when
// the secret cannot be had.
struct RepoAccess {
  std::vector<std::string> env;
  UniqueFd secret;  // borg's passphrase file, passed to the child
};
bool PrepareRepoAccess(const CopyConfig& copy, RepoAccess* access, std::string* error,
                       const std::string& borg_base = "");

// The environment of a restic/borg child: PATH, LANG, HOME, TZ=UTC (borg prints times without
// an offset, so they are read as UTC), then `extra`.
std::vector<std::string> CommandEnvironment(const std::vector<std::string>& extra);

// Runs a command with extra environment variables and returns its stdout; nullopt with *error.
std::optional<std::string> RunCapture(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                      double timeout_s, std::string* error, int pass_fd = -1);

}  // namespace rp
