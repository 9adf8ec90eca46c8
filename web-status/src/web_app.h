// What the routes of the web server share (private to rp_web): a request as the handlers see
// it, their reply, the server's state, and the one route function web_server.cpp calls. The
// sockets, deadlines and limits stay in web_server.cpp; sign-in, sessions, CSRF and the pages
// are in web_auth.cpp, the JSON API in web_api.cpp, the readers of client bytes (forms, query
// strings, percent-decoding, API paths) in web_parse.h (docs/web.md, docs/api.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <utility>
#include <vector>

#include "rp/accounts.h"
#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/evidence_bundle.h"
#include "rp/serve.h"
#include "rp/store.h"
#include "web_parse.h"

namespace rp::web {

struct Request {
  std::string method;  // GET, HEAD, POST, ...
  std::string path;    // as sent, before '?', not decoded
  std::string query;   // after '?', not decoded
  std::map<std::string, std::string> headers;  // names lower-cased; the last of repeated ones
  std::map<std::string, std::string> cookies;
  std::string body;     // read only for POST, bounded by [web] max_request_bytes
  std::string address;  // the client's IP address
};

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Location, Retry-After, Allow
};

// Who sent a request: a signed-in user (session) or a script (API token).
struct Identity {
  bool token = false;
  std::string name;     // the user, or the token's name
  Role role = Role::kViewer;
  std::string csrf;     // the session's CSRF token ("" for a token)
  std::string id_hash;  // the session's TokenHash ("" for a token)
  std::string actor() const { return token ? "token:" + name : name; }
};

class State {
 public:
  State(const ServeContext& context, std::unique_ptr<Pseudonymiser> names)
      : store_(context.store), log_(context.log), ready_(context.ready), config_(context.config),
        names_(std::move(names)) {}

  std::shared_ptr<const Config> config() {
    std::lock_guard lock(mu_);
    return config_;
  }
  void SetConfig(std::shared_ptr<const Config> config) {
    std::lock_guard lock(mu_);
    config_ = std::move(config);
  }
  Store& store() { return *store_; }
  EventLog& log() { return *log_; }
  bool ready() const { return ready_ && ready_->load(); }
  const Pseudonymiser* names() const { return names_.get(); }
  LoginRateLimiter& limiter() { return limiter_; }
  const SessionTimeouts& timeouts() const { return timeouts_; }
  // TLS is not built yet: cookies carry `Secure` and the `__Host-` prefix only under TLS.
  bool tls() const { return false; }
  // Argon2id takes 64 MiB and a tenth of a second: at most two run at once.
  std::counting_semaphore<2>& argon2_slots() { return argon2_slots_; }
  // A fixed hash to verify against for unknown users, so that the time taken does not say
  // which names exist; made on first use.
  const std::string& dummy_hash();

 private:
  Store* store_;
  EventLog* log_;
  const std::atomic<bool>* ready_;
  std::mutex mu_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Pseudonymiser> names_;
  LoginRateLimiter limiter_;
  SessionTimeouts timeouts_;
  std::counting_semaphore<2> argon2_slots_{2};
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

// Every route but the connection's limits: /healthz, /readyz, the no-admin mode, /metrics,
// /login, /logout, /, /api/v1/...
Reply Route(State& state, const Request& request);

// --- shared by web_auth.cpp and web_api.cpp ---

Reply Text(int status, std::string body);
Reply Json(int status, const nlohmann::json& body);
Reply JsonError(int status, const std::string& message);
Reply MethodNotAllowed(const std::string& allow, bool json);

// The identity of a request: an `Authorization: Bearer rp_...` token (when `allow_token`), else
// the session cookie. nullopt: nobody (or a refused token: *token_refused set).
std::optional<Identity> Identify(State& state, const Request& request, bool allow_token, bool* token_refused);
// The CSRF check every POST route uses: a token-authenticated request has none to check; a
// session's token must come in the form field `csrf` or the `X-CSRF-Token` header and equal the
// session's (constant time). A refusal is audited (`csrf-refused`).
bool CsrfOk(State& state, const Request& request, const Identity& who);
void Audit(State& state, const std::string& actor, const Request& request, const std::string& action,
           const std::string& detail);

Reply Api(State& state, const Request& request);  // every /api/v1/ route (web_api.cpp)

}  // namespace rp::web
