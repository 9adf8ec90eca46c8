// What the routes of the web server share (private to rp_web): a request as the handlers see
// it, their reply, the server's state, and the one route function web_server.cpp calls. The
// sockets, deadlines and limits stay in web_server.cpp; sign-in, sessions, CSRF and the pages
// are in web_auth.cpp, the JSON API in web_api.cpp, the readers of client bytes (forms, query
// strings, percent-decoding, API paths) in web_parse.h (docs/web.md, docs/api.md).
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rp/accounts.h"
#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/evidence_bundle.h"
#include "rp/serve.h"
#include "rp/store.h"
#include "status_board.h"
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
  Reply() = default;
  Reply(int s, std::string type, std::string b, std::vector<std::pair<std::string, std::string>> h = {})
      : status(s), content_type(std::move(type)), body(std::move(b)), headers(std::move(h)) {}
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Location, Retry-After, Allow
  // The same body gzip-compressed, made once for a page many ask for: sent with
  // `Content-Encoding: gzip` to a client whose Accept-Encoding allows it.
  std::shared_ptr<const std::string> gzip_body;
};

// `text` compressed as one gzip member (RFC 1952).
std::string Gzip(const std::string& text);

// Who sent a request: a signed-in user (session) or a script (API token).
struct Identity {
  bool token = false;
  std::string name;     // the user, or the token's name
  Role role = Role::kViewer;
  std::string csrf;     // the session's CSRF token ("" for a token)
  std::string id_hash;  // the session's TokenHash ("" for a token)
  bool proxy = false;   // named by a trusted reverse proxy's header: no password of ours to change
  bool must_change_password = false;  // signed in with a one-time password: /password first
  std::string actor() const { return token ? "token:" + name : name; }
};

class State {
 public:
  // The web server reads and writes through connections of its own to the controller's store
  // (SQLite's WAL or PostgreSQL: readers do not wait for each other): one for requests, one for building the
  // status board, so neither a page storm nor a board rebuild queues behind the controller's
  // connection or behind each other. Where one cannot be opened, the controller's is shared.
  State(const ServeContext& context, std::unique_ptr<Pseudonymiser> names)
      : store_(context.store), log_(context.log), ready_(context.ready), scheduling_(context.scheduling),
        config_(context.config),
        names_(std::move(names)), tls_(context.config->web.tls()) {
    if (OpenStore(*context.config, &own_store_, false).ok()) store_ = own_store_.get();
    if (!OpenStore(*context.config, &board_store_, false).ok()) board_store_.reset();
  }

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
  // Whether this serve schedules (docs/multi-host.md); nullopt when serve did not say.
  std::optional<bool> scheduling() const {
    return scheduling_ ? std::optional<bool>(scheduling_->load()) : std::nullopt;
  }
  const Pseudonymiser* names() const { return names_.get(); }
  LoginRateLimiter& limiter() { return limiter_; }
  const SessionTimeouts& timeouts() const { return timeouts_; }
  // Whether the server listens with TLS ([web] tls_certificate; a change restarts the server
  // with a new State): cookies carry `Secure` and the `__Host-` prefix only then.
  bool tls() const { return tls_; }
  // True the first time `address` sends the proxy's user header without being a trusted proxy
  // (audited once per address and server start; at most 1,000 addresses are remembered).
  bool FirstUntrustedProxyHeader(const std::string& address) {
    std::lock_guard lock(mu_);
    if (untrusted_proxies_.size() >= 1000) return false;
    return untrusted_proxies_.insert(address).second;
  }
  // Argon2id takes 64 MiB and a tenth of a second: at most two run at once.
  std::counting_semaphore<2>& argon2_slots() { return argon2_slots_; }
  // A fixed hash to verify against for unknown users, so that the time taken does not say
  // which names exist; made on first use.
  const std::string& dummy_hash();
  // The status board the dashboard and /api/v1/status show (rebuilt every 2 s while asked for).
  std::shared_ptr<const StatusBoard> board() { return board_cache_.Get(config(), board_store_ ? *board_store_ : *store_); }
  void BoardChanged() { board_cache_.Invalidate(); }
  // A whole page (and its gzip) that depends only on the board and `key` (the page, the session
  // and the language): made once per board and kept until the board is rebuilt, for at most 64
  // keys at a time. The dashboard on a wall of screens costs a session check each.
  struct PageBody {
    std::string html;
    std::shared_ptr<const std::string> gzip;
  };
  std::shared_ptr<const PageBody> CachedPage(const std::string& key, const std::shared_ptr<const StatusBoard>& board,
                                             const std::function<std::string()>& render) {
    {
      std::lock_guard lock(mu_);
      if (const auto it = pages_.find(key); it != pages_.end() && it->second.first == board) return it->second.second;
    }
    auto page = std::make_shared<PageBody>();
    page->html = render();
    page->gzip = std::make_shared<const std::string>(Gzip(page->html));
    std::lock_guard lock(mu_);
    std::erase_if(pages_, [&](const auto& e) { return e.second.first != board; });
    if (pages_.size() >= 64) pages_.erase(pages_.begin());
    pages_[key] = {board, page};
    return page;
  }
  // A part of a page that depends only on the board and `variant` (the language): rendered once
  // per board and kept until the board is rebuilt.
  std::shared_ptr<const std::string> Rendered(const std::string& kind, int variant,
                                              const std::shared_ptr<const StatusBoard>& board,
                                              const std::function<std::string()>& render) {
    const auto key = std::make_pair(kind, variant);
    {
      std::lock_guard lock(mu_);
      if (const auto it = rendered_.find(key); it != rendered_.end() && it->second.first == board) return it->second.second;
    }
    auto text = std::make_shared<const std::string>(render());
    std::lock_guard lock(mu_);
    rendered_[key] = {board, text};
    return text;
  }

 private:
  std::unique_ptr<Store> own_store_, board_store_;
  Store* store_;
  EventLog* log_;
  const std::atomic<bool>* ready_;
  const std::atomic<bool>* scheduling_;
  std::mutex mu_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Pseudonymiser> names_;
  const bool tls_;
  std::set<std::string> untrusted_proxies_;
  LoginRateLimiter limiter_;
  SessionTimeouts timeouts_;
  std::counting_semaphore<2> argon2_slots_{2};
  std::once_flag dummy_once_;
  std::string dummy_hash_;
  StatusCache board_cache_;
  std::map<std::pair<std::string, int>, std::pair<std::shared_ptr<const StatusBoard>, std::shared_ptr<const std::string>>>
      rendered_;
  std::map<std::string, std::pair<std::shared_ptr<const StatusBoard>, std::shared_ptr<const PageBody>>> pages_;
};

// Every route but the connection's limits: /healthz, /readyz, the no-admin mode, /metrics,
// /login, /logout, /, /api/v1/...
Reply Route(State& state, const Request& request);

// --- shared by web_auth.cpp, web_api.cpp and the pages ---

// The page's language: English or Swedish, from the `rp_lang` cookie the language switch sets,
// else the browser's Accept-Language, else English.
enum class Lang { kEn, kSv };
struct Msg {
  const char* en;
  const char* sv;
};
inline const char* T(Lang lang, const Msg& m) { return lang == Lang::kSv ? m.sv : m.en; }
Lang PickLang(const Request& request);
const char* LangCode(Lang lang);  // "en", "sv"

Reply Html(int status, std::string body);
Reply SeeOther(const std::string& location);

// A whole HTML page: the layout (skip link, header with the navigation the role may use, the
// user, sign-out, the language switch) around `main_html`, which the caller rendered from its own
// mstch template (values escaped as inserted). `who` null: a page before sign-in. `refresh_s` > 0:
// the page reloads itself that often.
struct PageParts {
  std::string title;
  std::string main_html;
  int refresh_s = 0;  // > 0: the page offers to reload itself this often (`?refresh=on`)
  std::string current;  // the navigation entry to mark as the current page ("/", "/drills", ...)
};
std::string RenderPage(State& state, const Request& request, const Identity* who, Lang lang, const PageParts& page);
// Whether the page was asked with `?refresh=on` (the only query a page that refreshes accepts
// besides its own).
bool RefreshAsked(const Request& request);

// Times and amounts as the pages show them, in the appliance's time zone and the page's language.
std::string FormatTime(const Config& config, int64_t t);             // "2026-12-05 14:02"
std::string FormatAge(Lang lang, int64_t seconds);                    // "3 h", "2 d", "45 min"
std::string FormatDuration(double seconds);                           // "0.42 s", "3 min 12 s", "2 h 05 min"
std::string FormatBytes(uint64_t bytes);                              // "1.2 GiB"
std::string FormatRate(double bytes_per_s);                           // "210 MiB/s"

// The routes of the layout: /static/app.css and /lang (the language switch). nullopt: not one.
std::optional<Reply> LayoutRoute(State& state, const Request& request);
// Every HTML page after sign-in but /login and /logout (web_pages.cpp and the page files).
Reply Pages(State& state, const Request& request);

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
