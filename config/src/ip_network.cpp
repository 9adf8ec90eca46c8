#include "rp/ip_network.h"

#include <vector>

namespace rp {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal number of 1 to `max_digits` digits without leading zeros; nullopt otherwise.
std::optional<int> Decimal(std::string_view t, size_t max_digits) {
  if (t.empty() || t.size() > max_digits || (t.size() > 1 && t[0] == '0')) return std::nullopt;
  int v = 0;
  for (const char c : t) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool ParseV4(std::string_view t, uint8_t* out) {
  for (int i = 0; i < 4; ++i) {
    const size_t dot = t.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return false;
    const auto v = Decimal(t.substr(0, dot), 3);
    if (!v || *v > 255) return false;
    out[i] = static_cast<uint8_t>(*v);
    if (i < 3) t.remove_prefix(dot + 1);
  }
  return true;
}

// Colon-separated groups of 1-4 hex digits ("" is no group), the last one perhaps an IPv4
// address (two groups) when `v4_tail`.
bool ParseGroups(std::string_view t, bool v4_tail, std::vector<uint16_t>* out) {
  if (t.empty()) return true;
  while (true) {
    const size_t colon = t.find(':');
    const std::string_view g = t.substr(0, colon);
    if (colon == std::string_view::npos && v4_tail && g.find('.') != std::string_view::npos) {
      uint8_t b[4];
      if (!ParseV4(g, b)) return false;
      out->push_back(static_cast<uint16_t>(b[0] << 8 | b[1]));
      out->push_back(static_cast<uint16_t>(b[2] << 8 | b[3]));
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    uint16_t v = 0;
    for (const char c : g) {
      const int h = HexValue(c);
      if (h < 0) return false;
      v = static_cast<uint16_t>(v << 4 | h);
    }
    out->push_back(v);
    if (colon == std::string_view::npos) return true;
    t.remove_prefix(colon + 1);
  }
}

bool ParseV6(std::string_view t, uint8_t* out) {
  std::vector<uint16_t> head, tail;
  const size_t gap = t.find("::");
  if (gap == std::string_view::npos) {
    if (!ParseGroups(t, true, &head) || head.size() != 8) return false;
  } else {
    if (t.find("::", gap + 1) != std::string_view::npos) return false;
    if (!ParseGroups(t.substr(0, gap), false, &head) || !ParseGroups(t.substr(gap + 2), true, &tail)) return false;
    if (head.size() + tail.size() > 7) return false;  // "::" stands for at least one zero group
    head.resize(8 - tail.size(), 0);
    head.insert(head.end(), tail.begin(), tail.end());
  }
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(head[i] & 0xff);
  }
  return true;
}

bool IsV4Mapped(const std::array<uint8_t, 16>& b) {
  for (size_t i = 0; i < 10; ++i)
    if (b[i] != 0) return false;
  return b[10] == 0xff && b[11] == 0xff;
}

// Whether the first `prefix` bits of `a` and `b` are equal.
bool SamePrefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int prefix) {
  const size_t whole = static_cast<size_t>(prefix / 8);
  for (size_t i = 0; i < whole; ++i)
    if (a[i] != b[i]) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpNetwork> ParseIpAddress(std::string_view text) {
  IpNetwork n;
  if (text.find(':') == std::string_view::npos) {
    if (!ParseV4(text, n.bytes.data())) return std::nullopt;
    n.prefix = 32;
    return n;
  }
  if (!ParseV6(text, n.bytes.data())) return std::nullopt;
  if (IsV4Mapped(n.bytes)) {
    IpNetwork v4;
    for (size_t i = 0; i < 4; ++i) v4.bytes[i] = n.bytes[12 + i];
    v4.prefix = 32;
    return v4;
  }
  n.v6 = true;
  n.prefix = 128;
  return n;
}

std::optional<IpNetwork> ParseIpNetwork(std::string_view text, std::string* why) {
  const auto fail = [&](const std::string& reason) -> std::optional<IpNetwork> {
    if (why) *why = reason;
    return std::nullopt;
  };
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  auto n = ParseIpAddress(address);
  if (!n) return fail("\"" + std::string(address) + "\" is not an IPv4 or IPv6 address (a host name is not accepted)");
  if (slash == std::string_view::npos) return n;
  const int max = n->v6 ? 128 : 32;
  auto prefix = Decimal(text.substr(slash + 1), 3);
  // An IPv4-mapped network (::ffff:0:0/96 and longer) is the IPv4 network it maps.
  const bool mapped = !n->v6 && address.find(':') != std::string_view::npos;
  if (prefix && mapped) prefix = *prefix >= 96 && *prefix <= 128 ? std::optional<int>(*prefix - 96) : std::nullopt;
  if (!prefix || *prefix > max)
    return fail("the prefix after '/' must be a number from " + (mapped ? std::string("96 to 128") : "0 to " + std::to_string(max)) +
                ", found \"" + std::string(text.substr(slash + 1)) + "\"");
  IpNetwork zero;
  zero.v6 = n->v6;
  zero.bytes = n->bytes;
  for (int bit = *prefix; bit < 128; ++bit) zero.bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  zero.prefix = *prefix;
  if (zero.bytes != n->bytes)
    return fail("the address has bits set after the prefix: the network is " + FormatIpNetwork(zero) +
                " (or give a longer prefix)");
  return zero;
}

std::string FormatIpNetwork(const IpNetwork& net) {
  std::string out;
  if (!net.v6) {
    for (size_t i = 0; i < 4; ++i) out += (i ? "." : "") + std::to_string(net.bytes[i]);
    return net.prefix == 32 ? out : out + "/" + std::to_string(net.prefix);
  }
  uint16_t g[8];
  for (size_t i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(net.bytes[2 * i] << 8 | net.bytes[2 * i + 1]);
  // RFC 5952 §4.2: the longest run of at least two zero groups (the first of equal ones) is "::".
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static const char* kHex = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::string h;
    for (uint16_t v = g[i]; v != 0 || h.empty(); v = static_cast<uint16_t>(v >> 4)) h.insert(h.begin(), kHex[v & 15]);
    out += h;
  }
  return net.prefix == 128 ? out : out + "/" + std::to_string(net.prefix);
}

bool IpNetworkContains(const IpNetwork& net, std::string_view address) {
  const auto a = ParseIpAddress(address.substr(0, address.find('%')));
  return a && a->v6 == net.v6 && SamePrefix(a->bytes, net.bytes, net.prefix);
}

}  // namespace rp
