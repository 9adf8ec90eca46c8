// Content checks a restore test may ask for beyond checksums, run on the restored tree inside
// the same sandbox (workers/ runs them). Plain data: the configuration fills them from the
// config file, a worker job carries them as JSON. Each check's outcome is a finding named
// after the check: `check-passed` (a notice) or `check-failed`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

enum class CheckKind {
  kMinFiles,                // at least `count` regular files restored
  kMinBytes,                // at least `bytes` content bytes restored
  kRequiredPaths,           // every glob in `globs` matches at least one restored path
  kSqliteIntegrity,         // every restored file matching `globs[0]` passes PRAGMA integrity_check
  kUnchangedSinceBaseline,  // files with the baseline's path, size and mtime have its hash
  kCommand,                 // `argv` run in the restored tree: exit 0 passes
};

std::string_view CheckKindName(CheckKind kind);
std::optional<CheckKind> ParseCheckKind(std::string_view name);

struct ContentCheck {
  CheckKind kind = CheckKind::kMinFiles;
  std::string name;  // shown in the finding; defaults to the kind's name
  uint64_t count = 0;
  uint64_t bytes = 0;
  std::vector<std::string> globs;
  std::string baseline;           // unchanged-since-baseline: inventory of the previous verified run
  std::vector<std::string> argv;  // command: program (absolute path) and arguments
  double timeout_s = 60;

  std::string DisplayName() const { return name.empty() ? std::string(CheckKindName(kind)) : name; }
  bool operator==(const ContentCheck&) const = default;
};

// Path globs over member paths ('/'-separated, no leading '/'): '*' and '?' match within one
// component, '[...]' a character class, '**' any number of whole components ("**/*.db" also
// matches "a.db").
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace rp
