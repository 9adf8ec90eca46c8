// The web server's readers of client bytes (web_parse.h). Poco-free: fuzz/fuzz_web_parse.cpp
// compiles this file into itself.
#include "web_parse.h"

#include <algorithm>
#include <charconv>

namespace rp {

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = Hex(text[i + 1]), lo = Hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ParseForm(std::string_view text, bool* repeated) {
  std::map<std::string, std::string> out;
  if (repeated) *repeated = false;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const size_t amp = std::min(text.find('&', start), text.size());
    const std::string_view pair = text.substr(start, amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      const auto name = PercentDecode(pair.substr(0, eq), true);
      const auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!name || !value) return std::nullopt;
      if (!out.emplace(*name, *value).second && repeated) *repeated = true;
    }
    start = amp + 1;
    if (amp == text.size()) break;
  }
  return out;
}

QueryParameters ParseQuery(std::string_view query, std::initializer_list<std::string_view> allowed) {
  QueryParameters q;
  bool repeated = false;
  const auto form = ParseForm(query, &repeated);
  if (!form) {
    q.error = "malformed query string";
    return q;
  }
  if (repeated) {
    q.error = "a query parameter is repeated";
    return q;
  }
  for (const auto& [k, v] : *form) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      q.error = "unknown query parameter \"" + k + "\"";
      return q;
    }
  }
  q.values = *form;
  return q;
}

std::optional<int64_t> ParseDecimal(const std::string& text, int64_t lo, int64_t hi) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<std::vector<std::string>> SplitApiPath(std::string_view path) {
  std::vector<std::string> out;
  std::string_view rest = path.substr(std::string_view("/api/v1").size());
  if (rest.empty() || rest == "/") return out;
  rest.remove_prefix(1);
  while (true) {
    const size_t slash = rest.find('/');
    const auto seg = PercentDecode(rest.substr(0, slash), false);
    if (!seg) return std::nullopt;
    out.push_back(*seg);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace rp
