// The appliance's configuration (DESIGN.md, "Configuration"; reference in docs/config.md):
// one TOML file loaded into plain structs. Loading never stops at the first problem: every
// error comes back with file:line:col, the key path, what was expected and what was found.
// Unknown keys are errors; nothing is clamped. Pure data plus two functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rp/checks.h"
#include "rp/calendar.h"
#include "rp/hash.h"
#include "rp/ip_network.h"
#include "rp/policy.h"
#include "rp/report.h"
#include "rp/sample.h"
#include "rp/schedule.h"

namespace rp {

struct ConfigError {
  std::string file;
  int line = 0, column = 0;  // 1-based; 0 when the problem has no position (a missing key)
  std::string key;           // key path, e.g. "targets[2].copies[0].kind"
  std::string expected;
  std::string found;
  std::string Format() const;  // "file:line:col: key: expected ..., found ..."
};

// A policy's values; in overrides every field is optional and only set ones apply.
struct PolicyValues {
  std::optional<double> backup_interval_s;        // a recovery point at least this often
  std::optional<int> retention_days;              // every day of the last N days has a point
  std::optional<double> restore_test_interval_s;  // a passed restore test at least this often
  std::optional<int> min_copies;                  // copies at distinct locations
  std::optional<double> rto_s;                    // recovery time objective
  std::optional<int> max_retention_days;          // older points are a finding (storage limitation)
  std::optional<double> freshness_grace_s;        // beyond the interval before "stale" fails
  std::optional<double> copy_lag_s;               // how far a copy's newest point may trail
  std::optional<int> weekly_keeps;                // a point in each of the last N ISO weeks
  std::optional<int> monthly_keeps;               // a point in each of the last N months
};

// Effective policy of a target (rp/policy.h): the baseline, then its availability class, then its own.
void ApplyPolicy(const PolicyValues& values, Policy* policy);

struct Classification {
  int k = 0, r = 0, t = 0;  // confidentiality, integrity (riktighet), availability: 1-4
};

struct PersonalData {
  bool none = false;                    // explicitly "none"
  std::string description;              // free text ("Employees: names, ...")
  std::vector<std::string> categories;  // categories of personal data
  std::vector<std::string> subjects;    // categories of data subjects
};

enum class CopyKind { kArchiveDir, kDirSnapshots, kRestic, kBorg };
std::string_view CopyKindName(CopyKind kind);

struct CopyConfig {
  std::string location;  // named site
  CopyKind kind = CopyKind::kArchiveDir;
  std::string path;      // directory, or the repository
  std::string pattern;   // archive-dir: file name pattern with {YYYY}{MM}{DD}{hh}{mm}{ss}
  std::string manifest;  // archive-dir: sidecar pattern, {file} = the archive's file name
  // archive-dir chains: a file whose name contains `incremental_marker` (or
  // `differential_marker`) is an incremental (differential) point that needs the full one
  // before it (`full_marker`, or any point without a marker).
  std::string full_marker, incremental_marker, differential_marker;
  std::string password_file;    // restic
  std::string passphrase_file;  // borg
  std::string secret_env;       // or: the environment variable holding the secret
};

// One [[targets.tests]] entry: when the restore test runs, which point it restores and what
// it checks in the restored tree.
struct TestConfig {
  Schedule schedule;                 // default @monthly (0 0 1 * *)
  TestSelect select;                 // default latest
  std::vector<ContentCheck> checks;  // run in the sandbox after the restore
  // `sample = "10%"` or `sample_bytes = "50G"` (docs/sampling.md): each test restores one slice
  // of the point instead of all of it; unset: the whole point.
  std::optional<SampleSize> sample;
};

struct TargetConfig {
  std::string name;
  std::string owner;
  Classification classification;
  PersonalData personal_data;
  HashAlgo checksum = HashAlgo::kXxh128;
  bool checksum_set = false;
  std::string production_path;
  // Where its restore tests put the restored tree (docs/isolation.md): `auto` uses a tmpfs when
  // the recovery point's restored size is known and fits the appliance's budget.
  SandboxKind sandbox = SandboxKind::kAuto;
  // Restore tests stop when reading the recovery point makes no progress for this long
  // (unset: the engine's default, 10 minutes). Raise it for repositories that take long to open.
  std::optional<double> stall_timeout_s;
  // Restore tests stop sooner when the worker burns CPU without progress for this long (unset:
  // the engine's default, 30 s): a decoder looping on a damaged archive.
  std::optional<double> spin_timeout_s;
  // Memory a restore test's worker may use, enforced by the kernel (unset: the engine's default,
  // 1 GiB). A tmpfs sandbox comes on top.
  std::optional<uint64_t> memory_limit_bytes;
  PolicyValues policy;  // the target's own overrides
  std::vector<CopyConfig> copies;
  std::vector<TestConfig> tests;
  std::vector<std::string> notify;  // names of [[notify]] channels told of this target's changes
  // `coverage_days`: every file of the newest point is to be verified by sampled tests within
  // this window (docs/sampling.md). Set when the key is, else kDefaultCoverageDays when one of
  // the target's tests samples.
  std::optional<int> coverage_days;
  bool Samples() const;  // whether one of its tests restores a sample
};

inline constexpr int kDefaultCoverageDays = 30;

// A notification channel ([[notify]]): a webhook (JSON POST signed with HMAC-SHA256 over the
// body, the key read from `secret_file`) or e-mail over SMTP. Secrets are never config text.
enum class NotifyKind { kWebhook, kEmail };
std::string_view NotifyKindName(NotifyKind kind);  // "webhook", "email"
// STARTTLS: `auto` uses it when the server offers it, `required` refuses a server that does
// not, `off` never uses it (a relay on the same host).
enum class StartTls { kAuto, kRequired, kOff };
std::string_view StartTlsName(StartTls mode);

struct NotifyConfig {
  std::string name;
  NotifyKind kind = NotifyKind::kWebhook;
  std::string url;          // webhook: http:// or https://
  std::string secret_file;  // webhook: the HMAC key
  std::string smtp_host;    // email
  int smtp_port = 25;
  std::string from;
  std::vector<std::string> to;
  StartTls starttls = StartTls::kAuto;
  std::string username;       // SMTP AUTH, optional
  std::string password_file;  // with username
  double timeout_s = 10;      // one delivery attempt
};

// A drill ([[drills]]): a campaign restoring each of its targets' selected points, timed
// against each target's RTO. Without a [[drills]] section there is one: "monthly", every
// target, the first Monday of the month at 02:00.
struct DrillConfig {
  std::string name = "monthly";
  Schedule schedule;                 // default 0 2 * * mon#1
  std::vector<std::string> targets;  // empty: every target
  std::vector<std::string> notify;
  DrillConfig();
};

// Where every restoration-log record is forwarded ([syslog]; docs/restoration-log.md,
// "Forwarding to a central log"): RFC 5424 over UDP, over TCP (octet-counted, RFC 6587) or to
// the local syslog socket /dev/log.
enum class SyslogTransport { kUdp, kTcp, kLocal };

struct SyslogConfig {
  std::string target;  // as written ("udp://HOST:PORT", "tcp://HOST:PORT", "local"): keys the store's cursor
  SyslogTransport transport = SyslogTransport::kLocal;
  std::string host;                       // udp, tcp: a name or an address (an IPv6 address without its brackets)
  int port = 0;                           // udp, tcp: 1-65535
  int facility = 16;                      // RFC 5424 facility code; default local0
  std::string app_name = "restoreproof";  // APP-NAME: 1-48 printable ASCII characters
  std::string hostname;                   // HOSTNAME; "": the machine's name (gethostname) when sending
  bool operator==(const SyslogConfig&) const = default;
};

// The RFC 5424 facility codes by their usual names: "kern" 0, "user" 1, ..., "authpriv" 10,
// ..., "local0" 16 .. "local7" 23. nullopt for any other name.
std::optional<int> ParseSyslogFacility(std::string_view name);
std::string_view SyslogFacilityName(int code);

// The web server inside `serve` ([web]; docs/web.md): it listens on `appliance.listen`. Its
// threads and queue bound the work it takes on; every request must arrive and be answered
// within `timeout_s`, and may not be larger than `max_request_bytes`.
struct WebConfig {
  bool enabled = true;
  int threads = 4;                     // requests answered at once: 1-64
  int queue = 64;                      // accepted connections waiting for a thread: 1-4096
  int64_t max_request_bytes = 65536;   // the request line, headers and body together: 1 KiB-16 MiB
  double timeout_s = 10;               // a connection's whole time, reading and answering
  // TLS (docs/web.md): both set or neither. The PEM certificate (chain) and its unencrypted
  // private key, absolute paths, read when the server starts. Set: HTTPS only, on `listen`.
  std::string tls_certificate;
  std::string tls_key;
  // Single sign-on by a reverse proxy: both set or neither. The header (as written, compared
  // without case) naming the signed-in user, trusted only from these addresses and networks.
  std::string proxy_user_header;
  std::vector<IpNetwork> trusted_proxies;
  bool tls() const { return !tls_certificate.empty(); }
  bool operator==(const WebConfig&) const = default;
};

// `appliance.timezone` when the file does not set it.
inline constexpr const char* kDefaultTimeZone = "Europe/Stockholm";

struct ApplianceConfig {
  std::string data_dir = "/var/lib/restoreproof";
  std::string sandbox_dir;  // default: data_dir/sandboxes
  // `timezone`, looked up when the configuration is loaded (its name is zone.name()): dates of
  // retention days, the fields of archive names and schedules are read in it. The one place the
  // zone is kept, so its name and its rules cannot disagree.
  TimeZone zone = TimeZone::Utc();
  int workers = 2;
  std::string listen = "127.0.0.1:8080";  // the web server's host:port; port 0: any free port (tests)
  uint64_t tmpfs_budget = 0;  // bytes a tmpfs sandbox may take; 0: half of MemAvailable, at most 16 GiB
  // The controller (docs/controller.md): a run's wall-time limit; how long running runs may
  // finish after SIGTERM before they are stopped; how long a claim on a run holds without
  // renewal; how often and how far apart a run that met an environment error is tried again.
  double run_timeout_s = 4 * 3600.0;
  double drain_grace_s = 30;
  double lease_s = 30;
  int retries = 3;
  double retry_backoff_s = 60;  // doubled for each further attempt
};

// Where the store is ([store]; docs/store.md): empty url, SQLite under data_dir; else a
// PostgreSQL URL "postgresql://USER@HOST:PORT/DB" whose password is read from password_file.
struct StoreConfig {
  std::string url;
  std::string password_file;
  bool operator==(const StoreConfig&) const = default;
};

// A restore agent ([agent]; docs/multi-host.md): the locations whose copies it can read. Empty:
// every location.
struct AgentConfig {
  std::vector<std::string> locations;
  bool operator==(const AgentConfig&) const = default;
};

struct Config {
  std::string file;
  StoreConfig store;
  AgentConfig agent;
  ApplianceConfig appliance;
  PolicyValues baseline;
  PolicyValues availability[5];  // index 1..4: overrides for T1..T4
  std::vector<TargetConfig> targets;
  std::vector<NotifyConfig> notify;
  std::vector<DrillConfig> drills;  // at least the default one
  std::optional<SyslogConfig> syslog;  // none: records are not forwarded
  WebConfig web;

  const TargetConfig* FindTarget(std::string_view name) const;
  const NotifyConfig* FindNotify(std::string_view name) const;

  // The effective policy for a target: baseline, its availability class, its own overrides.
  Policy PolicyFor(const TargetConfig& target) const;
};

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;  // empty: the configuration is valid
};

ConfigResult LoadConfigFile(const std::string& path);
// The configuration file's errors, one per line, ending with how many there are.
std::string FormatConfigErrors(const ConfigResult& result);

// Where a command that restores makes its sandboxes when --sandbox does not say: the
// configuration's sandbox_dir; with no configuration file at the default path, a directory
// under the temporary directory. A configuration file that exists but is invalid, or one named
// with --config that cannot be read, is an error (kUsage, every error listed), never replaced.
Status DefaultSandboxParent(const std::string& config_path, bool config_named, std::string* parent);
ConfigResult ParseConfig(std::string_view text, const std::string& file_name);

// The configuration's key paths ("appliance.workers", "targets[0].copies[1].path") and a
// SHA-256 of each value's text: enough to say which keys changed, never what they held.
// nullopt when the text is not TOML.
std::optional<std::map<std::string, std::string>> ConfigKeyDigests(std::string_view text);
// Keys whose digest differs, then "KEY (added)" and "KEY (removed)".
std::vector<std::string> ChangedConfigKeys(const std::map<std::string, std::string>& before,
                                           const std::map<std::string, std::string>& after);

// "90m", "12h", "1d", "30d", "45s": seconds. nullopt for anything else.
std::optional<double> ParseConfigDuration(std::string_view text);

}  // namespace rp
