// Webhook and e-mail delivery (rp/notify.h) over Poco::Net. Each attempt makes its own TLS
// context: Poco's SSLManager default context is a process-wide singleton configured from a
// Poco::Util::Application we do not have. SMTP runs on Poco's DialogSocket (the line layer of
// SMTPClientSession) so that every step's reply code and name are ours to report, the socket
// is connected with the channel's timeout, and STARTTLS checks the certificate against
// smtp_host. The EHLO reply reader and the header encoder are in smtp_text.cpp (no Poco there,
// for the fuzz build).
#include "rp/notify.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DialogSocket.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/MailStream.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

namespace rp {
namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

Delivery Fail(std::string detail) { return Delivery{false, std::move(detail)}; }

// Text from the other side (a status line, a server's reply) made safe for one log line.
std::string Printable(std::string_view text, size_t max = 300) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c == 0x7f) ? ' ' : ch;
    if (out.size() >= max) {
      out += "...";
      break;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Seconds(double s) {
  std::ostringstream os;
  os << s << " s";
  return os.str();
}

Poco::Timespan Span(double seconds) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(std::llround(std::max(seconds, 0.001) * 1e6)));
}

// The whole file, one trailing line end removed. nullopt and *error when it cannot serve as a
// secret; the error names the file, never its content.
std::optional<std::string> ReadSecret(const std::string& path, std::string_view key, std::string* error) {
  const std::string what = std::string(key) + " " + (path.empty() ? "(not set)" : path);
  if (path.empty()) {
    *error = std::string(key) + " is not set";
    return std::nullopt;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = "cannot read " + what + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st{};
  std::string data;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (!ok) *error = "cannot read " + what + ": not a regular file";
  char buf[4096];
  while (ok) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + what + ": " + std::strerror(errno);
      ok = false;
    } else if (n == 0) {
      break;
    } else if (data.size() + static_cast<size_t>(n) > kMaxSecretBytes) {
      *error = what + " is larger than 64 KiB; is it the right file?";
      ok = false;
    } else {
      data.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  if (!ok) return std::nullopt;
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
  if (data.empty()) {
    *error = what + " is empty";
    return std::nullopt;
  }
  return data;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// A client context that verifies the peer's chain against the system's CA store (or
// SSL_CERT_FILE / SSL_CERT_DIR) and its name against the host we asked for. STRICT, since
// Poco skips the name check for loopback addresses under RELAXED.
Poco::Net::Context::Ptr ClientTls() {
  Poco::Net::Context::Ptr ctx(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "",
                                                     Poco::Net::Context::VERIFY_STRICT, 9, true));
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableExtendedCertificateVerification(true);
  return ctx;
}

// scheme://host:port/path of the webhook: no user information, query or fragment.
std::string Where(const Poco::URI& uri) {
  // Scheme, host and port only: chat services' webhook URLs carry their secret in the path.
  return uri.getScheme() + "://" + uri.getHost() + ":" + std::to_string(uri.getPort());
}

bool PrintableAscii(std::string_view s) {
  for (char ch : s)
    if (ch <= 0x20 || ch >= 0x7f) return false;
  return true;
}

// ---- e-mail ----

struct Address {
  std::string name;  // display name, may be empty
  std::string addr;  // local@domain
};

// "a@b" or "Name <a@b>". nullopt when the address could end a command or a header.
std::optional<Address> ParseAddress(std::string_view text) {
  Address a;
  const size_t lt = text.rfind('<');
  if (lt != std::string_view::npos) {
    if (text.empty() || text.back() != '>') return std::nullopt;
    a.addr = std::string(text.substr(lt + 1, text.size() - lt - 2));
    std::string_view name = text.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    a.name = std::string(name);
  } else {
    a.addr = std::string(text);
  }
  if (a.addr.empty()) return std::nullopt;
  for (char ch : a.addr) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || ch == '<' || ch == '>' || ch == '"' || ch == ',' || ch == ';') return std::nullopt;
  }
  for (char ch : a.name)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
  return a;
}

bool Ascii(std::string_view s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  return true;
}

std::string HeaderAddress(const Address& a) {
  if (a.name.empty()) return a.addr;
  std::string name;
  const bool atoms = std::all_of(a.name.begin(), a.name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || std::strchr(" !#$%&'*+-/=?^_`{|}~", ch);
  });
  if (!Ascii(a.name)) {
    name = EncodeHeaderText(a.name);
  } else if (atoms) {
    name = a.name;
  } else {
    name = "\"";
    for (char ch : a.name) {
      if (ch == '"' || ch == '\\') name += '\\';
      name += ch;
    }
    name += "\"";
  }
  return name + " <" + a.addr + ">";
}

std::string EhloName() {
  char host[256] = {};
  std::string name;
  if (gethostname(host, sizeof host - 1) == 0)
    for (const char* p = host; *p; ++p)
      if (std::isalnum(static_cast<unsigned char>(*p)) || *p == '.' || *p == '-') name += *p;
  return name.empty() ? "localhost" : name;
}

std::string MessageId(const std::string& domain) {
  unsigned char random[16];
  if (RAND_bytes(random, sizeof random) != 1) return {};
  return "<" + Hex(random, sizeof random) + "@" + domain + ">";
}

// One SMTP conversation: each step's reply code and text, and in *stage where we are, for the
// detail of a failure and of an exception.
class SmtpDialog {
 public:
  SmtpDialog(Poco::Net::DialogSocket& socket, std::string server, std::string* stage)
      : s_(socket), server_(std::move(server)), stage_(stage) {}

  // Sends `command` (when not empty) and reads the reply. False when the reply's code is not of
  // `expect_class` (2: completed, 3: go on), with the failure in detail().
  bool Step(const std::string& stage, const std::string& command, int expect_class) {
    *stage_ = stage;
    if (!command.empty()) s_.sendMessage(command);
    reply_.clear();
    const int code = s_.receiveStatusMessage(reply_);
    if (code / 100 == expect_class) return true;
    if (code == 0 && reply_.empty())
      detail_ = server_ + " closed the connection at " + stage;
    else if (code < 100)
      detail_ = server_ + " answered something that is not SMTP at " + stage + ": " + Printable(reply_, 120);
    else
      detail_ = "SMTP " + Printable(reply_) + " at " + stage + " (" + server_ + ")";
    return false;
  }
  void Quit() {
    try {
      s_.sendMessage("QUIT");
      std::string ignored;
      s_.receiveStatusMessage(ignored);
    } catch (const Poco::Exception&) {
      // The outcome is already decided; a server that drops the connection at QUIT changes nothing.
    }
  }
  const std::string& reply() const { return reply_; }
  const std::string& detail() const { return detail_; }
  void set_detail(std::string d) { detail_ = std::move(d); }

 private:
  Poco::Net::DialogSocket& s_;
  std::string server_;
  std::string* stage_;
  std::string reply_;
  std::string detail_;
};

// The body as quoted-printable (RFC 2045): every line, soft breaks included, at most 76
// characters, each ending in CRLF (SMTP servers may refuse a bare LF), 7-bit clean.
std::string QuotedPrintable(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view in = text.substr(start, end - start);
    for (size_t i = 0; i < in.size(); ++i) {
      const auto c = static_cast<unsigned char>(in[i]);
      const bool last = i + 1 == in.size();
      char token[3] = {static_cast<char>(c), 0, 0};
      size_t n = 1;
      if (!((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last))) {
        token[0] = '=', token[1] = kHex[c >> 4], token[2] = kHex[c & 15];
        n = 3;
      }
      if (line.size() + n > 75) {
        out += line + "=\r\n";
        line.clear();
      }
      line.append(token, n);
    }
    out += line + "\r\n";
    line.clear();
    start = end;
    if (start < text.size() && text[start] == '\r') ++start;
    if (start < text.size() && text[start] == '\n') ++start;
  }
  return out;
}

std::string FormatMessage(const Address& from, const std::vector<Address>& to, std::string_view subject,
                          std::string_view body, const std::string& domain) {
  std::string to_header;
  for (const auto& a : to) to_header += (to_header.empty() ? "" : ",\r\n ") + HeaderAddress(a);
  std::string m;
  m += "Date: " + Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::RFC1123_FORMAT) + "\r\n";
  m += "From: " + HeaderAddress(from) + "\r\n";
  m += "To: " + to_header + "\r\n";
  m += "Subject: " + EncodeHeaderText(subject) + "\r\n";
  if (std::string id = MessageId(domain); !id.empty()) m += "Message-ID: " + id + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  return m + QuotedPrintable(body);
}

}  // namespace

std::string WebhookSignature(std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  return "sha256=" + Hex(mac, len);
}

Delivery SendWebhook(const NotifyConfig& c, std::string_view json_body, std::string_view delivery_id) {
  std::string error;
  const std::optional<std::string> key = ReadSecret(c.secret_file, "secret_file", &error);
  if (!key) return Fail(error);
  if (delivery_id.size() > 200 || !PrintableAscii(delivery_id))
    return Fail("the event id is not printable ASCII of at most 200 characters");
  Poco::URI uri;
  try {
    uri = Poco::URI(c.url);
  } catch (const Poco::SyntaxException&) {
    return Fail("url of channel " + c.name + " is not a valid URL");
  }
  const bool https = uri.getScheme() == "https";
  if ((!https && uri.getScheme() != "http") || uri.getHost().empty())
    return Fail("url of channel " + c.name + " is not an http:// or https:// URL with a host");
  const std::string where = Where(uri);
  const std::string server = uri.getHost() + ":" + std::to_string(uri.getPort());

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(c.timeout_s);
  const char* stage = "connecting to";
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (https) session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ClientTls());
    else session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    session->setKeepAlive(false);
    session->setTimeout(Span(c.timeout_s), Span(c.timeout_s), Span(c.timeout_s));

    std::string target = uri.getPathEtc();
    if (target.empty() || target[0] != '/') target = "/" + target;
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(json_body.size()));
    request.set("User-Agent", "restoreproof");
    request.set("X-Restoreproof-Signature", WebhookSignature(*key, json_body));
    if (!delivery_id.empty()) request.set("X-Restoreproof-Event-Id", std::string(delivery_id));

    std::ostream& out = session->sendRequest(request);
    stage = "sending to";
    out.write(json_body.data(), static_cast<std::streamsize>(json_body.size()));
    out.flush();
    if (!out) return Fail("the request to " + where + " could not be sent (connection closed or timed out)");

    stage = "waiting for the answer of";
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    session->socket().setReceiveTimeout(Span(left));
    Poco::Net::HTTPResponse response;
    session->receiveResponse(response);
    const int status = static_cast<int>(response.getStatus());
    std::string detail = "HTTP " + std::to_string(status);
    if (!response.getReason().empty()) detail += " " + Printable(response.getReason(), 80);
    detail += " from " + where;
    if (status >= 300 && status < 400) detail += " (redirects are not followed)";
    return Delivery{status >= 200 && status < 300, detail};
  } catch (const Poco::Net::ConnectionRefusedException&) {
    return Fail("connection refused by " + server + " (" + where + ")");
  } catch (const Poco::TimeoutException&) {
    return Fail(std::string("timed out ") + stage + " " + where + " after " + Seconds(c.timeout_s));
  } catch (const Poco::Net::NoMessageException&) {
    return Fail(where + " closed the connection without an answer");
  } catch (const Poco::Net::HostNotFoundException&) {
    return Fail("host " + uri.getHost() + " not found (" + where + ")");
  } catch (const Poco::Net::SSLException& e) {
    return Fail("TLS with " + server + " failed: " + Printable(e.displayText()));
  } catch (const Poco::Exception& e) {
    return Fail(std::string(stage) + " " + where + " failed: " + Printable(e.displayText()));
  } catch (const std::exception& e) {
    return Fail(std::string(stage) + " " + where + " failed: " + Printable(e.what()));
  }
}

Delivery SendEmail(const NotifyConfig& c, std::string_view subject, std::string_view text_body) {
  const std::optional<Address> from = ParseAddress(c.from);
  if (!from) return Fail("from of channel " + c.name + " is not an address (\"a@b\" or \"Name <a@b>\")");
  std::vector<Address> to;
  for (const auto& t : c.to) {
    auto a = ParseAddress(t);
    if (!a) return Fail("to of channel " + c.name + ": " + Printable(t, 100) + " is not an address");
    to.push_back(*a);
  }
  if (to.empty()) return Fail("channel " + c.name + " has no recipients (to)");
  if (c.smtp_host.empty()) return Fail("channel " + c.name + " has no smtp_host");
  std::optional<std::string> password;
  if (!c.username.empty()) {
    std::string error;
    password = ReadSecret(c.password_file, "password_file", &error);
    if (!password) return Fail(error);
  }
  bool utf8_addresses = !Ascii(from->addr);
  for (const auto& a : to) utf8_addresses = utf8_addresses || !Ascii(a.addr);

  const std::string server = c.smtp_host + ":" + std::to_string(c.smtp_port);
  std::string stage = "connect";
  try {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(c.smtp_host, static_cast<Poco::UInt16>(c.smtp_port)), Span(c.timeout_s));
    socket.setSendTimeout(Span(c.timeout_s));
    socket.setReceiveTimeout(Span(c.timeout_s));
    Poco::Net::DialogSocket session(socket);
    SmtpDialog smtp(session, server, &stage);
    const auto fail = [&]() {
      std::string detail = smtp.detail();
      smtp.Quit();
      return Fail(detail + "; nothing was sent");
    };

    const std::string ehlo_name = EhloName();
    if (!smtp.Step("greeting", "", 2)) return fail();
    if (!smtp.Step("EHLO", "EHLO " + ehlo_name, 2)) return fail();
    SmtpCapabilities caps = ParseEhloReply(smtp.reply());

    bool tls = false;
    if (c.starttls == StartTls::kRequired && !caps.starttls) {
      smtp.set_detail(server + " does not offer STARTTLS but starttls = \"required\"");
      return fail();
    }
    if (c.starttls != StartTls::kOff && caps.starttls) {
      if (!smtp.Step("STARTTLS", "STARTTLS", 2)) return fail();
      stage = "TLS handshake";
      Poco::Net::SecureStreamSocket secure =
          Poco::Net::SecureStreamSocket::attach(session, c.smtp_host, ClientTls());
      session = secure;  // also drops anything the server sent before the handshake
      tls = true;
      if (!smtp.Step("EHLO after STARTTLS", "EHLO " + ehlo_name, 2)) return fail();
      caps = ParseEhloReply(smtp.reply());
    }

    if (password) {
      if (!tls && c.starttls != StartTls::kOff) {
        smtp.set_detail(server + " offers no STARTTLS: the password is not sent without TLS (starttls = \"off\" "
                                 "allows it, for a relay on this host)");
        return fail();
      }
      if (caps.auth_plain) {
        const std::string token = std::string(1, '\0') + c.username + std::string(1, '\0') + *password;
        if (!smtp.Step("AUTH PLAIN", "AUTH PLAIN " + Base64(token), 2)) return fail();
      } else if (caps.auth_login) {
        if (!smtp.Step("AUTH LOGIN", "AUTH LOGIN", 3) || !smtp.Step("AUTH LOGIN", Base64(c.username), 3) ||
            !smtp.Step("AUTH LOGIN", Base64(*password), 2))
          return fail();
      } else {
        smtp.set_detail(server + " offers neither AUTH PLAIN nor AUTH LOGIN, and username is set");
        return fail();
      }
    }

    if (utf8_addresses && !caps.smtputf8) {
      smtp.set_detail("an address is not ASCII and " + server + " does not offer SMTPUTF8");
      return fail();
    }
    const std::string utf8 = utf8_addresses ? " SMTPUTF8" : "";
    if (!smtp.Step("MAIL FROM", "MAIL FROM:<" + from->addr + ">" + utf8, 2)) return fail();
    for (const auto& a : to)
      if (!smtp.Step("RCPT TO <" + a.addr + ">", "RCPT TO:<" + a.addr + ">", 2)) return fail();
    if (!smtp.Step("DATA", "DATA", 3)) return fail();

    stage = "message";
    {
      Poco::Net::SocketOutputStream socket_out(session);
      Poco::Net::MailOutputStream mail_out(socket_out);
      mail_out << FormatMessage(*from, to, subject, text_body, ehlo_name);
      mail_out.close();
      socket_out.flush();
    }
    if (!smtp.Step("end of DATA", "", 2)) {
      std::string detail = smtp.detail();
      smtp.Quit();
      return Fail(detail + "; the message was refused");
    }
    const std::string accepted = Printable(smtp.reply());
    smtp.Quit();
    return Delivery{true, "SMTP " + accepted + " from " + server + ": message for " + std::to_string(to.size()) +
                              (to.size() == 1 ? " recipient" : " recipients") + (tls ? ", over STARTTLS" : ", without TLS")};
  } catch (const Poco::Net::ConnectionRefusedException&) {
    return Fail("connection refused by " + server);
  } catch (const Poco::TimeoutException&) {
    return Fail("no answer from " + server + " within " + Seconds(c.timeout_s) + " at " + stage);
  } catch (const Poco::Net::HostNotFoundException&) {
    return Fail("host " + c.smtp_host + " not found");
  } catch (const Poco::Net::SSLException& e) {
    return Fail("TLS with " + server + " failed: " + Printable(e.displayText()) + "; nothing was sent");
  } catch (const Poco::Exception& e) {
    return Fail("SMTP with " + server + " failed at " + stage + ": " + Printable(e.displayText()));
  } catch (const std::exception& e) {
    return Fail("SMTP with " + server + " failed at " + stage + ": " + Printable(e.what()));
  }
}

}  // namespace rp
