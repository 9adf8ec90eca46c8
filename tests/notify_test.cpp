// Notifications over real transports: a Poco HTTP(S) server on a loopback port the OS picks,
// which checks the HMAC signature itself (Poco's HMACEngine, not our code), and aiosmtpd as the
// SMTP server (tests/tools/smtp_sink.py), with TLS certificates made by the real openssl.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/HMACEngine.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "rp/notify.h"
#include "rp/subprocess.h"
#include "process_kit.h"
#include "testkit.h"

namespace rp::test {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A loopback port nothing listens on: bound by the OS, then closed.
int ClosedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = s.address().port();
  s.close();
  return port;
}

// ---- the webhook receiver ----

// Poco 1.11's SHA2Engine lacks the sizes HMACEngine asks for.
struct Sha256Engine : Poco::SHA2Engine {
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

struct Received {
  std::mutex mu;
  int requests = 0;
  std::string method, path, content_type, signature, event_id, body;
};

// Accepts POST /hook only with a correct signature (204; 401 otherwise); /fail answers 500,
// /moved 302.
class HookHandler : public Poco::Net::HTTPRequestHandler {
 public:
  HookHandler(std::string key, Received* rec) : key_(std::move(key)), rec_(rec) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    std::string body;
    Poco::StreamCopier::copyToString(req.stream(), body);
    Poco::HMACEngine<Sha256Engine> hmac(key_);
    hmac.update(body);
    const std::string expected = "sha256=" + Poco::DigestEngine::digestToHex(hmac.digest());
    {
      std::lock_guard lock(rec_->mu);
      ++rec_->requests;
      rec_->method = req.getMethod();
      rec_->path = req.getURI();
      rec_->content_type = req.getContentType();
      rec_->signature = req.get("X-Restoreproof-Signature", "");
      rec_->event_id = req.get("X-Restoreproof-Event-Id", "");
      rec_->body = body;
    }
    if (req.getURI() == "/fail") {
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
    } else if (req.getURI() == "/moved") {
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_FOUND);
      resp.set("Location", "/hook");
    } else if (req.getMethod() != "POST" || req.getURI() != "/hook") {
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
    } else if (req.get("X-Restoreproof-Signature", "") != expected) {
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
    } else {
      resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
    }
    resp.setContentLength(0);
    resp.send();
  }

 private:
  std::string key_;
  Received* rec_;
};

class HookFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HookFactory(std::string key, Received* rec) : key_(std::move(key)), rec_(rec) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new HookHandler(key_, rec_);
  }

 private:
  std::string key_;
  Received* rec_;
};

class HookServer {
 public:
  // Plain HTTP, or HTTPS with the given certificate and key.
  explicit HookServer(const std::string& key, const std::string& cert = "", const std::string& cert_key = "")
      : pool_(1, 4) {
    Poco::Net::ServerSocket socket;
    if (cert.empty()) {
      socket = Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0));
    } else {
      Poco::Net::Context::Ptr ctx(
          new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, cert_key, cert, "", Poco::Net::Context::VERIFY_NONE));
      socket = Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, ctx);
    }
    port_ = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params(new Poco::Net::HTTPServerParams);
    params->setMaxThreads(4);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new HookFactory(key, &received), pool_, socket, params);
    server_->start();
  }
  ~HookServer() { server_->stopAll(true); }
  int port() const { return port_; }
  Received received;

 private:
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

class Webhook : public ::testing::Test {
 protected:
  NotifyConfig Channel(const std::string& url) {
    NotifyConfig c;
    c.name = "ops-hook";
    c.kind = NotifyKind::kWebhook;
    c.url = url;
    c.secret_file = dir_ / "hook.key";
    c.timeout_s = 2;
    return c;
  }
  std::string Url(int port, const std::string& path = "/hook", const char* scheme = "http") {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + path;
  }
  TempDir dir_;
  const std::string key_ = "k3y-0f-the-h00k";
  const std::string body_ = R"({"event":"restore-test.failed","target":"lön","n":1})";
};

// ---- the SMTP server ----

class SmtpSink {
 public:
  explicit SmtpSink(const std::string& out, std::vector<std::string> extra = {})
      : out_((std::filesystem::create_directories(out), out)), listener_(Argv(out, std::move(extra)), out + "/sink.err") {}
  int port() const { return listener_.port(); }
  std::string errors() const { return ReadFile(out_ + "/sink.err"); }
  std::vector<nlohmann::json> Messages() const {
    std::vector<nlohmann::json> out;
    for (int i = 1; std::filesystem::exists(out_ + "/msg-" + std::to_string(i) + ".json"); ++i)
      out.push_back(nlohmann::json::parse(ReadFile(out_ + "/msg-" + std::to_string(i) + ".json")));
    return out;
  }
  // Every MAIL FROM the server saw, whether or not a message followed.
  std::string MailLog() const { return ReadFile(out_ + "/mail.log"); }
  std::string Raw(int n) const { return ReadFile(out_ + "/msg-" + std::to_string(n) + ".eml"); }

 private:
  static std::vector<std::string> Argv(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/python3", std::string(RP_SOURCE_DIR) + "/tests/tools/smtp_sink.py", "--out",
                                     out};
    for (auto& e : extra) argv.push_back(std::move(e));
    return argv;
  }
  std::string out_;
  test::PortListener listener_;
};

// A self-signed certificate for 127.0.0.1 (or another name), made by the real openssl.
void MakeCertificate(const std::string& cert, const std::string& key, const std::string& san = "IP:127.0.0.1") {
  std::string out;
  ASSERT_EQ(RunShell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=restoreproof-test -addext " +
                         ShellQuote("subjectAltName=" + san) + " -keyout " + ShellQuote(key) + " -out " + ShellQuote(cert),
                     &out),
            0)
      << out;
}

// Trusts exactly one certificate file for the scope, the way an operator points OpenSSL at a
// private CA.
class TrustOnly {
 public:
  explicit TrustOnly(const std::string& cert) { setenv("SSL_CERT_FILE", cert.c_str(), 1); }
  ~TrustOnly() { unsetenv("SSL_CERT_FILE"); }
};

class Email : public ::testing::Test {
 protected:
  NotifyConfig Channel(int port) {
    NotifyConfig c;
    c.name = "ops-mail";
    c.kind = NotifyKind::kEmail;
    c.smtp_host = "127.0.0.1";
    c.smtp_port = port;
    c.from = "Restoreproof <rp@example.se>";
    c.to = {"anna@example.se", "drift@example.se"};
    c.starttls = StartTls::kAuto;
    c.timeout_s = 5;
    return c;
  }
  TempDir dir_;
};

// ---- signature ----

TEST(WebhookSignatureTest, MatchesRfc4231AndTheOpensslTool) {
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  TempDir dir;
  const std::string body = "{\"a\":\"åäö\"}\n";
  WriteFile(dir / "body.json", body);
  std::string out;
  ASSERT_EQ(RunShell("openssl dgst -sha256 -hmac 's3cret' -r " + ShellQuote(dir / "body.json"), &out), 0) << out;
  EXPECT_EQ(WebhookSignature("s3cret", body), "sha256=" + out.substr(0, 64));
}

// ---- webhook ----

TEST_F(Webhook, SignedPostIsAcceptedByAReceiverThatChecksTheSignature) {
  HookServer server(key_);
  WriteFile(dir_ / "hook.key", key_ + "\n");
  const Delivery d = SendWebhook(Channel(Url(server.port())), body_, "run-42-failed");
  EXPECT_TRUE(d.ok) << d.detail;
  EXPECT_EQ(d.detail, "HTTP 204 No Content from " + Url(server.port(), ""))
      << "the URL's path, which may hold a secret, is left out";
  std::lock_guard lock(server.received.mu);
  EXPECT_EQ(server.received.requests, 1);
  EXPECT_EQ(server.received.method, "POST");
  EXPECT_EQ(server.received.content_type, "application/json");
  EXPECT_EQ(server.received.body, body_);
  EXPECT_EQ(server.received.signature, WebhookSignature(key_, body_));
  EXPECT_EQ(server.received.event_id, "run-42-failed");
}

TEST_F(Webhook, WrongKeyIsRejectedAndTheStatusReported) {
  HookServer server(key_);
  WriteFile(dir_ / "hook.key", "not-the-key\n");
  const Delivery d = SendWebhook(Channel(Url(server.port())), body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("HTTP 401"), std::string::npos) << d.detail;
  EXPECT_EQ(d.detail.find("not-the-key"), std::string::npos) << d.detail;
}

TEST_F(Webhook, ServerErrorAndRedirectAreNotDelivered) {
  HookServer server(key_);
  WriteFile(dir_ / "hook.key", key_);
  const Delivery failed = SendWebhook(Channel(Url(server.port(), "/fail")), body_);
  EXPECT_FALSE(failed.ok);
  EXPECT_NE(failed.detail.find("HTTP 500"), std::string::npos) << failed.detail;
  const Delivery moved = SendWebhook(Channel(Url(server.port(), "/moved")), body_);
  EXPECT_FALSE(moved.ok);
  EXPECT_NE(moved.detail.find("HTTP 302"), std::string::npos) << moved.detail;
  EXPECT_NE(moved.detail.find("not followed"), std::string::npos) << moved.detail;
  std::lock_guard lock(server.received.mu);
  EXPECT_EQ(server.received.requests, 2);
}

TEST_F(Webhook, DownServerIsAQuickConnectionRefused) {
  WriteFile(dir_ / "hook.key", key_);
  const auto start = Clock::now();
  const Delivery d = SendWebhook(Channel(Url(ClosedPort())), body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("connection refused"), std::string::npos) << d.detail;
  EXPECT_LT(Since(start), 1.0);
}

TEST_F(Webhook, ServerThatNeverAnswersTimesOutWithinTheTimeout) {
  // Listens (the kernel completes the handshake) but never accepts, reads or answers.
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
  WriteFile(dir_ / "hook.key", key_);
  NotifyConfig c = Channel(Url(silent.address().port()));
  c.timeout_s = 1;
  const auto start = Clock::now();
  const Delivery d = SendWebhook(c, body_);
  const double took = Since(start);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("timed out"), std::string::npos) << d.detail;
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 2.5);
}

TEST_F(Webhook, MissingEmptyOrUnreadableKeyFileIsAClearFailure) {
  HookServer server(key_);
  const NotifyConfig c = Channel(Url(server.port()));
  Delivery d = SendWebhook(c, body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("secret_file " + c.secret_file), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("No such file"), std::string::npos) << d.detail;
  WriteFile(c.secret_file, "\n");
  d = SendWebhook(c, body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("is empty"), std::string::npos) << d.detail;
  NotifyConfig dir_as_key = c;
  dir_as_key.secret_file = dir_.path();
  d = SendWebhook(dir_as_key, body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("not a regular file"), std::string::npos) << d.detail;
  std::lock_guard lock(server.received.mu);
  EXPECT_EQ(server.received.requests, 0);
}

TEST_F(Webhook, EventIdThatCouldSplitTheHeaderIsRefused) {
  HookServer server(key_);
  WriteFile(dir_ / "hook.key", key_);
  const Delivery d = SendWebhook(Channel(Url(server.port())), body_, "id\r\nX-Evil: 1");
  EXPECT_FALSE(d.ok);
  std::lock_guard lock(server.received.mu);
  EXPECT_EQ(server.received.requests, 0);
}

TEST_F(Webhook, HttpsIsVerifiedAgainstTheTrustedCertificatesAndTheHostName) {
  MakeCertificate(dir_ / "cert.pem", dir_ / "key.pem");
  MakeCertificate(dir_ / "other.pem", dir_ / "other.key", "DNS:other.example");
  WriteFile(dir_ / "hook.key", key_);
  {
    HookServer server(key_, dir_ / "cert.pem", dir_ / "key.pem");
    const NotifyConfig c = Channel(Url(server.port(), "/hook", "https"));
    {
      TrustOnly trust(dir_ / "cert.pem");
      const Delivery d = SendWebhook(c, body_);
      EXPECT_TRUE(d.ok) << d.detail;
      EXPECT_EQ(d.detail, "HTTP 204 No Content from " + Url(server.port(), "", "https"));
    }
    // The system's CA store does not know the self-signed certificate.
    const Delivery untrusted = SendWebhook(c, body_);
    EXPECT_FALSE(untrusted.ok);
    EXPECT_NE(untrusted.detail.find("TLS"), std::string::npos) << untrusted.detail;
    std::lock_guard lock(server.received.mu);
    EXPECT_EQ(server.received.requests, 1);
  }
  // A trusted certificate for another name.
  HookServer other(key_, dir_ / "other.pem", dir_ / "other.key");
  TrustOnly trust(dir_ / "other.pem");
  const Delivery d = SendWebhook(Channel(Url(other.port(), "/hook", "https")), body_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("TLS"), std::string::npos) << d.detail;
  std::lock_guard lock(other.received.mu);
  EXPECT_EQ(other.received.requests, 0);
}

// ---- e-mail ----

TEST_F(Email, MessageArrivesWithHeadersAndBodyDecoded) {
  SmtpSink sink(dir_ / "sink");
  ASSERT_GT(sink.port(), 0) << sink.errors();
  const std::string subject = "Återläsningstest misslyckades: löner (payroll) på site-b, kontrollera säkerhetskopian";
  const std::string body =
      "Återläsningstestet av payroll misslyckades.\n"
      ".En rad som börjar med punkt\n"
      "." "\n"
      "En lång rad: " + std::string(120, 'x') + " slut.\n";
  const Delivery d = SendEmail(Channel(sink.port()), subject, body);
  ASSERT_TRUE(d.ok) << d.detail << sink.errors();
  EXPECT_NE(d.detail.find("SMTP 250"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("without TLS"), std::string::npos) << d.detail;
  const auto messages = sink.Messages();
  ASSERT_EQ(messages.size(), 1u);
  const auto& m = messages[0];
  SCOPED_TRACE(sink.Raw(1));
  EXPECT_EQ(m["mail_from"], "rp@example.se");
  EXPECT_EQ(m["rcpt_tos"], nlohmann::json({"anna@example.se", "drift@example.se"}));
  EXPECT_EQ(m["from"], "Restoreproof <rp@example.se>");
  EXPECT_EQ(m["to"], "anna@example.se, drift@example.se");
  EXPECT_EQ(m["subject"], subject);
  EXPECT_EQ(m["content_type"], "text/plain");
  EXPECT_EQ(m["charset"], "utf-8");
  EXPECT_EQ(m["body"], body);
  EXPECT_TRUE(m["seven_bit"]) << "8-bit bytes on the wire";
  EXPECT_LE(m["longest_line"].get<int>(), 78);
  EXPECT_EQ(m["defects"], nlohmann::json::array());
  EXPECT_NE(m["message_id"].get<std::string>().find('@'), std::string::npos);
  EXPECT_FALSE(m["tls"]);
}

TEST_F(Email, SubjectCannotAddHeaders) {
  SmtpSink sink(dir_ / "sink");
  ASSERT_GT(sink.port(), 0) << sink.errors();
  NotifyConfig c = Channel(sink.port());
  c.to = {"anna@example.se"};
  const Delivery d = SendEmail(c, "larm\r\nBcc: mallory@example.com", "text\n");
  ASSERT_TRUE(d.ok) << d.detail;
  const auto messages = sink.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["subject"], "larm  Bcc: mallory@example.com");
  EXPECT_EQ(messages[0]["rcpt_tos"], nlohmann::json({"anna@example.se"}));
}

TEST_F(Email, StartTlsRequiredAgainstAServerWithoutItSendsNothing) {
  SmtpSink sink(dir_ / "sink");
  ASSERT_GT(sink.port(), 0) << sink.errors();
  NotifyConfig c = Channel(sink.port());
  c.starttls = StartTls::kRequired;
  const Delivery d = SendEmail(c, "larm", "text\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("does not offer STARTTLS but starttls = \"required\""), std::string::npos) << d.detail;
  EXPECT_EQ(sink.MailLog(), "");
  EXPECT_TRUE(sink.Messages().empty());
}

TEST_F(Email, RejectedRecipientFailsWithTheCodeAndSendsNothing) {
  SmtpSink sink(dir_ / "sink");
  ASSERT_GT(sink.port(), 0) << sink.errors();
  NotifyConfig c = Channel(sink.port());
  c.to = {"anna@example.se", "rejected@example.se"};
  const Delivery d = SendEmail(c, "larm", "text\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("SMTP 550"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("at RCPT TO <rejected@example.se>"), std::string::npos) << d.detail;
  EXPECT_TRUE(sink.Messages().empty());
}

TEST_F(Email, DownServerIsAQuickConnectionRefused) {
  const auto start = Clock::now();
  const Delivery d = SendEmail(Channel(ClosedPort()), "larm", "text\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("connection refused"), std::string::npos) << d.detail;
  EXPECT_LT(Since(start), 1.0);
}

TEST_F(Email, ServerThatNeverGreetsTimesOutWithinTheTimeout) {
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
  NotifyConfig c = Channel(silent.address().port());
  c.timeout_s = 1;
  const auto start = Clock::now();
  const Delivery d = SendEmail(c, "larm", "text\n");
  const double took = Since(start);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("no answer"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("greeting"), std::string::npos) << d.detail;
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 2.5);
}

TEST_F(Email, StartTlsAutoEncryptsWhenOfferedAndVerifiesTheCertificate) {
  MakeCertificate(dir_ / "cert.pem", dir_ / "key.pem");
  SmtpSink sink(dir_ / "sink", {"--cert", dir_ / "cert.pem", "--key", dir_ / "key.pem"});
  ASSERT_GT(sink.port(), 0) << sink.errors();
  {
    TrustOnly trust(dir_ / "cert.pem");
    const Delivery d = SendEmail(Channel(sink.port()), "Återläsningstest misslyckades", "text\n");
    ASSERT_TRUE(d.ok) << d.detail << sink.errors();
    EXPECT_NE(d.detail.find("over STARTTLS"), std::string::npos) << d.detail;
  }
  auto messages = sink.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0]["tls"]);
  EXPECT_EQ(messages[0]["subject"], "Återläsningstest misslyckades");
  // Not trusted: no fallback to plain text, nothing sent.
  const Delivery untrusted = SendEmail(Channel(sink.port()), "larm", "text\n");
  EXPECT_FALSE(untrusted.ok);
  EXPECT_NE(untrusted.detail.find("TLS"), std::string::npos) << untrusted.detail;
  EXPECT_EQ(sink.Messages().size(), 1u);
  EXPECT_EQ(sink.MailLog(), "rp@example.se\n");
}

TEST_F(Email, AuthOverTlsWithThePasswordFileAndAWrongPasswordReported) {
  MakeCertificate(dir_ / "cert.pem", dir_ / "key.pem");
  WriteFile(dir_ / "server.pw", "rätt-lösen");
  SmtpSink sink(dir_ / "sink", {"--cert", dir_ / "cert.pem", "--key", dir_ / "key.pem", "--user", "anna",
                                "--password-file", dir_ / "server.pw"});
  ASSERT_GT(sink.port(), 0) << sink.errors();
  TrustOnly trust(dir_ / "cert.pem");
  NotifyConfig c = Channel(sink.port());
  c.username = "anna";
  c.password_file = dir_ / "client.pw";
  WriteFile(c.password_file, "rätt-lösen\n");
  const Delivery d = SendEmail(c, "larm", "text\n");
  ASSERT_TRUE(d.ok) << d.detail << sink.errors();
  auto messages = sink.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["auth_user"], "anna");

  WriteFile(c.password_file, "fel-lösen\n");
  const Delivery wrong = SendEmail(c, "larm", "text\n");
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.detail.find("SMTP 535"), std::string::npos) << wrong.detail;
  EXPECT_NE(wrong.detail.find("at AUTH"), std::string::npos) << wrong.detail;
  EXPECT_EQ(wrong.detail.find("fel-lösen"), std::string::npos) << wrong.detail;
  EXPECT_EQ(sink.Messages().size(), 1u);
}

TEST_F(Email, PasswordIsNotSentWithoutTls) {
  SmtpSink sink(dir_ / "sink");
  ASSERT_GT(sink.port(), 0) << sink.errors();
  NotifyConfig c = Channel(sink.port());
  c.username = "anna";
  c.password_file = dir_ / "client.pw";
  WriteFile(c.password_file, "hemligt\n");
  const Delivery d = SendEmail(c, "larm", "text\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("not sent without TLS"), std::string::npos) << d.detail;
  EXPECT_EQ(sink.MailLog(), "");
}

TEST_F(Email, MissingPasswordFileFailsBeforeConnecting) {
  NotifyConfig c = Channel(ClosedPort());
  c.username = "anna";
  c.password_file = dir_ / "nope.pw";
  const Delivery d = SendEmail(c, "larm", "text\n");
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.detail.find("password_file " + c.password_file), std::string::npos) << d.detail;
}

// ---- the pieces that read outside input ----

TEST(EhloReplyTest, ReadsStartTlsAuthAndSmtpUtf8) {
  const auto caps = ParseEhloReply("250-mail.example.se\n250-PIPELINING\n250-starttls\n250-AUTH LOGIN PLAIN\n250 SMTPUTF8");
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.auth_plain);
  EXPECT_TRUE(caps.auth_login);
  EXPECT_TRUE(caps.smtputf8);
  const auto old = ParseEhloReply("250-x\n250-AUTH=LOGIN\n250 SIZE 100");
  EXPECT_TRUE(old.auth_login);
  EXPECT_FALSE(old.auth_plain);
  EXPECT_FALSE(old.starttls);
  // The greeting line names the server; a server called STARTTLS offers nothing.
  EXPECT_FALSE(ParseEhloReply("250 STARTTLS").starttls);
  EXPECT_FALSE(ParseEhloReply("250-x\n250-XSTARTTLS\n250 AUTHX PLAIN").starttls);
  EXPECT_FALSE(ParseEhloReply("250-x\n250 AUTHX PLAIN").auth_plain);
  using namespace std::string_view_literals;
  for (std::string_view junk : {""sv, "\n"sv, "\n\n\n"sv, "2"sv, "250-\n250"sv, "\0\xff\n\xff\0"sv})
    EXPECT_FALSE(ParseEhloReply(junk).starttls);
}

TEST(HeaderTextTest, EncodedWordsAreShortWholeCharactersAndNeverEndTheHeader) {
  EXPECT_EQ(EncodeHeaderText("plain ascii"), "plain ascii");
  EXPECT_EQ(EncodeHeaderText("a\r\nBcc: x"), "a  Bcc: x");
  const std::string swedish = "Återläsningstest misslyckades för åäöÅÄÖ " + std::string(40, 'x') + " ÅÄÖ€😀";
  const std::string encoded = EncodeHeaderText(swedish);
  size_t start = 0;
  while (start < encoded.size()) {
    size_t end = encoded.find("\r\n ", start);
    const std::string word = encoded.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_LE(word.size(), 68u) << word;
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u) << word;
    if (end == std::string::npos) break;
    start = end + 3;
  }
  for (char ch : encoded) EXPECT_LT(static_cast<unsigned char>(ch), 0x80);
  // Invalid UTF-8 is carried, not a crash.
  EXPECT_FALSE(EncodeHeaderText(std::string(100, '\xff')).empty());
}

}  // namespace
}  // namespace rp::test
