// libFuzzer target for [store] url (rp/store_url.h, controller/src/store_url.cpp, compiled here
// alone: the rest of rp_controller needs Poco). Any bytes give a result or a usage error, never a
// crash; an accepted URL names a user, host and database of the allowed characters and a port in
// 1-65535, and written back as postgresql://USER@HOST:PORT/DB it parses to the same; an error
// is printable ASCII and never repeats what stands between "//" and "@" (which may hold a
// password). Traps when one breaks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rp/store_url.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Names(const std::string& s, bool host) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || (!host && c == '_') || (host && c == ':');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  rp::StoreUrl u;
  const rp::Status s = rp::ParseStoreUrl(url, &u);
  if (!s.ok()) {
    Check(s.code() == rp::Status::Code::kUsage);
    // Printable ASCII of the messages' own texts, and never the user part of the input (which
    // may hold a password) when that has a character no message text has.
    const std::string& message = s.message();
    for (const char c : message) Check(c >= ' ' && c <= '~');
    const size_t slashes = url.find("//");
    const size_t at = slashes == std::string_view::npos ? url.npos : url.find('@', slashes + 2);
    if (at != std::string_view::npos) {
      const std::string_view user = url.substr(slashes + 2, at - slashes - 2);
      bool foreign = false;
      for (const char c : user)
        foreign |= !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view(" .,:/()@?'_-[]+").find(c) != std::string_view::npos);
      Check(!foreign || user.size() < 2 || message.find(user) == std::string::npos);
    }
    return 0;
  }
  Check(Names(u.user, false) && Names(u.host, true) && Names(u.database, false));
  Check(u.port >= 1 && u.port <= 65535);
  const bool v6 = u.host.find(':') != std::string::npos;
  const std::string again = "postgresql://" + u.user + "@" + (v6 ? "[" + u.host + "]" : u.host) + ":" +
                            std::to_string(u.port) + "/" + u.database;
  rp::StoreUrl w;
  Check(rp::ParseStoreUrl(again, &w).ok());
  Check(w.user == u.user && w.host == u.host && w.port == u.port && w.database == u.database);
  return 0;
}
