// libFuzzer target for the web server's readers of client bytes (web-status/src/web_parse.h,
// web_parse.cpp compiled here alone: the rest of rp_web needs Poco). The same bytes are read as
// a percent-encoded text (rp::PercentDecode, with and without '+' as a space), as a form body
// or query string (rp::ParseForm), as a query string checked against the runs route's names
// (rp::ParseQuery), as a decimal query value (rp::ParseDecimal) and as the path after
// "/api/v1/" (rp::SplitApiPath). Never a crash. A text decodes exactly when every '%' in it is
// followed by two hex digits (the documented refusal), to a text that is as long as the input
// less two bytes per escape, equals the input when there is nothing to decode, and keeps every
// '+' when `plus` is off. Percent-encoding any bytes (every byte, upper or lower case hex, or
// only the bytes that need it) decodes back to them. A parsed form's names and values are
// together no longer than the text; with nothing escaped they hold no '&', no '+', and names no
// '='; *repeated is set exactly when a non-empty piece's name was already seen; re-encoding the
// pairs and parsing again gives the same pairs. The input split at NUL bytes into names and
// values, encoded and joined, parses back to them (first value wins, *repeated as expected).
// ParseQuery agrees with ParseForm and the allowed names; ParseDecimal gives only values in
// range that print back to the text less leading zeros; SplitApiPath gives one decoded segment
// per '/'-separated piece. The same bytes as an IP address or network of `[web] trusted_proxies`
// (rp::ParseIpNetwork, config/src/ip_network.cpp, compiled in too): a network parsed has its
// prefix in range and no bit set after it, prints to a text that parses back to it, contains
// its own address and is what ParseIpAddress gives for a single address; a refusal says why.
// The same bytes as an Accept-Language and an Accept-Encoding header (CheckHeaders below).
// Traps when one breaks. Single-threaded; no state between inputs.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rp/ip_network.h"
#include "web_parse.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The documented rule, read independently: every '%' is followed by two hex digits. (An escape
// consumes only hex digits, so no '%' is ever inside another escape.)
bool EscapesValid(std::string_view t) {
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] == '%' && (i + 2 >= t.size() || !IsHex(t[i + 1]) || !IsHex(t[i + 2]))) return false;
  return true;
}

size_t Count(std::string_view t, char c) {
  size_t n = 0;
  for (char x : t) n += x == c;
  return n;
}

// Every byte as %hh.
std::string EncodeAll(std::string_view t, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (char c : t) {
    const auto b = static_cast<unsigned char>(c);
    out += '%';
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Only the bytes a form must escape ('%', '&', '=', '+'); a space as '+'.
std::string EncodeForm(std::string_view t) {
  std::string out;
  for (char c : t) {
    if (c == '%' || c == '&' || c == '=' || c == '+') {
      out += EncodeAll(std::string_view(&c, 1), c & 1);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view t, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = t.find(sep, start);
    out.push_back(t.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

void CheckDecode(std::string_view text) {
  const bool valid = EscapesValid(text);
  for (const bool plus : {false, true}) {
    const auto d = rp::PercentDecode(text, plus);
    Check(d.has_value() == valid);
    if (!d) continue;
    Check(d->size() == text.size() - 2 * Count(text, '%'));
    Check(d->size() <= text.size());
    if (Count(text, '%') == 0 && (!plus || Count(text, '+') == 0)) Check(*d == text);
    if (!plus) Check(Count(*d, '+') >= Count(text, '+'));
  }
  // Percent-encoding any bytes decodes back to them, whichever hex case and '+' mode.
  for (const bool upper : {false, true}) {
    const std::string enc = EncodeAll(text, upper);
    for (const bool plus : {false, true}) {
      const auto back = rp::PercentDecode(enc, plus);
      Check(back.has_value() && *back == text);
    }
  }
  const auto form_back = rp::PercentDecode(EncodeForm(text), true);
  Check(form_back.has_value() && *form_back == text);
}

std::string Join(const std::map<std::string, std::string>& form, bool all, bool upper) {
  std::string out;
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += '&';
    out += all ? EncodeAll(k, upper) : EncodeForm(k);
    out += '=';
    out += all ? EncodeAll(v, upper) : EncodeForm(v);
  }
  return out;
}

void CheckForm(std::string_view text) {
  bool repeated = true;
  const auto form = rp::ParseForm(text, &repeated);
  Check(form.has_value() == EscapesValid(text));
  Check(rp::ParseForm(text).has_value() == form.has_value());
  if (!form) return;
  size_t pieces = 0;
  for (std::string_view piece : Split(text, '&')) pieces += !piece.empty();
  Check(form->size() <= pieces);
  Check(repeated == (form->size() < pieces));
  size_t bytes = 0;
  for (const auto& [k, v] : *form) {
    bytes += k.size() + v.size();
    if (Count(text, '%') == 0) {
      Check(Count(k, '&') == 0 && Count(v, '&') == 0 && Count(k, '=') == 0);
      Check(Count(k, '+') == 0 && Count(v, '+') == 0);
    }
  }
  Check(bytes <= text.size());
  // Re-encoding the pairs and parsing again gives the same pairs, with nothing repeated.
  for (int how = 0; how < 3; ++how) {
    bool again_repeated = true;
    const auto again = rp::ParseForm(Join(*form, how > 0, how == 2), &again_repeated);
    Check(again.has_value() && *again == *form && !again_repeated);
  }
}

// The input split at NUL bytes as name, value, name, value...: encoded and joined with '&', the
// form parses back to the names with their first values.
void CheckBuiltForm(std::string_view text) {
  const std::vector<std::string_view> parts = Split(text, '\0');
  std::map<std::string, std::string> expected;
  bool expect_repeated = false;
  std::string body;
  for (size_t i = 0; i < parts.size(); i += 2) {
    const std::string name(parts[i]);
    const std::string value(i + 1 < parts.size() ? parts[i + 1] : std::string_view());
    if (i > 0) body += '&';
    body += EncodeForm(name) + "=" + EncodeForm(value);  // never an empty piece: it has '='
    if (!expected.emplace(name, value).second) expect_repeated = true;
  }
  bool repeated = false;
  const auto form = rp::ParseForm(body, &repeated);
  Check(form.has_value() && *form == expected && repeated == expect_repeated);
}

void CheckQuery(std::string_view text) {
  const auto q = rp::ParseQuery(text, {"target", "since", "state", "limit"});
  bool repeated = false;
  const auto form = rp::ParseForm(text, &repeated);
  Check(!q.error.empty() || q.values == *form);
  if (!q.error.empty()) Check(q.values.empty());
  Check((q.error == "malformed query string") == !form.has_value());
  if (form) Check((q.error == "a query parameter is repeated") == repeated);
  if (form && !repeated) {
    bool unknown = false;
    for (const auto& [k, v] : *form) unknown |= k != "target" && k != "since" && k != "state" && k != "limit";
    Check(q.error.empty() == !unknown);
  }
}

void CheckDecimal(std::string_view text) {
  const std::string s(text);
  for (const auto& [lo, hi] : {std::pair<int64_t, int64_t>{1, 1000}, {1, INT64_MAX}, {INT64_MIN, INT64_MAX}}) {
    const auto v = rp::ParseDecimal(s, lo, hi);
    if (!v) continue;
    Check(*v >= lo && *v <= hi);
    std::string digits = s;
    const bool negative = !digits.empty() && digits[0] == '-';
    if (negative) digits.erase(0, 1);
    Check(!digits.empty());
    for (char c : digits) Check(c >= '0' && c <= '9');
    const size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    Check((negative && digits != "0" ? "-" + digits : digits) == std::to_string(*v));
  }
}

void CheckPath(std::string_view text) {
  const std::string path = "/api/v1/" + std::string(text);
  const auto segs = rp::SplitApiPath(path);
  Check(segs.has_value() == EscapesValid(text));
  if (!segs) return;
  if (text.empty()) {
    Check(segs->empty());
    return;
  }
  const std::vector<std::string_view> raw = Split(text, '/');
  Check(segs->size() == raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto d = rp::PercentDecode(raw[i], false);
    Check(d.has_value() && *d == (*segs)[i]);
  }
  Check(rp::SplitApiPath("/api/v1").value().empty());
}

void CheckIpNetwork(std::string_view text) {
  std::string why;
  const auto net = rp::ParseIpNetwork(text, &why);
  const auto address = rp::ParseIpAddress(text);
  if (address) Check(net.has_value() && *net == *address && net->prefix == (net->v6 ? 128 : 32));
  if (!net) {
    Check(!why.empty());
    return;
  }
  Check(net->prefix >= 0 && net->prefix <= (net->v6 ? 128 : 32));
  for (int bit = net->prefix; bit < 128; ++bit) Check((net->bytes[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) == 0);
  const std::string canonical = rp::FormatIpNetwork(*net);
  const auto again = rp::ParseIpNetwork(canonical);
  Check(again.has_value() && *again == *net);
  rp::IpNetwork base = *net;
  base.prefix = net->v6 ? 128 : 32;
  const std::string base_text = rp::FormatIpNetwork(base);
  Check(rp::IpNetworkContains(*net, base_text));
  Check(rp::IpNetworkContains(*net, base_text + "%zone"));
}

}  // namespace

// The same bytes as an Accept-Language and an Accept-Encoding header (rp::PreferredLanguage,
// rp::AcceptsGzip): the language chosen is one of those supported or none; a refused range of an
// unsupported language appended changes nothing; `sv` named first at full weight always wins (no
// weight is above 1 and ties go to the first named). gzip named at full weight anywhere is always
// accepted, and an `identity` entry in front changes nothing.
void CheckHeaders(std::string_view text) {
  const std::string lang = rp::PreferredLanguage(text, {"en", "sv"});
  Check(lang.empty() || lang == "en" || lang == "sv");
  Check(rp::PreferredLanguage(std::string(text) + ",de;q=0", {"en", "sv"}) == lang);
  Check(rp::PreferredLanguage("sv," + std::string(text), {"en", "sv"}) == "sv");
  Check(rp::AcceptsGzip(std::string(text) + ",gzip"));
  Check(rp::AcceptsGzip("identity;q=1," + std::string(text)) == rp::AcceptsGzip(text));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDecode(text);
  CheckForm(text);
  CheckBuiltForm(text);
  CheckQuery(text);
  CheckDecimal(text);
  CheckPath(text);
  CheckIpNetwork(text);
  CheckHeaders(text);
  return 0;
}
