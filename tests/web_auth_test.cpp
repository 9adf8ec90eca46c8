// Sign-in, roles and the JSON API of the web server (issue 17) as a browser, a script and an
// attacker meet them: the real `serve` binary on a loopback port of its choosing, users and
// tokens made by the real `user add` and `token create` commands, raw HTTP (web_kit.h), and the
// real SQLite store read afterwards for what was stored and audited.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "rp/accounts.h"
#include "rp/store.h"
#include "process_kit.h"
#include "testkit.h"
#include "web_kit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using webtest::AddUser;
using webtest::Appliance;
using webtest::Request;
using webtest::Response;
using webtest::CookieValue;
using webtest::FormEncode;
using webtest::HiddenCsrf;
using webtest::Serve;

const std::string kPassword = "correct horse battery";

std::string SetCookieLine(const Response& r, const std::string& name) {
  for (const auto& c : r.set_cookies)
    if (c.rfind(name + "=", 0) == 0) return c;
  return "";
}

struct Session {
  std::string cookie;  // the session id
  std::string csrf;    // the session's CSRF token, from the dashboard's sign-out form
  std::string header() const { return "Cookie: rp_session=" + cookie + "\r\n"; }
};

Response PostForm(int port, const std::string& path, const std::map<std::string, std::string>& fields,
                  const std::string& extra = "") {
  const std::string body = FormEncode(fields);
  return Request(port, "POST", path,
                 extra + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
}

// GET /login for the pre-session cookie and the form's token, then POST the form.
Response TryLogin(int port, const std::string& name, const std::string& password) {
  const Response form = Request(port, "GET", "/login");
  const std::string pre = CookieValue(form, "rp_login_csrf");
  return PostForm(port, "/login", {{"name", name}, {"password", password}, {"csrf", HiddenCsrf(form.body)}},
                  "Cookie: rp_login_csrf=" + pre + "\r\n");
}

Session Login(int port, const std::string& name, const std::string& password = kPassword) {
  Session s;
  const Response r = TryLogin(port, name, password);
  s.cookie = CookieValue(r, "rp_session");
  if (s.cookie.empty()) return s;
  s.csrf = HiddenCsrf(Request(port, "GET", "/", s.header()).body);
  return s;
}

// Request with the extra header block (the Request helper ends the headers itself when no body).
Response Get(int port, const std::string& path, const std::string& extra = "") {
  return Request(port, "GET", path, extra);
}
Response Post(int port, const std::string& path, const std::string& extra) {
  return Request(port, "POST", path, extra + "Content-Length: 0\r\n");
}

std::string H(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

json Body(const Response& r) { return json::parse(r.body, nullptr, false); }

std::unique_ptr<Store> OpenStore(const Appliance& a) {
  std::unique_ptr<Store> store;
  EXPECT_TRUE(OpenSqliteStore(StorePath(a.data_dir), &store, false).ok());
  return store;
}

std::vector<AuditRecord> AuditOf(Store& store, const std::string& action) {
  std::vector<AuditRecord> out;
  for (const auto& r : store.ListAudit(0, 0))
    if (r.action == action) out.push_back(r);
  return out;
}

// `restoreproof token create NAME --role ROLE`: the token it printed.
std::string CreateToken(const Appliance& a, const std::string& name, const std::string& role) {
  std::string out;
  test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(a.config) + " token create " + name + " --role " + role +
                " 2>/dev/null",
            &out);
  return out.substr(0, out.find('\n'));  // the token's line; the note after it is standard error
}

class WebAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_ = std::make_unique<Serve>(a_);
    port_ = serve_->Port();
    ASSERT_GT(port_, 0) << serve_->Log();
  }
  void AddEveryRole() {
    for (const char* role : {"viewer", "operator", "auditor", "admin"})
      ASSERT_EQ(AddUser(a_, role == std::string("admin") ? "root" : std::string(role) + "1", role, kPassword), 0);
  }
  Appliance a_;
  std::unique_ptr<Serve> serve_;
  int port_ = 0;
};

TEST_F(WebAuth, WithoutAnAdminOnlyTheSetUpAdviceIsServedUntilTheFirstAdminExists) {
  ASSERT_EQ(AddUser(a_, "vera", "viewer", kPassword), 0);  // not an admin: the mode stays
  const Response page = Get(port_, "/");
  EXPECT_EQ(page.status, 503);
  EXPECT_NE(H(page, "content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("restoreproof user add NAME --role admin"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("lang=\"en\""), std::string::npos);
  EXPECT_EQ(page.body.find("open-files"), std::string::npos) << "no data before set-up";
  const Response api = Get(port_, "/api/v1/status");
  EXPECT_EQ(api.status, 503);
  EXPECT_NE(Body(api).value("error", "").find("user add NAME --role admin"), std::string::npos) << api.body;
  for (const char* path : {"/login", "/metrics", "/api/v1/targets", "/api/v1/runs", "/nonexistent", "/logout"})
    EXPECT_EQ(Get(port_, path).status, 503) << path;
  EXPECT_EQ(TryLogin(port_, "vera", kPassword).status, 503);
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
  EXPECT_TRUE(OpenStore(a_)->ListAudit(0, 0).size() == 1) << "only the user-add; no sign-in happened";

  // The first admin takes effect without a restart.
  ASSERT_EQ(AddUser(a_, "root", "admin", kPassword), 0);
  const Response after = Get(port_, "/");
  EXPECT_EQ(after.status, 303);
  EXPECT_EQ(H(after, "location"), "/login");
  EXPECT_EQ(Get(port_, "/api/v1/status").status, 401);
  EXPECT_EQ(Get(port_, "/login").status, 200);
}

TEST_F(WebAuth, SignInSetsAStrictHttpOnlySessionCookieStoredOnlyAsItsHashAndSignOutEndsIt) {
  AddEveryRole();
  const Response form = Get(port_, "/login");
  ASSERT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("<label for=\"password\">"), std::string::npos) << form.body;
  EXPECT_EQ(form.body.find("<script"), std::string::npos);
  EXPECT_NE(SetCookieLine(form, "rp_login_csrf").find("HttpOnly"), std::string::npos);

  // A wrong password: the form again, no session, audited without the password.
  const Response wrong = TryLogin(port_, "viewer1", "not the password at all");
  EXPECT_EQ(wrong.status, 200);
  EXPECT_EQ(CookieValue(wrong, "rp_session"), "");
  EXPECT_NE(wrong.body.find("not right"), std::string::npos);
  const Response unknown = TryLogin(port_, "nobody", "not the password at all");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_NE(unknown.body.find("not right"), std::string::npos) << "the same message as a wrong password";
  EXPECT_EQ(CookieValue(unknown, "rp_session"), "");
  // Without the pre-session cookie (a forged cross-site form) the sign-in is refused.
  const Response forged = PostForm(port_, "/login", {{"name", "viewer1"}, {"password", kPassword}, {"csrf", "00"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(CookieValue(forged, "rp_session"), "");

  // The right one.
  const Response ok = TryLogin(port_, "viewer1", kPassword);
  EXPECT_EQ(ok.status, 303) << ok.body;
  EXPECT_EQ(H(ok, "location"), "/");
  const std::string line = SetCookieLine(ok, "rp_session");
  EXPECT_NE(line.find("HttpOnly"), std::string::npos) << line;
  EXPECT_NE(line.find("SameSite=Strict"), std::string::npos) << line;
  EXPECT_NE(line.find("Path=/"), std::string::npos) << line;
  EXPECT_EQ(line.find("Max-Age"), std::string::npos) << line;
  EXPECT_EQ(line.find("Secure"), std::string::npos) << "no TLS: a Secure cookie would never come back";
  Session s;
  s.cookie = CookieValue(ok, "rp_session");
  ASSERT_EQ(s.cookie.size(), 64u);
  const Response dash = Get(port_, "/", s.header());
  ASSERT_EQ(dash.status, 200) << dash.body;
  EXPECT_NE(dash.body.find("open-files"), std::string::npos) << dash.body;
  EXPECT_NE(dash.body.find("viewer1"), std::string::npos);
  s.csrf = HiddenCsrf(dash.body);
  ASSERT_EQ(s.csrf.size(), 64u) << dash.body;
  const Response status = Get(port_, "/api/v1/status", s.header());
  EXPECT_EQ(status.status, 200) << status.body;
  EXPECT_TRUE(Body(status).contains("targets")) << status.body;
  EXPECT_EQ(Get(port_, "/login", s.header()).status, 303) << "signed in already";

  // The store holds the id's hash, never the id.
  auto store = OpenStore(a_);
  EXPECT_TRUE(store->GetSession(TokenHash(s.cookie)));
  for (const char* suffix : {"", "-wal"}) {
    const std::string file = StorePath(a_.data_dir) + suffix;
    if (!std::filesystem::exists(file)) continue;
    const std::string bytes = test::ReadFile(file);
    EXPECT_EQ(bytes.find(s.cookie), std::string::npos) << file;
    EXPECT_EQ(bytes.find(kPassword), std::string::npos) << file;
  }

  // Sign-out needs the session's CSRF token.
  EXPECT_EQ(Post(port_, "/logout", s.header()).status, 403);
  EXPECT_EQ(PostForm(port_, "/logout", {{"csrf", std::string(64, '0')}}, s.header()).status, 403);
  EXPECT_EQ(Get(port_, "/", s.header()).status, 200) << "a refused sign-out leaves the session";
  const Response out = PostForm(port_, "/logout", {{"csrf", s.csrf}}, s.header());
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(H(out, "location"), "/login");
  const Response old = Get(port_, "/", s.header());
  EXPECT_EQ(old.status, 303);
  EXPECT_EQ(H(old, "location"), "/login");
  EXPECT_EQ(Get(port_, "/api/v1/status", s.header()).status, 401);
  EXPECT_FALSE(store->GetSession(TokenHash(s.cookie)));

  // Every sign-in, failure, refusal and sign-out is audited; never with a password.
  const auto failed = AuditOf(*store, "sign-in-failed");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].actor, "viewer1");
  EXPECT_EQ(failed[0].address, "127.0.0.1");
  EXPECT_EQ(failed[1].actor, "nobody");
  EXPECT_EQ(AuditOf(*store, "sign-in").size(), 1u);
  EXPECT_EQ(AuditOf(*store, "csrf-refused").size(), 3u);  // the forged sign-in and two sign-outs
  EXPECT_EQ(AuditOf(*store, "sign-out").size(), 1u);
  for (const auto& r : store->ListAudit(0, 0)) {
    EXPECT_EQ(r.detail.find("password at all"), std::string::npos);
    EXPECT_EQ(r.detail.find(kPassword), std::string::npos);
  }
}

TEST_F(WebAuth, ASessionEndsAfterItsIdleTimeAndAfterItsAbsoluteTime) {
  AddEveryRole();
  // The clock is moved by ageing the stored session, as 30 idle minutes or 12 hours would.
  auto age = [&](const Session& s, const std::string& column, int64_t seconds) {
    return test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(a_.data_dir)) + " \"UPDATE sessions SET " + column + " = " +
                     column + " - " + std::to_string(seconds) + " WHERE id_hash = '" + TokenHash(s.cookie) + "'\"");
  };
  const Session idle = Login(port_, "viewer1");
  ASSERT_EQ(Get(port_, "/api/v1/status", idle.header()).status, 200);
  ASSERT_EQ(age(idle, "last_seen_at", 29 * 60), 0);
  EXPECT_EQ(Get(port_, "/api/v1/status", idle.header()).status, 200) << "29 idle minutes: still on, and touched";
  ASSERT_EQ(age(idle, "last_seen_at", 29 * 60), 0);
  EXPECT_EQ(Get(port_, "/api/v1/status", idle.header()).status, 200) << "the last request moved the idle time on";
  ASSERT_EQ(age(idle, "last_seen_at", 30 * 60), 0);
  EXPECT_EQ(Get(port_, "/", idle.header()).status, 303);
  EXPECT_FALSE(OpenStore(a_)->GetSession(TokenHash(idle.cookie))) << "an ended session is deleted";

  const Session busy = Login(port_, "viewer1");
  ASSERT_EQ(age(busy, "created_at", 12 * 3600), 0);
  EXPECT_EQ(Get(port_, "/api/v1/status", busy.header()).status, 401) << "12 hours after sign-in, however busy";
}

TEST_F(WebAuth, TheSixthFailureForOneAccountIsThrottledEvenWithTheRightPassword) {
  AddEveryRole();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(TryLogin(port_, "operator1", "a wrong password " + std::to_string(i)).status, 200);
  const Response sixth = TryLogin(port_, "operator1", kPassword);
  EXPECT_EQ(sixth.status, 429) << sixth.body;
  EXPECT_EQ(CookieValue(sixth, "rp_session"), "");
  EXPECT_GT(std::atoi(H(sixth, "retry-after").c_str()), 0);
  // Another account from the same address is not held up by it.
  EXPECT_FALSE(Login(port_, "auditor1").cookie.empty());
  auto store = OpenStore(a_);
  EXPECT_EQ(AuditOf(*store, "sign-in-failed").size(), 5u);
  EXPECT_EQ(AuditOf(*store, "sign-in-throttled").size(), 1u);
}

TEST_F(WebAuth, EachRoleReachesItsRoutesAndIsRefusedTheOthers) {
  AddEveryRole();
  auto store = OpenStore(a_);
  RunRequest q;
  q.target = "open-files";
  q.test_index = 0;
  q.requested_by = "web_auth_test";
  const int64_t run = store->EnqueueRun(q, webtest::NowUtc());
  const std::string run_path = "/api/v1/runs/" + std::to_string(run);

  const std::vector<std::string> everyone = {"/api/v1/status", "/api/v1/targets", "/api/v1/targets/open-files",
                                             "/api/v1/runs", run_path, "/api/v1/drills"};
  for (const char* user : {"viewer1", "operator1", "auditor1", "root"}) {
    const Session s = Login(port_, user);
    ASSERT_FALSE(s.cookie.empty()) << user;
    for (const auto& path : everyone) {
      const Response r = Get(port_, path, s.header());
      EXPECT_EQ(r.status, 200) << user << " " << path << " " << r.body;
      EXPECT_EQ(H(r, "content-type"), "application/json") << path;
      EXPECT_FALSE(Body(r).is_discarded()) << path;
    }
    const bool auditor = user == std::string("auditor1") || user == std::string("root");
    const Response log = Get(port_, "/api/v1/log", s.header());
    EXPECT_EQ(log.status, auditor ? 200 : 403) << user << " " << log.body;
    const bool operates = user != std::string("viewer1");
    const Response test = Post(port_, "/api/v1/targets/open-files/test", s.header() + "X-CSRF-Token: " + s.csrf + "\r\n");
    EXPECT_EQ(test.status, operates ? 202 : 403) << user << " " << test.body;
  }
  EXPECT_EQ(Body(Get(port_, run_path, Login(port_, "viewer1").header()))["id"], run);

  // Without a cookie or token: 401 for the API, a redirect for pages.
  for (const auto& path : everyone) EXPECT_EQ(Get(port_, path).status, 401) << path;
  EXPECT_EQ(Get(port_, "/api/v1/log").status, 401);
  EXPECT_EQ(Get(port_, "/").status, 303);
  EXPECT_EQ(Get(port_, "/", "Cookie: rp_session=" + std::string(64, 'a') + "\r\n").status, 303);
}

TEST_F(WebAuth, ApiTokensWorkAsBearerAndAWrongOrRevokedOneIsRefused) {
  AddEveryRole();
  const std::string viewer = CreateToken(a_, "dash-script", "viewer");
  const std::string auditor = CreateToken(a_, "audit-script", "auditor");
  const std::string op = CreateToken(a_, "ci", "operator");
  ASSERT_TRUE(LooksLikeApiToken(viewer)) << viewer;
  ASSERT_TRUE(LooksLikeApiToken(op)) << op;
  auto bearer = [](const std::string& t) { return "Authorization: Bearer " + t + "\r\n"; };
  EXPECT_EQ(Get(port_, "/api/v1/status", bearer(viewer)).status, 200);
  EXPECT_EQ(Get(port_, "/api/v1/log", bearer(viewer)).status, 403);
  EXPECT_EQ(Get(port_, "/api/v1/log", bearer(auditor)).status, 200);
  // A token's POST needs no CSRF token (no cookie, nothing a browser sends by itself).
  const Response queued = Post(port_, "/api/v1/targets/open-files/test", bearer(op));
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(Body(queued)["requested_by"], "token:ci");
  EXPECT_EQ(Body(queued)["trigger"], "api");
  EXPECT_EQ(Post(port_, "/api/v1/targets/open-files/test", bearer(viewer)).status, 403);

  std::string wrong = viewer;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Get(port_, "/api/v1/status", bearer(wrong)).status, 401);
  EXPECT_EQ(Get(port_, "/api/v1/status", bearer("rp_short")).status, 401);
  EXPECT_EQ(Get(port_, "/api/v1/status", "Authorization: Basic cm9vdDpyb290\r\n").status, 401);
  // A page does not take a token.
  EXPECT_EQ(Get(port_, "/", bearer(viewer)).status, 303);

  auto store = OpenStore(a_);
  const auto found = store->FindApiToken(TokenHash(viewer));
  ASSERT_TRUE(found);
  EXPECT_GT(found->last_used_at, 0);
  ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(a_.data_dir)) +
                      " \"UPDATE api_tokens SET revoked = 1 WHERE name = 'dash-script'\""),
            0);
  EXPECT_EQ(Get(port_, "/api/v1/status", bearer(viewer)).status, 401);
  EXPECT_EQ(AuditOf(*store, "run-requested").size(), 1u);
}

TEST_F(WebAuth, AnOperatorsPostNeedsTheCsrfTokenAndQueuesARunThatRunsListShows) {
  AddEveryRole();
  const Session s = Login(port_, "operator1");
  ASSERT_FALSE(s.csrf.empty());
  auto store = OpenStore(a_);
  const size_t before = store->ListRuns({}).size();
  const Response none = Post(port_, "/api/v1/targets/open-files/test", s.header());
  EXPECT_EQ(none.status, 403) << none.body;
  const Response bad = Post(port_, "/api/v1/targets/open-files/test", s.header() + "X-CSRF-Token: " + std::string(64, 'f') + "\r\n");
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(store->ListRuns({}).size(), before) << "a refused POST queued nothing";
  EXPECT_EQ(AuditOf(*store, "csrf-refused").size(), 2u);

  const Response ok = PostForm(port_, "/api/v1/targets/open-files/test", {{"csrf", s.csrf}}, s.header());
  ASSERT_EQ(ok.status, 202) << ok.body;
  const json run = Body(ok);
  EXPECT_EQ(run["target"], "open-files");
  EXPECT_EQ(run["requested_by"], "operator1");
  EXPECT_EQ(Post(port_, "/api/v1/targets/nope/test", s.header() + "X-CSRF-Token: " + s.csrf + "\r\n").status, 404);
  EXPECT_EQ(Get(port_, "/api/v1/targets/open-files/test", s.header()).status, 405);

  std::string out;
  ASSERT_EQ(test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(a_.config) + " runs list --json 2>/dev/null", &out), 0);
  const json list = json::parse(out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << out;
  bool shown = false;
  for (const auto& r : list["runs"])
    if (r["id"] == run["id"] && r["requested_by"] == "operator1" && r["trigger"] == "api") shown = true;
  EXPECT_TRUE(shown) << out;
  const auto audit = AuditOf(*store, "run-requested");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].actor, "operator1");
}

TEST_F(WebAuth, HostileParametersAnswer404Or400AndChangeNothing) {
  AddEveryRole();
  const Session s = Login(port_, "root");
  ASSERT_FALSE(s.cookie.empty());
  auto store = OpenStore(a_);
  const size_t runs = store->ListRuns({}).size(), users = store->ListUsers().size();
  for (const char* path : {"/api/v1/targets/..%2f..%2fetc", "/api/v1/targets/..%2F..%2Fetc%2Fpasswd",
                           "/api/v1/targets/open-files%27%20OR%201%3D1--", "/api/v1/runs/1%20OR%201=1",
                           "/api/v1/runs/0", "/api/v1/runs/-1", "/api/v1/../../etc/passwd", "/api/v1/status/x",
                           "/api/v2/status", "/api/v1/targets/%zz"}) {
    const int status = Get(port_, path, s.header()).status;
    EXPECT_TRUE(status == 404 || status == 400) << path << " " << status;
  }
  for (const char* query : {"target=%27%20OR%201%3D1--", "target='+OR+1=1--", "limit=1001", "limit=0", "limit=-5",
                            "limit=10abc", "state=bogus", "since=yesterday", "drop=1", "limit=1&limit=2", "since=%ZZ"}) {
    const Response r = Get(port_, std::string("/api/v1/runs?") + query, s.header());
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    EXPECT_FALSE(Body(r).value("error", "").empty()) << query;
  }
  EXPECT_EQ(Get(port_, "/api/v1/log?target=%27%20OR%201%3D1--", s.header()).status, 400);
  EXPECT_EQ(Get(port_, "/api/v1/status?x=1", s.header()).status, 400);
  const Response good = Get(port_, "/api/v1/runs?target=open-files&state=queued&limit=5&since=2020-01-01", s.header());
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(store->ListRuns({}).size(), runs);
  EXPECT_EQ(store->ListUsers().size(), users);
}

}  // namespace
}  // namespace rp
