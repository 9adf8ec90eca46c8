#include "rp/checks.h"

#include <fnmatch.h>

#include <string>

namespace rp {

std::string_view CheckKindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::kMinFiles: return "min-files";
    case CheckKind::kMinBytes: return "min-bytes";
    case CheckKind::kRequiredPaths: return "required-paths";
    case CheckKind::kSqliteIntegrity: return "sqlite-integrity";
    case CheckKind::kUnchangedSinceBaseline: return "unchanged-since-baseline";
    case CheckKind::kCommand: return "command";
  }
  return "?";
}

std::optional<CheckKind> ParseCheckKind(std::string_view name) {
  for (auto k : {CheckKind::kMinFiles, CheckKind::kMinBytes, CheckKind::kRequiredPaths, CheckKind::kSqliteIntegrity,
                 CheckKind::kUnchangedSinceBaseline, CheckKind::kCommand})
    if (CheckKindName(k) == name) return k;
  return std::nullopt;
}

namespace {

// Matches pattern components [pi..] against path components [si..].
bool MatchComponents(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path, size_t si) {
  while (pi < pat.size()) {
    if (pat[pi] == "**") {
      // Any number of components, including none.
      for (size_t k = si; k <= path.size(); ++k)
        if (MatchComponents(pat, pi + 1, path, k)) return true;
      return false;
    }
    if (si >= path.size() || fnmatch(pat[pi].c_str(), path[si].c_str(), FNM_PERIOD) != 0) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find('/', pos);
    if (next == std::string_view::npos) next = s.size();
    if (next > pos) out.emplace_back(s.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  return MatchComponents(Split(pattern), 0, Split(path), 0);
}

}  // namespace rp
