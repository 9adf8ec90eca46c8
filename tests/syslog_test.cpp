// Forwarding the restoration log to syslog (docs/restoration-log.md, "Forwarding to a central
// log"): real collectors on loopback, written here with plain sockets (a TCP listener that reads
// RFC 6587 octet-counted frames, a UDP listener, a unix datagram socket standing in for
// /dev/log), each message parsed as RFC 5424 and held against the record in the store; a
// collector that is down while records are appended; a forwarder restarted over a real SQLite
// store; the [syslog] section's errors; and one record forwarded by `serve` itself.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>
#include <thread>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/restoration_log.h"
#include "rp/store.h"
#include "rp/subprocess.h"
#include "rp/syslog_forward.h"
#include "process_kit.h"
#include "testkit.h"

namespace rp {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using test::ReadFile;
using test::TempDir;
using test::WriteFile;

constexpr int64_t kStart = 1763798400;  // 2025-11-22T08:00:00Z

using test::WaitFor;

// --- an RFC 5424 reader, written from the RFC and independent of the code under test --------

struct Syslog5424 {
  bool ok = false;
  std::string why;  // !ok: where the parse failed
  int pri = -1, version = -1;
  std::string timestamp, hostname, app_name, procid, msgid, sd_id;
  std::map<std::string, std::string> params;  // unescaped
  std::string msg;
};

Syslog5424 Parse5424(const std::string& m) {
  Syslog5424 p;
  size_t i = 0;
  const auto fail = [&](const std::string& why) {
    p.ok = false;
    p.why = why + " at byte " + std::to_string(i) + " of: " + m.substr(0, 300);
    return p;
  };
  if (m.empty() || m[0] != '<') return fail("no <PRI>");
  const size_t close = m.find('>');
  if (close == std::string::npos || close < 2 || close > 4) return fail("bad PRI");
  p.pri = std::stoi(m.substr(1, close - 1));
  i = close + 1;
  const auto token = [&](std::string* out) {
    const size_t sp = m.find(' ', i);
    if (sp == std::string::npos || sp == i) return false;
    *out = m.substr(i, sp - i);
    i = sp + 1;
    return true;
  };
  std::string version;
  if (!token(&version)) return fail("no VERSION");
  p.version = std::stoi(version);
  if (!token(&p.timestamp) || !token(&p.hostname) || !token(&p.app_name) || !token(&p.procid) || !token(&p.msgid))
    return fail("header cut short");
  if (i >= m.size() || m[i] != '[') return fail("no SD-ELEMENT");
  ++i;
  while (i < m.size() && m[i] != ' ' && m[i] != ']') p.sd_id += m[i++];
  while (i < m.size() && m[i] == ' ') {
    ++i;
    const size_t eq = m.find("=\"", i);
    if (eq == std::string::npos) return fail("SD-PARAM without =\"");
    const std::string name = m.substr(i, eq - i);
    i = eq + 2;
    std::string value;
    for (; i < m.size() && m[i] != '"'; ++i) {
      if (m[i] == '\\' && i + 1 < m.size() && (m[i + 1] == '"' || m[i + 1] == '\\' || m[i + 1] == ']'))
        ++i;
      else if (m[i] == ']')
        return fail("unescaped ] in PARAM-VALUE");
      value += m[i];
    }
    if (i >= m.size()) return fail("unterminated PARAM-VALUE");
    ++i;
    p.params[name] = value;
  }
  if (i >= m.size() || m[i] != ']') return fail("SD-ELEMENT not closed");
  ++i;
  if (i < m.size()) {
    if (m[i] != ' ') return fail("no SP before MSG");
    p.msg = m.substr(i + 1);
  }
  p.ok = true;
  return p;
}

// --- collectors --------------------------------------------------------------------------------

// A TCP syslog collector on 127.0.0.1: reads RFC 6587 octet-counted frames ("LEN SP MSG"), one
// connection after another, on its own thread.
class TcpCollector {
 public:
  explicit TcpCollector(int port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 8) != 0) return;
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TcpCollector() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> Messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::string FramingError() {
    std::lock_guard lock(mu_);
    return framing_error_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard lock(mu_);
        ++connections_;
      }
      Read(c);
      close(c);
    }
  }
  void Read(int c) {
    std::string buf;
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char chunk[65536];
      const ssize_t n = read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      for (;;) {
        const size_t sp = buf.find(' ');
        if (sp == std::string::npos) break;
        const std::string len = buf.substr(0, sp);
        std::lock_guard lock(mu_);
        if (len.empty() || len.find_first_not_of("0123456789") != std::string::npos || len[0] == '0') {
          framing_error_ = "not an octet count: \"" + buf.substr(0, 40) + "\"";
          return;
        }
        const size_t size = std::stoul(len);
        if (buf.size() < sp + 1 + size) break;
        messages_.push_back(buf.substr(sp + 1, size));
        buf.erase(0, sp + 1 + size);
      }
    }
  }

  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> messages_;
  std::string framing_error_;
  int connections_ = 0;
};

// A datagram collector: UDP on 127.0.0.1, or a unix datagram socket at a path (as /dev/log is).
class DatagramCollector {
 public:
  DatagramCollector() {  // UDP
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    const int big = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  explicit DatagramCollector(const std::string& path) {  // unix
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~DatagramCollector() { close(fd_); }
  int port() const { return port_; }
  bool bound() const { return bound_ || port_ > 0; }
  // The next `n` datagrams, waiting up to `seconds` for each.
  std::vector<std::string> Receive(size_t n, int seconds = 10) {
    std::vector<std::string> out;
    std::string buf(1 << 17, '\0');
    while (out.size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, seconds * 1000) <= 0) break;
      const ssize_t got = recv(fd_, buf.data(), buf.size(), 0);
      if (got < 0) break;
      out.emplace_back(buf.data(), static_cast<size_t>(got));
    }
    return out;
  }

 private:
  int fd_ = -1, port_ = 0;
  bool bound_ = false;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed): a collector that is down.
int FreeTcpPort() {
  TcpCollector probe;
  return probe.port();
}

// An EventLog target that may be read while the forwarder's thread writes to it.
class SyncedText : public std::streambuf {
 public:
  std::string Text() {
    std::lock_guard lock(mu_);
    return text_;
  }
  size_t Count(const std::string& event) {
    size_t n = 0;
    std::istringstream lines(Text());
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line, nullptr, false);
      n += j.is_object() && j.value("event", "") == event;
    }
    return n;
  }

 protected:
  int overflow(int c) override {
    std::lock_guard lock(mu_);
    if (c != EOF) text_ += static_cast<char>(c);
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(mu_);
    text_.append(s, static_cast<size_t>(n));
    return n;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

// --- the estate ------------------------------------------------------------------------------

class SyslogTest : public ::testing::Test {
 protected:
  SyslogTest() : events_stream_(&events_), log_(&events_stream_) {}

  std::string db() const { return dir_ / "restoreproof.db"; }
  std::unique_ptr<Store> Open() const {
    std::unique_ptr<Store> s;
    const Status st = OpenSqliteStore(db(), &s, false);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  // Record i: a passed or failed restore test of a target holding personal data, with texts a
  // collector must get exactly (quotes, backslashes, a newline, Swedish letters).
  static LogRecord Sample(int i, const std::string& target = "löner") {
    static const TimeZone zone = *TimeZone::Locate("Europe/Stockholm");
    LogRecord r = NewLogRecord(i % 5 == 0 ? LogKind::kConfigChange : LogKind::kScheduledTest, kStart + i * 3600, zone);
    if (r.kind == LogKind::kConfigChange) {
      r.responsible = "root";
      r.result = "in force";
      r.changed_keys = {"syslog.target"};
      return r;
    }
    r.target = target;
    r.point = target + "-20251122T020000.tar";
    r.location = "site-a";
    r.responsible = "Åsa Öberg";
    r.personal_data = "Anställda: namn, personnummer";
    r.reason = "scheduled \"restore\" test \\ line\nbreak";
    r.result = i % 3 == 2 ? "failed" : "passed";
    r.files = static_cast<uint64_t>(10 + i);
    r.bytes = static_cast<uint64_t>(1000 * i);
    r.run_id = i;
    r.correctness = r.result == "passed" ? Correctness::kCorrect : Correctness::kIncorrect;
    if (r.result == "failed") r.failed_files = {"lön/januari.csv"};
    return r;
  }

  SyslogConfig Tcp(int port) const {
    SyslogConfig c;
    c.target = "tcp://127.0.0.1:" + std::to_string(port);
    c.transport = SyslogTransport::kTcp;
    c.host = "127.0.0.1";
    c.port = port;
    c.hostname = "backup-appliance.example.se";
    return c;
  }
  SyslogConfig Udp(int port) const {
    SyslogConfig c = Tcp(port);
    c.target = "udp://127.0.0.1:" + std::to_string(port);
    c.transport = SyslogTransport::kUdp;
    return c;
  }

  // Every message holds its record: RFC 5424 header, the SD with seq and hash, the JSON.
  static void ExpectRecordMessage(const std::string& message, const LogRecord& r, const SyslogConfig& c) {
    const Syslog5424 p = Parse5424(message);
    ASSERT_TRUE(p.ok) << p.why;
    const int severity = r.result == "failed" ? 4 : 6;
    EXPECT_EQ(p.pri, c.facility * 8 + severity) << "seq " << r.seq << " result " << r.result;
    EXPECT_EQ(p.version, 1);
    char ts[32];
    const auto t = static_cast<std::time_t>(r.time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    EXPECT_EQ(p.timestamp, ts);
    EXPECT_EQ(p.hostname, c.hostname.empty() ? SyslogHostname() : c.hostname);
    EXPECT_EQ(p.app_name, c.app_name);
    EXPECT_EQ(p.procid, std::to_string(getpid()));
    EXPECT_EQ(p.msgid, "restoration-log");
    EXPECT_EQ(p.sd_id, "rp@32473");
    EXPECT_EQ(p.params.at("seq"), std::to_string(r.seq));
    EXPECT_EQ(p.params.at("hash"), r.hash);
    EXPECT_EQ(p.params.at("kind"), LogKindName(r.kind));
    EXPECT_EQ(p.params.at("target"), r.target);
    EXPECT_EQ(p.params.count("truncated"), 0u);
    const json got = json::parse(p.msg, nullptr, false);
    ASSERT_FALSE(got.is_discarded()) << p.msg;
    EXPECT_EQ(got, json(r)) << "MSG is the record as `log show --json` prints it";
    EXPECT_EQ(p.msg.find_first_of("\r\n"), std::string::npos) << "one line";
  }

  std::vector<int64_t> Seqs(const std::vector<std::string>& messages) {
    std::vector<int64_t> out;
    for (const auto& m : messages) {
      const Syslog5424 p = Parse5424(m);
      out.push_back(p.ok ? std::stoll(p.params.at("seq")) : -1);
    }
    return out;
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
  }

  static SyslogForwarderOptions Quick() {
    SyslogForwarderOptions o;
    o.timeout_s = 2;
    o.first_retry_ms = 40;
    o.max_retry_ms = 160;
    o.poll_ms = 30;
    o.batch = 3;  // several batches in every test
    return o;
  }

  TempDir dir_;
  SyncedText events_;
  std::ostream events_stream_;
  EventLog log_;
};

TEST_F(SyslogTest, TcpCollectorGetsEveryRecordOctetCountedAsRfc5424WithTheRecordAsJson) {
  TcpCollector collector;
  ASSERT_GT(collector.port(), 0);
  auto store = Open();
  std::vector<LogRecord> records;
  for (int i = 1; i <= 7; ++i) records.push_back(store->AppendLog(Sample(i)));
  const SyslogConfig c = Tcp(collector.port());
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  const ForwardPass pass = forwarder.ForwardPending();
  EXPECT_TRUE(pass.ok) << pass.error;
  EXPECT_EQ(pass.sent, 7u);
  EXPECT_EQ(pass.next_seq, 8);
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 7; }, 10)) << collector.FramingError();
  const auto got = collector.Messages();
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(collector.FramingError(), "");
  for (size_t i = 0; i < got.size(); ++i) ExpectRecordMessage(got[i], records[i], c);
  EXPECT_EQ(store->SyslogCursor(c.target), 7);
  EXPECT_EQ(collector.connections(), 1) << "one connection for all records";

  // Nothing new: nothing sent. A new record: only it.
  EXPECT_EQ(forwarder.ForwardPending().sent, 0u);
  records.push_back(store->AppendLog(Sample(8)));
  EXPECT_EQ(forwarder.ForwardPending().sent, 1u);
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 8; }, 10));
  ExpectRecordMessage(collector.Messages()[7], records[7], c);
}

TEST_F(SyslogTest, UdpCollectorGetsEachRecordAsOneDatagramWithTheConfiguredFacility) {
  DatagramCollector collector;
  ASSERT_TRUE(collector.bound());
  auto store = Open();
  std::vector<LogRecord> records;
  for (int i = 1; i <= 5; ++i) records.push_back(store->AppendLog(Sample(i)));
  SyslogConfig c = Udp(collector.port());
  c.facility = *ParseSyslogFacility("authpriv");
  c.app_name = "rp-test";
  c.hostname = "";  // the machine's name
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  EXPECT_TRUE(forwarder.ForwardPending().ok);
  const auto got = collector.Receive(5);
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); ++i) ExpectRecordMessage(got[i], records[i], c);
  EXPECT_EQ(Parse5424(got[1]).pri, 10 * 8 + 4) << "authpriv.warning for the failed run";
  EXPECT_EQ(store->SyslogCursor(c.target), 5);
}

TEST_F(SyslogTest, LocalTargetSendsToTheLocalSyslogSocket) {
  const std::string path = dir_ / "dev-log";
  DatagramCollector collector(path);
  ASSERT_TRUE(collector.bound());
  auto store = Open();
  const LogRecord r = store->AppendLog(Sample(1));
  SyslogConfig c;
  c.target = "local";
  c.transport = SyslogTransport::kLocal;
  SyslogForwarderOptions o = Quick();
  o.local_socket = path;
  SyslogForwarder forwarder(c, store.get(), &log_, o);
  EXPECT_TRUE(forwarder.ForwardPending().ok);
  const auto got = collector.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  ExpectRecordMessage(got[0], r, c);
}

TEST_F(SyslogTest, LocalSocketWithNoDaemonFailsAndKeepsTheCursor) {
  auto store = Open();
  store->AppendLog(Sample(1));
  SyslogConfig c;
  c.target = "local";
  c.transport = SyslogTransport::kLocal;
  SyslogForwarderOptions o = Quick();
  o.local_socket = dir_ / "no-daemon-here";
  SyslogForwarder forwarder(c, store.get(), &log_, o);
  const ForwardPass pass = forwarder.ForwardPending();
  EXPECT_FALSE(pass.ok);
  EXPECT_EQ(pass.next_seq, 1);
  EXPECT_NE(pass.error.find(o.local_socket), std::string::npos) << pass.error;
  EXPECT_EQ(store->SyslogCursor("local"), 0);
}

TEST_F(SyslogTest, SdParamEscapesQuoteBracketAndBackslashInTheTargetName) {
  EXPECT_EQ(EscapeSdParam(R"(we"ird]\name)"), R"(we\"ird\]\\name)");
  EXPECT_EQ(EscapeSdParam("plain-name.1"), "plain-name.1");
  TcpCollector collector;
  auto store = Open();
  const LogRecord r = store->AppendLog(Sample(1, R"(we"ird]\name)"));
  const SyslogConfig c = Tcp(collector.port());
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  ASSERT_TRUE(forwarder.ForwardPending().ok);
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 1; }, 10));
  const std::string m = collector.Messages()[0];
  EXPECT_NE(m.find(R"(target="we\"ird\]\\name"])"), std::string::npos) << m;
  ExpectRecordMessage(m, r, c);
}

TEST_F(SyslogTest, AnOversizedRecordIsCutToOneDatagramAndMarkedTruncated) {
  DatagramCollector collector;
  auto store = Open();
  LogRecord big = Sample(2);  // failed: personal data files to correct
  for (int i = 0; i < 4000; ++i) big.failed_files.push_back("hr/employees/" + std::to_string(i) + "/contract.pdf");
  const LogRecord r = store->AppendLog(big);
  SyslogForwarderOptions o = Quick();
  o.max_datagram = 8192;
  SyslogForwarder forwarder(Udp(collector.port()), store.get(), &log_, o);
  ASSERT_TRUE(forwarder.ForwardPending().ok);
  const auto got = collector.Receive(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(got[0].size(), 8192u);
  const Syslog5424 p = Parse5424(got[0]);
  ASSERT_TRUE(p.ok) << p.why;
  const std::string whole = json(r).dump(-1, ' ', true);
  EXPECT_EQ(p.params.at("truncated"), std::to_string(whole.size()));
  EXPECT_EQ(p.params.at("seq"), "1");
  EXPECT_EQ(p.params.at("hash"), r.hash);
  EXPECT_EQ(whole.rfind(p.msg, 0), 0u) << "MSG is the start of the record's JSON";
  EXPECT_GT(p.msg.size(), 7000u);
}

TEST_F(SyslogTest, CollectorDownWhileRecordsAreAppendedGetsEveryRecordInOrderOnceWhenBack) {
  const int port = FreeTcpPort();
  ASSERT_GT(port, 0);
  auto store = Open();
  const SyslogConfig c = Tcp(port);
  for (int i = 1; i <= 4; ++i) store->AppendLog(Sample(i));
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  forwarder.Start();
  // Several attempts fail (connection refused) while more records are appended.
  ASSERT_TRUE(WaitFor([&] { return events_.Count("syslog-unreachable") >= 1; }, 10)) << events_.Text();
  for (int i = 5; i <= 8; ++i) {
    store->AppendLog(Sample(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
  }
  EXPECT_EQ(store->SyslogCursor(c.target), 0) << "nothing was sent: the cursor stays";
  EXPECT_EQ(events_.Count("syslog-unreachable"), 1u) << "one line per outage, not per attempt or record\n"
                                                     << events_.Text();

  TcpCollector collector(port);
  ASSERT_EQ(collector.port(), port);
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 8; }, 10)) << events_.Text();
  for (int i = 9; i <= 10; ++i) store->AppendLog(Sample(i));
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 10; }, 10)) << events_.Text();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a duplicate, were there one, would arrive now
  forwarder.Stop();

  EXPECT_EQ(Seqs(collector.Messages()), Range(1, 10)) << "every record, in order, once";
  const auto records = store->ReadLog(1, 0);
  for (size_t i = 0; i < records.size(); ++i) ExpectRecordMessage(collector.Messages()[i], records[i], c);
  EXPECT_EQ(store->SyslogCursor(c.target), 10);
  EXPECT_EQ(events_.Count("syslog-unreachable"), 1u) << events_.Text();
  EXPECT_EQ(events_.Count("syslog-restored"), 1u) << events_.Text();
  const std::string text = events_.Text();
  EXPECT_NE(text.find("Connection refused"), std::string::npos) << text;
  EXPECT_EQ(text.find("Åsa"), std::string::npos) << "no record content in the event log";
}

TEST_F(SyslogTest, CollectorThatClosesTheConnectionLosesNothing) {
  auto store = Open();
  const SyslogConfig c = Tcp(FreeTcpPort());
  std::vector<std::string> all;
  {
    TcpCollector first(c.port);
    for (int i = 1; i <= 3; ++i) store->AppendLog(Sample(i));
    SyslogForwarder forwarder(c, store.get(), &log_, Quick());
    ASSERT_TRUE(forwarder.ForwardPending().ok);
    ASSERT_TRUE(WaitFor([&] { return first.Messages().size() >= 3; }, 10));
    all = first.Messages();
  }
  // The same forwarder would hold a closed connection; a new one starts from the store's cursor.
  TcpCollector second(c.port);
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  for (int i = 4; i <= 5; ++i) store->AppendLog(Sample(i));
  ASSERT_TRUE(forwarder.ForwardPending().ok);
  ASSERT_TRUE(WaitFor([&] { return second.Messages().size() >= 2; }, 10));
  for (const auto& m : second.Messages()) all.push_back(m);
  EXPECT_EQ(Seqs(all), Range(1, 5));
}

TEST_F(SyslogTest, AConnectionTheCollectorClosedIsReopenedBeforeTheNextRecord) {
  auto store = Open();
  const SyslogConfig c = Tcp(FreeTcpPort());
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  std::vector<std::string> all;
  for (int round = 0; round < 3; ++round) {
    TcpCollector collector(c.port);  // a collector restarted between records
    ASSERT_EQ(collector.port(), c.port);
    store->AppendLog(Sample(round + 1));
    ASSERT_TRUE(forwarder.ForwardPending().ok);
    ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 1; }, 10));
    for (const auto& m : collector.Messages()) all.push_back(m);
  }
  EXPECT_EQ(Seqs(all), Range(1, 3)) << "a record written into the closed connection would be lost";
}

TEST_F(SyslogTest, CursorSurvivesARestartOfTheForwarderNoDuplicatesNoneLost) {
  TcpCollector collector;
  const SyslogConfig c = Tcp(collector.port());
  {
    auto store = Open();
    for (int i = 1; i <= 5; ++i) store->AppendLog(Sample(i));
    SyslogForwarder forwarder(c, store.get(), &log_, Quick());
    forwarder.Start();
    ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 5; }, 10)) << events_.Text();
    forwarder.Stop();
    for (int i = 6; i <= 9; ++i) store->AppendLog(Sample(i));  // while no forwarder runs
  }
  // A new process: the store opened again from its file, a new forwarder.
  auto store = Open();
  EXPECT_EQ(store->SyslogCursor(c.target), 5);
  SyslogForwarder forwarder(c, store.get(), &log_, Quick());
  forwarder.Start();
  ASSERT_TRUE(WaitFor([&] { return collector.Messages().size() >= 9; }, 10)) << events_.Text();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  forwarder.Stop();
  EXPECT_EQ(Seqs(collector.Messages()), Range(1, 9));
  EXPECT_EQ(store->SyslogCursor(c.target), 9);

  // Another target has its own cursor: it starts from the first record.
  DatagramCollector udp;
  SyslogForwarder other(Udp(udp.port()), store.get(), &log_, Quick());
  EXPECT_EQ(other.ForwardPending().sent, 9u);
  EXPECT_EQ(Seqs(udp.Receive(9)), Range(1, 9));
  EXPECT_EQ(store->SyslogCursor(c.target), 9);
}

TEST_F(SyslogTest, TheCursorNeverMovesBack) {
  auto store = Open();
  store->SetSyslogCursor("tcp://a:514", 7);
  store->SetSyslogCursor("tcp://a:514", 3);
  EXPECT_EQ(store->SyslogCursor("tcp://a:514"), 7);
  EXPECT_EQ(store->SyslogCursor("tcp://b:514"), 0);
}

// --- [syslog] in the configuration -------------------------------------------------------------

ConfigResult Parse(const std::string& syslog_section) {
  return ParseConfig("[appliance]\ndata_dir = \"/var/lib/rp\"\n" + syslog_section, "rp.toml");
}

TEST(SyslogConfig, DefaultsAndEveryTargetForm) {
  auto r = Parse("[syslog]\ntarget = \"tcp://logs.example.se:6514\"\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].Format();
  ASSERT_TRUE(r.config.syslog);
  EXPECT_EQ(r.config.syslog->transport, SyslogTransport::kTcp);
  EXPECT_EQ(r.config.syslog->host, "logs.example.se");
  EXPECT_EQ(r.config.syslog->port, 6514);
  EXPECT_EQ(r.config.syslog->facility, 16) << "local0";
  EXPECT_EQ(r.config.syslog->app_name, "restoreproof");
  EXPECT_EQ(r.config.syslog->hostname, "");
  r = Parse(
      "[syslog]\ntarget = \"udp://[2001:db8::5]:514\"\nfacility = \"authpriv\"\napp_name = \"rp\"\n"
      "hostname = \"appliance-1\"\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].Format();
  EXPECT_EQ(r.config.syslog->transport, SyslogTransport::kUdp);
  EXPECT_EQ(r.config.syslog->host, "2001:db8::5");
  EXPECT_EQ(r.config.syslog->facility, 10);
  EXPECT_EQ(r.config.syslog->hostname, "appliance-1");
  r = Parse("[syslog]\ntarget = \"local\"\nfacility = \"local7\"\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].Format();
  EXPECT_EQ(r.config.syslog->transport, SyslogTransport::kLocal);
  EXPECT_EQ(r.config.syslog->facility, 23);
  EXPECT_FALSE(Parse("").config.syslog) << "no [syslog]: nothing is forwarded";
}

TEST(SyslogConfig, ABadTargetIsAnErrorAtItsPositionSayingWhatIsWrong) {
  const std::pair<std::string, std::string> cases[] = {
      {"http://logs:514", "scheme"},
      {"udp://logs", "no :PORT"},
      {"tcp://logs:0", "port"},
      {"tcp://logs:65536", "port"},
      {"tcp://logs:514/x", "port"},
      {"tcp://:514", "no host"},
      {"udp://2001:db8::1:514", "brackets"},
      {"udp://[2001:db8::1:514", "]"},
      {"tcp://log s:514", "not a host"},
      {"Local", "scheme"},
  };
  for (const auto& [target, why] : cases) {
    const auto r = Parse("[syslog]\ntarget = \"" + target + "\"\n");
    ASSERT_EQ(r.errors.size(), 1u) << target;
    const ConfigError& e = r.errors[0];
    EXPECT_EQ(e.key, "syslog.target") << target;
    EXPECT_EQ(e.line, 4) << target;
    EXPECT_EQ(e.column, 10) << target;
    EXPECT_EQ(e.expected, "udp://HOST:PORT, tcp://HOST:PORT or local");
    EXPECT_NE(e.found.find(why), std::string::npos) << target << ": " << e.found;
  }
}

TEST(SyslogConfig, OtherKeysAreCheckedAndUnknownOnesRefused) {
  const auto r = Parse(
      "[syslog]\ntarget = \"udp://logs:514\"\nfacility = \"local9\"\napp_name = \"rest oreproof\"\n"
      "hostname = \"\"\nport = 514\n");
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].key, "syslog.facility");
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_EQ(r.errors[1].key, "syslog.app_name");
  EXPECT_EQ(r.errors[2].key, "syslog.hostname");
  EXPECT_EQ(r.errors[3].key, "syslog.port");
  EXPECT_NE(r.errors[3].found.find("unknown key"), std::string::npos);
  const auto missing = Parse("[syslog]\nfacility = \"user\"\n");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].key, "syslog.target");
  EXPECT_EQ(missing.errors[0].found, "the key is missing");
  const auto not_table = ParseConfig("syslog = \"udp://logs:514\"\n", "rp.toml");
  ASSERT_EQ(not_table.errors.size(), 1u);
  EXPECT_EQ(not_table.errors[0].key, "syslog");
}

TEST(SyslogConfig, ConfigCheckPrintsTheBadTargetWithFileLineAndColumn) {
  TempDir dir;
  const std::string config = dir / "restoreproof.toml";
  WriteFile(config, "[appliance]\ndata_dir = \"" + dir.path() + "\"\n\n[syslog]\ntarget = \"udp://logs\"\n");
  std::string out;
  EXPECT_EQ(
      test::RunShell(test::ShellQuote(RP_BINARY) + " --config " + test::ShellQuote(config) + " config check", &out), 2);
  EXPECT_NE(out.find(config + ":5:10: syslog.target: expected udp://HOST:PORT, tcp://HOST:PORT or local, found "
                              "\"udp://logs\" (no :PORT (there is no default port))"),
            std::string::npos)
      << out;
}

// --- through serve ----------------------------------------------------------------------------

TEST(SyslogServe, ServeForwardsItsRecordsAndAReloadToAnotherCollectorStartsFromTheFirst) {
  TempDir dir;
  DatagramCollector first, second;
  ASSERT_TRUE(first.bound() && second.bound());
  const std::string config = dir / "restoreproof.toml";
  const auto write_config = [&](int port) {
    WriteFile(config, "[appliance]\ndata_dir = \"" + dir.path() +
                          "/data\"\ntimezone = \"Europe/Stockholm\"\n"
                          "drain_grace = \"1s\"\n\n[syslog]\ntarget = \"udp://127.0.0.1:" +
                          std::to_string(port) + "\"\nfacility = \"local3\"\nhostname = \"rp-serve-test\"\n");
  };
  write_config(first.port());
  ChildSpec spec;
  spec.argv = {RP_BINARY, "--config", config, "serve"};
  spec.env = {"PATH=/usr/bin:/bin", "HOME=" + dir.path()};
  spec.stderr_path = dir / "serve.log";
  std::string error;
  const pid_t serve = StartChild(spec, &error);
  ASSERT_GT(serve, 0) << error;
  const auto got = first.Receive(1, 30);  // the configuration seen for the first time: record 1
  // Another collector, by SIGHUP: the reload is record 2, and the new target gets both.
  write_config(second.port());
  kill(serve, SIGHUP);
  const auto after_reload = second.Receive(2, 30);
  kill(serve, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(serve, &status, 0), serve);
  const std::string serve_log = ReadFile(dir / "serve.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << serve_log;
  ASSERT_EQ(got.size(), 1u) << serve_log;
  const Syslog5424 p = Parse5424(got[0]);
  ASSERT_TRUE(p.ok) << p.why;
  EXPECT_EQ(p.pri, 19 * 8 + 6) << "local3.info";
  EXPECT_EQ(p.hostname, "rp-serve-test");
  EXPECT_EQ(p.params.at("kind"), "config-change");
  EXPECT_EQ(p.params.at("seq"), "1");
  const json record = json::parse(p.msg);
  EXPECT_EQ(record["kind"], "config-change");
  EXPECT_EQ(record["hash"], p.params.at("hash"));
  ASSERT_EQ(after_reload.size(), 2u) << serve_log;
  EXPECT_EQ(after_reload[0], got[0]) << "the same record, the same message";
  const json changed = json::parse(Parse5424(after_reload[1]).msg);
  EXPECT_EQ(changed["seq"], 2);
  EXPECT_EQ(changed["changed_keys"], json::array({"syslog.target"}));
  size_t started = 0;
  for (size_t at = 0; (at = serve_log.find("\"syslog-forwarding\"", at)) != std::string::npos; ++at) ++started;
  EXPECT_EQ(started, 2u) << serve_log;
}

}  // namespace
}  // namespace rp
