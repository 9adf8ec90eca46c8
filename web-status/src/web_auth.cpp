// The routes other than the API: /healthz, /readyz, /metrics, the no-admin mode, sign-in and
// sign-out, sessions, CSRF, and the placeholder dashboard (docs/web.md). Every HTML page is a
// mustache template (mstch) whose values are escaped as they are inserted: no HTML is
// concatenated from user data.
#include <mstch/mstch.hpp>

#include <nlohmann/json.hpp>

#include "rp/codec.h"
#include "rp/metrics.h"
#include "rp/policy.h"
#include "web_app.h"

namespace rp::web {

namespace {

constexpr const char* kNoAdmin =
    "restoreproof has no administrator yet. Create one on the appliance with "
    "`restoreproof user add NAME --role admin` (the password is read from standard input); "
    "the web page and the API answer as soon as one exists.";

constexpr const char* kNoAdminPage = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>restoreproof: set-up needed</title></head>
<body>
<main>
<h1>No administrator exists yet</h1>
<p>Nobody can sign in until an administrator exists. On the appliance, run:</p>
<pre><code>restoreproof user add NAME --role admin</code></pre>
<p>with the new administrator's name for NAME. The password is read from standard input
(asked for twice on a terminal; at least 12 characters). Then reload this page.</p>
</main>
</body>
</html>
)";

constexpr const char* kLoginPage = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in: restoreproof</title></head>
<body>
<main>
<h1>Sign in to restoreproof</h1>
{{#message}}<p role="alert">{{message}}</p>{{/message}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{csrf}}">
<p><label for="name">User name</label><br>
<input id="name" name="name" type="text" autocomplete="username" required value="{{name}}"></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
</main>
</body>
</html>
)";

constexpr const char* kDashboardPage = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>restoreproof</title></head>
<body>
<header>
<p>Signed in as {{user}} ({{role}})</p>
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit">Sign out</button>
</form>
</header>
<main>
<h1>Targets</h1>
<table>
<thead><tr><th scope="col">Target</th><th scope="col">Owner</th><th scope="col">Verdict</th><th scope="col">Checked</th></tr></thead>
<tbody>
{{#targets}}<tr><td>{{name}}</td><td>{{owner}}</td><td>{{verdict}}</td><td>{{checked}}</td></tr>
{{/targets}}</tbody>
</table>
</main>
</body>
</html>
)";

Reply Html(int status, std::string body) { return {status, "text/html; charset=utf-8", std::move(body), {}}; }

Reply SeeOther(const std::string& location) {
  Reply r = Text(303, "see " + location + "\n");
  r.headers.emplace_back("Location", location);
  return r;
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
  Reply r = Text(200, RenderMetrics(*config, state.store(), state.names(), NowS(), RP_VERSION));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

Reply LoginForm(State& state, int status, const std::string& message, const std::string& name) {
  const std::string csrf = NewCsrfToken();
  Reply r = Html(status, mstch::render(kLoginPage, mstch::map{{"csrf", csrf}, {"message", message}, {"name", name}}));
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
    return LoginForm(state, 403, "The form had expired. Please sign in again.", "");
  }
  // The name as the audit trail records it: never a password typed in the wrong field.
  const std::string actor = ValidAccountName(name) ? name : "-";
  const int64_t now = NowS();
  int64_t retry = 0;
  if (!state.limiter().Allowed(name, request.address, now, &retry)) {
    Audit(state, actor, request, "sign-in-throttled", "too many failed sign-ins; retry after " + std::to_string(retry) + " s");
    Reply r = LoginForm(state, 429, "Too many failed attempts. Try again later.", "");
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
    return LoginForm(state, 200, "The name or the password is not right.", ValidAccountName(name) ? name : "");
  }
  state.limiter().RecordSuccess(name);
  state.store().DeleteExpiredSessions(now, state.timeouts());
  const std::string id = NewSessionId();
  SessionRecord s;
  s.id_hash = TokenHash(id);
  s.user = user->name;
  s.role = user->role;
  s.csrf = NewCsrfToken();
  s.created_at = s.last_seen_at = now;
  s.address = request.address;
  state.store().CreateSession(s);
  Audit(state, user->name, request, "sign-in", std::string("role ") + std::string(RoleName(user->role)));
  Reply r = SeeOther("/");
  r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), id));
  r.headers.emplace_back("Set-Cookie", Cookie(state, LoginCookieName(state), "", /*expire=*/true));
  return r;
}

Reply Login(State& state, const Request& request) {
  if (request.method == "POST") return LoginPost(state, request);
  if (request.method != "GET" && request.method != "HEAD") return MethodNotAllowed("GET, HEAD, POST", false);
  if (Identify(state, request, false, nullptr)) return SeeOther("/");
  return LoginForm(state, 200, "", "");
}

Reply Logout(State& state, const Request& request) {
  if (request.method != "POST") return MethodNotAllowed("POST", false);
  const auto who = Identify(state, request, false, nullptr);
  if (!who) return SeeOther("/login");
  if (!CsrfOk(state, request, *who)) return Text(403, "refused: no valid CSRF token\n");
  state.store().DeleteSession(who->id_hash);
  Audit(state, who->actor(), request, "sign-out", "");
  Reply r = SeeOther("/login");
  r.headers.emplace_back("Set-Cookie", Cookie(state, SessionCookieName(state), "", /*expire=*/true));
  return r;
}

Reply Dashboard(State& state, const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") return MethodNotAllowed("GET, HEAD", false);
  const auto who = Identify(state, request, false, nullptr);
  if (!who) return SeeOther("/login");
  const auto config = state.config();
  mstch::array targets;
  for (const TargetConfig& t : config->targets) {
    std::string verdict = "not checked yet", checked = "-";
    if (const auto snapshot = state.store().LatestCatalogSnapshot(t.name)) {
      TargetEvaluation e;
      if (DecodeJson(snapshot->second, "catalog snapshot", &e).ok()) {
        verdict = std::string(VerdictName(e.verdict));
        checked = config->appliance.zone.Format(snapshot->first, "%Y-%m-%d %H:%M:%S %z");
      }
    }
    targets.push_back(mstch::map{{"name", t.name}, {"owner", t.owner}, {"verdict", verdict}, {"checked", checked}});
  }
  return Html(200, mstch::render(kDashboardPage, mstch::map{{"user", who->name},
                                                            {"role", std::string(RoleName(who->role))},
                                                            {"csrf", who->csrf},
                                                            {"targets", targets}}));
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
  state.store().TouchSession(hash, now);
  Identity who;
  who.name = s->user;
  who.role = user->role;
  who.csrf = s->csrf;
  who.id_hash = hash;
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
  const bool api = path == "/api/v1" || path.rfind("/api/v1/", 0) == 0;
  // No default credentials: until an admin exists nothing else is served (checked on each
  // request, so the first admin takes effect without a restart).
  if (state.store().CountAdmins() == 0) {
    Reply r = api ? JsonError(503, kNoAdmin) : Html(503, kNoAdminPage);
    return r;
  }
  if (api) return Api(state, request);
  if (path == "/metrics") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    return Metrics(state);
  }
  if (path == "/login") return Login(state, request);
  if (path == "/logout") return Logout(state, request);
  if (path == "/") return Dashboard(state, request);
  return Text(404, "not found\n");
}

}  // namespace rp::web
