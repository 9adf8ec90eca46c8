// The account commands (docs/cli.md): `user add`, `user list`, `token create`. Each loads the
// configuration and opens the store; each change is written with its audit record (actor: the
// invoking user, address "cli") in one transaction. Exit 0 done, 2 refused (a malformed name or
// role, a short or missing password, an existing user), 3 the store cannot be opened.
#pragma once

#include <ostream>
#include <string>

namespace rp {

struct UserAddOptions {
  std::string name;
  std::string role;
  bool one_time = false;  // --one-time: the first sign-in must choose a new password
  bool json = false;
};
// The password comes from `password_fd`: from a terminal, asked twice on `err` with echo off
// (both must match); otherwise its first line. It is hashed (Argon2id) and never printed.
int UserAddCommand(const std::string& config_path, const UserAddOptions& o, int password_fd, std::ostream& out,
                   std::ostream& err);
// Name, role, created, disabled; never a hash.
int UserListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err);

struct TokenCreateOptions {
  std::string name;
  std::string role;
  bool json = false;
};
// Prints the new token once (or {"name","role","token"}); only its SHA-256 is stored.
int TokenCreateCommand(const std::string& config_path, const TokenCreateOptions& o, std::ostream& out,
                       std::ostream& err);

}  // namespace rp
