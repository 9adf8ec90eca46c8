#include "rp/syslog_forward.h"

#include <Poco/Exception.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

namespace rp {

namespace {

// "2026-11-22T07:00:00Z": RFC 5424's TIMESTAMP in UTC.
std::string Timestamp(int64_t utc_s) {
  const auto t = static_cast<std::time_t>(utc_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool PrintUsAscii(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

Poco::Timespan Seconds(double s) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s * 1e6)); }

}  // namespace

// One connection to the collector, opened when needed and dropped at the first error, so the
// next attempt starts afresh (a restarted collector, a new address for its name).
class SyslogForwarder::Transport {
 public:
  Transport(const SyslogConfig& config, const SyslogForwarderOptions& options) : config_(config), options_(options) {}

  bool Datagram() const { return config_.transport != SyslogTransport::kTcp; }

  // Hands one message to the collector (TCP: framed as "LEN SP MSG"); false, and why in *error,
  // when it cannot.
  bool Send(const std::string& message, std::string* error) {
    try {
      if (Datagram()) {
        if (!datagram_) OpenDatagram();
        if (static_cast<size_t>(datagram_->sendBytes(message.data(), static_cast<int>(message.size()))) !=
            message.size())
          throw Poco::IOException("the datagram was cut short");
        return true;
      }
      if (stream_ && PeerClosed()) stream_.reset();
      if (!stream_) OpenStream();
      const std::string frame = std::to_string(message.size()) + " " + message;
      for (size_t off = 0; off < frame.size();) {
        const int n = stream_->sendBytes(frame.data() + off,
                                         static_cast<int>(std::min<size_t>(frame.size() - off, INT_MAX)), MSG_NOSIGNAL);
        if (n <= 0) throw Poco::IOException("the connection took no more bytes");
        off += static_cast<size_t>(n);
      }
      return true;
    } catch (const Poco::Exception& e) {
      *error = Where() + ": " + e.displayText();
      stream_.reset();
      datagram_.reset();
      return false;
    }
  }

 private:
  std::string Where() const {
    return config_.transport == SyslogTransport::kLocal ? "local syslog socket " + options_.local_socket
                                                        : config_.target;
  }

  void OpenDatagram() {
    using Poco::Net::SocketAddress;
    // Connected, so that a refusal the kernel learns of (ICMP port unreachable, a local socket
    // nobody reads) fails a later send instead of vanishing.
    const SocketAddress to = config_.transport == SyslogTransport::kLocal
                                 ? SocketAddress(SocketAddress::UNIX_LOCAL, options_.local_socket)
                                 : SocketAddress(config_.host, static_cast<Poco::UInt16>(config_.port));
    Poco::Net::DatagramSocket s(to.family());
    s.setSendTimeout(Seconds(options_.timeout_s));
    s.connect(to);
    datagram_ = std::move(s);
  }

  void OpenStream() {
    const Poco::Net::SocketAddress to(config_.host, static_cast<Poco::UInt16>(config_.port));
    Poco::Net::StreamSocket s;
    s.connect(to, Seconds(options_.timeout_s));
    s.setSendTimeout(Seconds(options_.timeout_s));
    stream_ = std::move(s);
  }

  // A collector never writes to us: a readable connection was closed (or reset) by the other
  // side. Checked before each message, so one that went away is not written into.
  bool PeerClosed() {
    try {
      if (!stream_->poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR))
        return false;
      char buf[256];
      return stream_->receiveBytes(buf, sizeof buf, MSG_DONTWAIT) <= 0;
    } catch (const Poco::Exception&) {
      return true;
    }
  }

  const SyslogConfig& config_;
  const SyslogForwarderOptions& options_;
  std::optional<Poco::Net::StreamSocket> stream_;
  std::optional<Poco::Net::DatagramSocket> datagram_;
};

std::string EscapeSdParam(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

int SyslogSeverity(const LogRecord& r) {
  const auto state = ParseRunState(r.result);
  const bool bad =
      state && (*state == RunState::kFailed || *state == RunState::kAborted || *state == RunState::kInterrupted);
  return bad ? 4 : 6;
}

std::string SyslogMessage(const LogRecord& r, const SyslogSender& sender, size_t max_bytes) {
  const nlohmann::json j = r;
  const std::string json = j.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  const std::string head = "<" + std::to_string(sender.facility * 8 + SyslogSeverity(r)) + ">1 " + Timestamp(r.time) +
                           " " + sender.hostname + " " + sender.app_name + " " + sender.procid + " restoration-log ";
  std::string sd = std::string("[") + kSyslogSdId + " seq=\"" + std::to_string(r.seq) + "\" hash=\"" +
                   EscapeSdParam(r.hash) + "\" kind=\"" + EscapeSdParam(LogKindName(r.kind)) + "\" target=\"" +
                   EscapeSdParam(r.target) + "\"";
  if (max_bytes == 0 || head.size() + sd.size() + 2 + json.size() <= max_bytes) return head + sd + "] " + json;
  // The JSON is ASCII: cutting it anywhere leaves valid UTF-8.
  sd += " truncated=\"" + std::to_string(json.size()) + "\"";
  const size_t fixed = head.size() + sd.size() + 2;
  return head + sd + "] " + json.substr(0, max_bytes > fixed ? max_bytes - fixed : 0);
}

std::string SyslogHostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "-";
  return PrintUsAscii(name, 255) ? std::string(name) : "-";
}

SyslogForwarder::SyslogForwarder(SyslogConfig config, Store* store, EventLog* log, SyslogForwarderOptions options)
    : config_(std::move(config)),
      store_(store),
      log_(log),
      options_(std::move(options)),
      sender_{config_.facility, config_.hostname.empty() ? SyslogHostname() : config_.hostname, config_.app_name,
              std::to_string(getpid())},
      transport_(std::make_unique<Transport>(config_, options_)) {}

SyslogForwarder::~SyslogForwarder() { Stop(); }

ForwardPass SyslogForwarder::ForwardPending() {
  ForwardPass pass;
  const size_t max_bytes = transport_->Datagram() ? options_.max_datagram : 0;
  int64_t cursor = store_->SyslogCursor(config_.target);
  for (bool more = true; more && !stop_;) {
    const auto records = store_->ReadLog(cursor + 1, options_.batch);
    more = records.size() == options_.batch;
    const int64_t before = cursor;
    for (const auto& r : records) {
      std::string error;
      if (!transport_->Send(SyslogMessage(r, sender_, max_bytes), &error)) {
        pass.ok = false;
        pass.error = error;
        pass.next_seq = r.seq;
        more = false;
        break;
      }
      cursor = r.seq;
      ++pass.sent;
      if (stop_) break;
    }
    // Once per batch, not per record: each commit reaches the disk. A crash in between sends
    // that batch again (the collector can drop a seq it has, with the same hash).
    if (cursor != before) store_->SetSyslogCursor(config_.target, cursor);
  }
  if (pass.ok) pass.next_seq = cursor + 1;
  return pass;
}

void SyslogForwarder::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SyslogForwarder::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SyslogForwarder::Loop() {
  log_->Info("syslog-forwarding", "", 0,
             {{"target", config_.target},
              {"facility", SyslogFacilityName(config_.facility)},
              {"hostname", sender_.hostname},
              {"app_name", sender_.app_name}});
  bool down = false;
  int64_t down_since = 0, retry_ms = 0;
  while (!stop_) {
    ForwardPass pass;
    try {
      pass = ForwardPending();
    } catch (const std::exception& e) {  // the store, not the collector: said each time, retried the same way
      log_->Error("syslog-error", "", 0, {{"target", config_.target}, {"error", e.what()}});
      pass.ok = false;
    }
    if (pass.ok) {
      retry_ms = 0;
      if (down) {
        down = false;
        log_->Info("syslog-restored", "", 0,
                   {{"target", config_.target}, {"down_s", NowS() - down_since}, {"sent", pass.sent}});
      }
    } else {
      retry_ms = retry_ms ? std::min(retry_ms * 2, options_.max_retry_ms) : options_.first_retry_ms;
      if (!down && !pass.error.empty()) {
        down = true;
        down_since = NowS();
        log_->Warn("syslog-unreachable", "", 0,
                   {{"target", config_.target},
                    {"error", pass.error},
                    {"seq", pass.next_seq},
                    {"detail",
                     "records stay in the restoration log and are sent in order once the collector "
                     "takes them; retried with backoff up to " +
                         std::to_string(options_.max_retry_ms / 1000) + " s"}});
      }
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(pass.ok ? options_.poll_ms : retry_ms),
                   [this] { return stop_.load(); });
  }
}

}  // namespace rp
