#include "rp/accounts.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace rp {

namespace {

// `n` bytes from the kernel's generator through OpenSSL; a bug-level failure when none come
// (a process that cannot get random bytes must not hand out guessable secrets).
std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("accounts: OpenSSL RAND_bytes gave no random bytes");
  return out;
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Unpadded base64url (RFC 4648 §5).
std::string Base64Url(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64Url[(v >> s) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    if (rest == 2) out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

size_t Utf8Chars(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAuditor, Role::kAdmin})
    if (RoleName(r) == name) return r;
  return std::nullopt;
}

bool RoleAllows(Role has, Role needs) { return static_cast<int>(has) >= static_cast<int>(needs); }

bool ValidAccountName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Status CheckPassword(std::string_view password) {
  if (password.size() > kMaxPasswordBytes)
    return Status::Usage("the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  if (Utf8Chars(password) < kMinPasswordChars)
    return Status::Usage("the password is shorter than " + std::to_string(kMinPasswordChars) +
                         " characters: choose a longer one (a passphrase of several words is easiest)");
  return Status::Ok();
}

Status HashPassword(std::string_view password, std::string* encoded) {
  if (Status s = CheckPassword(password); !s.ok()) return s;
  unsigned char salt[kArgon2SaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Status::Environment("no random bytes for a password salt (OpenSSL RAND_bytes)");
  std::string out(argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes, sizeof salt, kArgon2HashBytes,
                                    Argon2_id),
                  '\0');
  const int rc = argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes, password.data(), password.size(),
                                       salt, sizeof salt, kArgon2HashBytes, out.data(), out.size());
  OPENSSL_cleanse(salt, sizeof salt);
  if (rc != ARGON2_OK) return Status::Environment(std::string("Argon2id hashing failed: ") + argon2_error_message(rc));
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  *encoded = std::move(out);
  return Status::Ok();
}

bool VerifyPassword(const std::string& encoded, std::string_view password) {
  if (encoded.rfind("$argon2id$", 0) != 0 || password.size() > kMaxPasswordBytes) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string NewApiToken() { return std::string(kApiTokenPrefix) + Base64Url(RandomBytes(32)); }

bool LooksLikeApiToken(std::string_view text) {
  if (text.size() != kApiTokenLength || text.substr(0, kApiTokenPrefix.size()) != kApiTokenPrefix) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(kApiTokenPrefix.size()), text.end(),
                     [](char c) { return kBase64Url.find(c) != std::string_view::npos; });
}

std::string TokenHash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return Hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string NewSessionId() { return Hex(RandomBytes(32)); }
std::string NewCsrfToken() { return Hex(RandomBytes(32)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void LoginRateLimiter::Prune(Times* t, int64_t now, int64_t window_s) {
  t->erase(t->begin(), std::find_if(t->begin(), t->end(), [&](int64_t at) { return now - at < window_s; }));
}

void LoginRateLimiter::Add(std::map<std::string, Times>* m, const std::string& key, int limit, int64_t now) {
  // Past 4096 keys, the keys without a failure in the window go first: memory follows the
  // failures of one window, not every name ever tried.
  if (m->size() >= 4096)
    for (auto it = m->begin(); it != m->end();) {
      Prune(&it->second, now, limits_.window_s);
      it = it->second.empty() ? m->erase(it) : std::next(it);
    }
  Times& t = (*m)[key];
  Prune(&t, now, limits_.window_s);
  t.push_back(now);
  // Only the newest `limit` times decide anything.
  if (t.size() > static_cast<size_t>(std::max(limit, 1))) t.erase(t.begin());
}

int64_t LoginRateLimiter::Wait(std::map<std::string, Times>* m, const std::string& key, int limit, int64_t now) {
  const auto it = m->find(key);
  if (it == m->end()) return 0;
  Prune(&it->second, now, limits_.window_s);
  if (it->second.size() < static_cast<size_t>(std::max(limit, 1))) return 0;
  // Allowed again once the oldest counted failure leaves the window.
  return it->second.front() + limits_.window_s - now;
}

bool LoginRateLimiter::Allowed(const std::string& account, const std::string& address, int64_t now,
                               int64_t* retry_after) {
  std::lock_guard lock(mu_);
  const int64_t wait = std::max(Wait(&accounts_, account, limits_.per_account, now),
                                Wait(&addresses_, address, limits_.per_address, now));
  if (retry_after) *retry_after = wait;
  return wait <= 0;
}

void LoginRateLimiter::RecordFailure(const std::string& account, const std::string& address, int64_t now) {
  std::lock_guard lock(mu_);
  Add(&accounts_, account, limits_.per_account, now);
  Add(&addresses_, address, limits_.per_address, now);
}

void LoginRateLimiter::RecordSuccess(const std::string& account) {
  std::lock_guard lock(mu_);
  accounts_.erase(account);
}

}  // namespace rp
