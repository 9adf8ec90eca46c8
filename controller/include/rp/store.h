// The appliance's store (docs/store.md): every restore run and its result, the queue of runs
// with their leases, drills, per-file baselines, catalog snapshots, schedule marks, target
// states, notifications, the restoration log, and users, API tokens, sessions and the audit
// trail. One interface, one implementation (Poco::Data) in two dialects: SQLite, one file under
// data_dir (WAL, synchronous=FULL, integrity-checked when serve opens it), or PostgreSQL (several
// processes on several hosts; row and advisory locks). Migrated forward when opened. A Store
// object is thread-safe (calls are serialised); several processes may open the same store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rp/accounts.h"
#include "rp/report.h"
#include "rp/restoration_log.h"
#include "rp/status.h"

namespace rp {

// A run's life: queued -> running -> passed | failed | aborted | interrupted | cancelled.
// `interrupted`: the process running it died, lost its lease, or drained on SIGTERM; a new run
// (retry_of = this one) is queued in its place. `aborted`: an environment or usage error
// stopped it before a verdict (retried with backoff, as a new run, when retries remain).
enum class RunState { kQueued, kRunning, kPassed, kFailed, kAborted, kInterrupted, kCancelled };
std::string_view RunStateName(RunState s);
std::optional<RunState> ParseRunState(std::string_view name);
bool RunStateFinal(RunState s);  // every state but queued and running

// Who asked for a run.
enum class Trigger { kSchedule, kDrill, kOperator, kApi };
std::string_view TriggerName(Trigger t);
std::optional<Trigger> ParseTrigger(std::string_view name);

// What to run: one restore test of a target.
struct RunRequest {
  std::string target;
  int test_index = -1;  // which [[targets.tests]] entry; -1: the target's interval schedule
  Trigger trigger = Trigger::kOperator;
  int64_t drill_id = 0;      // 0: not part of a drill
  std::string select;        // TestSelect text ("latest", "random-within:30d", ...)
  std::string requested_by;  // a person or the component that asked
  int64_t not_before = 0;    // UTC seconds: not claimed earlier (retry backoff)
  int attempt = 1;
  int64_t retry_of = 0;
  std::string location;  // the copy to restore from when a retry must repeat it; "" to choose
  std::string point_id;  // likewise the point
  uint64_t seed = 0;     // likewise the seed of random-within
};

// The system clock as adjtimex(2) saw it when a run started: whether the kernel considers it
// synchronised (an NTP daemon disciplines it) and its estimated and maximum error, so that
// the times of runs on different machines can be compared (Säker drift §9.1).
struct ClockState {
  bool known = false;         // adjtimex answered
  bool synchronised = false;  // not TIME_ERROR and STA_UNSYNC clear
  int64_t estimated_error_us = 0;
  int64_t maximum_error_us = 0;
  static ClockState Now();
};

// How far a running run has come: written about once a second by the process holding it.
struct RunProgress {
  uint64_t files = 0, bytes = 0;  // restored so far
  uint64_t total_bytes = 0;       // what the whole restore is expected to write; 0 unknown
  int64_t at = 0;                 // when this was recorded (UTC seconds); 0 never
};

struct RunRecord {
  int64_t id = 0;
  RunRequest request;
  RunState state = RunState::kQueued;
  int64_t queued_at = 0, started_at = 0, finished_at = 0;  // UTC seconds; 0 = not yet
  std::string lease_owner;  // "host/pid/start" of the process holding it
  int64_t lease_until = 0;
  bool cancel_requested = false;
  // Set when it starts: the point restored, the copy it came from, the seed of random-within.
  std::string point_id, location;
  int64_t point_time = 0;
  uint64_t seed = 0;
  // Set when it ends.
  uint64_t files = 0, bytes = 0;
  double duration_s = 0;     // restore and verification, as the engine measured it
  std::string worker;        // host and process that ran it
  std::string version;       // restoreproof version
  std::string config_hash;   // SHA-256 of the configuration file in force
  std::string message;       // why it was aborted, interrupted or cancelled
  std::optional<VerifyReport> report;  // findings, isolation, limits: the engine's result
  ClockState clock;                    // the system clock when it started
  RunProgress progress;                // while it runs
  // The database role that recorded the result (PostgreSQL's current_user; "" on SQLite): with
  // `worker`, which host and role verified the run.
  std::string db_role;
  double throughput_bps() const { return duration_s > 0 ? static_cast<double>(bytes) / duration_s : 0; }
};

struct RunFilter {
  std::string target;            // "" any
  int64_t since = 0;             // queued at or after (UTC seconds)
  std::optional<RunState> state;
  int64_t drill_id = 0;          // 0 any
  int64_t before_id = 0;         // 0 any; else only ids below it (paging newest first)
  size_t limit = 1000;
};

// Which queued runs a process may claim (ClaimRun).
struct ClaimFilter {
  int64_t drill_id = 0;  // 0: any; else only runs of that drill
  // Set: only runs of these targets (an agent: those with a copy at a location it can read).
  std::optional<std::vector<std::string>> targets;
  // Set: only runs whose copy is still to be chosen or is at one of these locations.
  std::optional<std::vector<std::string>> locations;
};

// What a run ended with (FinishRun).
struct RunOutcome {
  RunState state = RunState::kPassed;
  int64_t finished_at = 0;
  uint64_t files = 0, bytes = 0;
  double duration_s = 0;
  std::string message;
  std::optional<VerifyReport> report;
  std::optional<RunRequest> retry;  // queued in the same transaction (an environment error's retry)
  ClockState clock;                 // when it started
};

enum class DrillState { kRunning, kFinished };
struct DrillRecord {
  int64_t id = 0;
  std::string name;
  Trigger trigger = Trigger::kSchedule;
  std::string responsible;
  std::vector<std::string> targets;
  DrillState state = DrillState::kRunning;
  int64_t started_at = 0, finished_at = 0;
  bool passed = false;          // every target passed within its objective
  std::string report_json;      // the drill report (rp/drill.h's codec)
};

// One due schedule entry for Store::Fire.
struct FireItem {
  std::string key;
  std::optional<int64_t> old_slot;  // the mark as read; nullopt: there was none
  int64_t new_slot = 0;
  std::optional<RunRequest> run;             // a restore test to queue
  std::optional<DrillRecord> drill;          // or a drill to create ...
  std::vector<RunRequest> drill_runs;        // ... with these runs
};

// A queued notification and what became of it.
struct NotificationRecord {
  int64_t id = 0;
  std::string channel;  // [[notify]] name
  std::string target;   // "" for a drill
  std::string event;    // "run-failed", "target-failing", "target-recovered", "drill-failed", ...
  std::string subject;
  std::string body;     // JSON
  int64_t created_at = 0;
  int attempts = 0;
  int64_t next_attempt = 0;
  int64_t sent_at = 0;  // 0: not delivered (yet)
  bool given_up = false;
  std::string outcome;  // the last attempt's result
};

// Accounts (issue 17; rp/accounts.h): people who sign in, the API tokens of scripts, the
// web's sessions and the audit trail of who did what. No secret is stored in clear: passwords
// as Argon2id hashes, tokens and session ids as their SHA-256 (TokenHash).
struct UserRecord {
  std::string name;           // [a-z0-9._-]{1,64}
  Role role = Role::kViewer;  // a role the store cannot read back is the least one
  std::string password_hash;  // the Argon2id encoding (HashPassword)
  int64_t created_at = 0;
  bool disabled = false;
  bool must_change_password = false;  // a one-time password: the next sign-in must set a new one
};

struct ApiTokenRecord {
  int64_t id = 0;
  std::string name;        // what the token is for ("nightly-report"); not unique
  Role role = Role::kViewer;
  std::string token_hash;  // TokenHash(token); unique
  int64_t created_at = 0;
  int64_t last_used_at = 0;  // 0: never
  bool revoked = false;
};

struct SessionRecord {
  std::string id_hash;  // TokenHash(session id); the id itself is only in the browser's cookie
  std::string user;
  Role role = Role::kViewer;  // the user's role at sign-in
  std::string csrf;           // the session's CSRF token (NewCsrfToken)
  int64_t created_at = 0, last_seen_at = 0;
  std::string address;  // the client's address at sign-in
};

// One line of the audit trail: a sign-in, a failed one, or a change (a user added, a token
// created, a run requested from the web, ...).
struct AuditRecord {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor;    // the user, "token:NAME", or the invoking user of a command
  std::string address;  // the client's address; "cli" for a command on the appliance
  std::string action;   // "user-add", "token-create", "sign-in", "sign-in-failed", ...
  std::string detail;   // what was acted on, never a secret
};

// The JSON of a run (`runs show --json`, the API later; docs/store.md "Run JSON"): written
// through the vocabulary's codec (findings, isolation), never parsed back by another module.
void to_json(nlohmann::json& j, const RunRecord& v);

class Store {
 public:
  virtual ~Store() = default;

  // Runs and the queue.
  virtual int64_t EnqueueRun(const RunRequest& request, int64_t now) = 0;
  // Claims the oldest claimable run: queued, not_before <= now, of a target with no running run,
  // of `drill_id` when non-zero; marks it running with a lease. nullopt when none.
  // On PostgreSQL the row is taken FOR UPDATE SKIP LOCKED, so concurrent claimers never wait on
  // each other and no run is ever held by two.
  virtual std::optional<RunRecord> ClaimRun(const std::string& owner, int64_t now, int64_t lease_until,
                                            const ClaimFilter& filter) = 0;
  std::optional<RunRecord> ClaimRun(const std::string& owner, int64_t now, int64_t lease_until, int64_t drill_id = 0) {
    ClaimFilter filter;
    filter.drill_id = drill_id;
    return ClaimRun(owner, now, lease_until, filter);
  }
  // Extends the lease while `owner` holds the run; false when it no longer does. *cancel: a
  // cancellation was asked for.
  virtual bool RenewLease(int64_t id, const std::string& owner, int64_t lease_until, bool* cancel) = 0;
  // Records which point and copy a running run restores (before its worker starts).
  virtual bool RecordStart(int64_t id, const std::string& owner, const std::string& point_id, int64_t point_time,
                           const std::string& location, uint64_t seed, const std::string& worker,
                           const std::string& version, const std::string& config_hash) = 0;
  // Records the outcome, only while `owner` holds the run (a process that lost its lease cannot
  // record a result). False when it does not.
  virtual bool FinishRun(int64_t id, const std::string& owner, const RunOutcome& outcome) = 0;
  // Running runs whose lease ended before `now`, or whose owner `owner_dead` says is dead, become
  // interrupted; each gets a new queued run in its place. Returns the interrupted runs.
  virtual std::vector<RunRecord> InterruptStale(int64_t now, bool (*owner_dead)(const std::string& owner)) = 0;
  // A queued run is cancelled at once; a running one is asked to stop. False: no such run, or
  // it has ended.
  virtual bool CancelRun(int64_t id, int64_t now, const std::string& why) = 0;
  virtual std::optional<RunRecord> GetRun(int64_t id) = 0;
  virtual std::vector<RunRecord> ListRuns(const RunFilter& filter) = 0;  // newest first
  // Runs not yet ended (queued or running), of a target or all.
  virtual int64_t CountPending(const std::string& target, int test_index, Trigger trigger) = 0;
  // The newest ended run of a target (at a location when given) in that state; nullopt if none.
  virtual std::optional<RunRecord> LastRun(const std::string& target, std::optional<RunState> state,
                                           const std::string& location = "") = 0;

  // Schedule marks: the last slot a schedule fired for (UTC seconds), by key.
  virtual std::optional<int64_t> ScheduleMark(const std::string& key) = 0;
  virtual void SetScheduleMark(const std::string& key, int64_t slot) = 0;
  virtual std::map<std::string, int64_t> ScheduleMarks() = 0;
  // The scheduler's tick, in one transaction: each item's mark moves from `old_slot` (as read)
  // to `new_slot` only if it still holds `old_slot`, and only then is its run queued or its
  // drill created with its runs. So two processes scheduling from one store fire a slot once.
  // Returns the ids of the drills created.
  virtual std::vector<int64_t> Fire(const std::vector<FireItem>& items, int64_t now) = 0;
  // (target, test_index) of every scheduled run still queued or running.
  virtual std::set<std::pair<std::string, int>> PendingScheduled() = 0;

  // Drills: the drill and one run per request (drill_id set here), in one transaction.
  virtual int64_t CreateDrill(const DrillRecord& drill, const std::vector<RunRequest>& runs) = 0;
  // Only the first call for a drill finishes it (true); later ones change nothing (false).
  virtual bool FinishDrill(int64_t id, int64_t finished_at, bool passed, const std::string& report_json) = 0;
  virtual std::optional<DrillRecord> GetDrill(int64_t id) = 0;
  virtual std::vector<DrillRecord> ListDrills(size_t limit) = 0;  // newest first

  // Per-file baselines: the inventory (hash, size, mtime per file) of a verified point.
  virtual void PutBaseline(const std::string& target, const std::string& location, const std::string& point_id,
                           int64_t run_id, int64_t at, const std::string& inventory) = 0;
  virtual std::optional<std::string> LatestBaseline(const std::string& target) = 0;

  // Catalog snapshots: a target's policy evaluation (codec JSON) at a time.
  virtual void PutCatalogSnapshot(const std::string& target, int64_t at, const std::string& verdict,
                                  const std::string& evaluation_json) = 0;
  // The newest snapshot of a target: its time and evaluation JSON; nullopt when there is none.
  virtual std::optional<std::pair<int64_t, std::string>> LatestCatalogSnapshot(const std::string& target) = 0;
  // How many runs ended in each final state (passed, failed, ...), over the whole store.
  virtual std::map<RunState, int64_t> CountEndedRuns() = 0;
  // How many runs are in each state (queued and running too), over the whole store.
  virtual std::map<RunState, int64_t> CountRunsByState() = 0;
  // A running run's progress, only while `owner` holds it; false when it does not.
  virtual bool RecordProgress(int64_t id, const std::string& owner, const RunProgress& progress) = 0;

  // A target's last known state per aspect ("restore-test", "catalog"), for one message per
  // change. Returns the previous state ("" when none) and stores the new one.
  virtual std::string SwapTargetState(const std::string& target, const std::string& aspect,
                                      const std::string& state, int64_t now) = 0;

  // Notifications (an outbox).
  virtual int64_t EnqueueNotification(const NotificationRecord& n) = 0;
  virtual std::vector<NotificationRecord> DueNotifications(int64_t now, size_t limit) = 0;
  // Takes a due notification for one attempt: moves its next_attempt from the value read to
  // `hold_until` only if no other process did first. False: someone else is sending it.
  virtual bool ClaimNotification(const NotificationRecord& n, int64_t hold_until) = 0;
  virtual void RecordDelivery(int64_t id, bool ok, const std::string& outcome, int64_t now, int64_t next_attempt,
                              bool give_up) = 0;
  virtual std::vector<NotificationRecord> ListNotifications(size_t limit) = 0;  // newest first

  // The restoration log (docs/restoration-log.md): append-only, no method changes or removes a
  // record. AppendLog gives `record` the next seq and chains it to the head (prev_hash, hash) in
  // one transaction that starts with a write, so appenders in several processes form one chain;
  // it returns the record as stored (texts as LogText makes them).
  virtual LogRecord AppendLog(const LogRecord& record) = 0;
  virtual std::vector<LogRecord> ReadLog(int64_t from_seq, size_t limit) = 0;  // seq >= from_seq, in seq order; limit 0: all
  virtual std::vector<LogRecord> ListLog(const LogFilter& filter) = 0;        // the newest matching, in seq order
  virtual int64_t FirstLogSeqSince(int64_t time) = 0;  // the smallest seq of a record at or after `time`; 0 none
  virtual void PutCheckpoint(const LogCheckpoint& checkpoint) = 0;
  virtual std::vector<LogCheckpoint> Checkpoints() = 0;  // in seq order
  // Forwarding to syslog (rp/syslog_forward.h): the seq of the last record sent to a [syslog]
  // target (its text as configured), 0 when none was; the cursor only moves forward.
  virtual int64_t SyslogCursor(const std::string& target) = 0;
  virtual void SetSyslogCursor(const std::string& target, int64_t seq) = 0;

  // Users (schema version 7). AddUser stores the user and `audit` in one transaction; false
  // (and nothing stored) when the name exists.
  virtual bool AddUser(const UserRecord& user, const AuditRecord& audit) = 0;
  virtual std::optional<UserRecord> GetUser(const std::string& name) = 0;
  virtual std::vector<UserRecord> ListUsers() = 0;  // by name
  // A new password hash (and whether it must be changed at the next sign-in) with `audit`, in one
  // transaction that also ends every session of the user; false when there is no such user.
  virtual bool SetPassword(const std::string& name, const std::string& password_hash, bool must_change,
                           const AuditRecord& audit) = 0;
  virtual int64_t CountAdmins() = 0;                // enabled admins: none means the web serves only set-up advice
  // API tokens: the token and `audit` in one transaction; returns the token's id.
  virtual int64_t AddApiToken(const ApiTokenRecord& token, const AuditRecord& audit) = 0;
  // The token whose hash is `token_hash` (revoked ones too: the caller refuses them).
  virtual std::optional<ApiTokenRecord> FindApiToken(const std::string& token_hash) = 0;
  virtual std::vector<ApiTokenRecord> ListApiTokens() = 0;  // by id
  virtual void TouchApiToken(int64_t id, int64_t at) = 0;
  // Sessions, by the hash of their id.
  virtual void CreateSession(const SessionRecord& session) = 0;
  virtual std::optional<SessionRecord> GetSession(const std::string& id_hash) = 0;
  virtual bool TouchSession(const std::string& id_hash, int64_t at) = 0;  // false: no such session
  virtual bool DeleteSession(const std::string& id_hash) = 0;             // false: no such session
  // Removes every session the timeouts have ended at `now`; returns how many.
  virtual int64_t DeleteExpiredSessions(int64_t now, const SessionTimeouts& timeouts) = 0;
  // The audit trail: append-only. Returns the record's id.
  virtual int64_t AppendAudit(const AuditRecord& record) = 0;
  // The newest `limit` records at or after `since` (limit 0: all), in id order.
  virtual std::vector<AuditRecord> ListAudit(int64_t since, size_t limit) = 0;

  virtual int SchemaVersion() = 0;
  // "sqlite" or "postgresql".
  virtual std::string_view Backend() const = 0;
  // Whether this process schedules (docs/multi-host.md): on PostgreSQL, whether it holds (or has
  // just taken) the scheduler's advisory lock on a connection of its own, which the server
  // releases when the process dies or loses its connection; on SQLite always true (every
  // process fires a slot at most once through Fire anyway).
  virtual bool HoldScheduling() = 0;
};

// Opens (creating when absent) the SQLite store at `path` and runs forward migrations; with
// `integrity_check`, PRAGMA integrity_check first (it reads the whole file: `serve` runs it at
// start-up, the short commands do not). A file that is not a store, is damaged or was written
// by a newer restoreproof is an error (kEnvironment) and is left as it is.
Status OpenSqliteStore(const std::string& path, std::unique_ptr<Store>* out, bool integrity_check = true);

// The store's file under a data directory.
std::string StorePath(const std::string& data_dir);

struct Config;
struct StoreUrl;

// The store a configuration names (docs/store.md): `[store] url` empty, the SQLite file under
// data_dir (OpenSqliteStore); else the PostgreSQL database of the URL, as its user, with the
// password read from `[store] password_file` (refused when other users may read it). Opening
// migrates forward; a store of a newer schema is refused. `*from_version` (when given): the
// schema version found before migrating. Errors are kEnvironment (kUsage for a bad URL) and
// never carry the password.
Status OpenStore(const Config& config, std::unique_ptr<Store>* out, bool integrity_check = false,
                 int* from_version = nullptr);
// The PostgreSQL store at `url`, with `password` ("" for none: trust or peer authentication).
Status OpenPostgresStore(const StoreUrl& url, const std::string& password, std::unique_ptr<Store>* out,
                         int* from_version = nullptr);
// [store] password_file: one line, a regular file no other user may read.
Status ReadStorePassword(const std::string& path, std::string* password);
// The schema version this binary writes.
int StoreSchemaVersion();

// What `store check` finds (docs/store.md): the store opened as the configuration says, then
// SQLite's integrity_check, or on PostgreSQL the triggers that keep results and the log
// unchangeable and the role connected.
struct StoreCheckResult {
  std::string backend;  // "sqlite" or "postgresql"
  std::string where;    // the file, or postgresql://USER@HOST:PORT/DB
  std::string role;     // PostgreSQL's current_user; "" on SQLite
  int from_version = 0, version = 0;  // the schema found, and after opening (migrated forward)
  std::vector<std::string> problems;  // empty: none found
};
// kEnvironment when the store cannot be opened (nothing to check); otherwise Ok with the findings.
Status CheckStore(const Config& config, StoreCheckResult* out);

}  // namespace rp
