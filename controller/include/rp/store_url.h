// The address of a PostgreSQL store, `[store] url = "postgresql://USER@HOST:PORT/DB"`
// (docs/store.md, "PostgreSQL"). Kept apart from the store (no Poco here) so that the fuzz
// target links it alone.
#pragma once

#include <string>
#include <string_view>

#include "rp/status.h"

namespace rp {

struct StoreUrl {
  std::string user;      // the database role to connect as
  std::string host;      // a name, an IPv4 address, or an IPv6 address (without its brackets)
  int port = 5432;       // 5432 when the URL names none
  std::string database;
};

// Parses "postgresql://USER@HOST[:PORT]/DB" (also "postgres://"). Everything else is refused
// with a usage error that says what is wrong and at which character: a password in the URL (it
// belongs in password_file), a query (?sslmode=...), percent-escapes, an empty part, a port
// outside 1-65535. The message never repeats what stands between "//" and "@".
Status ParseStoreUrl(std::string_view url, StoreUrl* out);

}  // namespace rp
