// Forwarding the restoration log to a central syslog ([syslog]; docs/restoration-log.md,
// "Forwarding to a central log"): every record as one RFC 5424 message, in seq order, over UDP,
// TCP (octet-counted, RFC 6587) or the local /dev/log socket, from a cursor kept in the store, so
// that a collector that is down delays nothing and, once back, gets what it missed. A
// SyslogForwarder owns its socket and its one thread; its methods are called by one owner
// thread. The message functions are pure and thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "rp/config.h"
#include "rp/event_log.h"
#include "rp/restoration_log.h"
#include "rp/store.h"

namespace rp {

// The SD-ID of the record's structured data: 32473 is the private enterprise number that
// RFC 5612 reserves for documentation.
inline constexpr const char* kSyslogSdId = "rp@32473";

// An SD-PARAM value (RFC 5424 section 6.3.3): `"`, `\` and `]` each preceded by a backslash.
std::string EscapeSdParam(std::string_view value);

// RFC 5424 severity: 4 (warning) for a run that failed, was aborted or interrupted; 6 (info)
// for every other record (passed, cancelled, config-change, clear-names-export).
int SyslogSeverity(const LogRecord& r);

// What every message of one sender carries besides the record.
struct SyslogSender {
  int facility = 16;
  std::string hostname = "-";  // PRINTUSASCII, or "-"
  std::string app_name = "restoreproof";
  std::string procid = "-";
};

// One record as an RFC 5424 message, without transport framing:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID restoration-log [rp@32473 seq="N" hash="HEX"
//   kind="KIND" target="TARGET"] JSON
// TIMESTAMP is the record's time (UTC, seconds); JSON is the record as `log show --json`
// prints it, in ASCII (\u escapes). With `max_bytes` non-zero a longer message has its JSON cut
// to fit and the SD-PARAM truncated="LEN" (the whole JSON's length in bytes) added.
std::string SyslogMessage(const LogRecord& r, const SyslogSender& sender, size_t max_bytes = 0);

// The machine's name for HOSTNAME: gethostname(), or "-" when it is not PRINTUSASCII.
std::string SyslogHostname();

struct SyslogForwarderOptions {
  std::string local_socket = "/dev/log";  // where the `local` target sends (a test names its own listener)
  double timeout_s = 10;                  // connecting and sending, per attempt
  int64_t first_retry_ms = 1000;          // the wait after a failed attempt, doubled after each ...
  int64_t max_retry_ms = 300000;          // ... up to this
  int64_t poll_ms = 1000;                 // how often the store is read for new records
  size_t batch = 100;                     // records read, sent and then recorded in the cursor at a time
  size_t max_datagram = 65000;            // UDP and local messages are cut to this (SyslogMessage)
};

// One ForwardPending call.
struct ForwardPass {
  bool ok = true;        // everything up to the log's head was handed to the transport
  size_t sent = 0;       // records sent
  int64_t next_seq = 0;  // ok: the cursor + 1 at the end; else the seq that could not be sent
  std::string error;     // !ok: what failed, for a person
};

class SyslogForwarder {
 public:
  SyslogForwarder(SyslogConfig config, Store* store, EventLog* log, SyslogForwarderOptions options = {});
  ~SyslogForwarder();  // Stop()
  SyslogForwarder(const SyslogForwarder&) = delete;
  SyslogForwarder& operator=(const SyslogForwarder&) = delete;

  // Sends every record after the store's cursor for this target, in seq order, and moves the
  // cursor past the records the transport took (after each batch, and at the end). Stops at the
  // first record that cannot be sent: the cursor stays before it. UDP cannot tell whether a
  // collector listens, so over UDP a pass fails only when the datagram cannot leave. Called by
  // the thread, or by an owner that has not started it; after Stop() it sends nothing.
  ForwardPass ForwardPending();

  // The forwarding thread: ForwardPending every poll_ms; after a failure it waits
  // first_retry_ms, doubling up to max_retry_ms. An outage is logged when it starts
  // (`syslog-unreachable`) and when it ends (`syslog-restored`), never per record.
  void Start();
  // Ends the thread after its current attempt (bounded by timeout_s per send).
  void Stop();

  const SyslogConfig& config() const { return config_; }

 private:
  class Transport;
  void Loop();

  const SyslogConfig config_;
  Store* const store_;
  EventLog* const log_;
  const SyslogForwarderOptions options_;
  const SyslogSender sender_;
  std::unique_ptr<Transport> transport_;  // the thread's (or ForwardPending's caller's) only
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace rp
