#include "rp/sample_listing.h"

#include <nlohmann/json.hpp>

#include "rp/path_text.h"

namespace rp {
namespace {

// Calls `line` for each non-empty line of text; stops when it returns false.
template <typename F>
bool EachLine(std::string_view text, F line) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && !line(l)) return false;
  }
  return true;
}

uint64_t SizeOf(const nlohmann::json& j) {
  const auto it = j.find("size");
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Counts a regular file of the point; true when it is in the slice. Its slice is that of the
// path the engine restores it under (relative: a listing's leading '/' goes).
bool Count(const std::string& path, uint64_t size, SampleFigures* f, bool* refused) {
  const size_t first = path.find_first_not_of('/');
  const std::string_view relative = first == std::string::npos ? std::string_view() : std::string_view(path).substr(first);
  std::string why;
  const auto norm = NormaliseMemberPath(relative, &why);
  *refused = !norm || norm->empty();  // the engine refuses it whole
  if (*refused) return false;
  const uint32_t slice = SliceOf(f->spec.seed, f->spec.slices, *norm);
  CountFile(f, slice, size);
  return slice == f->spec.slice;
}

}  // namespace

std::string ResticExactPattern(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 8);
  for (const char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool ReadResticListing(std::string_view text, const SampleSpec& spec, ResticListing* out, std::string* why) {
  ResticListing r;
  r.figures = NoFigures(spec);
  const bool ok = EachLine(text, [&](std::string_view line) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      *why = "restic ls: a line that is not a JSON object";
      return false;
    }
    const auto type = j.find("type"), kind = j.find("struct_type");
    if (kind == j.end() || *kind != "node" || type == j.end() || (*type != "file" && *type != "symlink")) return true;
    const auto p = j.find("path");
    if (p == j.end() || !p->is_string()) {
      *why = "restic ls: a node without a path";
      return false;
    }
    const std::string path = p->get<std::string>();
    if (path.empty()) return true;
    if (path.find("\xEF\xBF\xBD") != std::string::npos) {
      *why = "restic ls: a name with U+FFFD (perhaps bytes that are not UTF-8, which the listing replaces)";
      return false;
    }
    bool refused = false;
    if (*type == "symlink" || Count(path, SizeOf(j), &r.figures, &refused))
      r.includes.push_back("--include=" + ResticExactPattern(path));
    return true;
  });
  if (!ok) return false;
  *out = std::move(r);
  return true;
}

bool ReadBorgListing(std::string_view text, const SampleSpec& spec, BorgListing* out, std::string* why) {
  BorgListing r;
  r.figures = NoFigures(spec);
  const auto plain = [](unsigned char c) { return c > 0x20 && c < 0x7f; };
  const bool ok = EachLine(text, [&](std::string_view line) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto type = j.is_object() ? j.find("type") : j.end();
    const auto p = j.is_object() ? j.find("path") : j.end();
    if (j.is_discarded() || !j.is_object() || type == j.end() || p == j.end() || !p->is_string()) {
      *why = "borg list: a line that is not an item";
      return false;
    }
    if (*type != "-") return true;
    const std::string path = p->get<std::string>();
    if (path.find('?') != std::string::npos) {
      *why = "borg list: a name with '?' (perhaps bytes that are not UTF-8, which the listing replaces)";
      return false;
    }
    bool refused = false;
    if (Count(path, SizeOf(j), &r.figures, &refused) || refused) return true;
    if (path.find('\n') != std::string::npos || path.find('\r') != std::string::npos || path[0] == '#' ||
        !plain(static_cast<unsigned char>(path.front())) || !plain(static_cast<unsigned char>(path.back())))
      return true;
    r.exclude_lines += "pf:" + path + "\n";
    r.excluded++;
    return true;
  });
  if (!ok) return false;
  *out = std::move(r);
  return true;
}

}  // namespace rp
