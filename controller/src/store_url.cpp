// ParseStoreUrl (rp/store_url.h): a strict reading of postgresql://USER@HOST[:PORT]/DB.
#include "rp/store_url.h"

#include <cstdint>

namespace rp {
namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

Status Bad(size_t at, const std::string& what) {
  return Status::Usage("[store] url, at character " + std::to_string(at + 1) + ": " + what +
                       " (the form is postgresql://USER@HOST:PORT/DATABASE)");
}

}  // namespace

Status ParseStoreUrl(std::string_view url, StoreUrl* out) {
  StoreUrl u;
  size_t i = 0;
  for (std::string_view scheme : {"postgresql://", "postgres://"})
    if (url.substr(0, scheme.size()) == scheme) {
      i = scheme.size();
      break;
    }
  if (i == 0) return Bad(0, "it does not start with postgresql://");
  const size_t at = url.find('@', i);
  const size_t slash = url.find('/', i);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at))
    return Bad(i, "it names no user (USER@ before the host)");
  for (size_t k = i; k < at; ++k) {
    if (url[k] == ':') return Bad(k, "a password does not belong in the URL; put it in [store] password_file");
    if (!NameChar(url[k])) return Bad(k, "the user name may hold only letters, digits, '_', '-' and '.'");
  }
  if (at == i) return Bad(i, "the user name is empty");
  u.user = std::string(url.substr(i, at - i));
  i = at + 1;
  if (i < url.size() && url[i] == '[') {
    const size_t close = url.find(']', i);
    if (close == std::string_view::npos) return Bad(i, "an IPv6 address in [ ] is not closed");
    for (size_t k = i + 1; k < close; ++k) {
      const char c = url[k];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
        return Bad(k, "an IPv6 address holds only hex digits, ':' and '.'");
    }
    if (close == i + 1) return Bad(i, "the IPv6 address is empty");
    u.host = std::string(url.substr(i + 1, close - i - 1));
    i = close + 1;
  } else {
    const size_t start = i;
    while (i < url.size() && url[i] != ':' && url[i] != '/') {
      if (!NameChar(url[i]) || url[i] == '_') return Bad(i, "a host name holds only letters, digits, '-' and '.'");
      ++i;
    }
    if (i == start) return Bad(start, "the host is empty");
    u.host = std::string(url.substr(start, i - start));
  }
  if (i < url.size() && url[i] == ':') {
    const size_t start = ++i;
    uint32_t port = 0;
    while (i < url.size() && url[i] >= '0' && url[i] <= '9') {
      port = port * 10 + static_cast<uint32_t>(url[i] - '0');
      if (port > 65535) return Bad(start, "the port is larger than 65535");
      ++i;
    }
    if (i == start) return Bad(start, "the port is not a number");
    if (port == 0) return Bad(start, "the port is 0");
    u.port = static_cast<int>(port);
  }
  if (i >= url.size() || url[i] != '/') return Bad(i, "the database is missing (/DATABASE after the host)");
  const size_t start = ++i;
  while (i < url.size()) {
    if (url[i] == '?') return Bad(i, "options (?...) are not read; the URL names only user, host, port and database");
    if (!NameChar(url[i])) return Bad(i, "the database name may hold only letters, digits, '_', '-' and '.'");
    ++i;
  }
  if (i == start) return Bad(start, "the database name is empty");
  u.database = std::string(url.substr(start));
  *out = std::move(u);
  return Status::Ok();
}

}  // namespace rp
