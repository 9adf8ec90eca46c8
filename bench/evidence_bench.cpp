// Benchmarks of issue 16 (docs/BENCHMARKS.md, "Evidence and log"): the data that
// bench/evidence_bench.sh times `log verify` and `evidence export` on, and an in-process
// breakdown of where their time and memory go. Each mode can be run alone:
//
//   evidence_bench log DIR [--records 1000000] [--seed N]
//       DIR/log.toml (an appliance without targets) and its store DIR/data/restoreproof.db
//       holding RECORDS chained restoration-log records (varied kinds, 500 targets, Swedish
//       texts, files to correct on failed restorations of personal data), a record a minute
//       ending an hour ago, and a checkpoint signed each day as `serve` signs them
//       (DIR/data/signing.key). Written with the SQLite C API in large transactions
//       (synchronous = OFF, for generating only) into a store that OpenSqliteStore created;
//       every salt, prev_hash and hash comes from the library (NewLogSalt, LogRecordHash).
//   evidence_bench estate DIR [--targets 100] [--personal 30] [--days 365] [--history 30]
//                             [--seed N]
//       DIR/estate.toml with TARGETS targets (PERSONAL of them holding personal data; a few
//       with a second copy), each copy a directory of 36 empty dated points, and a store
//       holding a daily scheduled restore test of every target over the DAYS days that end
//       yesterday plus HISTORY days before them and today (runs outside the period the export
//       must skip): the engine's report of each (every isolation layer, findings on failed
//       runs), a restoration-log record per run, quarterly drills, weekly operator tests, real
//       restorations, configuration changes and a checkpoint a day. The rows are written with
//       SQL matching the schema, each report encoded with the store's codec (EncodeJson).
//   evidence_bench phases-log CONFIG
//       where `log verify`'s time goes: the rows stepped through with the SQLite C API alone,
//       ReadLog's pages and the hashes recomputed (timed apart), and VerifyLog whole
//   evidence_bench phases-export CONFIG FROM TO
//       where `evidence export`'s time and memory go: BuildEvidence (and its reads alone), each
//       file rendered and WriteEvidenceBundle whole, each with its wall time,
//       the RSS before it, its peak RSS (VmHWM reset through /proc/self/clear_refs) and the RSS
//       it leaves (memory freed is handed back with malloc_trim before each reading)
//
// Every mode prints `key value` lines on stdout (the script's summary reads them) and a human
// report on stderr.
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rp/codec.h"
#include "rp/config.h"
#include "rp/drill.h"
#include "rp/evidence.h"
#include "rp/evidence_bundle.h"
#include "rp/restoration_log.h"
#include "rp/store.h"

namespace {

namespace fs = std::filesystem;

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "evidence_bench: %s\n", what.c_str());
  std::exit(2);
}

void Check(const rp::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.message());
}

void Fresh(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) Die("cannot create " + dir + ": " + ec.message());
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) Die("cannot write " + path);
}

rp::Config Load(const std::string& path) {
  rp::ConfigResult r = rp::LoadConfigFile(path);
  if (!r.errors.empty()) Die(rp::FormatConfigErrors(r));
  return std::move(r.config);
}

double FileMiB(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<double>(n) / (1 << 20);
}

// splitmix64: the same data from the same seed (the salts alone are random).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Chance(int per_mille) { return Below(1000) < static_cast<uint64_t>(per_mille); }
  template <class T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
};

std::string Pad(int n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*d", width, n);
  return buf;
}

// ---- the SQLite C API, for writing fast and for reading without the store -----------------------

struct Sql {
  sqlite3* db = nullptr;
  explicit Sql(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("sqlite3_open " + path);
    sqlite3_busy_timeout(db, 30000);
  }
  ~Sql() { sqlite3_close(db); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) Die(sql + ": " + (err ? err : "?"));
  }
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) Die(sql + ": " + sqlite3_errmsg(db));
    return st;
  }
  void Step(sqlite3_stmt* st) {
    if (sqlite3_step(st) != SQLITE_DONE) Die(std::string("insert: ") + sqlite3_errmsg(db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

void Text(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}
void Int(sqlite3_stmt* st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }
void Uint(sqlite3_stmt* st, int i, uint64_t v) { sqlite3_bind_int64(st, i, static_cast<int64_t>(v)); }

// Opens the store once through the library (the schema, version 6), then the file alone for
// writing in large transactions without a sync per commit.
std::unique_ptr<Sql> FreshStore(const std::string& data_dir) {
  fs::create_directories(data_dir);
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace);
  const std::string db = rp::StorePath(data_dir);
  {
    std::unique_ptr<rp::Store> store;
    Check(rp::OpenSqliteStore(db, &store, false), "store");
    if (store->SchemaVersion() != 6)
      Die("the store's schema is version " + std::to_string(store->SchemaVersion()) +
          ", this generator writes version 6: update bench/evidence_bench.cpp");
  }
  auto sql = std::make_unique<Sql>(db);
  sql->Exec("PRAGMA synchronous = OFF");
  sql->Exec("BEGIN");
  return sql;
}

void CloseStore(Sql& sql) {
  sql.Exec("COMMIT");
  sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

// Appends records to the chain as Store::AppendLog does (seq, salt, prev_hash, hash through the
// library's functions), and signs checkpoints of its head as rp::Checkpoint does.
class LogWriter {
 public:
  LogWriter(Sql& sql, const rp::SigningKey& key) : sql_(sql), key_(key) {
    insert_ = sql.Prepare(
        "INSERT INTO restoration_log (seq, at, at_local, kind, target, point, location, responsible, personal_data,"
        " reason, result, files, bytes, failing_findings, correctness, failed_files, run_id, changed_keys, salt,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    checkpoint_ = sql.Prepare(
        "INSERT INTO log_checkpoints (seq, head_hash, at, signature, key_fingerprint) VALUES (?, ?, ?, ?, ?)");
  }
  ~LogWriter() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(checkpoint_);
  }
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  void Append(rp::LogRecord r) {
    r.seq = ++seq_;
    r.salt = rp::NewLogSalt();
    r.prev_hash = head_;
    r.hash = rp::LogRecordHash(r.prev_hash, r);
    int i = 0;
    Int(insert_, ++i, r.seq);
    Int(insert_, ++i, r.time);
    Text(insert_, ++i, r.time_local);
    Text(insert_, ++i, std::string(rp::LogKindName(r.kind)));
    Text(insert_, ++i, r.target);
    Text(insert_, ++i, r.point);
    Text(insert_, ++i, r.location);
    Text(insert_, ++i, r.responsible);
    Text(insert_, ++i, r.personal_data);
    Text(insert_, ++i, r.reason);
    Text(insert_, ++i, r.result);
    Uint(insert_, ++i, r.files);
    Uint(insert_, ++i, r.bytes);
    Uint(insert_, ++i, r.failing_findings);
    Text(insert_, ++i, std::string(rp::CorrectnessName(r.correctness)));
    Text(insert_, ++i, nlohmann::json(r.failed_files).dump());  // the store's EncodeTexts
    Int(insert_, ++i, r.run_id);
    Text(insert_, ++i, nlohmann::json(r.changed_keys).dump());
    Text(insert_, ++i, r.salt);
    Text(insert_, ++i, r.prev_hash);
    Text(insert_, ++i, r.hash);
    sql_.Step(insert_);
    head_ = r.hash;
    if (++in_transaction_ == 50000) {
      sql_.Exec("COMMIT");
      sql_.Exec("BEGIN");
      in_transaction_ = 0;
    }
  }

  void Checkpoint(int64_t at) {
    if (seq_ == 0) return;
    const std::string signature = key_.Sign(rp::CheckpointMessage(seq_, head_, at));
    if (signature.size() != 64) Die("signing a checkpoint failed");
    Int(checkpoint_, 1, seq_);
    Text(checkpoint_, 2, head_);
    Int(checkpoint_, 3, at);
    Text(checkpoint_, 4, rp::LowerHex(signature));
    Text(checkpoint_, 5, key_.public_key().Fingerprint());
    sql_.Step(checkpoint_);
    ++checkpoints_;
  }

  int64_t seq() const { return seq_; }
  int64_t checkpoints() const { return checkpoints_; }

 private:
  Sql& sql_;
  const rp::SigningKey& key_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* checkpoint_ = nullptr;
  std::string head_ = rp::kLogGenesisHash;
  int64_t seq_ = 0, checkpoints_ = 0, in_transaction_ = 0;
};

// ---- the vocabulary of the generated estate --------------------------------------------------------

const std::vector<std::string> kSystems = {"ekonomi",     "lon",     "elevregister", "journal",       "webbplats",
                                           "intranat",    "arende",  "diarium",      "epost",         "filserver",
                                           "geodata",     "bygglov", "socialtjanst", "skolplattform", "hr",
                                           "upphandling", "vaxel",   "bibliotek",    "fastighet",     "gis"};
const std::vector<std::string> kOwners = {"Åsa Öberg",     "Johan Berg",        "Märta Lindqvist", "Björn Åkesson",
                                          "Karin Nyström", "Per-Olof Sjöström", "Elin Häggström",  "Göran Ek",
                                          "Linnéa Strand", "Mikael Söderberg"};
const std::vector<std::string> kPersonalData = {"Anställda: namn, personnummer, löner",
                                                "Elever: namn, personnummer, betyg, frånvaro",
                                                "Patienter: journalanteckningar (känsliga personuppgifter)",
                                                "Sökande: namn, adress, ansökningar om bygglov",
                                                "Brukare: biståndsbeslut, kontaktuppgifter",
                                                "Medborgare: e-post och ärenden till kommunen"};
const std::vector<std::string> kPersonalPaths = {
    "löner/2026/anställd-{N}.csv",     "betyg/åk9/elev-{N}.pdf",  "journal/2026-03/anteckning-{N}.xml",
    "bygglov/ansökan-{N}/ritning.pdf", "bistånd/beslut-{N}.docx", "ärenden/inkommande/{N}.eml"};
const std::vector<std::string> kPlainPaths = {"dokument/beslut-2025-{N}.pdf", "www/bilder/foto-{N}.jpg",
                                              "data/export-{N}.parquet", "arkiv/protokoll-{N}.odt"};
const std::vector<std::string> kRealReasons = {
    "Återställning efter diskfel på databasservern", "Användaren raderade en mapp av misstag (ärende 2026-{N})",
    "Utpressningsprogram på filservern: återställt till dagen före angreppet",
    "Granskning begärd av revisionen: läsning av äldre version",
    "Felaktig körning av månadsbatchen skrev över tabeller"};

std::string Fill(const std::string& pattern, uint64_t n) {
  std::string s = pattern;
  const size_t at = s.find("{N}");
  if (at != std::string::npos) s.replace(at, 3, Pad(static_cast<int>(n % 100000), 5));
  return s;
}

// One engine report's isolation as a real run on this kind of machine records it.
void Isolation(rp::VerifyReport* r, bool tmpfs, int pid) {
  using L = rp::IsolationLayer;
  using S = rp::LayerState;
  auto& i = r->isolation;
  i.Set(L::kWorkerProcess, S::kEnforced, "a separate restoreproof worker process");
  i.Set(L::kNoNewPrivs, S::kEnforced, "set-user-ID bits and file capabilities give nothing on exec");
  i.Set(L::kUserNamespace, S::kEnforced, "only uid 0 mapped, to root inside");
  i.Set(L::kNetworkNamespace, S::kEnforced, "no interfaces up: no network");
  i.Set(L::kMountNamespace, S::kEnforced, "private: mounts made inside stay inside");
  i.Set(L::kPidNamespace, S::kEnforced,
        "everything left is killed when the worker ends; its own /proc (no other process visible)");
  i.Set(L::kCapabilities, S::kEnforced, "all dropped, bounding set empty, no root privileges on exec");
  i.Set(L::kLandlock, S::kEnforced,
        "ABI 7: read-only source, read-write sandbox, nothing else; no program may be executed; TCP bind and connect "
        "denied; signals and abstract sockets scoped to the worker");
  i.Set(L::kSeccomp, S::kEnforced,
        "denied: sockets, ptrace, mount, modules, keys, namespaces, device nodes, bpf, exec");
  i.Set(L::kRlimits, S::kEnforced,
        "file size 34359738368, open files 8192, address space 8589934592, CPU seconds 57660, processes 64, core dump "
        "bytes 0");
  i.Set(L::kPidsCgroup, S::kEnforced,
        "pids cgroup /sys/fs/cgroup/pids/restoreproof-" + std::to_string(pid) +
            "-1 allows 64 processes and threads for the worker and everything it starts");
  i.Set(L::kMemoryCgroup, S::kEnforced,
        "memory cgroup /sys/fs/cgroup/memory/restoreproof-" + std::to_string(pid) +
            "-2 limits the worker and everything it starts to 1073741824 bytes plus 1073741824 for the page cache of "
            "what it restores to its disk sandbox (resident memory, tmpfs and page cache; no swap)");
  if (tmpfs)
    i.Set(L::kTmpfsSandbox, S::kEnforced, "a tmpfs of 4294967296 bytes; the restored tree never reaches a disk");
  else
    i.Set(L::kTmpfsSandbox, S::kNotRequested, "a disk sandbox was asked for");
  i.Set(L::kNoFollowExtraction, S::kEnforced,
        "every path opened beneath the sandbox without following a symlink (O_NOFOLLOW)");
  i.Set(L::kSymlinkResolutionCheck, S::kEnforced,
        "every restored symlink resolved beneath the sandbox (openat2 RESOLVE_BENEATH)");
}

// ---- log ------------------------------------------------------------------------------------------

int LogStore(const std::string& dir, int64_t records, uint64_t seed) {
  Fresh(dir);
  const std::string data_dir = dir + "/data", config_path = dir + "/log.toml";
  WriteFile(config_path, "# Written by evidence_bench log.\n[appliance]\ndata_dir = \"" + data_dir +
                             "\"\nsandbox_dir = \"" + dir + "/sandboxes\"\ntimezone = \"Europe/Stockholm\"\n");
  const rp::Config config = Load(config_path);
  const rp::TimeZone& zone = config.appliance.zone;
  const double t0 = Now();
  auto sql = FreshStore(data_dir);
  std::unique_ptr<rp::SigningKey> key;
  Check(rp::SigningKey::LoadOrCreate(data_dir, &key), "signing key");
  Rng rng{seed};

  struct Target {
    std::string name, owner, personal_data;
    bool personal;
  };
  std::vector<Target> targets;
  for (int i = 0; i < 500; ++i) {
    const bool personal = i % 4 == 1;
    targets.push_back({kSystems[static_cast<size_t>(i) % kSystems.size()] + "-" + Pad(i, 3),
                       kOwners[rng.Below(kOwners.size())], personal ? rng.Pick(kPersonalData) : "none", personal});
  }
  // A record a minute, give or take, ending an hour ago; a checkpoint each day at 06:00 UTC.
  const int64_t now = static_cast<int64_t>(time(nullptr));
  int64_t t = now - 3600 - records * 60;
  int64_t next_checkpoint = (t / 86400 + 1) * 86400 + 6 * 3600;
  LogWriter log(*sql, *key);
  for (int64_t n = 0; n < records; ++n) {
    t += 30 + static_cast<int64_t>(rng.Below(59));
    while (t >= next_checkpoint) {
      log.Checkpoint(next_checkpoint);
      next_checkpoint += 86400;
    }
    const uint64_t roll = rng.Below(1000);
    const rp::LogKind kind = roll < 850   ? rp::LogKind::kScheduledTest
                             : roll < 900 ? rp::LogKind::kDrill
                             : roll < 960 ? rp::LogKind::kOperatorTest
                             : roll < 985 ? rp::LogKind::kRealRestore
                             : roll < 997 ? rp::LogKind::kConfigChange
                                          : rp::LogKind::kClearNamesExport;
    rp::LogRecord r = rp::NewLogRecord(kind, t, zone);
    const Target& tg = targets[rng.Below(targets.size())];
    if (kind == rp::LogKind::kConfigChange) {
      r.responsible = rng.Pick(kOwners);
      r.result = "applied";
      r.reason = "ändrad via konfigurationshantering";
      r.changed_keys = {"targets." + tg.name + ".policy.rto", "targets." + tg.name + ".tests[0].schedule"};
      if (rng.Chance(300)) r.changed_keys.push_back("appliance.workers");
    } else if (kind == rp::LogKind::kClearNamesExport) {
      r.responsible = rng.Pick(kOwners);
      r.reason =
          "Begäran från Integritetsskyddsmyndigheten (IMY), ärende 2026-" + Pad(static_cast<int>(rng.Below(9999)), 4);
      r.result = "exported";
      r.personal_data = "names and paths of targets holding personal data, in clear";
      r.point = "period " + zone.Format(t - 90 * 86400, "%Y-%m-%d %H:%M:%S %z") + " to " +
                zone.Format(t, "%Y-%m-%d %H:%M:%S %z");
      r.location = "/srv/evidence/export-" + zone.Format(t, "%Y%m%d") + ".tar.gz";
      r.changed_keys = {tg.name};
    } else {
      const uint64_t files = 200 + rng.Below(50000);
      r.target = tg.name;
      r.point = tg.name + "-" + zone.Format(t - 3600, "%Y%m%dT%H%M%S") + ".tar.zst";
      r.location = rng.Chance(800) ? "site-a" : "site-b";
      r.responsible =
          kind == rp::LogKind::kOperatorTest || kind == rp::LogKind::kRealRestore ? rng.Pick(kOwners) : tg.owner;
      r.personal_data = tg.personal_data;
      r.files = files;
      r.bytes = files * (8000 + rng.Below(200000));
      const uint64_t outcome = rng.Below(1000);
      r.result = outcome < 955 ? "passed" : outcome < 990 ? "failed" : outcome < 997 ? "aborted" : "interrupted";
      if (kind == rp::LogKind::kRealRestore) r.reason = Fill(rng.Pick(kRealReasons), rng.Next());
      if (r.result == "failed") {
        r.failing_findings = 1 + rng.Below(4);
        if (tg.personal)
          for (uint64_t f = 0; f < r.failing_findings; ++f)
            r.failed_files.push_back(Fill(rng.Pick(kPersonalPaths), rng.Next()));
      }
      if (tg.personal)
        r.correctness = r.result == "passed"   ? rp::Correctness::kCorrect
                        : r.result == "failed" ? rp::Correctness::kIncorrect
                                               : rp::Correctness::kUnverified;
      if (kind != rp::LogKind::kRealRestore) r.run_id = n + 1;
    }
    log.Append(std::move(r));
  }
  log.Checkpoint(t + 60);  // the head itself, as `serve` signs it
  CloseStore(*sql);
  const double gen_s = Now() - t0;
  std::fprintf(stderr, "log: %lld records and %lld checkpoints written in %.1f s; store %.1f MiB\n",
               static_cast<long long>(log.seq()), static_cast<long long>(log.checkpoints()), gen_s,
               FileMiB(rp::StorePath(data_dir)));
  std::printf("log_records %lld\nlog_checkpoints %lld\nlog_store_mib %.1f\nlog_gen_s %.1f\n",
              static_cast<long long>(log.seq()), static_cast<long long>(log.checkpoints()),
              FileMiB(rp::StorePath(data_dir)), gen_s);
  return 0;
}

// ---- estate ---------------------------------------------------------------------------------------

struct TargetSpec {
  std::string name, owner;
  bool personal = false;
  std::string personal_data;                                // for the log: the declaration's text
  std::vector<std::pair<std::string, std::string>> copies;  // location, directory
  double rto_s = 4 * 3600.0;
  uint64_t files = 0, bytes_per_file = 0;
  bool tmpfs = false;
};

std::string TargetToml(const TargetSpec& t, int index) {
  std::string s = "[[targets]]\nname = \"" + t.name + "\"\nowner = \"" + t.owner +
                  "\"\nclassification = { K = " + std::to_string(t.personal ? 3 : 1 + index % 2) +
                  ", R = " + std::to_string(2 + index % 2) + ", T = " + std::to_string(1 + index % 3) + " }\n";
  if (!t.personal)
    s += "personal_data = \"none\"\n";
  else if (index % 3 == 0)
    s +=
        "personal_data = { categories = [\"namn\", \"personnummer\", \"kontaktuppgifter\"], subjects = [\"anställda\", "
        "\"medborgare\"] }\n";
  else
    s += "personal_data = \"" + t.personal_data + "\"\n";
  if (t.tmpfs) s += "sandbox = \"tmpfs\"\n";
  if (t.rto_s != 4 * 3600.0) s += "policy = { rto = \"" + std::to_string(static_cast<int>(t.rto_s / 3600)) + "h\" }\n";
  for (const auto& [location, path] : t.copies)
    s += "\n[[targets.copies]]\nlocation = \"" + location + "\"\nkind = \"archive-dir\"\npath = \"" + path +
         "\"\npattern = \"" + t.name + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar.zst\"\nmanifest = \"{file}.xxh128\"\n";
  return s + "\n[[targets.tests]]\nschedule = \"0 2 * * *\"\n\n";
}

class EstateWriter {
 public:
  EstateWriter(Sql& sql, LogWriter& log, const rp::TimeZone& zone, Rng& rng)
      : sql_(sql), log_(log), zone_(zone), rng_(rng) {
    insert_ = sql.Prepare(
        "INSERT INTO runs (target, test_index, trigger_kind, drill_id, select_text, requested_by, state, queued_at,"
        " started_at, finished_at, point_id, point_time, location, seed, files, bytes, duration_s, worker, version,"
        " config_hash, message, report, clock_synced, clock_error_us, clock_max_error_us)"
        " VALUES (?, ?, ?, ?, 'latest', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, '0.1.0',"
        " 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c', ?, ?, 1, ?, ?)");
  }
  ~EstateWriter() { sqlite3_finalize(insert_); }
  EstateWriter(const EstateWriter&) = delete;
  EstateWriter& operator=(const EstateWriter&) = delete;

  struct Done {
    int64_t id = 0;
    rp::RunState state = rp::RunState::kPassed;
    double duration_s = 0;
    std::string point, location, message;
    int64_t point_time = 0;
    std::vector<rp::Finding> failing;
    int64_t finished_at = 0;
  };

  // One ended run, its report, and its restoration-log record. Returns what a drill report needs.
  Done Run(const TargetSpec& t, rp::Trigger trigger, int64_t drill_id, const std::string& requested_by,
           int64_t queued_at, int64_t in_period_from, int64_t in_period_to) {
    Done d;
    const uint64_t roll = rng_.Below(1000);
    d.state = roll < 970 ? rp::RunState::kPassed : roll < 995 ? rp::RunState::kFailed : rp::RunState::kAborted;
    const rp::Date day = zone_.LocalDate(queued_at);
    d.point_time = zone_.StartOfDay(day) + 5400;  // 01:30, the night's backup
    d.point = t.name + "-" + zone_.Format(d.point_time, "%Y%m%dT%H%M%S") + ".tar.zst";
    d.location = t.copies.size() > 1 && rng_.Chance(200) ? t.copies[1].first : t.copies[0].first;
    const std::string& dir = t.copies[d.location == t.copies[0].first ? 0 : 1].second;
    const int64_t started = queued_at + 1 + static_cast<int64_t>(rng_.Below(4));
    const uint64_t files = t.files + rng_.Below(t.files / 50 + 1);
    const uint64_t bytes = files * t.bytes_per_file;
    d.duration_s = 0.4 + static_cast<double>(bytes) / 180e6 + static_cast<double>(files) * 90e-6 +
                   static_cast<double>(rng_.Below(1000)) / 1000.0;
    rp::VerifyReport rep;
    std::string report_json;
    if (d.state == rp::RunState::kAborted) {
      d.message = "copy " + d.location + ": cannot list " + dir + ": Input/output error (errno 5); retried in 10 min";
      d.duration_s = 0;
    } else {
      rep.source = dir + "/" + d.point;
      rep.format = "POSIX pax interchange format, zstd";
      rep.algo = t.personal ? rp::HashAlgo::kSha256 : rp::HashAlgo::kXxh128;
      rep.manifest_used = true;
      rep.files = files;
      rep.directories = files / 25 + 3;
      rep.symlinks = rng_.Below(8);
      rep.entries = rep.files + rep.directories + rep.symlinks;
      rep.bytes = bytes;
      rep.source_bytes = bytes / 3;
      rep.duration_s = d.duration_s;
      rep.sandbox = t.tmpfs
                        ? "/var/lib/restoreproof/sandboxes/rp-sandbox-" + Pad(static_cast<int>(rng_.Below(999999)), 6)
                        : "/srv/sandboxes/rp-sandbox-" + Pad(static_cast<int>(rng_.Below(999999)), 6);
      rep.sandbox_kind = t.tmpfs ? rp::SandboxKind::kTmpfs : rp::SandboxKind::kDisk;
      rep.sandbox_removed = true;
      Isolation(&rep, t.tmpfs, 4000 + static_cast<int>(rng_.Below(60000)));
      if (d.state == rp::RunState::kFailed) {
        const uint64_t n = 1 + rng_.Below(4);
        for (uint64_t i = 0; i < n; ++i) {
          const std::string path = Fill(t.personal ? rng_.Pick(kPersonalPaths) : rng_.Pick(kPlainPaths), rng_.Next());
          switch (rng_.Below(4)) {
            case 0:
              rep.Add({rp::FindingKind::kChecksumMismatch, path, "xxh128 differs from the manifest"});
              break;
            case 1:
              rep.Add({rp::FindingKind::kMissing, path, "in the manifest, not in the archive"});
              break;
            case 2:
              rep.Add({rp::FindingKind::kSizeMismatch, path, "restored 0 bytes, the header says 48213"});
              break;
            default:
              rep.Add({rp::FindingKind::kCheckFailed, "min-files", "found 0 files, expected at least 100"});
              break;
          }
        }
        rep.Add({rp::FindingKind::kModeCleared, "bin/run.sh", "setuid bit cleared"});
        for (const auto& f : rep.findings)
          if (rp::FindingFailsRun(f.kind)) d.failing.push_back(f);
      }
      rep.Conclude();
      report_json = rp::EncodeJson(rep);  // the store's Encode
    }
    d.finished_at = started + static_cast<int64_t>(d.duration_s) + 2;
    int i = 0;
    Text(insert_, ++i, t.name);
    Int(insert_, ++i, trigger == rp::Trigger::kSchedule ? 0 : -1);
    Text(insert_, ++i, std::string(rp::TriggerName(trigger)));
    Int(insert_, ++i, drill_id);
    Text(insert_, ++i, requested_by);
    Text(insert_, ++i, std::string(rp::RunStateName(d.state)));
    Int(insert_, ++i, queued_at);
    Int(insert_, ++i, started);
    Int(insert_, ++i, d.finished_at);
    Text(insert_, ++i, d.point);
    Int(insert_, ++i, d.point_time);
    Text(insert_, ++i, d.location);
    Uint(insert_, ++i, d.state == rp::RunState::kAborted ? 0 : files);
    Uint(insert_, ++i, d.state == rp::RunState::kAborted ? 0 : bytes);
    sqlite3_bind_double(insert_, ++i, d.duration_s);
    Text(insert_, ++i,
         "backup-1.kommun.se/" + std::to_string(4000 + rng_.Below(60000)) + "/" + std::to_string(started));
    Text(insert_, ++i, d.message);
    Text(insert_, ++i, report_json);
    Int(insert_, ++i, 200 + static_cast<int64_t>(rng_.Below(3000)));
    Int(insert_, ++i, 16000 + static_cast<int64_t>(rng_.Below(500000)));
    sql_.Step(insert_);
    d.id = sqlite3_last_insert_rowid(sql_.db);
    ++runs_;
    if (queued_at >= in_period_from && queued_at < in_period_to) {
      ++in_period_;
      if (d.state == rp::RunState::kFailed) ++failed_in_period_;
    }
    if (!report_json.empty()) {
      report_bytes_ += report_json.size();
      ++reports_;
    }

    rp::LogRecord r = rp::NewLogRecord(trigger == rp::Trigger::kSchedule ? rp::LogKind::kScheduledTest
                                       : trigger == rp::Trigger::kDrill  ? rp::LogKind::kDrill
                                                                         : rp::LogKind::kOperatorTest,
                                       d.finished_at, zone_);
    r.target = t.name;
    r.point = d.point;
    r.location = d.location;
    r.responsible = trigger == rp::Trigger::kOperator ? requested_by : t.owner;
    r.personal_data = t.personal_data;
    r.result = std::string(rp::RunStateName(d.state));
    r.files = rep.files;
    r.bytes = rep.bytes;
    r.failing_findings = d.failing.size();
    if (t.personal) {
      r.correctness = d.state == rp::RunState::kPassed   ? rp::Correctness::kCorrect
                      : d.state == rp::RunState::kFailed ? rp::Correctness::kIncorrect
                                                         : rp::Correctness::kUnverified;
      for (const auto& f : d.failing)
        if (f.kind != rp::FindingKind::kCheckFailed) r.failed_files.push_back(f.path);
    }
    r.run_id = d.id;
    log_.Append(std::move(r));
    return d;
  }

  int64_t runs_ = 0, in_period_ = 0, failed_in_period_ = 0, reports_ = 0;
  uint64_t report_bytes_ = 0;

 private:
  Sql& sql_;
  LogWriter& log_;
  const rp::TimeZone& zone_;
  Rng& rng_;
  sqlite3_stmt* insert_ = nullptr;
};

int Estate(const std::string& dir, int n_targets, int n_personal, int days, int history, uint64_t seed) {
  Fresh(dir);
  const std::string data_dir = dir + "/data", config_path = dir + "/estate.toml";
  const rp::TimeZone zone = *rp::TimeZone::Locate("Europe/Stockholm");
  const int64_t now = static_cast<int64_t>(time(nullptr));
  const rp::Date today = zone.LocalDate(now);
  const rp::Date first{today.days - days}, last{today.days - 1}, gen_first{first.days - history};
  const int64_t from = zone.StartOfDay(first), to = zone.StartOfDay(today);
  Rng rng{seed};

  // The targets, their copies (36 empty dated points each, the newest today's) and the file.
  std::vector<TargetSpec> targets;
  std::string toml = "# Written by evidence_bench estate.\n[appliance]\ndata_dir = \"" + data_dir +
                     "\"\nsandbox_dir = \"" + dir +
                     "/sandboxes\"\ntimezone = \"Europe/Stockholm\"\nworkers = 2\n\n"
                     "[policy]\nmin_copies = 1\n\n";
  for (int i = 0; i < n_targets; ++i) {
    TargetSpec t;
    t.personal = i * n_personal / n_targets != (i + 1) * n_personal / n_targets;  // spread evenly
    t.name = kSystems[static_cast<size_t>(i) % kSystems.size()] + "-" + Pad(i, 3);
    t.owner = kOwners[rng.Below(kOwners.size())];
    t.personal_data = t.personal ? kPersonalData[static_cast<size_t>(i) % kPersonalData.size()] : "none";
    t.tmpfs = t.personal && i % 2 == 0;
    t.rto_s = i % 7 == 0 ? 2 * 3600.0 : i % 11 == 0 ? 8 * 3600.0 : 4 * 3600.0;
    t.files = 100 + rng.Below(i % 10 == 0 ? 200000 : 20000);
    t.bytes_per_file = 4000 + rng.Below(400000);
    t.copies.emplace_back("site-a", dir + "/copies/" + t.name + "-a");
    if (i % 10 == 3) t.copies.emplace_back("site-b", dir + "/copies/" + t.name + "-b");
    for (const auto& [location, path] : t.copies) {
      fs::create_directories(path);
      for (int64_t d = today.days - 35; d <= today.days; ++d) {
        const int64_t at = zone.StartOfDay(rp::Date{d}) + 5400;
        if (at > now) continue;
        WriteFile(path + "/" + t.name + "-" + zone.Format(at, "%Y%m%dT%H%M%S") + ".tar.zst", "");
      }
    }
    toml += TargetToml(t, i);
    targets.push_back(std::move(t));
  }
  WriteFile(config_path, toml);
  Load(config_path);

  const double t0 = Now();
  auto sql = FreshStore(data_dir);
  std::unique_ptr<rp::SigningKey> key;
  Check(rp::SigningKey::LoadOrCreate(data_dir, &key), "signing key");
  LogWriter log(*sql, *key);
  EstateWriter w(*sql, log, zone, rng);
  sqlite3_stmt* drill_insert = sql->Prepare(
      "INSERT INTO drills (name, trigger_kind, responsible, targets, state, started_at, finished_at, passed, report)"
      " VALUES (?, 'schedule', ?, ?, 'finished', ?, ?, ?, ?)");
  int64_t drills = 0, restorations = 0, changes = 0, operator_tests = 0, drill_runs = 0;
  for (int64_t dn = gen_first.days; dn <= today.days; ++dn) {
    const int64_t day = zone.StartOfDay(rp::Date{dn});
    // 02:00: every target's daily test, one after another (workers = 2: two at a time).
    for (size_t i = 0; i < targets.size(); ++i) {
      const int64_t queued = day + 7200 + static_cast<int64_t>(i / 2) * 40;
      if (queued > now) break;
      w.Run(targets[i], rp::Trigger::kSchedule, 0, "scheduler", queued, from, to);
    }
    // 06:00: the day's checkpoint.
    if (day + 6 * 3600 <= now) log.Checkpoint(day + 6 * 3600);
    const int64_t k = dn - gen_first.days;
    // 10:00 every 91 days: a drill of 20 targets.
    if (k % 91 == 45 && day + 36000 + 3600 <= now) {
      const int64_t started = day + 36000;
      const int64_t drill_id = ++drills;
      rp::DrillReport report;
      report.id = drill_id;
      report.name = "Kvartalsövning " + zone.Format(started, "%Y-%m");
      report.trigger = rp::Trigger::kSchedule;
      report.responsible = "Karin Nyström (informationssäkerhetssamordnare)";
      report.started_at = started;
      report.passed = true;
      std::vector<std::string> names;
      int64_t at = started;
      for (int j = 0; j < 20; ++j) {
        const TargetSpec& t =
            targets[(static_cast<size_t>(drill_id) * 7 + static_cast<size_t>(j) * 5) % targets.size()];
        const auto done = w.Run(t, rp::Trigger::kDrill, drill_id, "drill", at, from, to);
        ++drill_runs;
        rp::DrillTargetResult r;
        r.target = t.name;
        r.run_id = done.id;
        r.state = done.state;
        r.point_id = done.point;
        r.location = done.location;
        r.point_time = done.point_time;
        r.measured_s = done.duration_s;
        r.objective_s = t.rto_s;
        r.met = done.state == rp::RunState::kPassed && done.duration_s <= t.rto_s;
        r.message = done.message;
        r.findings = done.failing;
        report.passed = report.passed && r.met;
        report.targets.push_back(std::move(r));
        names.push_back(t.name);
        at = done.finished_at + 1;
      }
      report.finished_at = at;
      Text(drill_insert, 1, report.name);
      Text(drill_insert, 2, report.responsible);
      Text(drill_insert, 3, nlohmann::json(names).dump());
      Int(drill_insert, 4, started);
      Int(drill_insert, 5, at);
      Int(drill_insert, 6, report.passed ? 1 : 0);
      Text(drill_insert, 7, rp::EncodeJson(report));
      sql->Step(drill_insert);
    }
    // 11:00 once a week: an operator's test of one target.
    if (k % 7 == 3 && day + 39600 + 3600 <= now) {
      const TargetSpec& t = targets[rng.Below(targets.size())];
      w.Run(t, rp::Trigger::kOperator, 0, rng.Pick(kOwners), day + 39600, from, to);
      ++operator_tests;
    }
    // 14:00 about once a month: a real restoration, most of them of personal data.
    if (k % 30 == 17 && day + 50400 <= now) {
      std::vector<const TargetSpec*> personal;
      for (const auto& t : targets)
        if (t.personal) personal.push_back(&t);
      const TargetSpec& t = personal.empty() || rng.Chance(300) ? targets[rng.Below(targets.size())]
                                                                : *personal[rng.Below(personal.size())];
      rp::LogRecord r = rp::NewLogRecord(rp::LogKind::kRealRestore, day + 50400, zone);
      r.target = t.name;
      r.point = t.name + "-" + zone.Format(day - 86400 + 5400, "%Y%m%dT%H%M%S") + ".tar.zst";
      r.location = t.copies.back().first;
      r.responsible = rng.Pick(kOwners);
      r.personal_data = t.personal_data;
      r.reason = Fill(rng.Pick(kRealReasons), rng.Next());
      r.files = t.files;
      r.bytes = t.files * t.bytes_per_file;
      const bool failed = rng.Chance(250);
      r.result = failed ? "failed" : "passed";
      if (failed) {
        r.failing_findings = 1 + rng.Below(3);
        for (uint64_t f = 0; f < r.failing_findings; ++f)
          r.failed_files.push_back(Fill(t.personal ? rng.Pick(kPersonalPaths) : rng.Pick(kPlainPaths), rng.Next()));
      }
      if (t.personal) r.correctness = failed ? rp::Correctness::kIncorrect : rp::Correctness::kCorrect;
      log.Append(std::move(r));
      if (day >= from && day < to) ++restorations;
    }
    // 16:00 every 60 days: a change of the configuration.
    if (k % 60 == 20 && day + 57600 <= now) {
      rp::LogRecord r = rp::NewLogRecord(rp::LogKind::kConfigChange, day + 57600, zone);
      r.responsible = rng.Pick(kOwners);
      r.result = "applied";
      const TargetSpec& t = targets[rng.Below(targets.size())];
      r.changed_keys = {"targets." + t.name + ".policy.rto", "policy.retention_days"};
      log.Append(std::move(r));
      ++changes;
    }
  }
  sqlite3_finalize(drill_insert);
  const int64_t log_records = log.seq(), checkpoints = log.checkpoints();
  CloseStore(*sql);
  const double gen_s = Now() - t0;

  const std::string from_date = zone.Format(from, "%Y-%m-%d"), to_date = zone.Format(zone.StartOfDay(last), "%Y-%m-%d");
  std::fprintf(stderr,
               "estate: %zu targets (%d with personal data), %lld runs (%lld in the period %s..%s, %lld of them "
               "failed; %lld drill runs, %lld operator tests), %lld drills, %lld real restorations in the period, "
               "%lld configuration changes, %lld log records, %lld checkpoints; reports %.1f KB on average; written "
               "in %.1f s; store %.1f MiB\n",
               targets.size(), n_personal, static_cast<long long>(w.runs_), static_cast<long long>(w.in_period_),
               from_date.c_str(), to_date.c_str(), static_cast<long long>(w.failed_in_period_),
               static_cast<long long>(drill_runs), static_cast<long long>(operator_tests),
               static_cast<long long>(drills), static_cast<long long>(restorations), static_cast<long long>(changes),
               static_cast<long long>(log_records), static_cast<long long>(checkpoints),
               w.reports_ ? static_cast<double>(w.report_bytes_) / static_cast<double>(w.reports_) / 1000 : 0.0, gen_s,
               FileMiB(rp::StorePath(data_dir)));
  std::printf(
      "estate_targets %zu\nestate_personal %d\nestate_runs %lld\nestate_period_runs %lld\n"
      "estate_period_failed %lld\nestate_drills %lld\nestate_restorations %lld\nestate_log_records %lld\n"
      "estate_checkpoints %lld\nestate_report_kb %.1f\nestate_store_mib %.1f\nestate_gen_s %.1f\n"
      "estate_from %s\nestate_to %s\nestate_from_utc %lld\nestate_to_utc %lld\n",
      targets.size(), n_personal, static_cast<long long>(w.runs_), static_cast<long long>(w.in_period_),
      static_cast<long long>(w.failed_in_period_), static_cast<long long>(drills), static_cast<long long>(restorations),
      static_cast<long long>(log_records), static_cast<long long>(checkpoints),
      w.reports_ ? static_cast<double>(w.report_bytes_) / static_cast<double>(w.reports_) / 1000 : 0.0,
      FileMiB(rp::StorePath(data_dir)), gen_s, from_date.c_str(), to_date.c_str(), static_cast<long long>(from),
      static_cast<long long>(to));
  return 0;
}

// ---- phases ---------------------------------------------------------------------------------------

// This process's memory from /proc/self/status, in KiB.
long StatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::string(field).size());
  return 0;
}

// Times `fn` and its memory: the RSS before it (freed memory handed back first, so that it is
// what is live), its peak while it ran (VmHWM reset to the RSS before it) and what it left live.
void Phase(const char* key, const char* what, const std::function<void()>& fn) {
  malloc_trim(0);
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const long before = StatusKib("VmRSS:");
  const double t0 = Now();
  fn();
  const double s = Now() - t0;
  const long hwm = StatusKib("VmHWM:");
  malloc_trim(0);
  const long after = StatusKib("VmRSS:");
  const auto mib = [](long kib) { return static_cast<double>(kib) / 1024; };
  std::fprintf(stderr, "  %-60s %7.3f s  RSS %6.1f -> peak %6.1f -> %6.1f MiB\n", what, s, mib(before), mib(hwm),
               mib(after));
  std::printf("%s_s %.3f\n%s_before_kib %ld\n%s_hwm_kib %ld\n%s_after_kib %ld\n", key, s, key, before, key, hwm, key,
              after);
}

std::unique_ptr<rp::Store> OpenStore(const rp::Config& config) {
  std::unique_ptr<rp::Store> store;
  Check(rp::OpenSqliteStore(rp::StorePath(config.appliance.data_dir), &store, false), "store");
  return store;
}

int PhasesLog(const std::string& config_path) {
  const rp::Config config = Load(config_path);
  const std::string& data_dir = config.appliance.data_dir;
  std::fprintf(stderr, "log verify, in-process phases:\n");
  Phase("phase_sqlite_step", "rows stepped through with the SQLite C API, no copies", [&] {
    Sql sql(rp::StorePath(data_dir));
    sqlite3_stmt* st = sql.Prepare(
        "SELECT seq, at, at_local, kind, target, point, location, responsible, personal_data, reason, result, files,"
        " bytes, failing_findings, correctness, failed_files, run_id, changed_keys, salt, prev_hash, hash"
        " FROM restoration_log ORDER BY seq");
    size_t bytes = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
      for (int c = 0; c < 21; ++c) bytes += static_cast<size_t>(sqlite3_column_bytes(st, c));
    sqlite3_finalize(st);
    std::printf("log_column_bytes %zu\n", bytes);
  });
  auto store = OpenStore(config);
  double read_s = 0, hash_s = 0;
  Phase("phase_read_hash", "ReadLog in pages of 10,000, and LogRecordHash of each", [&] {
    size_t bad = 0;
    int64_t from = INT64_MIN;
    for (;;) {
      double t0 = Now();
      const auto page = store->ReadLog(from, 10000);
      read_s += Now() - t0;
      t0 = Now();
      for (const auto& r : page) bad += rp::LogRecordHash(r.prev_hash, r) != r.hash;
      hash_s += Now() - t0;
      if (page.size() < 10000) break;
      from = page.back().seq + 1;
    }
    if (bad) Die(std::to_string(bad) + " records do not match their hash");
  });
  std::fprintf(stderr, "    of which ReadLog %.3f s (Poco into column vectors, then LogRecords), hashing %.3f s\n",
               read_s, hash_s);
  std::printf("phase_read_s %.3f\nphase_hash_s %.3f\n", read_s, hash_s);
  std::optional<rp::PublicKey> key;
  rp::PublicKey k;
  if (rp::ReadPublicKey(rp::PublicKeyPath(data_dir), &k).ok()) key = k;
  Phase("phase_verify_log", "VerifyLog whole (reads, hashes, checkpoints)", [&] {
    const rp::LogVerification v = rp::VerifyLog(*store, key);
    if (!v.ok) Die("VerifyLog: " + v.detail);
    std::printf("verified_records %lld\nverified_checkpoints %lld\n", static_cast<long long>(v.records),
                static_cast<long long>(v.checkpoints));
  });
  return 0;
}

int PhasesExport(const std::string& config_path, const std::string& from_text, const std::string& to_text) {
  const rp::Config config = Load(config_path);
  const rp::TimeZone& zone = config.appliance.zone;
  const std::string& data_dir = config.appliance.data_dir;
  const auto from = rp::ParseTimestamp(from_text, zone), to_day = rp::ParseTimestamp(to_text, zone);
  if (!from || !to_day) Die("FROM and TO are dates: 2026-01-01");
  const int64_t to = zone.StartOfDay(rp::Date{zone.LocalDate(*to_day).days + 1});  // --to's day included
  auto store = OpenStore(config);
  std::unique_ptr<rp::SigningKey> key;
  std::unique_ptr<rp::Pseudonymiser> names;
  std::string pem;
  Check(rp::SigningKey::LoadOrCreate(data_dir, &key), "signing key");
  Check(rp::Pseudonymiser::LoadOrCreate(data_dir, &names), "pseudonym key");
  if (!rp::ReadSmallFile(rp::PublicKeyPath(data_dir), &pem)) Die("cannot read signing.pub");
  rp::EvidenceRequest req;
  req.from = *from;
  req.to = to;
  req.now = static_cast<int64_t>(time(nullptr));
  std::fprintf(stderr, "evidence export, in-process phases:\n");
  Phase("phase_list_runs", "ListRuns, pages of 1,000 since FROM (BuildEvidence's reads)", [&] {
    rp::RunFilter rf;
    rf.since = req.from;
    rf.limit = 1000;
    size_t n = 0;
    for (;;) {
      const auto page = store->ListRuns(rf);
      if (page.empty()) break;
      n += page.size();
      rf.before_id = page.back().id;
    }
    std::printf("listed_runs %zu\n", n);
  });
  Phase("phase_read_excerpt", "ReadLog in pages of 10,000 from the period's first record to the head", [&] {
    size_t n = 0;
    for (int64_t seq = store->FirstLogSeqSince(req.from); seq > 0;) {
      const auto page = store->ReadLog(seq, 10000);
      n += page.size();
      if (page.size() < 10000) break;
      seq = page.back().seq + 1;
    }
    std::printf("excerpt_read %zu\n", n);
  });
  rp::EvidenceReport report;
  rp::LogExcerpt excerpt;
  Phase("phase_build", "BuildEvidence whole (runs, targets' checks, drills, log)", [&] {
    Check(rp::BuildEvidence(config, *store, req, *names, key->public_key(), &report, &excerpt), "BuildEvidence");
  });
  std::printf("report_runs %zu\nexcerpt_records %zu\n", report.runs.size(), excerpt.records.size());
  size_t size = 0;
  Phase("phase_html", "EvidenceHtml", [&] { size = rp::EvidenceHtml(report, zone).size(); });
  std::printf("html_bytes %zu\n", size);
  Phase("phase_pdf", "EvidencePdf", [&] {
    std::string pdf;
    Check(rp::EvidencePdf(report, zone, &pdf), "EvidencePdf");
    size = pdf.size();
  });
  std::printf("pdf_bytes %zu\n", size);
  Phase("phase_report_json", "report.json: EvidenceReportJson", [&] { size = rp::EvidenceReportJson(report).size(); });
  std::printf("report_json_bytes %zu\n", size);
  Phase("phase_csv", "the four CSV files", [&] {
    size = rp::EvidenceRunsCsv(report).size() + rp::EvidenceTargetsCsv(report).size() +
           rp::EvidenceDrillsCsv(report).size() + rp::EvidenceRestorationsCsv(report).size();
  });
  std::printf("csv_bytes %zu\n", size);
  Phase("phase_log_json", "log.json: LogExcerptJson", [&] { size = rp::LogExcerptJson(excerpt).size(); });
  std::printf("log_json_bytes %zu\n", size);
  const std::string out =
      fs::temp_directory_path().string() + "/evidence_bench-" + std::to_string(getpid()) + ".tar.gz";
  Phase("phase_write", "WriteEvidenceBundle whole (every file rendered and written, SHA256SUMS, signature)", [&] {
    Check(rp::WriteEvidenceBundle(out, report, std::move(excerpt), zone, *key, pem, req.now), "WriteEvidenceBundle");
  });
  std::printf("bundle_bytes %lld\n", static_cast<long long>(fs::file_size(out)));
  fs::remove(out);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: evidence_bench log DIR [--records N] [--seed N]\n"
               "       evidence_bench estate DIR [--targets N] [--personal N] [--days N] [--history N] [--seed N]\n"
               "       evidence_bench phases-log CONFIG\n"
               "       evidence_bench phases-export CONFIG FROM TO\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string mode = argv[1];
  if (mode == "phases-log") return PhasesLog(argv[2]);
  if (mode == "phases-export") {
    if (argc != 5) return Usage();
    return PhasesExport(argv[2], argv[3], argv[4]);
  }
  const std::string dir = fs::absolute(argv[2]).lexically_normal().string();
  long long records = 1000000, targets = 100, personal = 30, days = 365, history = 30, seed = 20261216;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (a == "--records")
      records = v;
    else if (a == "--targets")
      targets = v;
    else if (a == "--personal")
      personal = v;
    else if (a == "--days")
      days = v;
    else if (a == "--history")
      history = v;
    else if (a == "--seed")
      seed = v;
    else
      Die("unknown option " + a);
  }
  if (records < 1 || targets < 1 || personal < 0 || personal > targets || days < 1 || history < 0)
    Die("counts must be positive (and --personal at most --targets)");
  if (mode == "log") return LogStore(dir, records, static_cast<uint64_t>(seed));
  if (mode == "estate")
    return Estate(dir, static_cast<int>(targets), static_cast<int>(personal), static_cast<int>(days),
                  static_cast<int>(history), static_cast<uint64_t>(seed));
  return Usage();
}
