#include "rp/web_server.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <string_view>
#include <thread>

#include "rp/event_log.h"
#include "rp/store.h"
#include "web_app.h"

namespace rp {

namespace {

using Clock = std::chrono::steady_clock;

// Every connection must be read and answered within the timeout: Poco's socket timeouts bound
// each read and write, not the whole, so a client trickling a byte a second would hold a thread.
// Each accepted socket is kept here with its deadline and shut down when the deadline passes
// unless its answer was sent first. At most `max_open` connections are open at once; more are
// refused at accept.
class ConnectionDeadlines {
 public:
  ConnectionDeadlines(double timeout_s, size_t max_open)
      : timeout_(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000))), max_open_(max_open),
        thread_([this] { Loop(); }) {}
  ~ConnectionDeadlines() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool Admit(const Poco::Net::StreamSocket& socket) {
    std::lock_guard lock(mu_);
    if (open_.size() >= max_open_) return false;
    open_.push_back({Clock::now() + timeout_, socket});
    cv_.notify_all();
    return true;
  }

  void Release(const Poco::Net::Socket& socket) {
    std::lock_guard lock(mu_);
    for (auto it = open_.begin(); it != open_.end(); ++it)
      if (it->socket.impl() == socket.impl()) {
        open_.erase(it);
        return;
      }
  }

 private:
  struct Open {
    Clock::time_point deadline;
    Poco::Net::StreamSocket socket;  // a reference: the descriptor stays open while held here
  };

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (open_.empty()) {
        cv_.wait(lock);
        continue;
      }
      // Deadlines are in admission order, all with the same timeout.
      if (cv_.wait_until(lock, open_.front().deadline) == std::cv_status::no_timeout) continue;
      while (!open_.empty() && open_.front().deadline <= Clock::now()) {
        // The descriptor itself, not StreamSocket::shutdown(): under TLS that would write a
        // close_notify through the SSL object the connection's thread is using. The thread sees
        // the end and lets go; a descriptor already closed answers EBADF, which changes nothing.
        ::shutdown(open_.front().socket.impl()->sockfd(), SHUT_RDWR);
        open_.pop_front();
      }
    }
  }

  const Clock::duration timeout_;
  const size_t max_open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Open> open_;
  bool stop_ = false;
  std::thread thread_;
};

class DeadlineFilter : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit DeadlineFilter(ConnectionDeadlines* deadlines) : deadlines_(deadlines) {}
  bool accept(const Poco::Net::StreamSocket& socket) override { return deadlines_->Admit(socket); }

 private:
  ConnectionDeadlines* deadlines_;
};

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(web::State* state, ConnectionDeadlines* deadlines) : state_(state), deadlines_(deadlines) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    web::Reply reply;
    try {
      reply = Answer(request);
    } catch (const std::exception& e) {
      state_->log().Error("web-error", "", 0, {{"path", PathOf(request)}, {"error", e.what()}});
      reply = web::Text(500, "internal error\n");
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    response.setContentType(reply.content_type);
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Cache-Control", "no-store");
    response.set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    response.set("X-Frame-Options", "DENY");
    response.set("Referrer-Policy", "no-referrer");
    if (state_->tls()) response.set("Strict-Transport-Security", "max-age=31536000");
    for (const auto& [name, value] : reply.headers) response.add(name, value);
    if (reply.gzip_body) {
      response.set("Vary", "Accept-Encoding");
      if (AcceptsGzip(request.get("Accept-Encoding", ""))) {
        reply.body = *reply.gzip_body;
        response.set("Content-Encoding", "gzip");
      }
    }
    response.setKeepAlive(false);
    response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    std::ostream& out = response.send();
    if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_HEAD) out.write(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
    out.flush();
    deadlines_->Release(static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket());
  }

 private:
  static std::string PathOf(const Poco::Net::HTTPServerRequest& request) {
    const std::string& uri = request.getURI();
    return uri.substr(0, uri.find('?'));
  }

  web::Reply Answer(Poco::Net::HTTPServerRequest& request) {
    const int64_t limit = state_->config()->web.max_request_bytes;
    int64_t header_bytes = static_cast<int64_t>(request.getURI().size() + request.getMethod().size());
    for (const auto& [name, value] : request) header_bytes += static_cast<int64_t>(name.size() + value.size() + 4);
    if (header_bytes > limit) return web::Text(431, "request headers too large\n");
    if (request.getChunkedTransferEncoding() ||
        (request.hasContentLength() && request.getContentLength64() > limit - header_bytes))
      return web::Text(413, "request body too large\n");
    web::Request r;
    r.method = request.getMethod();
    const std::string& uri = request.getURI();
    const size_t q = uri.find('?');
    r.path = uri.substr(0, q);
    if (q != std::string::npos) r.query = uri.substr(q + 1);
    for (const auto& [name, value] : request) {
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[lower] = value;
    }
    Poco::Net::NameValueCollection cookies;
    request.getCookies(cookies);
    for (const auto& [name, value] : cookies) r.cookies.emplace(name, value);
    r.address = request.clientAddress().host().toString();
    if (r.method == Poco::Net::HTTPRequest::HTTP_POST && request.hasContentLength()) {
      const auto length = static_cast<size_t>(request.getContentLength64());
      r.body.resize(length);
      request.stream().read(r.body.data(), static_cast<std::streamsize>(length));
      r.body.resize(static_cast<size_t>(request.stream().gcount()));
    }
    return web::Route(*state_, r);
  }

  web::State* state_;
  ConnectionDeadlines* deadlines_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(web::State* state, ConnectionDeadlines* deadlines) : state_(state), deadlines_(deadlines) {}
  // The one place objects are handed to Poco, which deletes them.
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(state_, deadlines_);
  }

 private:
  web::State* state_;
  ConnectionDeadlines* deadlines_;
};

// "host:port", "[v6]:port" into an address; nullopt when it does not resolve.
std::optional<Poco::Net::SocketAddress> ListenAddress(const std::string& listen, std::string* error) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    return Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(std::stoi(listen.substr(colon + 1))));
  } catch (const Poco::Exception& e) {
    *error = e.displayText();
  } catch (const std::exception& e) {  // the port as written was checked when the file was loaded
    *error = e.what();
  }
  return std::nullopt;
}

// TLS 1.2 and 1.3 only. For TLS 1.2 the forward-secret AEAD suites (Mozilla's "intermediate"
// list); TLS 1.3's suites are OpenSSL's, all of them AEAD. No client certificates.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

// The server's TLS context from the configured certificate and key. Throws a Poco exception whose
// text names the file at fault.
Poco::Net::Context::Ptr TlsContext(const WebConfig& web) {
  for (const auto& [what, path] : {std::pair<const char*, const std::string&>{"tls_certificate", web.tls_certificate},
                                   {"tls_key", web.tls_key}}) {
    std::ifstream in(path);
    if (!in) throw Poco::FileAccessDeniedException(std::string("[web] ") + what + " " + path + " cannot be read");
    if (std::string_view(what) == "tls_key") {
      std::string line;
      while (std::getline(in, line))
        if (line.find("ENCRYPTED") != std::string::npos)
          throw Poco::InvalidArgumentException("[web] tls_key " + path +
                                               " is encrypted: give the key without a passphrase, readable only by "
                                               "the service's user");
    }
  }
  Poco::Net::Context::Params params;
  params.certificateFile = web.tls_certificate;
  params.privateKeyFile = web.tls_key;
  params.verificationMode = Poco::Net::Context::VERIFY_NONE;
  params.loadDefaultCAs = false;
  params.cipherList = kTls12Ciphers;
  params.dhUse2048Bits = true;
  Poco::Net::Context::Ptr context;
  try {
    context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
  } catch (const Poco::Exception& e) {
    throw Poco::InvalidArgumentException("[web] tls_certificate " + web.tls_certificate + " and tls_key " + web.tls_key +
                                         " do not make a TLS server (a PEM certificate and its own private key?): " +
                                         e.displayText());
  }
  // OpenSSL drops a key that does not match the certificate instead of failing; every handshake
  // would then fail. Refuse it here, naming both files.
  if (SSL_CTX_check_private_key(context->sslContext()) != 1)
    throw Poco::InvalidArgumentException("[web] tls_key " + web.tls_key + " is not the private key of tls_certificate " +
                                         web.tls_certificate);
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  context->preferServerCiphers();
  return context;
}

class WebServer : public ServeExtension {
 public:
  explicit WebServer(const ServeContext& context) : context_(context) {}
  ~WebServer() override { Stop(); }

  void Start() override {
    std::lock_guard lock(mu_);
    StartLocked();
  }

  void Reload(std::shared_ptr<const Config> config) override {
    std::lock_guard lock(mu_);
    const bool same = config->web == context_.config->web && config->appliance.listen == context_.config->appliance.listen;
    context_.config = config;
    if (state_) state_->SetConfig(config);
    // Under TLS every reload restarts the server, so that a renewed certificate and key at the
    // same paths take effect.
    if (same && !config->web.tls()) return;
    StopLocked();
    StartLocked();
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    StopLocked();
  }

 private:
  void StartLocked() {
    const Config& cfg = *context_.config;
    EventLog& log = *context_.log;
    if (!cfg.web.enabled) {
      log.Info("web-disabled", "", 0, {{"detail", "[web] enabled = false"}});
      return;
    }
    std::unique_ptr<Pseudonymiser> names;
    if (Status s = Pseudonymiser::LoadOrCreate(cfg.appliance.data_dir, &names); !s.ok())
      log.Error("web-pseudonyms-failed", "", 0,
                {{"error", s.message()}, {"detail", "/metrics leaves out every target that holds personal data"}});
    std::string error;
    const auto address = ListenAddress(cfg.appliance.listen, &error);
    try {
      if (!address) throw Poco::InvalidArgumentException(error);
      if (cfg.web.tls() && !ssl_initialized_) {
        Poco::Net::initializeSSL();
        ssl_initialized_ = true;
      }
      const Poco::Net::ServerSocket socket =
          cfg.web.tls() ? Poco::Net::SecureServerSocket(*address, cfg.web.queue, TlsContext(cfg.web))
                        : Poco::Net::ServerSocket(*address, cfg.web.queue);
      state_ = std::make_unique<web::State>(context_, std::move(names));
      deadlines_ = std::make_unique<ConnectionDeadlines>(
          cfg.web.timeout_s, static_cast<size_t>(2 * (cfg.web.threads + cfg.web.queue)));
      pool_ = std::make_unique<Poco::ThreadPool>("web", 1, cfg.web.threads);
      Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(cfg.web.threads);
      params->setMaxQueued(cfg.web.queue);
      params->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(cfg.web.timeout_s * 1e6)));
      params->setKeepAlive(false);
      params->setServerName("restoreproof");
      server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(state_.get(), deadlines_.get()), *pool_,
                                                        socket, params);
      server_->setConnectionFilter(new DeadlineFilter(deadlines_.get()));
      server_->start();
      log.Info("web-started", "", 0,
               {{"listen", socket.address().toString()}, {"port", socket.address().port()},
                {"tls", cfg.web.tls()}, {"proxy_user_header", cfg.web.proxy_user_header},
                {"threads", cfg.web.threads}, {"queue", cfg.web.queue},
                {"max_request_bytes", cfg.web.max_request_bytes}, {"timeout_s", cfg.web.timeout_s}});
    } catch (const Poco::Exception& e) {
      StopLocked();
      log.Error("web-failed", "", 0,
                {{"listen", cfg.appliance.listen}, {"error", e.displayText()},
                 {"detail", "the controller runs on without its web server"}});
    }
  }

  void StopLocked() {
    const bool was_running = server_ != nullptr;
    if (server_) server_->stopAll(/*abortCurrent=*/true);
    server_.reset();
    if (pool_) pool_->joinAll();
    pool_.reset();
    deadlines_.reset();
    state_.reset();
    if (ssl_initialized_) {
      Poco::Net::uninitializeSSL();
      ssl_initialized_ = false;
    }
    if (was_running) context_.log->Info("web-stopped");
  }

  std::mutex mu_;
  ServeContext context_;
  std::unique_ptr<web::State> state_;
  std::unique_ptr<ConnectionDeadlines> deadlines_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  bool ssl_initialized_ = false;
};

}  // namespace

std::unique_ptr<ServeExtension> MakeWebServer(const ServeContext& context) {
  return std::make_unique<WebServer>(context);
}

}  // namespace rp
