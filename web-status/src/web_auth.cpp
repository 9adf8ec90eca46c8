// The routes other than the API: /healthz, /readyz, /metrics, the no-admin mode, sign-in and
// sign-out, sessions and CSRF, single sign-on by a trusted reverse proxy, and /password
// (docs/web.md); the pages after sign-in are web_pages.cpp's. Every HTML page is a mustache
// template (mstch) whose values are escaped as they are inserted: no HTML is concatenated from
// user data.
#include <algorithm>

#include <mstch/mstch.hpp>

#include <nlohmann/json.hpp>

#include "rp/codec.h"
#include "rp/ip_network.h"
#include "rp/metrics.h"
#include "rp/policy.h"
#include "web_app.h"

namespace rp::web {

namespace {

constexpr const char* kNoAdmin =
    "restoreproof has no administrator yet. Create one on the appliance with "
    "`restoreproof user add NAME --role admin` (the password is read from standard input); "
    "the web page and the API answer as soon as one exists.";

constexpr const char* kNoAdminPage = R"(<h1>{{t_title}}</h1>
<p>{{t_intro}}</p>
<pre><code>restoreproof user add NAME --role admin</code></pre>
<p>{{t_after}}</p>
)";

constexpr const char* kLoginPage = R"(<h1>{{t_title}}</h1>
{{#message}}<p role="alert">{{message}}</p>{{/message}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{csrf}}">
<p><label for="name">{{t_name}}</label><br>
<input id="name" name="name" type="text" autocomplete="username" required value="{{name}}"></p>
<p><label for="password">{{t_password}}</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">{{t_submit}}</button></p>
</form>
)";

const Msg kFormExpired{"The form had expired. Please sign in again.", "Formuläret hade gått ut. Logga in igen."};
const Msg kThrottled{"Too many failed attempts. Try again later.", "För många misslyckade försök. Försök igen senare."};
const Msg kWrongPassword{"The name or the password is not right.", "Namnet eller lösenordet stämmer inte."};

Reply NoAdminPage(State& state, const Request& request) {
  const Lang lang = PickLang(request);
  PageParts parts;
  parts.title = T(lang, Msg{"Set-up needed", "Installation behövs"});
  parts.main_html = mstch::render(
      kNoAdminPage,
      mstch::map{{"t_title", std::string(T(lang, Msg{"No administrator exists yet", "Det finns ingen administratör än"}))},
                 {"t_intro", std::string(T(lang, Msg{"Nobody can sign in until an administrator exists. On the appliance, run:",
                                                      "Ingen kan logga in förrän en administratör finns. Kör på enheten:"}))},
                 {"t_after", std::string(T(lang, Msg{"with the new administrator's name for NAME. The password is read from "
                                                      "standard input (asked for twice on a terminal; at least 12 characters). "
                                                      "Then reload this page.",
                                                      "med den nya administratörens namn i stället för NAME. Lösenordet läses från "
                                                      "standard input (två gånger på en terminal; minst 12 tecken). Ladda sedan "
                                                      "om sidan."}))}});
  return Html(503, RenderPage(state, request, nullptr, lang, parts));
}


std::string SessionCookieName(State& state) { return state.tls() ? "__Host-rp_session" : "rp_session"; }
std::string LoginCookieName(State& state) { return state.tls() ? "__Host-rp_login_csrf" : "rp_login_csrf"; }

// HttpOnly, SameSite=Strict, Path=/, Secure under TLS; no Max-Age: the browser keeps it for its
// own session at most, and the server ends it at the idle or absolute timeout before that.
std::string Cookie(State& state, const std::string& name, const std::string& value, bool expire = false) {
  std::string c = name + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
  if (state.tls()) c += "; Secure";
  if (expire) c += "; Max-Age=0";
  return c;
}

Reply Healthz() { return Text(200, "ok\n"); }

Reply Readyz(State& state) {
  if (!state.ready()) return Text(503, "not ready: the controller is starting or draining\n");
  try {
    state.store().SchemaVersion();
  } catch (const std::exception& e) {
    return Text(503, std::string("not ready: the store does not answer: ") + e.what() + "\n");
  }
  return Text(200, "ready\n");
}

Reply Metrics(State& state) {
  const auto config = state.config();
  // The coverage of sampling targets comes from the status board, computed by its thread; a board
  // that cannot be built leaves it to RenderMetrics, which then reads it from the store itself.
  std::map<std::string, TargetCoverage> coverage;
  if (std::any_of(config->targets.begin(), config->targets.end(), [](const TargetConfig& t) { return t.Samples(); })) {
    try {
      for (const TargetStatus& t : state.board()->targets)
        if (t.coverage) coverage.emplace(t.name, *t.coverage);
    } catch (const std::exception&) {
      coverage.clear();
    }
  }
  std::string text = RenderMetrics(*config, state.store(), state.names(), NowS(), RP_VERSION, &coverage);
  if (const auto scheduling = state.scheduling())  // docs/multi-host.md: one serve of several schedules
    text += "# HELP restoreproof_scheduler_leader 1 when this serve schedules (holds the scheduler's lock)\n"
            "# TYPE restoreproof_scheduler_leader gauge\nrestoreproof_scheduler_leader " +
            std::string(*scheduling ? "1" : "0") + "\n";
  Reply r = Text(200, text);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

// A new session of `user` (expired ones are deleted first): the session id for the cookie.
std::string StartSession(State& state, const UserRecord& user, const Request& request, int64_t now) {
  state.store().DeleteExpiredSessions(now, state.timeouts());
  const std::string id = NewSessionId();
  SessionRecord s;
  s.id_hash = TokenHash(id);
  s.user = user.name;
  s.role = user.role;
  s.csrf = NewCsrfToken();
  s.created_at = s.last_seen_at = now;
  s.address = request.address;
  state.store().CreateSession(s);
  return id;
}

// The user a trusted reverse proxy names in `[web] proxy_user_header`; nullopt when single
// sign-on is off, the header is absent or empty, or the request does not come from one of
// `trusted_proxies` (then the header is ignored, and audited the first time per address).
std::optional<std::string> ProxyUserName(State& state, const Request& request) {
  const auto config = state.config();
  const WebConfig& web = config->web;
  if (web.proxy_user_header.empty()) return std::nullopt;
  std::string header = web.proxy_user_header;
  for (auto& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto h = request.headers.find(header);
  if (h == request.headers.end() || h->second.empty()) return std::nullopt;
  for (const IpNetwork& net : web.trusted_proxies)
    if (IpNetworkContains(net, request.address)) return h->second;
  if (state.FirstUntrustedProxyHeader(request.address))
    Audit(state, "-", request, "proxy-header-untrusted",
          web.proxy_user_header + " from an address not in [web] trusted_proxies: ignored (audited once per address)");
  return std::nullopt;
}

Reply LoginForm(State& state, const Request& request, int status, const Msg* message, const std::string& name) {
  const std::string csrf = NewCsrfToken();
  const Lang lang = PickLang(request);
  PageParts parts;
  parts.title = T(lang, Msg{"Sign in", "Logga in"});
  parts.main_html = mstch::render(
      kLoginPage, mstch::map{{"csrf", csrf},
                             {"message", message ? std::string(T(lang, *message)) : std::string()},
                             {"name", name},
                             {"t_title", std::string(T(lang, Msg{"Sign in to restoreproof", "Logga in i restoreproof"}))},
                             {"t_name", std::string(T(lang, Msg{"User name", "Användarnamn"}))},
                             {"t_password", std::string(T(lang, Msg{"Password", "Lösenord"}))},
                             {"t_submit", std::string(T(lang, Msg{"Sign in", "Logga in"}))}});
  Reply r = Html(status, RenderPage(state, request, nullptr, lang, parts));
  r.headers.emplace_back("Set-Cookie", Cookie(state, LoginCookieName(state), csrf));
  return r;
}

Reply LoginPost(State& state, const Request& request) {
  const auto ct = request.headers.find("content-type");
  if (ct == request.headers.end() || ct->second.rfind("application/x-www-form-urlencoded", 0) != 0)
    return Text(415, "expected application/x-www-form-urlencoded\n");
  const auto form = ParseForm(request.body);
  if (!form) return Text(400, "malformed form\n");
  auto field = [&](const char* k) {
    const auto it = form->find(k);
    return it == form->end() ? std::string() : it->second;
  };
  const std::string name = field("name"), password = field("password"), csrf = field("csrf");
  // Double submit: the form's token must equal the pre-session cookie set with the form.
  const auto cookie = request.cookies.find(LoginCookieName(state));
  if (cookie == request.cookies.end() || csrf.empty() || !ConstantTimeEquals(cookie->second, csrf)) {
    Audit(state, ValidAccountName(name) ? name : "-", request, "csrf-refused", "POST /login");
    return LoginForm(state, request, 403, &kFormExpired, "");
  }
  // The name as the audit trail records it: never a password typed in the wrong field.
  const std::string actor = ValidAccountName(name) ? name : "-";
  const int64_t now = NowS();
  int64_t retry = 0;
  if (!state.limiter().Allowed(name, request.address, now, &retry)) {
    Audit(state, actor, request, "sign-in-throttled", "too many failed sign-ins; retry after " + std::to_string(retry) + " s");
    Reply r = LoginForm(state, request, 429, &kThrottled, "");
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, retry)));
    return r;
  }
  std::optional<UserRecord> user = ValidAccountName(name) ? state.store().GetUser(name) : std::nullopt;
  bool ok;
  {
    state.argon2_slots().acquire();
    // An unknown or disabled user costs the same Argon2 verify as a known one.
    ok = VerifyPassword(user && !user->disabled ? user->password_hash : state.dummy_hash(), password);
    state.argon2_slots().release();
    ok = ok && user && !user->disabled;
  }
  if (!ok) {
    state.limiter().RecordFailure(name, request.address, now);
    Audit(state, actor, request, "sign-in-failed",
          user && !user->disabled ? "wrong password" : "unknown or disabled user");
    return LoginForm(state, request, 200, &kWrongPassword, ValidAccountName(name) ? name : "");
  }
  state.limiter().RecordSuccess(name);
  const std::string id = StartSession(state, *user, request, now);
  Audit(state, user->name, request, "sign-in",
        std::string("role ") + std::string(RoleName(user->role)) + (user->must_change_password ? ", one-time password" : ""));
  Reply r = SeeOther(user->must_change_password ? "/password" : "/");
  r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), id));
  r.headers.emplace_back("Set-Cookie", Cookie(state, LoginCookieName(state), "", /*expire=*/true));
  return r;
}

// --- single sign-on by a reverse proxy, and /password ---

const Msg kSsoTitle{"Signed in by single sign-on", "Inloggad med enkel inloggning"};
const Msg kSsoSignedOut{
    "This appliance trusts the sign-in of your organisation's single sign-on, which passes your "
    "name on with every request. Signing out here ends nothing: sign out of the single sign-on "
    "itself, then close the browser.",
    "Den här enheten litar på din organisations enkla inloggning, som skickar med ditt namn i "
    "varje begäran. Att logga ut här avslutar ingenting: logga ut från den enkla inloggningen och "
    "stäng sedan webbläsaren."};
const Msg kSsoUnknownTitle{"Unknown user", "Okänd användare"};
const Msg kSsoUnknown{
    "The single sign-on proxy named an unknown user: this appliance has no user of that name, or "
    "that user is disabled. An administrator adds users on the appliance with "
    "`restoreproof user add NAME --role ROLE`.",
    "Proxyn för enkel inloggning angav en okänd användare: den här enheten har ingen användare med "
    "det namnet, eller så är användaren avstängd. En administratör lägger till användare på enheten "
    "med `restoreproof user add NAMN --role ROLL`."};
const Msg kSsoNoPassword{
    "You are signed in by single sign-on: your password is the single sign-on's, not this "
    "appliance's. Change it there.",
    "Du är inloggad med enkel inloggning: ditt lösenord hör till den enkla inloggningen, inte till "
    "den här enheten. Byt det där."};

const Msg kPwTitle{"Change password", "Byt lösenord"};
const Msg kPwOneTime{"You signed in with a one-time password. Choose a password of your own to go on.",
                     "Du loggade in med ett engångslösenord. Välj ett eget lösenord för att fortsätta."};
const Msg kPwCurrent{"Current password", "Nuvarande lösenord"};
const Msg kPwNew{"New password", "Nytt lösenord"};
const Msg kPwRule{"At least 12 characters, and not the current one.", "Minst 12 tecken, och inte det nuvarande."};
const Msg kPwRepeat{"New password again", "Nytt lösenord igen"};
const Msg kPwSubmit{"Change password", "Byt lösenord"};
const Msg kPwWrong{"The current password is not right.", "Det nuvarande lösenordet stämmer inte."};
const Msg kPwRules{"The new password must have at least 12 characters (and at most 1,024 bytes).",
                   "Det nya lösenordet måste ha minst 12 tecken (och högst 1 024 byte)."};
const Msg kPwSame{"The new password must differ from the current one.",
                  "Det nya lösenordet måste skilja sig från det nuvarande."};
const Msg kPwDiffer{"The two new passwords differ.", "De två nya lösenorden är olika."};
const Msg kPwThrottled{"Too many wrong passwords. Try again later.", "För många felaktiga lösenord. Försök igen senare."};
const Msg kPwExpired{"The form had expired. Please try again.", "Formuläret hade gått ut. Försök igen."};

constexpr const char* kMessagePage = R"(<h1>{{title}}</h1>
<p>{{text}}</p>
)";

constexpr const char* kPasswordPage = R"(<h1>{{title}}</h1>
{{#one_time}}<p>{{one_time}}</p>
{{/one_time}}{{#message}}<p role="alert" class="v-failing">{{message}}</p>
{{/message}}<form method="post" action="/password">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="text" name="name" autocomplete="username" value="{{name}}" hidden>
<p><label for="current">{{t_current}}</label><br>
<input id="current" name="current" type="password" autocomplete="current-password" required></p>
<p><label for="new">{{t_new}}</label><br>
<input id="new" name="new" type="password" autocomplete="new-password" minlength="12" required aria-describedby="new-rule"><br>
<span id="new-rule" class="muted">{{t_rule}}</span></p>
<p><label for="repeat">{{t_repeat}}</label><br>
<input id="repeat" name="repeat" type="password" autocomplete="new-password" minlength="12" required></p>
<p><button type="submit">{{t_submit}}</button></p>
</form>
)";

// A page of one heading and one paragraph in the layout.
Reply MessagePage(State& state, const Request& request, const Identity* who, int status, const Msg& title,
                  const Msg& text) {
  const Lang lang = PickLang(request);
  const std::string main = mstch::render(kMessagePage, mstch::map{{"title", std::string(T(lang, title))},
                                                                   {"text", std::string(T(lang, text))}});
  return Html(status, RenderPage(state, request, who, lang, PageParts{T(lang, title), main, 0, ""}));
}

Reply ProxySignOutPage(State& state, const Request& request) {
  return MessagePage(state, request, nullptr, 200, kSsoTitle, kSsoSignedOut);
}

Reply PasswordForm(State& state, const Request& request, const Identity& who, int status, const Msg* message) {
  const Lang lang = PickLang(request);
  mstch::map ctx{{"title", std::string(T(lang, kPwTitle))},
                 {"csrf", who.csrf},
                 {"name", who.name},
                 {"t_current", std::string(T(lang, kPwCurrent))},
                 {"t_new", std::string(T(lang, kPwNew))},
                 {"t_rule", std::string(T(lang, kPwRule))},
                 {"t_repeat", std::string(T(lang, kPwRepeat))},
                 {"t_submit", std::string(T(lang, kPwSubmit))}};
  if (who.must_change_password) ctx.emplace("one_time", std::string(T(lang, kPwOneTime)));
  if (message) ctx.emplace("message", std::string(T(lang, *message)));
  return Html(status, RenderPage(state, request, &who, lang,
                                 PageParts{T(lang, kPwTitle), mstch::render(kPasswordPage, ctx), 0, "/password"}));
}

// POST /password: the CSRF token, the current password (rate-limited like sign-in), the new
// one's rules; then the new hash, every session of the user ended, and a fresh one for this
// browser.
Reply PasswordPost(State& state, const Request& request, const Identity& who) {
  if (!CsrfOk(state, request, who)) return PasswordForm(state, request, who, 403, &kPwExpired);
  const auto ct = request.headers.find("content-type");
  if (ct == request.headers.end() || ct->second.rfind("application/x-www-form-urlencoded", 0) != 0)
    return Text(415, "expected application/x-www-form-urlencoded\n");
  const auto form = ParseForm(request.body);
  if (!form) return Text(400, "malformed form\n");
  auto field = [&](const char* k) {
    const auto it = form->find(k);
    return it == form->end() ? std::string() : it->second;
  };
  const std::string current = field("current"), fresh = field("new"), repeat = field("repeat");
  const int64_t now = NowS();
  int64_t retry = 0;
  if (!state.limiter().Allowed(who.name, request.address, now, &retry)) {
    Audit(state, who.name, request, "password-change-throttled", "too many wrong passwords; retry after " + std::to_string(retry) + " s");
    Reply r = PasswordForm(state, request, who, 429, &kPwThrottled);
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, retry)));
    return r;
  }
  const auto user = state.store().GetUser(who.name);
  if (!user || user->disabled) return SeeOther("/login");
  state.argon2_slots().acquire();
  const bool ok = VerifyPassword(user->password_hash, current);
  state.argon2_slots().release();
  if (!ok) {
    state.limiter().RecordFailure(who.name, request.address, now);
    Audit(state, who.name, request, "password-change-failed", "wrong current password");
    return PasswordForm(state, request, who, 400, &kPwWrong);
  }
  const Msg* problem = nullptr;
  if (!CheckPassword(fresh).ok()) problem = &kPwRules;
  else if (ConstantTimeEquals(fresh, current)) problem = &kPwSame;
  else if (!ConstantTimeEquals(fresh, repeat)) problem = &kPwDiffer;
  if (problem) return PasswordForm(state, request, who, 400, problem);
  std::string hash;
  state.argon2_slots().acquire();
  const Status hashed = HashPassword(fresh, &hash);
  state.argon2_slots().release();
  if (!hashed.ok()) throw std::runtime_error("the new password could not be hashed: " + hashed.message());
  AuditRecord a;
  a.at = now;
  a.actor = who.name;
  a.address = request.address;
  a.action = "password-change";
  a.detail = user->must_change_password ? "the one-time password replaced; every session ended" : "every session ended";
  if (!state.store().SetPassword(who.name, hash, /*must_change=*/false, a)) return SeeOther("/login");
  state.limiter().RecordSuccess(who.name);
  UserRecord changed = *user;
  changed.must_change_password = false;
  const std::string id = StartSession(state, changed, request, now);
  Reply r = SeeOther("/");
  r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), id));
  return r;
}

// /password: a signed-in user's own password. Not for single sign-on (the proxy's password).
Reply Password(State& state, const Request& request) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (!get && request.method != "POST") return MethodNotAllowed("GET, HEAD, POST", false);
  const auto who = Identify(state, request, false, nullptr);
  if (!who) return SeeOther("/login");
  if (who->proxy) return MessagePage(state, request, &*who, 404, kPwTitle, kSsoNoPassword);
  if (get) return PasswordForm(state, request, *who, 200, nullptr);
  return PasswordPost(state, request, *who);
}

Reply Login(State& state, const Request& request) {
  if (request.method == "POST") return LoginPost(state, request);
  if (request.method != "GET" && request.method != "HEAD") return MethodNotAllowed("GET, HEAD, POST", false);
  if (Identify(state, request, false, nullptr)) return SeeOther("/");
  return LoginForm(state, request, 200, nullptr, "");
}

Reply Logout(State& state, const Request& request) {
  if (request.method != "POST") return MethodNotAllowed("POST", false);
  const auto who = Identify(state, request, false, nullptr);
  if (!who) return SeeOther("/login");
  if (!CsrfOk(state, request, *who)) return Text(403, "refused: no valid CSRF token\n");
  if (!who->id_hash.empty()) state.store().DeleteSession(who->id_hash);
  Audit(state, who->actor(), request, "sign-out", who->proxy ? "signed in by the reverse proxy" : "");
  if (who->proxy) return ProxySignOutPage(state, request);
  Reply r = SeeOther("/login");
  r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), "", /*expire=*/true));
  return r;
}

// The routes for people: sign-in, sign-out, the password, and the pages.
Reply Signed(State& state, const Request& request, const std::string& path) {
  if (path == "/login") return Login(state, request);
  if (path == "/logout") return Logout(state, request);
  if (path == "/password") return Password(state, request);
  return Pages(state, request);
}

}  // namespace

const std::string& State::dummy_hash() {
  std::call_once(dummy_once_, [this] {
    if (!HashPassword(NewCsrfToken(), &dummy_hash_).ok()) dummy_hash_.clear();
  });
  return dummy_hash_;
}

Reply Text(int status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body), {}}; }

Reply Json(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(2) + "\n", {}};
}

Reply JsonError(int status, const std::string& message) { return Json(status, {{"error", message}}); }

Reply MethodNotAllowed(const std::string& allow, bool json) {
  Reply r = json ? JsonError(405, "method not allowed") : Text(405, "method not allowed\n");
  r.headers.emplace_back("Allow", allow);
  return r;
}

void Audit(State& state, const std::string& actor, const Request& request, const std::string& action,
           const std::string& detail) {
  AuditRecord a;
  a.at = NowS();
  a.actor = actor;
  a.address = request.address;
  a.action = action;
  a.detail = detail;
  state.store().AppendAudit(a);
}

std::optional<Identity> Identify(State& state, const Request& request, bool allow_token, bool* token_refused) {
  if (token_refused) *token_refused = false;
  const int64_t now = NowS();
  const auto auth = request.headers.find("authorization");
  if (allow_token && auth != request.headers.end()) {
    constexpr std::string_view kBearer = "Bearer ";
    const std::string& v = auth->second;
    std::optional<ApiTokenRecord> t;
    if (v.size() > kBearer.size() && v.compare(0, kBearer.size(), kBearer) == 0 &&
        LooksLikeApiToken(std::string_view(v).substr(kBearer.size())))
      t = state.store().FindApiToken(TokenHash(std::string_view(v).substr(kBearer.size())));
    if (!t || t->revoked) {
      if (token_refused) *token_refused = true;
      return std::nullopt;
    }
    state.store().TouchApiToken(t->id, now);
    Identity who;
    who.token = true;
    who.name = t->name;
    who.role = t->role;
    return who;
  }
  const auto cookie = request.cookies.find(SessionCookieName(state));
  // A user named by a trusted reverse proxy: that user, whatever session the cookie holds; the
  // session Route() made for them (the same user's) gives the CSRF token.
  if (const auto proxied = ProxyUserName(state, request)) {
    const auto user = ValidAccountName(*proxied) ? state.store().GetUser(*proxied) : std::nullopt;
    if (!user || user->disabled) return std::nullopt;
    Identity who;
    who.name = user->name;
    who.role = user->role;
    who.proxy = true;
    if (cookie != request.cookies.end() && !cookie->second.empty()) {
      const std::string hash = TokenHash(cookie->second);
      const auto s = state.store().GetSession(hash);
      if (s && s->user == user->name && !state.timeouts().Expired(s->created_at, s->last_seen_at, now)) {
        if (now - s->last_seen_at >= 60) state.store().TouchSession(hash, now);
        who.csrf = s->csrf;
        who.id_hash = hash;
      }
    }
    return who;
  }
  if (cookie == request.cookies.end() || cookie->second.empty()) return std::nullopt;
  const std::string hash = TokenHash(cookie->second);
  const auto s = state.store().GetSession(hash);
  if (!s) return std::nullopt;
  if (state.timeouts().Expired(s->created_at, s->last_seen_at, now)) {
    state.store().DeleteSession(hash);
    return std::nullopt;
  }
  // The user's role now, not at sign-in: a disabled or removed user's session ends here.
  const auto user = state.store().GetUser(s->user);
  if (!user || user->disabled) {
    state.store().DeleteSession(hash);
    return std::nullopt;
  }
  // The idle timeout counts in minutes: one write a minute per session is enough, and a page
  // polled by many screens does not queue behind the store's write lock.
  if (now - s->last_seen_at >= 60) state.store().TouchSession(hash, now);
  Identity who;
  who.name = s->user;
  who.role = user->role;
  who.csrf = s->csrf;
  who.id_hash = hash;
  who.must_change_password = user->must_change_password;
  return who;
}

bool CsrfOk(State& state, const Request& request, const Identity& who) {
  if (who.token) return true;
  std::string presented;
  if (const auto h = request.headers.find("x-csrf-token"); h != request.headers.end()) presented = h->second;
  if (presented.empty()) {
    const auto ct = request.headers.find("content-type");
    if (ct != request.headers.end() && ct->second.rfind("application/x-www-form-urlencoded", 0) == 0)
      if (const auto form = ParseForm(request.body))
        if (const auto f = form->find("csrf"); f != form->end()) presented = f->second;
  }
  if (!presented.empty() && !who.csrf.empty() && ConstantTimeEquals(presented, who.csrf)) return true;
  Audit(state, who.actor(), request, "csrf-refused", request.method + " " + request.path);
  return false;
}

Reply Route(State& state, const Request& request) {
  const std::string& path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (path == "/healthz" || path == "/readyz") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    return path == "/healthz" ? Healthz() : Readyz(state);
  }
  if (auto r = LayoutRoute(state, request)) return *r;  // the style sheet and the language switch
  const bool api = path == "/api/v1" || path.rfind("/api/v1/", 0) == 0;
  // No default credentials: until an admin exists nothing else is served (checked on each
  // request, so the first admin takes effect without a restart).
  if (state.store().CountAdmins() == 0) {
    Reply r = api ? JsonError(503, kNoAdmin) : NoAdminPage(state, request);
    return r;
  }
  if (path == "/metrics") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    return Metrics(state);
  }
  // Single sign-on: a user a trusted proxy names must exist and be enabled. A page needs the
  // user's session for its CSRF token: made here on first sight and given to the browser with
  // this answer (the API takes the session the browser already has, or none).
  if (const auto proxied = ProxyUserName(state, request)) {
    const auto user = ValidAccountName(*proxied) ? state.store().GetUser(*proxied) : std::nullopt;
    if (!user || user->disabled) {
      Audit(state, ValidAccountName(*proxied) ? *proxied : "-", request, "proxy-user-refused",
            "the reverse proxy named " + std::string(user ? "a disabled" : "an unknown") + " user");
      if (api) return JsonError(403, "the single sign-on proxy named a user this appliance does not know (or a disabled one)");
      return MessagePage(state, request, nullptr, 403, kSsoUnknownTitle, kSsoUnknown);
    }
    if (!api) {
      const int64_t now = NowS();
      const auto cookie = request.cookies.find(SessionCookieName(state));
      std::optional<SessionRecord> s;
      if (cookie != request.cookies.end() && !cookie->second.empty()) s = state.store().GetSession(TokenHash(cookie->second));
      if (!s || s->user != user->name || state.timeouts().Expired(s->created_at, s->last_seen_at, now)) {
        const std::string id = StartSession(state, *user, request, now);
        Audit(state, user->name, request, "sign-in",
              "role " + std::string(RoleName(user->role)) + ", named by the reverse proxy's " +
                  state.config()->web.proxy_user_header + " header");
        Request with_session = request;
        with_session.cookies[SessionCookieName(state)] = id;
        Reply r = Signed(state, with_session, path);
        r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), id));
        return r;
      }
    }
  }
  if (api) return Api(state, request);
  return Signed(state, request, path);
}

}  // namespace rp::web
