// The web server's readers of client bytes (web_parse.h). Poco-free: fuzz/fuzz_web_parse.cpp
// compiles this file into itself.
#include "web_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

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

std::string PreferredLanguage(std::string_view header, std::initializer_list<std::string_view> supported) {
  std::string best;
  double best_q = 0;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    pos = end + 1;
    double q = 1;
    const size_t semi = item.find(';');
    std::string_view range = item.substr(0, semi);
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      while (!params.empty() && (params.front() == ' ' || params.front() == '\t')) params.remove_prefix(1);
      if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
        std::string_view v = params.substr(2);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) continue;
        q = v[0] - '0';
        if (v.size() > 1) {
          if (v[1] != '.') continue;
          double scale = 0.1;
          bool ok = true;
          for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
            if (v[i] < '0' || v[i] > '9') ok = false;
            q += (v[i] - '0') * scale;
          }
          if (!ok || q > 1) continue;
        }
      }
    }
    while (!range.empty() && (range.front() == ' ' || range.front() == '\t')) range.remove_prefix(1);
    while (!range.empty() && (range.back() == ' ' || range.back() == '\t')) range.remove_suffix(1);
    std::string primary(range.substr(0, range.find('-')));
    for (auto& c : primary) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string match;
    if (primary == "*") {
      match = std::string(*supported.begin());
    } else {
      for (std::string_view s : supported)
        if (primary == s) match = std::string(s);
    }
    if (match.empty() || q <= 0) continue;
    if (q > best_q) {
      best_q = q;
      best = match;
    }
  }
  return best;
}

namespace {

// One element of a comma-separated list with an optional ";q=" weight: its name (trimmed, lower
// case) and its q-value; q < 0 when the value is malformed.
std::pair<std::string, double> WeightedItem(std::string_view item) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  const size_t semi = item.find(';');
  std::string name(trim(item.substr(0, semi)));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double q = 1;
  if (semi != std::string_view::npos) {
    const std::string_view params = trim(item.substr(semi + 1));
    if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      const std::string_view v = trim(params.substr(2));
      if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1') || (v.size() > 1 && v[1] != '.')) return {name, -1};
      q = v[0] - '0';
      double scale = 0.1;
      for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
        if (v[i] < '0' || v[i] > '9') return {name, -1};
        q += (v[i] - '0') * scale;
      }
      if (q > 1) return {name, -1};
    }
  }
  return {name, q};
}

}  // namespace

bool AcceptsGzip(std::string_view header) {
  bool gzip = false, gzip_refused = false, any = false;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    const auto [name, q] = WeightedItem(header.substr(pos, end - pos));
    pos = end + 1;
    if (name == "gzip" || name == "x-gzip") {
      if (q > 0) gzip = true;
      if (q == 0) gzip_refused = true;
    } else if (name == "*" && q > 0) {
      any = true;
    }
  }
  return gzip || (any && !gzip_refused);
}

}  // namespace rp
