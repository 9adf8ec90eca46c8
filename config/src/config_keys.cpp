// The configuration file as key paths and digests of their values, for the restoration log's
// record of a configuration change (docs/restoration-log.md): which keys changed, never what
// they held.
#include <toml++/toml.h>

#include <sstream>

#include "rp/config.h"
#include "rp/hash.h"

namespace rp {

namespace {

void Walk(const toml::node& node, const std::string& path, std::map<std::string, std::string>* out) {
  if (const toml::table* t = node.as_table()) {
    for (const auto& [k, v] : *t) Walk(v, path.empty() ? std::string(k.str()) : path + "." + std::string(k.str()), out);
    return;
  }
  if (const toml::array* a = node.as_array()) {
    bool tables = !a->empty();
    for (const auto& e : *a) tables = tables && e.is_table();
    if (tables) {  // [[targets]], [[targets.copies]], ...: each element by its index
      for (size_t i = 0; i < a->size(); ++i) Walk(*a->get(i), path + "[" + std::to_string(i) + "]", out);
      return;
    }
  }
  std::ostringstream text;
  node.visit([&](const auto& v) { text << v; });
  Hasher h(HashAlgo::kSha256);
  const std::string value = text.str();
  h.Update(value.data(), value.size());
  (*out)[path] = h.FinishHex();
}

}  // namespace

std::optional<std::map<std::string, std::string>> ConfigKeyDigests(std::string_view text) {
  try {
    const toml::table root = toml::parse(text);
    std::map<std::string, std::string> out;
    Walk(root, "", &out);
    return out;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

std::vector<std::string> ChangedConfigKeys(const std::map<std::string, std::string>& before,
                                           const std::map<std::string, std::string>& after) {
  std::vector<std::string> changed;
  for (const auto& [key, digest] : after) {
    const auto it = before.find(key);
    if (it == before.end()) changed.push_back(key + " (added)");
    else if (it->second != digest) changed.push_back(key);
  }
  for (const auto& [key, digest] : before)
    if (!after.count(key)) changed.push_back(key + " (removed)");
  return changed;
}

}  // namespace rp
