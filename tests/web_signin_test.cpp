// Single sign-on by a trusted reverse proxy ([web] proxy_user_header, trusted_proxies) and the
// /password page (one-time passwords from `user add --one-time`), as a browser behind a proxy,
// a user with a one-time password and an outsider forging the proxy's header meet them: the real
// `serve` binary on a loopback port, raw HTTP (web_kit.h), the real store read afterwards. Also
// the address and network parser the proxy check uses (rp/ip_network.h) and the configuration's
// checks of those keys.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "rp/ip_network.h"
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
const std::string kNewPassword = "a much better passphrase";

std::string H(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

Response Get(int port, const std::string& path, const std::string& extra = "") { return Request(port, "GET", path, extra); }

Response PostForm(int port, const std::string& path, const std::map<std::string, std::string>& fields,
                  const std::string& extra = "") {
  const std::string body = FormEncode(fields);
  return Request(port, "POST", path,
                 extra + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
}

Response TryLogin(int port, const std::string& name, const std::string& password) {
  const Response form = Get(port, "/login");
  return PostForm(port, "/login", {{"name", name}, {"password", password}, {"csrf", HiddenCsrf(form.body)}},
                  "Cookie: rp_login_csrf=" + CookieValue(form, "rp_login_csrf") + "\r\n");
}

std::string SessionHeader(const std::string& id) { return "Cookie: rp_session=" + id + "\r\n"; }

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

const std::string kProxyWeb = "[web]\nproxy_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n";

// --- the address parser -------------------------------------------------------------------------

TEST(IpNetwork, AddressesAndNetworksParseToTheirCanonicalText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1", "127.0.0.1"},       {"10.0.0.0/8", "10.0.0.0/8"},     {"0.0.0.0/0", "0.0.0.0/0"},
      {"::1", "::1"},                   {"::", "::"},                     {"FD00::/8", "fd00::/8"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},                    {"2001:0db8::0001/128", "2001:db8::1"},
      {"::ffff:192.0.2.1", "192.0.2.1"}, {"::ffff:10.0.0.0/104", "10.0.0.0/8"}, {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
  };
  for (const auto& [text, canonical] : cases) {
    std::string why;
    const auto n = ParseIpNetwork(text, &why);
    ASSERT_TRUE(n.has_value()) << text << ": " << why;
    EXPECT_EQ(FormatIpNetwork(*n), canonical) << text;
    EXPECT_EQ(ParseIpNetwork(canonical), n) << canonical;
  }
}

TEST(IpNetwork, HostNamesMalformedAddressesAndHostBitsAreRefusedWithAReason) {
  for (const char* text : {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4/33", "1.2.3.4/",
                           "1.2.3.4/08", "::1/129", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::g",
                           "fe80::1%eth0", "[::1]", " 1.2.3.4", "1.2.3.4 "}) {
    std::string why;
    EXPECT_FALSE(ParseIpNetwork(text, &why).has_value()) << text;
    EXPECT_FALSE(why.empty()) << text;
  }
  std::string why;
  EXPECT_FALSE(ParseIpNetwork("10.1.2.3/8", &why).has_value());
  EXPECT_NE(why.find("10.0.0.0/8"), std::string::npos) << why;
}

TEST(IpNetwork, ContainsMatchesByPrefixAndFamilyAndReadsMappedAndScopedAddresses) {
  const auto ten = ParseIpNetwork("10.0.0.0/8").value();
  EXPECT_TRUE(IpNetworkContains(ten, "10.255.3.4"));
  EXPECT_TRUE(IpNetworkContains(ten, "::ffff:10.1.1.1")) << "an IPv4 client of a server on ::";
  EXPECT_FALSE(IpNetworkContains(ten, "11.0.0.1"));
  EXPECT_FALSE(IpNetworkContains(ten, "::a00:1")) << "an IPv4-compatible IPv6 address is IPv6";
  EXPECT_FALSE(IpNetworkContains(ten, "not an address"));
  const auto odd = ParseIpNetwork("192.168.4.0/23").value();
  EXPECT_TRUE(IpNetworkContains(odd, "192.168.5.200"));
  EXPECT_FALSE(IpNetworkContains(odd, "192.168.6.1"));
  const auto local6 = ParseIpNetwork("fe80::/10").value();
  EXPECT_TRUE(IpNetworkContains(local6, "fe80::1%eth0"));
  EXPECT_TRUE(IpNetworkContains(local6, "febf::1"));
  EXPECT_FALSE(IpNetworkContains(local6, "fec0::1"));
  EXPECT_TRUE(IpNetworkContains(ParseIpNetwork("0.0.0.0/0").value(), "8.8.8.8"));
  EXPECT_FALSE(IpNetworkContains(ParseIpNetwork("0.0.0.0/0").value(), "::1"));
}

TEST(WebProxyConfig, TheHeaderWithoutTrustedProxiesOrABadNetworkIsAnErrorNamingTheKey) {
  {
    Appliance a("[web]\nproxy_user_header = \"X-Remote-User\"\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.trusted_proxies"), std::string::npos) << r.err;
  }
  {
    Appliance a("[web]\ntrusted_proxies = [\"127.0.0.1\"]\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.proxy_user_header"), std::string::npos) << r.err;
  }
  {
    Appliance a("[web]\nproxy_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1\", \"proxy.example\", \"10.1.0.0/8\"]\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.trusted_proxies[1]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("web.trusted_proxies[2]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("10.0.0.0/8"), std::string::npos) << r.err;
  }
  {
    Appliance a("[web]\nproxy_user_header = \"Cookie\"\ntrusted_proxies = [\"127.0.0.1\"]\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.proxy_user_header"), std::string::npos) << r.err;
  }
  Appliance a(kProxyWeb);
  const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
  EXPECT_EQ(r.rc, 0) << r.err;
}

// --- single sign-on -----------------------------------------------------------------------------

class WebProxy : public ::testing::Test {
 protected:
  explicit WebProxy(const std::string& web = kProxyWeb) : a_(web) {}
  void SetUp() override {
    for (const auto& [name, role] : {std::pair<const char*, const char*>{"root", "admin"}, {"vera", "viewer"}, {"olle", "operator"}})
      ASSERT_EQ(AddUser(a_, name, role, kPassword), 0);
    serve_ = std::make_unique<Serve>(a_);
    port_ = serve_->Port();
    ASSERT_GT(port_, 0) << serve_->Log();
  }
  Appliance a_;
  std::unique_ptr<Serve> serve_;
  int port_ = 0;
};

TEST_F(WebProxy, ATrustedProxysHeaderSignsTheUserInWithTheStoresRoleAndASessionForCsrf) {
  const std::string vera = "X-Remote-User: vera\r\n";
  const Response first = Get(port_, "/", vera);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_NE(first.body.find("vera"), std::string::npos);
  EXPECT_EQ(first.body.find("href=\"/password\""), std::string::npos) << "no password of ours to change";
  const std::string cookie = CookieValue(first, "rp_session");
  ASSERT_FALSE(cookie.empty()) << "a session on first sight, for the CSRF token";
  const std::string csrf = HiddenCsrf(first.body);
  ASSERT_FALSE(csrf.empty());

  // With its session the next page makes no new one.
  const Response again = Get(port_, "/", vera + SessionHeader(cookie));
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.set_cookies.empty());
  auto store = OpenStore(a_);
  const auto signins = AuditOf(*store, "sign-in");
  ASSERT_EQ(signins.size(), 1u);
  EXPECT_EQ(signins[0].actor, "vera");
  EXPECT_NE(signins[0].detail.find("X-Remote-User"), std::string::npos) << signins[0].detail;

  // The role is the store's: a viewer reads the status, not the log, and may not test.
  EXPECT_EQ(Get(port_, "/api/v1/status", vera).status, 200) << "the API needs no session";
  EXPECT_EQ(Get(port_, "/api/v1/log", vera).status, 403);
  EXPECT_EQ(Get(port_, "/api/v1/log", "X-Remote-User: root\r\n").status, 200);
  EXPECT_EQ(PostForm(port_, "/api/v1/targets/open-files/test", {{"csrf", csrf}}, vera + SessionHeader(cookie)).status, 403);

  // An operator's POST needs the CSRF token of the session made for them.
  const std::string olle = "X-Remote-User: olle\r\n";
  const Response page = Get(port_, "/", olle);
  const std::string olle_cookie = CookieValue(page, "rp_session");
  const std::string olle_csrf = HiddenCsrf(page.body);
  ASSERT_FALSE(olle_csrf.empty());
  EXPECT_EQ(PostForm(port_, "/api/v1/targets/open-files/test", {}, olle).status, 403) << "no CSRF token";
  EXPECT_EQ(PostForm(port_, "/api/v1/targets/open-files/test", {{"csrf", csrf}}, olle + SessionHeader(cookie)).status, 403)
      << "another user's session and token";
  const Response queued = PostForm(port_, "/api/v1/targets/open-files/test", {{"csrf", olle_csrf}}, olle + SessionHeader(olle_cookie));
  EXPECT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(json::parse(queued.body, nullptr, false).value("requested_by", ""), "olle");

  // The header wins over a session of someone else.
  const Response switched = Get(port_, "/", "X-Remote-User: root\r\n" + SessionHeader(cookie));
  EXPECT_EQ(switched.status, 200);
  EXPECT_NE(switched.body.find("root (admin)"), std::string::npos);
  EXPECT_NE(CookieValue(switched, "rp_session"), "");

  // No password page, and signing out here says where to sign out.
  EXPECT_EQ(Get(port_, "/password", vera + SessionHeader(cookie)).status, 404);
  const Response out = PostForm(port_, "/logout", {{"csrf", csrf}}, vera + SessionHeader(cookie));
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.body.find("single sign-on"), std::string::npos) << out.body;
}

TEST_F(WebProxy, AnUnknownUserInTheHeaderIsRefusedWith403AndAudited) {
  const Response page = Get(port_, "/", "X-Remote-User: mallory\r\n");
  EXPECT_EQ(page.status, 403);
  EXPECT_NE(page.body.find("named an unknown user"), std::string::npos) << page.body;
  EXPECT_TRUE(page.set_cookies.empty());
  const Response sv = Get(port_, "/", "X-Remote-User: mallory\r\nAccept-Language: sv\r\n");
  EXPECT_EQ(sv.status, 403);
  EXPECT_NE(sv.body.find("okänd användare"), std::string::npos) << sv.body;
  EXPECT_EQ(Get(port_, "/api/v1/status", "X-Remote-User: mallory\r\n").status, 403);
  EXPECT_EQ(Get(port_, "/", "X-Remote-User: ' OR 1=1 --\r\n").status, 403);
  auto store = OpenStore(a_);
  const auto refused = AuditOf(*store, "proxy-user-refused");
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_EQ(refused[0].actor, "mallory");
  EXPECT_EQ(refused[3].actor, "-") << "a name that is not a valid account name is not recorded";
  EXPECT_TRUE(AuditOf(*store, "sign-in").empty());
  EXPECT_TRUE(store->ListUsers().size() == 3u);
}

class WebProxyUntrusted : public WebProxy {
 protected:
  WebProxyUntrusted()
      : WebProxy("[web]\nproxy_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n") {}
};

TEST_F(WebProxyUntrusted, TheHeaderFromAnAddressNotTrustedIsIgnoredAndAuditedOnce) {
  const Response page = Get(port_, "/", "X-Remote-User: root\r\n");
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(H(page, "location"), "/login");
  EXPECT_TRUE(page.set_cookies.empty());
  EXPECT_EQ(Get(port_, "/api/v1/status", "X-Remote-User: root\r\n").status, 401);
  EXPECT_EQ(Get(port_, "/", "X-Remote-User: mallory\r\n").status, 303) << "not even looked up";
  auto store = OpenStore(a_);
  const auto untrusted = AuditOf(*store, "proxy-header-untrusted");
  ASSERT_EQ(untrusted.size(), 1u) << "once per address";
  EXPECT_EQ(untrusted[0].address, "127.0.0.1");
  EXPECT_TRUE(AuditOf(*store, "sign-in").empty());
  EXPECT_TRUE(AuditOf(*store, "proxy-user-refused").empty());
  // A password sign-in still works from there.
  const Response ok = TryLogin(port_, "vera", kPassword);
  EXPECT_EQ(ok.status, 303);
  EXPECT_EQ(H(ok, "location"), "/");
}

// --- /password ----------------------------------------------------------------------------------

class WebPassword : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(AddUser(a_, "root", "admin", kPassword), 0);
    std::string out;
    ASSERT_EQ(test::Run("printf '%s\\n' " + ShellQuote(kPassword) + " | " + ShellQuote(RP_BINARY) + " --config " +
                            ShellQuote(a_.config) + " user add otto --role operator --one-time 2>&1",
                        &out),
              0)
        << out;
    EXPECT_NE(out.find("one-time"), std::string::npos) << out;
    serve_ = std::make_unique<Serve>(a_);
    port_ = serve_->Port();
    ASSERT_GT(port_, 0) << serve_->Log();
  }
  Appliance a_;
  std::unique_ptr<Serve> serve_;
  int port_ = 0;
};

TEST_F(WebPassword, AOneTimePasswordLeadsToPasswordAndNowhereElseUntilANewOneIsSet) {
  auto store = OpenStore(a_);
  ASSERT_TRUE(store->GetUser("otto").has_value());
  EXPECT_TRUE(store->GetUser("otto")->must_change_password);
  const Response login = TryLogin(port_, "otto", kPassword);
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_EQ(H(login, "location"), "/password");
  const std::string old_session = CookieValue(login, "rp_session");
  const std::string s = SessionHeader(old_session);

  const Response dashboard = Get(port_, "/", s);
  EXPECT_EQ(dashboard.status, 303);
  EXPECT_EQ(H(dashboard, "location"), "/password");
  const Response api = Get(port_, "/api/v1/status", s);
  EXPECT_EQ(api.status, 403);
  EXPECT_NE(api.body.find("one-time password"), std::string::npos) << api.body;

  const Response form = Get(port_, "/password", s);
  ASSERT_EQ(form.status, 200) << form.body;
  for (const char* label : {"<label for=\"current\">", "<label for=\"new\">", "<label for=\"repeat\">", "one-time password"})
    EXPECT_NE(form.body.find(label), std::string::npos) << label;
  const std::string csrf = HiddenCsrf(form.body);
  ASSERT_FALSE(csrf.empty());
  const Response sv = Get(port_, "/password", s + "Accept-Language: sv-SE,sv;q=0.9\r\n");
  EXPECT_NE(sv.body.find("Nuvarande lösenord"), std::string::npos);
  EXPECT_NE(sv.body.find("lang=\"sv\""), std::string::npos);

  // Refusals: no CSRF token, a wrong current password, a short one, the same one, a mistyped repeat.
  EXPECT_EQ(PostForm(port_, "/password", {{"current", kPassword}, {"new", kNewPassword}, {"repeat", kNewPassword}}, s).status, 403);
  const Response wrong = PostForm(port_, "/password", {{"csrf", csrf}, {"current", "not the password"}, {"new", kNewPassword}, {"repeat", kNewPassword}}, s);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_NE(wrong.body.find("current password is not right"), std::string::npos);
  const Response shorter = PostForm(port_, "/password", {{"csrf", csrf}, {"current", kPassword}, {"new", "short"}, {"repeat", "short"}}, s);
  EXPECT_EQ(shorter.status, 400);
  EXPECT_NE(shorter.body.find("at least 12 characters"), std::string::npos);
  EXPECT_EQ(PostForm(port_, "/password", {{"csrf", csrf}, {"current", kPassword}, {"new", kPassword}, {"repeat", kPassword}}, s).status, 400);
  const Response differ = PostForm(port_, "/password", {{"csrf", csrf}, {"current", kPassword}, {"new", kNewPassword}, {"repeat", kNewPassword + "!"}}, s);
  EXPECT_EQ(differ.status, 400);
  EXPECT_NE(differ.body.find("differ"), std::string::npos);
  EXPECT_TRUE(store->GetUser("otto")->must_change_password) << "nothing changed yet";
  EXPECT_EQ(AuditOf(*store, "password-change-failed").size(), 1u);

  const Response changed = PostForm(port_, "/password", {{"csrf", csrf}, {"current", kPassword}, {"new", kNewPassword}, {"repeat", kNewPassword}}, s);
  ASSERT_EQ(changed.status, 303) << changed.body;
  EXPECT_EQ(H(changed, "location"), "/");
  const std::string fresh = CookieValue(changed, "rp_session");
  ASSERT_FALSE(fresh.empty());
  EXPECT_NE(fresh, old_session);
  EXPECT_FALSE(store->GetUser("otto")->must_change_password);
  const auto audit = AuditOf(*store, "password-change");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].actor, "otto");

  // The old session ended; the new one reaches the dashboard and the API.
  EXPECT_EQ(H(Get(port_, "/", s), "location"), "/login");
  EXPECT_EQ(Get(port_, "/", SessionHeader(fresh)).status, 200);
  EXPECT_EQ(Get(port_, "/api/v1/status", SessionHeader(fresh)).status, 200);
  // The old password no longer works, the new one does.
  EXPECT_EQ(CookieValue(TryLogin(port_, "otto", kPassword), "rp_session"), "");
  const Response again = TryLogin(port_, "otto", kNewPassword);
  EXPECT_EQ(again.status, 303);
  EXPECT_EQ(H(again, "location"), "/");
}

TEST_F(WebPassword, AnyPasswordUserMayChangeTheirsAndEverySessionOfTheirsEnds) {
  const std::string a = SessionHeader(CookieValue(TryLogin(port_, "root", kPassword), "rp_session"));
  const std::string b = SessionHeader(CookieValue(TryLogin(port_, "root", kPassword), "rp_session"));
  EXPECT_EQ(Get(port_, "/", a).status, 200);
  const Response form = Get(port_, "/password", a);
  ASSERT_EQ(form.status, 200);
  EXPECT_EQ(form.body.find("one-time password"), std::string::npos);
  const Response changed = PostForm(
      port_, "/password", {{"csrf", HiddenCsrf(form.body)}, {"current", kPassword}, {"new", kNewPassword}, {"repeat", kNewPassword}}, a);
  ASSERT_EQ(changed.status, 303) << changed.body;
  EXPECT_EQ(H(Get(port_, "/", b), "location"), "/login") << "the other browser's session ended too";
  EXPECT_EQ(Get(port_, "/", SessionHeader(CookieValue(changed, "rp_session"))).status, 200);
  EXPECT_EQ(H(Get(port_, "/password"), "location"), "/login") << "signed out: nothing to change";
  EXPECT_EQ(Request(port_, "PUT", "/password", SessionHeader(CookieValue(changed, "rp_session"))).status, 405);
}

}  // namespace
}  // namespace rp
