// Who may do what (issue 17, DESIGN.md "Web"): roles, Argon2id password hashes, API tokens,
// session ids and CSRF tokens, session timeouts and a login rate limiter. Pure functions and
// one small thread-safe type; no I/O but the kernel's random bytes (OpenSSL RAND_bytes). The
// store keeps users, tokens, sessions and the audit trail (rp/store.h); the web server and the
// `user`/`token` commands (rp/accounts_cmd.h) call these. Secrets are never logged or printed
// here; a token is shown once, by the command that creates it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/status.h"

namespace rp {

// The roles, least to most. Each role holds every right of the roles before it, as DESIGN.md
// lists them ("viewer (status), operator (plus run tests and drills), auditor (plus log and
// evidence), admin (plus users)"): an auditor may also run tests and drills. A separate,
// non-operating auditor role would be a change to DESIGN.md, not a reading of it.
enum class Role { kViewer, kOperator, kAuditor, kAdmin };
std::string_view RoleName(Role r);                          // "viewer", "operator", "auditor", "admin"
std::optional<Role> ParseRole(std::string_view name);       // exactly those names
bool RoleAllows(Role has, Role needs);                      // has >= needs in the order above
constexpr const char* kRoleNames = "viewer|operator|auditor|admin";

// User and token names: [a-z0-9._-]{1,64}.
bool ValidAccountName(std::string_view name);

// Passwords: at least 12 characters (UTF-8 code points), at most 1024 bytes. Usage error
// saying which bound was broken (never the password).
constexpr size_t kMinPasswordChars = 12;
constexpr size_t kMaxPasswordBytes = 1024;
Status CheckPassword(std::string_view password);

// Argon2id with t = 3 passes, m = 64 MiB, p = 1 lane, a 16-byte salt from RAND_bytes and a
// 32-byte tag, in the PHC encoding ("$argon2id$v=19$m=65536,t=3,p=1$SALT$TAG"). Takes about a
// tenth of a second and 64 MiB: callers bound how many run at once.
constexpr uint32_t kArgon2TimeCost = 3;
constexpr uint32_t kArgon2MemoryKiB = 64 * 1024;
constexpr uint32_t kArgon2Lanes = 1;
constexpr size_t kArgon2SaltBytes = 16;
constexpr size_t kArgon2HashBytes = 32;
// CheckPassword first; then the encoded hash in *encoded. kEnvironment when no random bytes or
// no memory.
Status HashPassword(std::string_view password, std::string* encoded);
// True only when `encoded` is an argon2id hash of `password` (argon2id_verify, constant time);
// false for a wrong password and for anything that is not an argon2id encoding.
bool VerifyPassword(const std::string& encoded, std::string_view password);

// API tokens: "rp_" and 43 characters of unpadded base64url (32 random bytes). The store keeps
// only TokenHash(token); a presented token is looked up by its hash.
constexpr std::string_view kApiTokenPrefix = "rp_";
constexpr size_t kApiTokenLength = 46;
std::string NewApiToken();
bool LooksLikeApiToken(std::string_view text);  // the prefix, the length, the alphabet
// SHA-256 as 64 lower-case hex digits: of an API token, and of a session id.
std::string TokenHash(std::string_view token);

// Session ids: 32 random bytes as 64 hex digits, given to the browser in a cookie; the store
// keeps TokenHash(id) only. CSRF tokens: likewise 32 random bytes as hex, one per session, kept
// in the store with it and compared with ConstantTimeEquals.
std::string NewSessionId();
std::string NewCsrfToken();
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// A session ends after `idle_s` without a request, and `absolute_s` after sign-in whatever
// happens.
struct SessionTimeouts {
  int64_t idle_s = 30 * 60;
  int64_t absolute_s = 12 * 60 * 60;
  bool Expired(int64_t created_at, int64_t last_seen_at, int64_t now) const {
    return now - last_seen_at >= idle_s || now - created_at >= absolute_s;
  }
};

// Failed sign-ins counted per account and per address over a sliding window; a sign-in is
// refused, before its password is checked, while either count is at its limit. Times are
// injected (UTC seconds) so tests need no clock. In memory: a restart forgets the counts.
// Thread-safe. Keys with no failure in the window are dropped as the map grows, so memory
// stays bounded by the failures of one window.
class LoginRateLimiter {
 public:
  struct Limits {
    int per_account = 5;
    int per_address = 20;
    int64_t window_s = 15 * 60;
  };
  LoginRateLimiter() : LoginRateLimiter(Limits{}) {}
  explicit LoginRateLimiter(Limits limits) : limits_(limits) {}

  // Whether `account` may try to sign in from `address` at `now`. When not, *retry_after (if
  // given) is the number of seconds until it may.
  bool Allowed(const std::string& account, const std::string& address, int64_t now, int64_t* retry_after = nullptr);
  void RecordFailure(const std::string& account, const std::string& address, int64_t now);
  // A correct password clears the account's failures; the address keeps its own.
  void RecordSuccess(const std::string& account);

 private:
  using Times = std::vector<int64_t>;  // failure times, oldest first, at most the limit's count
  static void Prune(Times* t, int64_t now, int64_t window_s);
  void Add(std::map<std::string, Times>* m, const std::string& key, int limit, int64_t now);
  int64_t Wait(std::map<std::string, Times>* m, const std::string& key, int limit, int64_t now);

  const Limits limits_;
  std::mutex mu_;
  std::map<std::string, Times> accounts_, addresses_;
};

}  // namespace rp
