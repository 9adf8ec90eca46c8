// The SQLite store through Poco::Data (docs/store.md). Every statement binds its parameters;
// the SQL is the subset PostgreSQL also accepts (RETURNING, ON CONFLICT ... DO UPDATE), except
// the id columns' DDL, which each dialect spells its own way. A transaction always starts with
// a write, so that a second process waits on SQLite's busy timeout instead of failing.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "rp/codec.h"
#include "rp/store.h"

namespace rp {

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace {

constexpr int kSchemaVersion = 8;

// Forward migrations: migration N brings a store from version N-1 to N.
const std::vector<std::vector<std::string>>& Migrations() {
  static const std::vector<std::vector<std::string>> m = {
      {},
      {
          "CREATE TABLE runs ("
          " id INTEGER PRIMARY KEY,"
          " target TEXT NOT NULL, test_index INTEGER NOT NULL DEFAULT -1, trigger_kind TEXT NOT NULL,"
          " drill_id BIGINT NOT NULL DEFAULT 0, select_text TEXT NOT NULL DEFAULT '',"
          " requested_by TEXT NOT NULL DEFAULT '', not_before BIGINT NOT NULL DEFAULT 0,"
          " attempt INTEGER NOT NULL DEFAULT 1, retry_of BIGINT NOT NULL DEFAULT 0,"
          " want_location TEXT NOT NULL DEFAULT '', want_point TEXT NOT NULL DEFAULT '', want_seed BIGINT NOT NULL DEFAULT 0,"
          " state TEXT NOT NULL, queued_at BIGINT NOT NULL, started_at BIGINT NOT NULL DEFAULT 0,"
          " finished_at BIGINT NOT NULL DEFAULT 0, lease_owner TEXT NOT NULL DEFAULT '',"
          " lease_until BIGINT NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0,"
          " point_id TEXT NOT NULL DEFAULT '', point_time BIGINT NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '',"
          " seed BIGINT NOT NULL DEFAULT 0, files BIGINT NOT NULL DEFAULT 0, bytes BIGINT NOT NULL DEFAULT 0,"
          " duration_s DOUBLE PRECISION NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '',"
          " version TEXT NOT NULL DEFAULT '', config_hash TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',"
          " report TEXT NOT NULL DEFAULT '')",
          "CREATE INDEX runs_by_target ON runs (target, queued_at)",
          "CREATE INDEX runs_by_state ON runs (state, not_before)",
          "CREATE INDEX runs_by_drill ON runs (drill_id)",
          "CREATE TABLE drills ("
          " id INTEGER PRIMARY KEY, name TEXT NOT NULL, trigger_kind TEXT NOT NULL, responsible TEXT NOT NULL,"
          " targets TEXT NOT NULL, state TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL DEFAULT 0,"
          " passed INTEGER NOT NULL DEFAULT 0, report TEXT NOT NULL DEFAULT '')",
          "CREATE TABLE baselines ("
          " id INTEGER PRIMARY KEY, target TEXT NOT NULL, location TEXT NOT NULL, point_id TEXT NOT NULL,"
          " run_id BIGINT NOT NULL, at BIGINT NOT NULL, inventory TEXT NOT NULL)",
          "CREATE INDEX baselines_by_target ON baselines (target, id)",
          "CREATE TABLE catalog_snapshots ("
          " id INTEGER PRIMARY KEY, target TEXT NOT NULL, at BIGINT NOT NULL, verdict TEXT NOT NULL,"
          " evaluation TEXT NOT NULL)",
          "CREATE INDEX catalog_snapshots_by_target ON catalog_snapshots (target, at)",
          "CREATE TABLE schedule_marks (key TEXT PRIMARY KEY, slot BIGINT NOT NULL)",
          "CREATE TABLE target_states ("
          " target TEXT NOT NULL, aspect TEXT NOT NULL, state TEXT NOT NULL, since BIGINT NOT NULL,"
          " PRIMARY KEY (target, aspect))",
          "CREATE TABLE notifications ("
          " id INTEGER PRIMARY KEY, channel TEXT NOT NULL, target TEXT NOT NULL, event TEXT NOT NULL,"
          " subject TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
          " next_attempt BIGINT NOT NULL, sent_at BIGINT NOT NULL DEFAULT 0, given_up INTEGER NOT NULL DEFAULT 0,"
          " outcome TEXT NOT NULL DEFAULT '')",
          "CREATE INDEX notifications_due ON notifications (sent_at, given_up, next_attempt)",
      },
      {
          // At most one running run per target, whatever the database's isolation level.
          "CREATE UNIQUE INDEX runs_one_running_per_target ON runs (target) WHERE state = 'running'",
      },
      {
          // The restoration log (docs/restoration-log.md): append-only and hash-chained.
          "CREATE TABLE restoration_log ("
          " seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, at_local TEXT NOT NULL, kind TEXT NOT NULL,"
          " target TEXT NOT NULL, point TEXT NOT NULL, location TEXT NOT NULL, responsible TEXT NOT NULL,"
          " personal_data TEXT NOT NULL, reason TEXT NOT NULL, result TEXT NOT NULL, files BIGINT NOT NULL,"
          " bytes BIGINT NOT NULL, failing_findings BIGINT NOT NULL, correctness TEXT NOT NULL,"
          " failed_files TEXT NOT NULL, run_id BIGINT NOT NULL, changed_keys TEXT NOT NULL,"
          " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
          "CREATE INDEX restoration_log_by_target ON restoration_log (target, at)",
          "CREATE INDEX restoration_log_by_time ON restoration_log (at)",
          "CREATE TABLE log_checkpoints ("
          " id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, head_hash TEXT NOT NULL, at BIGINT NOT NULL,"
          " signature TEXT NOT NULL, key_fingerprint TEXT NOT NULL)",
      },
      {
          // The system clock when each run started (adjtimex): synchronised or not, and its error.
          "ALTER TABLE runs ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT -1",
          "ALTER TABLE runs ADD COLUMN clock_error_us BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE runs ADD COLUMN clock_max_error_us BIGINT NOT NULL DEFAULT 0",
      },
      {
          // The last restoration-log record forwarded to each [syslog] target, as written.
          "CREATE TABLE syslog_cursor (target TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
      },
      {
          // Each record's salt: encoded with it, so a bundle can give a digest nobody can guess.
          "ALTER TABLE restoration_log ADD COLUMN salt TEXT NOT NULL DEFAULT ''",
      },
      {
          // Users, API tokens, sessions and the audit trail (issue 17). No secret in clear:
          // Argon2id hashes, and the SHA-256 of tokens and session ids. `user_name`, because
          // `user` is a reserved word in PostgreSQL.
          "CREATE TABLE users ("
          " name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at BIGINT NOT NULL,"
          " disabled INTEGER NOT NULL DEFAULT 0)",
          "CREATE TABLE api_tokens ("
          " id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
          " created_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0)",
          "CREATE TABLE sessions ("
          " id_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,"
          " created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, address TEXT NOT NULL)",
          "CREATE INDEX sessions_by_user ON sessions (user_name)",
          "CREATE TABLE audit ("
          " id INTEGER PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, address TEXT NOT NULL,"
          " action TEXT NOT NULL, detail TEXT NOT NULL)",
          "CREATE INDEX audit_by_time ON audit (at)",
      },
      {
          // A running run's progress, written about once a second by whoever holds it, so that
          // every process serving the page shows it; and a password that must be changed at the
          // next sign-in (the demo's one-time password, an admin's reset).
          "ALTER TABLE runs ADD COLUMN progress_files BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE runs ADD COLUMN progress_bytes BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE runs ADD COLUMN progress_total BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE runs ADD COLUMN progress_at BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0",
      },
  };
  return m;
}

const char* kRunColumns =
    "id, target, test_index, trigger_kind, drill_id, select_text, requested_by, not_before, attempt, retry_of,"
    " want_location, want_point, want_seed, state, queued_at, started_at, finished_at, lease_owner, lease_until,"
    " cancel_requested, point_id, point_time, location, seed, files, bytes, duration_s, worker, version, config_hash,"
    " message, report, clock_synced, clock_error_us, clock_max_error_us, progress_files, progress_bytes,"
    " progress_total, progress_at";

template <class T>
T Get(RecordSet& rs, const char* column) {
  const Poco::Dynamic::Var& v = rs[column];
  if (v.isEmpty()) return T{};
  return v.convert<T>();
}

RunRecord ReadRun(RecordSet& rs) {
  RunRecord r;
  r.id = Get<Poco::Int64>(rs, "id");
  r.request.target = Get<std::string>(rs, "target");
  r.request.test_index = static_cast<int>(Get<Poco::Int64>(rs, "test_index"));
  r.request.trigger = ParseTrigger(Get<std::string>(rs, "trigger_kind")).value_or(Trigger::kOperator);
  r.request.drill_id = Get<Poco::Int64>(rs, "drill_id");
  r.request.select = Get<std::string>(rs, "select_text");
  r.request.requested_by = Get<std::string>(rs, "requested_by");
  r.request.not_before = Get<Poco::Int64>(rs, "not_before");
  r.request.attempt = static_cast<int>(Get<Poco::Int64>(rs, "attempt"));
  r.request.retry_of = Get<Poco::Int64>(rs, "retry_of");
  r.request.location = Get<std::string>(rs, "want_location");
  r.request.point_id = Get<std::string>(rs, "want_point");
  r.request.seed = static_cast<uint64_t>(Get<Poco::Int64>(rs, "want_seed"));
  r.state = ParseRunState(Get<std::string>(rs, "state")).value_or(RunState::kAborted);
  r.queued_at = Get<Poco::Int64>(rs, "queued_at");
  r.started_at = Get<Poco::Int64>(rs, "started_at");
  r.finished_at = Get<Poco::Int64>(rs, "finished_at");
  r.lease_owner = Get<std::string>(rs, "lease_owner");
  r.lease_until = Get<Poco::Int64>(rs, "lease_until");
  r.cancel_requested = Get<Poco::Int64>(rs, "cancel_requested") != 0;
  r.point_id = Get<std::string>(rs, "point_id");
  r.point_time = Get<Poco::Int64>(rs, "point_time");
  r.location = Get<std::string>(rs, "location");
  r.seed = static_cast<uint64_t>(Get<Poco::Int64>(rs, "seed"));
  r.files = static_cast<uint64_t>(Get<Poco::Int64>(rs, "files"));
  r.bytes = static_cast<uint64_t>(Get<Poco::Int64>(rs, "bytes"));
  r.duration_s = Get<double>(rs, "duration_s");
  r.worker = Get<std::string>(rs, "worker");
  r.version = Get<std::string>(rs, "version");
  r.config_hash = Get<std::string>(rs, "config_hash");
  r.message = Get<std::string>(rs, "message");
  const int64_t synced = Get<Poco::Int64>(rs, "clock_synced");
  r.clock.known = synced >= 0;
  r.clock.synchronised = synced == 1;
  r.clock.estimated_error_us = Get<Poco::Int64>(rs, "clock_error_us");
  r.clock.maximum_error_us = Get<Poco::Int64>(rs, "clock_max_error_us");
  r.progress.files = static_cast<uint64_t>(Get<Poco::Int64>(rs, "progress_files"));
  r.progress.bytes = static_cast<uint64_t>(Get<Poco::Int64>(rs, "progress_bytes"));
  r.progress.total_bytes = static_cast<uint64_t>(Get<Poco::Int64>(rs, "progress_total"));
  r.progress.at = Get<Poco::Int64>(rs, "progress_at");
  const std::string report = Get<std::string>(rs, "report");
  if (!report.empty()) {
    VerifyReport v;
    if (DecodeJson(report, "stored report", &v).ok()) r.report = std::move(v);
  }
  return r;
}

std::string Encode(const std::optional<VerifyReport>& report) { return report ? EncodeJson(*report) : std::string(); }

const char* kLogColumns =
    "seq, at, at_local, kind, target, point, location, responsible, personal_data, reason, result, files, bytes,"
    " failing_findings, correctness, failed_files, run_id, changed_keys, salt, prev_hash, hash";

// A list of texts in one column: a JSON array.
std::string EncodeTexts(const std::vector<std::string>& texts) { return nlohmann::json(texts).dump(); }
std::vector<std::string> DecodeTexts(const std::string& text, const char* column, std::string* damage) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& t : j)
      if (t.is_string()) out.push_back(t.get<std::string>());
  if (!j.is_array() || out.size() != j.size()) *damage += std::string(column) + " is not a JSON array of texts; ";
  return out;
}

// The log's columns, read into one vector each: `log verify` reads every record, and a
// RecordSet's per-value conversions would cost more than the hashing.
struct LogColumns {
  std::vector<Poco::Int64> seq, at, files, bytes, failing_findings, run_id;
  std::vector<std::string> at_local, kind, target, point, location, responsible, personal_data, reason, result,
      correctness, failed_files, changed_keys, salt, prev_hash, hash;

  // Runs `s` (a SELECT of kLogColumns) into the columns.
  void Execute(Statement& s) {
    s, into(seq), into(at), into(at_local), into(kind), into(target), into(point), into(location), into(responsible),
        into(personal_data), into(reason), into(result), into(files), into(bytes), into(failing_findings),
        into(correctness), into(failed_files), into(run_id), into(changed_keys), into(salt), into(prev_hash), into(hash);
    s.execute();
  }

  std::vector<LogRecord> Records() const {
    std::vector<LogRecord> out(seq.size());
    for (size_t i = 0; i < out.size(); ++i) {
      LogRecord& r = out[i];
      r.seq = seq[i];
      r.time = at[i];
      r.time_local = at_local[i];
      if (const auto k = ParseLogKind(kind[i])) r.kind = *k;
      else r.damage += "kind \"" + kind[i] + "\" is not a kind of record; ";
      r.target = target[i];
      r.point = point[i];
      r.location = location[i];
      r.responsible = responsible[i];
      r.personal_data = personal_data[i];
      r.reason = reason[i];
      r.result = result[i];
      r.files = static_cast<uint64_t>(files[i]);
      r.bytes = static_cast<uint64_t>(bytes[i]);
      r.failing_findings = static_cast<uint64_t>(failing_findings[i]);
      if (const auto c = ParseCorrectness(correctness[i])) r.correctness = *c;
      else r.damage += "correctness \"" + correctness[i] + "\" is not a verdict; ";
      r.failed_files = DecodeTexts(failed_files[i], "failed_files", &r.damage);
      r.run_id = run_id[i];
      r.changed_keys = DecodeTexts(changed_keys[i], "changed_keys", &r.damage);
      r.salt = salt[i];
      r.prev_hash = prev_hash[i];
      r.hash = hash[i];
    }
    return out;
  }
};

class SqliteStore final : public Store {
 public:
  using Store::ClaimRun;
  explicit SqliteStore(const std::string& path) : session_("SQLite", path) {}

  Status Open(bool integrity_check) {
    std::string mode;
    session_ << "PRAGMA busy_timeout = 30000", now;
    session_ << "PRAGMA journal_mode = WAL", into(mode), now;
    // Every write is evidence or the queue's state: each commit reaches the disk.
    session_ << "PRAGMA synchronous = FULL", now;
    session_ << "PRAGMA foreign_keys = ON", now;
    std::vector<std::string> problems{"ok"};
    if (integrity_check) {
      problems.clear();
      session_ << "PRAGMA integrity_check", into(problems), now;
    }
    if (problems.size() != 1 || problems[0] != "ok") {
      std::string text;
      for (size_t i = 0; i < problems.size() && i < 10; ++i) text += (i ? "; " : "") + problems[i];
      return Status::Environment("the store fails SQLite's integrity check: " + text);
    }
    int foreign = 0;  // tables, with none of them a store's
    session_ << "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')"
                " THEN 0 ELSE (SELECT COUNT(*) FROM sqlite_master) END",
        into(foreign), now;
    if (foreign != 0) return Status::Environment("the file is an SQLite database but not a restoreproof store");
    // Two processes may open a new store at once: both statements are idempotent, and the
    // migrations run in one transaction that starts with a write and re-reads the version.
    session_ << "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", now;
    session_.begin();
    try {
      session_ << "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)", now;
      int version = 0;
      session_ << "SELECT version FROM schema_version", into(version), now;
      if (version > kSchemaVersion) {
        session_.rollback();
        return Status::Environment("the store has schema version " + std::to_string(version) +
                                   ", newer than this restoreproof knows (" + std::to_string(kSchemaVersion) +
                                   "): run the newer restoreproof, or restore the store from before the upgrade");
      }
      for (int v = version + 1; v <= kSchemaVersion; ++v)
        for (const auto& sql : Migrations()[static_cast<size_t>(v)]) session_ << sql, now;
      if (version < kSchemaVersion) session_ << "UPDATE schema_version SET version = ?", bind(kSchemaVersion), now;
      session_.commit();
    } catch (...) {
      if (session_.isTransaction()) session_.rollback();
      throw;
    }
    version_ = kSchemaVersion;
    return Status::Ok();
  }

  int64_t EnqueueRun(const RunRequest& q, int64_t at) override {
    std::lock_guard lock(mu_);
    return Insert(q, at);
  }

  std::optional<RunRecord> ClaimRun(const std::string& owner, int64_t at, int64_t lease_until,
                                    const ClaimFilter& filter) override {
    const int64_t drill_id = filter.drill_id;
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> ids;
    session_ << "UPDATE runs SET state = 'running', lease_owner = ?, lease_until = ?, started_at = ?"
                " WHERE id = (SELECT r.id FROM runs r WHERE r.state = 'queued' AND r.not_before <= ?"
                " AND (? = 0 OR r.drill_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.target = r.target AND x.state = 'running')"
                " ORDER BY r.id LIMIT 1) AND state = 'queued' RETURNING id",
        bind(owner), bind(lease_until), bind(at), bind(at), bind(drill_id), bind(drill_id), into(ids), now;
    if (ids.empty()) return std::nullopt;
    return Fetch(ids[0]);
  }

  bool RenewLease(int64_t id, const std::string& owner, int64_t lease_until, bool* cancel) override {
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> flags;
    session_ << "UPDATE runs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_owner = ?"
                " RETURNING cancel_requested",
        bind(lease_until), bind(id), bind(owner), into(flags), now;
    if (flags.empty()) return false;
    if (cancel) *cancel = flags[0] != 0;
    return true;
  }

  bool RecordStart(int64_t id, const std::string& owner, const std::string& point_id, int64_t point_time,
                   const std::string& location, uint64_t seed, const std::string& worker, const std::string& version,
                   const std::string& config_hash) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "UPDATE runs SET point_id = ?, point_time = ?, location = ?, seed = ?, worker = ?, version = ?, config_hash = ?"
         " WHERE id = ? AND state = 'running' AND lease_owner = ?",
        bind(point_id), bind(point_time), bind(location), bind(static_cast<Poco::Int64>(seed)), bind(worker),
        bind(version), bind(config_hash), bind(id), bind(owner);
    return s.execute() == 1;
  }

  bool FinishRun(int64_t id, const std::string& owner, const RunOutcome& o) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      Statement s(session_);
      s << "UPDATE runs SET state = ?, finished_at = ?, files = ?, bytes = ?, duration_s = ?, message = ?, report = ?,"
           " clock_synced = ?, clock_error_us = ?, clock_max_error_us = ?,"
           " lease_owner = '', lease_until = 0 WHERE id = ? AND state = 'running' AND lease_owner = ?",
          bind(std::string(RunStateName(o.state))), bind(o.finished_at), bind(static_cast<Poco::Int64>(o.files)),
          bind(static_cast<Poco::Int64>(o.bytes)), bind(o.duration_s), bind(o.message), bind(Encode(o.report)),
          bind(o.clock.known ? (o.clock.synchronised ? 1 : 0) : -1), bind(o.clock.estimated_error_us),
          bind(o.clock.maximum_error_us), bind(id), bind(owner);
      const bool held = s.execute() == 1;
      if (held && o.retry) Insert(*o.retry, o.finished_at);
      session_.commit();
      return held;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  std::vector<RunRecord> InterruptStale(int64_t at, bool (*owner_dead)(const std::string&)) override {
    std::lock_guard lock(mu_);
    std::vector<RunRecord> running;
    {
      Statement s(session_);
      s << "SELECT " << kRunColumns << " FROM runs WHERE state = 'running'";
      s.execute();
      RecordSet rs(s);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) running.push_back(ReadRun(rs));
    }
    std::vector<RunRecord> interrupted;
    for (RunRecord& r : running) {
      const bool expired = r.lease_until < at;
      const bool dead = owner_dead && owner_dead(r.lease_owner);
      if (!expired && !dead) continue;
      std::string why = dead ? "the process running it (" + r.lease_owner + ") ended without recording a result"
                             : "its lease held by " + r.lease_owner + " expired without renewal";
      // An operator asked to stop it: it ends cancelled and is not queued again.
      const bool cancelled = r.cancel_requested;
      if (cancelled) why = r.message.empty() ? "cancelled; " + why : r.message + "; " + why;
      session_.begin();
      try {
        Statement s(session_);
        // The lease as read: a renewal since then keeps the run alive.
        s << "UPDATE runs SET state = ?, finished_at = ?, message = ?, lease_owner = '', lease_until = 0"
             " WHERE id = ? AND state = 'running' AND lease_owner = ? AND lease_until = ?",
            bind(std::string(cancelled ? "cancelled" : "interrupted")), bind(at), bind(why), bind(r.id), bind(r.lease_owner),
            bind(r.lease_until);
        const bool changed = s.execute() == 1;
        if (changed && cancelled) {
          r.state = RunState::kCancelled;
          r.message = why;
          interrupted.push_back(r);
        } else if (changed) {
          RunRequest again = r.request;
          again.retry_of = r.id;
          again.attempt = r.request.attempt + 1;
          again.not_before = 0;
          if (!r.location.empty()) again.location = r.location;
          if (!r.point_id.empty()) again.point_id = r.point_id;
          if (r.seed) again.seed = r.seed;
          Insert(again, at);
          r.state = RunState::kInterrupted;
          r.message = why;
          interrupted.push_back(r);
        }
        session_.commit();
      } catch (...) {
        session_.rollback();
        throw;
      }
    }
    return interrupted;
  }

  bool CancelRun(int64_t id, int64_t at, const std::string& why) override {
    std::lock_guard lock(mu_);
    Statement q(session_);
    q << "UPDATE runs SET state = 'cancelled', finished_at = ?, message = ? WHERE id = ? AND state = 'queued'", bind(at),
        bind(why), bind(id);
    if (q.execute() == 1) return true;
    Statement r(session_);
    r << "UPDATE runs SET cancel_requested = 1, message = ? WHERE id = ? AND state = 'running'", bind(why), bind(id);
    return r.execute() == 1;
  }

  std::optional<RunRecord> GetRun(int64_t id) override {
    std::lock_guard lock(mu_);
    return Fetch(id);
  }

  std::vector<RunRecord> ListRuns(const RunFilter& f) override {
    std::lock_guard lock(mu_);
    // Only the conditions the filter sets, so that SQLite can use the (target, queued_at) index;
    // every value is bound.
    const std::string state = f.state ? std::string(RunStateName(*f.state)) : "";
    std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE queued_at >= ?";
    if (!f.target.empty()) sql += " AND target = ?";
    if (f.state) sql += " AND state = ?";
    if (f.drill_id) sql += " AND drill_id = ?";
    if (f.before_id) sql += " AND id < ?";
    sql += " ORDER BY id DESC LIMIT ?";
    Statement s(session_);
    s << sql, bind(f.since);
    if (!f.target.empty()) s, bind(f.target);
    if (f.state) s, bind(state);
    if (f.drill_id) s, bind(f.drill_id);
    if (f.before_id) s, bind(f.before_id);
    s, bind(static_cast<Poco::Int64>(f.limit));
    return Rows(s);
  }

  int64_t CountPending(const std::string& target, int test_index, Trigger trigger) override {
    std::lock_guard lock(mu_);
    Poco::Int64 n = 0;
    session_ << "SELECT COUNT(*) FROM runs WHERE target = ? AND test_index = ? AND trigger_kind = ?"
                " AND state IN ('queued', 'running')",
        bind(target), bind(test_index), bind(std::string(TriggerName(trigger))), into(n), now;
    return n;
  }

  std::optional<RunRecord> LastRun(const std::string& target, std::optional<RunState> state,
                                   const std::string& location) override {
    std::lock_guard lock(mu_);
    const std::string st = state ? std::string(RunStateName(*state)) : "";
    Statement s(session_);
    s << "SELECT " << kRunColumns << " FROM runs WHERE target = ? AND state NOT IN ('queued', 'running')"
         " AND (? = '' OR state = ?) AND (? = '' OR location = ?) ORDER BY finished_at DESC, id DESC LIMIT 1",
        bind(target), bind(st), bind(st), bind(location), bind(location);
    auto rows = Rows(s);
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  std::optional<int64_t> ScheduleMark(const std::string& key) override {
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> slots;
    session_ << "SELECT slot FROM schedule_marks WHERE key = ?", bind(key), into(slots), now;
    if (slots.empty()) return std::nullopt;
    return slots[0];
  }

  void SetScheduleMark(const std::string& key, int64_t slot) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO schedule_marks (key, slot) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET slot = excluded.slot",
        bind(key), bind(slot), now;
  }

  std::map<std::string, int64_t> ScheduleMarks() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> keys;
    std::vector<Poco::Int64> slots;
    session_ << "SELECT key, slot FROM schedule_marks", into(keys), into(slots), now;
    std::map<std::string, int64_t> out;
    for (size_t i = 0; i < keys.size() && i < slots.size(); ++i) out[keys[i]] = slots[i];
    return out;
  }

  std::vector<int64_t> Fire(const std::vector<FireItem>& items, int64_t at) override {
    std::vector<int64_t> drills;
    if (items.empty()) return drills;
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      for (const auto& item : items) {
        Statement mark(session_);
        if (item.old_slot)
          mark << "UPDATE schedule_marks SET slot = ? WHERE key = ? AND slot = ?", bind(item.new_slot), bind(item.key),
              bind(*item.old_slot);
        else
          mark << "INSERT INTO schedule_marks (key, slot) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", bind(item.key),
              bind(item.new_slot);
        if (mark.execute() != 1) continue;  // another process fired this slot
        if (item.run) Insert(*item.run, at);
        if (item.drill) drills.push_back(InsertDrill(*item.drill, item.drill_runs, at));
      }
      session_.commit();
    } catch (...) {
      session_.rollback();
      throw;
    }
    return drills;
  }

  std::set<std::pair<std::string, int>> PendingScheduled() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> targets;
    std::vector<int> tests;
    session_ << "SELECT target, test_index FROM runs WHERE trigger_kind = 'schedule' AND state IN ('queued', 'running')",
        into(targets), into(tests), now;
    std::set<std::pair<std::string, int>> out;
    for (size_t i = 0; i < targets.size() && i < tests.size(); ++i) out.emplace(targets[i], tests[i]);
    return out;
  }

  int64_t CreateDrill(const DrillRecord& d, const std::vector<RunRequest>& runs) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      const int64_t id = InsertDrill(d, runs, d.started_at);
      session_.commit();
      return id;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  bool FinishDrill(int64_t id, int64_t finished_at, bool passed, const std::string& report_json) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "UPDATE drills SET state = 'finished', finished_at = ?, passed = ?, report = ? WHERE id = ? AND state = 'running'",
        bind(finished_at), bind(passed ? 1 : 0), bind(report_json), bind(id);
    return s.execute() == 1;
  }

  std::optional<DrillRecord> GetDrill(int64_t id) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, name, trigger_kind, responsible, targets, state, started_at, finished_at, passed, report FROM drills"
         " WHERE id = ?",
        bind(id);
    auto rows = Drills(s);
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  std::vector<DrillRecord> ListDrills(size_t limit) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, name, trigger_kind, responsible, targets, state, started_at, finished_at, passed, report FROM drills"
         " ORDER BY id DESC LIMIT ?",
        bind(static_cast<Poco::Int64>(limit));
    return Drills(s);
  }

  void PutBaseline(const std::string& target, const std::string& location, const std::string& point_id, int64_t run_id,
                   int64_t at, const std::string& inventory) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO baselines (target, location, point_id, run_id, at, inventory) VALUES (?, ?, ?, ?, ?, ?)",
        bind(target), bind(location), bind(point_id), bind(run_id), bind(at), bind(inventory), now;
  }

  std::optional<std::string> LatestBaseline(const std::string& target) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> rows;
    session_ << "SELECT inventory FROM baselines WHERE target = ? ORDER BY id DESC LIMIT 1", bind(target), into(rows), now;
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  void PutCatalogSnapshot(const std::string& target, int64_t at, const std::string& verdict,
                          const std::string& evaluation_json) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO catalog_snapshots (target, at, verdict, evaluation) VALUES (?, ?, ?, ?)", bind(target),
        bind(at), bind(verdict), bind(evaluation_json), now;
  }

  std::optional<std::pair<int64_t, std::string>> LatestCatalogSnapshot(const std::string& target) override {
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> at;
    std::vector<std::string> evaluation;
    session_ << "SELECT at, evaluation FROM catalog_snapshots WHERE target = ? ORDER BY at DESC, id DESC LIMIT 1",
        bind(target), into(at), into(evaluation), now;
    if (at.empty()) return std::nullopt;
    return std::pair<int64_t, std::string>(at[0], evaluation[0]);
  }

  std::map<RunState, int64_t> CountEndedRuns() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> states;
    std::vector<Poco::Int64> counts;
    session_ << "SELECT state, COUNT(*) FROM runs GROUP BY state", into(states), into(counts), now;
    std::map<RunState, int64_t> out;
    for (size_t i = 0; i < states.size(); ++i)
      if (auto s = ParseRunState(states[i]); s && RunStateFinal(*s)) out[*s] = counts[i];
    return out;
  }

  std::map<RunState, int64_t> CountRunsByState() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> states;
    std::vector<Poco::Int64> counts;
    session_ << "SELECT state, COUNT(*) FROM runs GROUP BY state", into(states), into(counts), now;
    std::map<RunState, int64_t> out;
    for (size_t i = 0; i < states.size(); ++i)
      if (auto s = ParseRunState(states[i])) out[*s] = counts[i];
    return out;
  }

  bool RecordProgress(int64_t id, const std::string& owner, const RunProgress& p) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "UPDATE runs SET progress_files = ?, progress_bytes = ?, progress_total = ?, progress_at = ?"
         " WHERE id = ? AND state = 'running' AND lease_owner = ?",
        bind(static_cast<Poco::Int64>(p.files)), bind(static_cast<Poco::Int64>(p.bytes)),
        bind(static_cast<Poco::Int64>(p.total_bytes)), bind(p.at), bind(id), bind(owner);
    return s.execute() == 1;
  }

  std::string SwapTargetState(const std::string& target, const std::string& aspect, const std::string& state,
                              int64_t at) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      // The write comes first: it takes the write lock before the read.
      session_ << "INSERT INTO target_states (target, aspect, state, since) VALUES (?, ?, '', ?)"
                  " ON CONFLICT (target, aspect) DO NOTHING",
          bind(target), bind(aspect), bind(at), now;
      std::string previous;
      session_ << "SELECT state FROM target_states WHERE target = ? AND aspect = ?", bind(target), bind(aspect),
          into(previous), now;
      if (previous != state)
        session_ << "UPDATE target_states SET state = ?, since = ? WHERE target = ? AND aspect = ?", bind(state), bind(at),
            bind(target), bind(aspect), now;
      session_.commit();
      return previous;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  int64_t EnqueueNotification(const NotificationRecord& n) override {
    std::lock_guard lock(mu_);
    Poco::Int64 id = 0;
    session_ << "INSERT INTO notifications (channel, target, event, subject, body, created_at, next_attempt)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        bind(n.channel), bind(n.target), bind(n.event), bind(n.subject), bind(n.body), bind(n.created_at),
        bind(n.next_attempt), into(id), now;
    return id;
  }

  std::vector<NotificationRecord> DueNotifications(int64_t at, size_t limit) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, channel, target, event, subject, body, created_at, attempts, next_attempt, sent_at, given_up, outcome"
         " FROM notifications WHERE sent_at = 0 AND given_up = 0 AND next_attempt <= ? ORDER BY id LIMIT ?",
        bind(at), bind(static_cast<Poco::Int64>(limit));
    return Notifications(s);
  }

  bool ClaimNotification(const NotificationRecord& n, int64_t hold_until) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "UPDATE notifications SET next_attempt = ? WHERE id = ? AND next_attempt = ? AND sent_at = 0 AND given_up = 0",
        bind(hold_until), bind(n.id), bind(n.next_attempt);
    return s.execute() == 1;
  }

  void RecordDelivery(int64_t id, bool ok, const std::string& outcome, int64_t at, int64_t next_attempt,
                      bool give_up) override {
    std::lock_guard lock(mu_);
    session_ << "UPDATE notifications SET attempts = attempts + 1, outcome = ?, sent_at = ?, next_attempt = ?,"
                " given_up = ? WHERE id = ?",
        bind(outcome), bind(ok ? at : int64_t{0}), bind(next_attempt), bind(give_up ? 1 : 0), bind(id), now;
  }

  std::vector<NotificationRecord> ListNotifications(size_t limit) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, channel, target, event, subject, body, created_at, attempts, next_attempt, sent_at, given_up, outcome"
         " FROM notifications ORDER BY id DESC LIMIT ?",
        bind(static_cast<Poco::Int64>(limit));
    return Notifications(s);
  }

  LogRecord AppendLog(const LogRecord& record) override {
    LogRecord r = record;
    MakeLogTexts(&r);
    if (r.salt.empty()) r.salt = NewLogSalt();
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      // The insert takes the write lock before anything is read: the head it chains to is the
      // head when it commits. The hash needs the seq and the previous hash, so it is set once
      // they are known, in the same transaction; nobody sees the row before.
      Poco::Int64 seq = 0;
      std::string prev;
      Statement s(session_);
      s << "INSERT INTO restoration_log (" << kLogColumns << ")"
        << " SELECT COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
           " COALESCE((SELECT hash FROM restoration_log ORDER BY seq DESC LIMIT 1), ?), '' FROM restoration_log"
           " RETURNING seq, prev_hash",
          bind(r.time), bind(r.time_local), bind(std::string(LogKindName(r.kind))), bind(r.target), bind(r.point),
          bind(r.location), bind(r.responsible), bind(r.personal_data), bind(r.reason), bind(r.result),
          bind(static_cast<Poco::Int64>(r.files)), bind(static_cast<Poco::Int64>(r.bytes)),
          bind(static_cast<Poco::Int64>(r.failing_findings)), bind(std::string(CorrectnessName(r.correctness))),
          bind(EncodeTexts(r.failed_files)), bind(r.run_id), bind(EncodeTexts(r.changed_keys)),
          bind(r.salt), bind(std::string(kLogGenesisHash)), into(seq), into(prev);
      s.execute();
      r.seq = seq;
      r.prev_hash = prev;
      r.hash = LogRecordHash(r.prev_hash, r);
      Statement h(session_);
      h << "UPDATE restoration_log SET hash = ? WHERE seq = ? AND hash = ''", bind(r.hash), bind(r.seq);
      if (h.execute() != 1) throw Poco::IllegalStateException("restoration log: the record appended as seq " +
                                                             std::to_string(r.seq) + " vanished before its hash was set");
      session_.commit();
      return r;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  std::vector<LogRecord> ReadLog(int64_t from_seq, size_t limit) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT " << kLogColumns << " FROM restoration_log WHERE seq >= ? ORDER BY seq LIMIT ?", bind(from_seq),
        bind(LimitOf(limit));
    return LogRows(s);
  }

  int64_t FirstLogSeqSince(int64_t time) override {
    std::lock_guard lock(mu_);
    Poco::Nullable<Poco::Int64> seq;
    session_ << "SELECT MIN(seq) FROM restoration_log WHERE at >= ?", bind(time), into(seq), now;
    return seq.isNull() ? 0 : seq.value();
  }

  std::vector<LogRecord> ListLog(const LogFilter& f) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT " << kLogColumns << " FROM restoration_log WHERE at >= ? AND (? = '' OR target = ?)"
         " ORDER BY seq DESC LIMIT ?",
        bind(f.since), bind(f.target), bind(f.target), bind(LimitOf(f.limit));
    auto rows = LogRows(s);
    std::reverse(rows.begin(), rows.end());
    return rows;
  }

  void PutCheckpoint(const LogCheckpoint& c) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO log_checkpoints (seq, head_hash, at, signature, key_fingerprint) VALUES (?, ?, ?, ?, ?)",
        bind(c.seq), bind(c.head_hash), bind(c.at), bind(c.signature), bind(c.key_fingerprint), now;
  }

  std::vector<LogCheckpoint> Checkpoints() override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT seq, head_hash, at, signature, key_fingerprint FROM log_checkpoints ORDER BY seq, id";
    s.execute();
    RecordSet rs(s);
    std::vector<LogCheckpoint> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      LogCheckpoint c;
      c.seq = Get<Poco::Int64>(rs, "seq");
      c.head_hash = Get<std::string>(rs, "head_hash");
      c.at = Get<Poco::Int64>(rs, "at");
      c.signature = Get<std::string>(rs, "signature");
      c.key_fingerprint = Get<std::string>(rs, "key_fingerprint");
      out.push_back(std::move(c));
    }
    return out;
  }

  int64_t SyslogCursor(const std::string& target) override {
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> rows;
    session_ << "SELECT seq FROM syslog_cursor WHERE target = ?", bind(target), into(rows), now;
    return rows.empty() ? 0 : rows[0];
  }

  void SetSyslogCursor(const std::string& target, int64_t seq) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO syslog_cursor (target, seq) VALUES (?, ?)"
                " ON CONFLICT (target) DO UPDATE SET seq = excluded.seq WHERE syslog_cursor.seq < excluded.seq",
        bind(target), bind(seq), now;
  }

  bool AddUser(const UserRecord& u, const AuditRecord& audit) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      Statement s(session_);
      s << "INSERT INTO users (name, role, password_hash, created_at, disabled, must_change_password)"
           " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
          bind(u.name), bind(std::string(RoleName(u.role))), bind(u.password_hash), bind(u.created_at),
          bind(u.disabled ? 1 : 0), bind(u.must_change_password ? 1 : 0);
      const bool added = s.execute() == 1;
      if (added) InsertAudit(audit);
      session_.commit();
      return added;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  std::optional<UserRecord> GetUser(const std::string& name) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT name, role, password_hash, created_at, disabled, must_change_password FROM users WHERE name = ?", bind(name);
    auto rows = Users(s);
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  std::vector<UserRecord> ListUsers() override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT name, role, password_hash, created_at, disabled, must_change_password FROM users ORDER BY name";
    return Users(s);
  }

  bool SetPassword(const std::string& name, const std::string& password_hash, bool must_change,
                   const AuditRecord& audit) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      Statement s(session_);
      s << "UPDATE users SET password_hash = ?, must_change_password = ? WHERE name = ?", bind(password_hash),
          bind(must_change ? 1 : 0), bind(name);
      const bool changed = s.execute() == 1;
      if (changed) {
        InsertAudit(audit);
        // Every session of the user ends with the old password.
        session_ << "DELETE FROM sessions WHERE user_name = ?", bind(name), now;
      }
      session_.commit();
      return changed;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  int64_t CountAdmins() override {
    std::lock_guard lock(mu_);
    Poco::Int64 n = 0;
    session_ << "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0", into(n), now;
    return n;
  }

  int64_t AddApiToken(const ApiTokenRecord& t, const AuditRecord& audit) override {
    std::lock_guard lock(mu_);
    session_.begin();
    try {
      Poco::Int64 id = 0;
      session_ << "INSERT INTO api_tokens (name, role, token_hash, created_at, last_used_at, revoked)"
                  " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
          bind(t.name), bind(std::string(RoleName(t.role))), bind(t.token_hash), bind(t.created_at),
          bind(t.last_used_at), bind(t.revoked ? 1 : 0), into(id), now;
      InsertAudit(audit);
      session_.commit();
      return id;
    } catch (...) {
      session_.rollback();
      throw;
    }
  }

  std::optional<ApiTokenRecord> FindApiToken(const std::string& token_hash) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, name, role, token_hash, created_at, last_used_at, revoked FROM api_tokens WHERE token_hash = ?",
        bind(token_hash);
    auto rows = Tokens(s);
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  std::vector<ApiTokenRecord> ListApiTokens() override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id, name, role, token_hash, created_at, last_used_at, revoked FROM api_tokens ORDER BY id";
    return Tokens(s);
  }

  void TouchApiToken(int64_t id, int64_t at) override {
    std::lock_guard lock(mu_);
    session_ << "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?", bind(at), bind(id), bind(at),
        now;
  }

  void CreateSession(const SessionRecord& x) override {
    std::lock_guard lock(mu_);
    session_ << "INSERT INTO sessions (id_hash, user_name, role, csrf, created_at, last_seen_at, address)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
        bind(x.id_hash), bind(x.user), bind(std::string(RoleName(x.role))), bind(x.csrf), bind(x.created_at),
        bind(x.last_seen_at), bind(x.address), now;
  }

  std::optional<SessionRecord> GetSession(const std::string& id_hash) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "SELECT id_hash, user_name, role, csrf, created_at, last_seen_at, address FROM sessions WHERE id_hash = ?",
        bind(id_hash);
    s.execute();
    RecordSet rs(s);
    if (!rs.moveFirst()) return std::nullopt;
    SessionRecord x;
    x.id_hash = Get<std::string>(rs, "id_hash");
    x.user = Get<std::string>(rs, "user_name");
    x.role = ParseRole(Get<std::string>(rs, "role")).value_or(Role::kViewer);
    x.csrf = Get<std::string>(rs, "csrf");
    x.created_at = Get<Poco::Int64>(rs, "created_at");
    x.last_seen_at = Get<Poco::Int64>(rs, "last_seen_at");
    x.address = Get<std::string>(rs, "address");
    return x;
  }

  bool TouchSession(const std::string& id_hash, int64_t at) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at <= ?", bind(at), bind(id_hash), bind(at);
    if (s.execute() == 1) return true;
    Poco::Int64 n = 0;  // a touch from the past changes nothing but the session is there
    session_ << "SELECT COUNT(*) FROM sessions WHERE id_hash = ?", bind(id_hash), into(n), now;
    return n == 1;
  }

  bool DeleteSession(const std::string& id_hash) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    s << "DELETE FROM sessions WHERE id_hash = ?", bind(id_hash);
    return s.execute() == 1;
  }

  int64_t DeleteExpiredSessions(int64_t at, const SessionTimeouts& t) override {
    std::lock_guard lock(mu_);
    Statement s(session_);
    // SessionTimeouts::Expired, in SQL: idle too long, or signed in too long ago.
    s << "DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?", bind(at - t.idle_s), bind(at - t.absolute_s);
    return static_cast<int64_t>(s.execute());
  }

  int64_t AppendAudit(const AuditRecord& r) override {
    std::lock_guard lock(mu_);
    return InsertAudit(r);
  }

  std::vector<AuditRecord> ListAudit(int64_t since, size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<Poco::Int64> ids, ats;
    std::vector<std::string> actors, addresses, actions, details;
    session_ << "SELECT id, at, actor, address, action, detail FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?",
        bind(since), bind(LimitOf(limit)), into(ids), into(ats), into(actors), into(addresses), into(actions),
        into(details), now;
    std::vector<AuditRecord> out(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const size_t k = ids.size() - 1 - i;
      out[i] = AuditRecord{ids[k], ats[k], actors[k], addresses[k], actions[k], details[k]};
    }
    return out;
  }

  int SchemaVersion() override { return version_; }
  std::string_view Backend() const override { return "sqlite"; }
  bool HoldScheduling() override { return true; }

 private:
  int64_t InsertAudit(const AuditRecord& r) {
    Poco::Int64 id = 0;
    session_ << "INSERT INTO audit (at, actor, address, action, detail) VALUES (?, ?, ?, ?, ?) RETURNING id", bind(r.at),
        bind(r.actor), bind(r.address), bind(r.action), bind(r.detail), into(id), now;
    return id;
  }

  static std::vector<UserRecord> Users(Statement& s) {
    s.execute();
    RecordSet rs(s);
    std::vector<UserRecord> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      UserRecord u;
      u.name = Get<std::string>(rs, "name");
      u.role = ParseRole(Get<std::string>(rs, "role")).value_or(Role::kViewer);
      u.password_hash = Get<std::string>(rs, "password_hash");
      u.created_at = Get<Poco::Int64>(rs, "created_at");
      u.disabled = Get<Poco::Int64>(rs, "disabled") != 0;
      u.must_change_password = Get<Poco::Int64>(rs, "must_change_password") != 0;
      out.push_back(std::move(u));
    }
    return out;
  }

  static std::vector<ApiTokenRecord> Tokens(Statement& s) {
    s.execute();
    RecordSet rs(s);
    std::vector<ApiTokenRecord> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      ApiTokenRecord t;
      t.id = Get<Poco::Int64>(rs, "id");
      t.name = Get<std::string>(rs, "name");
      t.role = ParseRole(Get<std::string>(rs, "role")).value_or(Role::kViewer);
      t.token_hash = Get<std::string>(rs, "token_hash");
      t.created_at = Get<Poco::Int64>(rs, "created_at");
      t.last_used_at = Get<Poco::Int64>(rs, "last_used_at");
      t.revoked = Get<Poco::Int64>(rs, "revoked") != 0;
      out.push_back(std::move(t));
    }
    return out;
  }
  int64_t Insert(const RunRequest& q, int64_t at) {
    Poco::Int64 id = 0;
    session_ << "INSERT INTO runs (target, test_index, trigger_kind, drill_id, select_text, requested_by, not_before,"
                " attempt, retry_of, want_location, want_point, want_seed, state, queued_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?) RETURNING id",
        bind(q.target), bind(q.test_index), bind(std::string(TriggerName(q.trigger))), bind(q.drill_id), bind(q.select),
        bind(q.requested_by), bind(q.not_before), bind(q.attempt), bind(q.retry_of), bind(q.location), bind(q.point_id),
        bind(static_cast<Poco::Int64>(q.seed)), bind(at), into(id), now;
    return id;
  }

  int64_t InsertDrill(const DrillRecord& d, const std::vector<RunRequest>& runs, int64_t at) {
    Poco::Int64 id = 0;
    session_ << "INSERT INTO drills (name, trigger_kind, responsible, targets, state, started_at) VALUES (?, ?, ?, ?, 'running', ?)"
                " RETURNING id",
        bind(d.name), bind(std::string(TriggerName(d.trigger))), bind(d.responsible),
        bind(nlohmann::json(d.targets).dump()), bind(d.started_at), into(id), now;
    for (RunRequest q : runs) {
      q.drill_id = id;
      Insert(q, at);
    }
    return id;
  }

  std::optional<RunRecord> Fetch(int64_t id) {
    Statement s(session_);
    s << "SELECT " << kRunColumns << " FROM runs WHERE id = ?", bind(id);
    auto rows = Rows(s);
    if (rows.empty()) return std::nullopt;
    return rows[0];
  }

  static std::vector<RunRecord> Rows(Statement& s) {
    s.execute();
    RecordSet rs(s);
    std::vector<RunRecord> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(ReadRun(rs));
    return out;
  }

  // A LIMIT of 0 means none; PostgreSQL and SQLite both take the largest BIGINT for that.
  static Poco::Int64 LimitOf(size_t limit) {
    return limit == 0 || limit > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<Poco::Int64>(limit);
  }

  static std::vector<LogRecord> LogRows(Statement& s) {
    LogColumns columns;
    columns.Execute(s);
    return columns.Records();
  }

  static std::vector<DrillRecord> Drills(Statement& s) {
    s.execute();
    RecordSet rs(s);
    std::vector<DrillRecord> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      DrillRecord d;
      d.id = Get<Poco::Int64>(rs, "id");
      d.name = Get<std::string>(rs, "name");
      d.trigger = ParseTrigger(Get<std::string>(rs, "trigger_kind")).value_or(Trigger::kOperator);
      d.responsible = Get<std::string>(rs, "responsible");
      const auto targets = nlohmann::json::parse(Get<std::string>(rs, "targets"), nullptr, false);
      if (targets.is_array())
        for (const auto& t : targets)
          if (t.is_string()) d.targets.push_back(t.get<std::string>());
      d.state = Get<std::string>(rs, "state") == "finished" ? DrillState::kFinished : DrillState::kRunning;
      d.started_at = Get<Poco::Int64>(rs, "started_at");
      d.finished_at = Get<Poco::Int64>(rs, "finished_at");
      d.passed = Get<Poco::Int64>(rs, "passed") != 0;
      d.report_json = Get<std::string>(rs, "report");
      out.push_back(std::move(d));
    }
    return out;
  }

  static std::vector<NotificationRecord> Notifications(Statement& s) {
    s.execute();
    RecordSet rs(s);
    std::vector<NotificationRecord> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      NotificationRecord n;
      n.id = Get<Poco::Int64>(rs, "id");
      n.channel = Get<std::string>(rs, "channel");
      n.target = Get<std::string>(rs, "target");
      n.event = Get<std::string>(rs, "event");
      n.subject = Get<std::string>(rs, "subject");
      n.body = Get<std::string>(rs, "body");
      n.created_at = Get<Poco::Int64>(rs, "created_at");
      n.attempts = static_cast<int>(Get<Poco::Int64>(rs, "attempts"));
      n.next_attempt = Get<Poco::Int64>(rs, "next_attempt");
      n.sent_at = Get<Poco::Int64>(rs, "sent_at");
      n.given_up = Get<Poco::Int64>(rs, "given_up") != 0;
      n.outcome = Get<std::string>(rs, "outcome");
      out.push_back(std::move(n));
    }
    return out;
  }

  std::mutex mu_;
  Session session_;
  int version_ = 0;
};

}  // namespace

std::string_view RunStateName(RunState s) {
  switch (s) {
    case RunState::kQueued: return "queued";
    case RunState::kRunning: return "running";
    case RunState::kPassed: return "passed";
    case RunState::kFailed: return "failed";
    case RunState::kAborted: return "aborted";
    case RunState::kInterrupted: return "interrupted";
    case RunState::kCancelled: return "cancelled";
  }
  return "aborted";
}

std::optional<RunState> ParseRunState(std::string_view name) {
  for (RunState s : {RunState::kQueued, RunState::kRunning, RunState::kPassed, RunState::kFailed, RunState::kAborted,
                     RunState::kInterrupted, RunState::kCancelled})
    if (RunStateName(s) == name) return s;
  return std::nullopt;
}

bool RunStateFinal(RunState s) { return s != RunState::kQueued && s != RunState::kRunning; }

std::string_view TriggerName(Trigger t) {
  switch (t) {
    case Trigger::kSchedule: return "schedule";
    case Trigger::kDrill: return "drill";
    case Trigger::kOperator: return "operator";
    case Trigger::kApi: return "api";
  }
  return "operator";
}

std::optional<Trigger> ParseTrigger(std::string_view name) {
  for (Trigger t : {Trigger::kSchedule, Trigger::kDrill, Trigger::kOperator, Trigger::kApi})
    if (TriggerName(t) == name) return t;
  return std::nullopt;
}

std::string StorePath(const std::string& data_dir) { return data_dir + "/restoreproof.db"; }

Status OpenSqliteStore(const std::string& path, std::unique_ptr<Store>* out, bool integrity_check) {
  static std::once_flag registered;
  std::call_once(registered, [] { Poco::Data::SQLite::Connector::registerConnector(); });
  try {
    auto store = std::make_unique<SqliteStore>(path);
    if (Status s = store->Open(integrity_check); !s.ok()) return Status::Environment("store " + path + ": " + s.message());
    *out = std::move(store);
    return Status::Ok();
  } catch (const Poco::Exception& e) {
    return Status::Environment("store " + path + ": " + e.displayText() +
                               " (the file is left as it is; move it aside only once it is saved elsewhere)");
  }
}

}  // namespace rp
