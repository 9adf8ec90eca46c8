// TLS of the web server ([web] tls_certificate and tls_key, docs/web.md "TLS") as a browser and
// a misconfigured appliance meet it: the real `serve` binary with a self-signed certificate the
// `openssl` command makes for each test, real HTTPS through `curl` checking that certificate,
// `openssl s_client` for the protocol versions and ciphers on offer, and raw plain HTTP sent to
// the TLS port.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "process_kit.h"
#include "testkit.h"
#include "web_kit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;
using webtest::AddUser;
using webtest::Appliance;
using webtest::Response;
using webtest::CookieValue;
using webtest::HiddenCsrf;
using webtest::Serve;

const std::string kPassword = "correct horse battery";

// A self-signed P-256 certificate for 127.0.0.1 (also its subjectAltName) and its key, in `dir`.
struct Certificate {
  explicit Certificate(const std::string& dir) : cert(dir + "/cert.pem"), key(dir + "/key.pem") {
    ok = test::Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1"
                   " -addext subjectAltName=IP:127.0.0.1 -keyout " + ShellQuote(key) + " -out " + ShellQuote(cert) +
                   " >/dev/null 2>&1") == 0;
  }
  std::string cert, key;
  bool ok = false;
};

std::string TlsWeb(const std::string& cert, const std::string& key) {
  return "[web]\ntls_certificate = \"" + cert + "\"\ntls_key = \"" + key + "\"\n";
}

// HTTPS with `curl`, trusting only `ca` (the certificate is checked against 127.0.0.1).
Response Https(const std::string& ca, int port, const std::string& path, const std::vector<std::string>& headers = {},
               const std::string& form = "") {
  std::string cmd = "curl -sS -i --max-time 10 --cacert " + ShellQuote(ca);
  for (const auto& h : headers) cmd += " -H " + ShellQuote(h);
  if (!form.empty()) cmd += " -H 'Content-Type: application/x-www-form-urlencoded' --data-raw " + ShellQuote(form);
  cmd += " " + ShellQuote("https://127.0.0.1:" + std::to_string(port) + path) + " 2>/dev/null";
  std::string out;
  test::Run(cmd, &out);
  return webtest::ParseResponse(out);
}

std::string H(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

std::string SetCookieLine(const Response& r, const std::string& name) {
  for (const auto& c : r.set_cookies)
    if (c.rfind(name + "=", 0) == 0) return c;
  return "";
}

// `openssl s_client` with these options: whether a handshake completed.
bool Handshake(int port, const std::string& options) {
  return test::Run("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + options +
                   " </dev/null >/dev/null 2>&1") == 0;
}

// The `error` of the first `web-failed` event in the log; "" while there is none.
std::string WebFailed(const Serve& serve) {
  std::istringstream in(serve.Log());
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("event", "") == "web-failed") return j.value("error", "?");
  }
  return "";
}

TEST(WebTls, SignInOverHttpsSetsSecureHostCookiesAndEveryAnswerCarriesHsts) {
  TempDir certs;
  const Certificate c(certs.path());
  ASSERT_TRUE(c.ok) << "openssl req failed";
  Appliance a(TlsWeb(c.cert, c.key));
  ASSERT_EQ(AddUser(a, "root", "admin", kPassword), 0);
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();

  const Response health = Https(c.cert, port, "/healthz");
  ASSERT_EQ(health.status, 200) << "curl verified the served certificate against ours";
  EXPECT_EQ(H(health, "strict-transport-security"), "max-age=31536000");

  const Response form = Https(c.cert, port, "/login");
  ASSERT_EQ(form.status, 200);
  const std::string pre_line = SetCookieLine(form, "__Host-rp_login_csrf");
  EXPECT_NE(pre_line.find("; Secure"), std::string::npos) << pre_line;
  EXPECT_EQ(SetCookieLine(form, "rp_login_csrf"), "") << "only the __Host- name under TLS";
  const std::string pre = CookieValue(form, "__Host-rp_login_csrf");
  const std::string csrf = HiddenCsrf(form.body);
  ASSERT_FALSE(pre.empty());

  const Response ok = Https(c.cert, port, "/login", {"Cookie: __Host-rp_login_csrf=" + pre},
                            "name=root&password=correct+horse+battery&csrf=" + csrf);
  ASSERT_EQ(ok.status, 303) << ok.body;
  EXPECT_EQ(H(ok, "location"), "/");
  EXPECT_EQ(H(ok, "strict-transport-security"), "max-age=31536000");
  const std::string line = SetCookieLine(ok, "__Host-rp_session");
  ASSERT_FALSE(line.empty()) << "the session cookie has the __Host- prefix";
  for (const char* attribute : {"; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"})
    EXPECT_NE(line.find(attribute), std::string::npos) << attribute << " in " << line;
  EXPECT_EQ(line.find("Domain"), std::string::npos) << "__Host- cookies have no Domain: " << line;
  EXPECT_EQ(SetCookieLine(ok, "rp_session"), "");

  const std::string session = CookieValue(ok, "__Host-rp_session");
  const Response dashboard = Https(c.cert, port, "/", {"Cookie: __Host-rp_session=" + session});
  EXPECT_EQ(dashboard.status, 200) << dashboard.body;
  EXPECT_EQ(Https(c.cert, port, "/", {"Cookie: rp_session=" + session}).status, 303)
      << "the cookie without its __Host- name is not the session";
  EXPECT_EQ(Https(c.cert, port, "/api/v1/status", {"Cookie: __Host-rp_session=" + session}).status, 200);

  const json started = [&] {
    std::istringstream in(serve.Log());
    std::string l;
    while (std::getline(in, l)) {
      const json j = json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("event", "") == "web-started") return j;
    }
    return json();
  }();
  EXPECT_EQ(started.value("tls", false), true) << started.dump();
}

TEST(WebTls, PlainHttpOldProtocolsAndWeakCiphersAreRefusedOnTheTlsPort) {
  TempDir certs;
  const Certificate c(certs.path());
  ASSERT_TRUE(c.ok);
  Appliance a(TlsWeb(c.cert, c.key));
  ASSERT_EQ(AddUser(a, "root", "admin", kPassword), 0);
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();

  const Response plain = webtest::Request(port, "GET", "/healthz");
  EXPECT_EQ(plain.status, 0) << "no HTTP answer to plain HTTP: " << plain.body;

  EXPECT_TRUE(Handshake(port, "-tls1_2"));
  EXPECT_TRUE(Handshake(port, "-tls1_3"));
  // The client is told to allow everything old; the server refuses.
  EXPECT_FALSE(Handshake(port, "-tls1_1 -cipher DEFAULT@SECLEVEL=0"));
  EXPECT_FALSE(Handshake(port, "-tls1 -cipher DEFAULT@SECLEVEL=0"));
  EXPECT_FALSE(Handshake(port, "-tls1_2 -cipher AES128-SHA")) << "no suite without forward secrecy and AEAD";
  EXPECT_FALSE(Handshake(port, "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA")) << "no CBC suite";

  // The server still answers HTTPS after all of that.
  EXPECT_EQ(Https(c.cert, port, "/healthz").status, 200);
}

// The SHA-256 fingerprint of the certificate the server presents; "" when no handshake.
std::string ServedFingerprint(int port) {
  std::string out;
  test::Run("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null",
            &out);
  return out;
}

TEST(WebTls, ASighupLoadsACertificateRenewedAtTheSamePaths) {
  TempDir certs;
  const Certificate c(certs.path());
  ASSERT_TRUE(c.ok);
  Appliance a(TlsWeb(c.cert, c.key));
  ASSERT_EQ(AddUser(a, "root", "admin", kPassword), 0);
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  const std::string before = ServedFingerprint(port);
  ASSERT_NE(before.find("Fingerprint"), std::string::npos) << before;

  const Certificate renewed(certs.path());  // a new key and certificate over the old files
  ASSERT_TRUE(renewed.ok);
  serve.Signal(SIGHUP);
  const int again = serve.Port(2);
  ASSERT_GT(again, 0) << serve.Log();
  const std::string after = ServedFingerprint(again);
  EXPECT_NE(after.find("Fingerprint"), std::string::npos) << after;
  EXPECT_NE(after, before) << "the renewed certificate is served";
  EXPECT_EQ(Https(c.cert, again, "/healthz").status, 200);
}

TEST(WebTls, AnUnreadableOrMismatchedKeyIsAWebFailedEventNamingTheFile) {
  TempDir certs;
  const Certificate c(certs.path());
  ASSERT_TRUE(c.ok);
  {
    const std::string missing = certs.path() + "/no-such-key.pem";
    Appliance a(TlsWeb(c.cert, missing));
    Serve serve(a);
    ASSERT_TRUE(test::WaitFor([&] { return !WebFailed(serve).empty(); }, 30)) << serve.Log();
    const std::string error = WebFailed(serve);
    EXPECT_NE(error.find(missing), std::string::npos) << error;
    EXPECT_NE(error.find("tls_key"), std::string::npos) << error;
  }
  {
    TempDir other;
    const Certificate o(other.path());
    ASSERT_TRUE(o.ok);
    Appliance a(TlsWeb(c.cert, o.key));  // another certificate's key
    Serve serve(a);
    ASSERT_TRUE(test::WaitFor([&] { return !WebFailed(serve).empty(); }, 30)) << serve.Log();
    const std::string error = WebFailed(serve);
    EXPECT_NE(error.find(o.key), std::string::npos) << error;
    EXPECT_NE(error.find(c.cert), std::string::npos) << error;
  }
}

TEST(WebTls, HalfATlsSetUpOrARelativePathIsAConfigurationErrorNamingTheKey) {
  TempDir certs;
  const Certificate c(certs.path());
  ASSERT_TRUE(c.ok);
  {
    Appliance a("[web]\ntls_certificate = \"" + c.cert + "\"\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.tls_key"), std::string::npos) << r.err;
  }
  {
    Appliance a("[web]\ntls_key = \"" + c.key + "\"\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.tls_certificate"), std::string::npos) << r.err;
  }
  {
    Appliance a("[web]\ntls_certificate = \"cert.pem\"\ntls_key = \"" + c.key + "\"\n");
    const auto r = test::RunWithConfig(a.dir.path(), a.config, "config check");
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_NE(r.err.find("web.tls_certificate"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("absolute"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace rp
