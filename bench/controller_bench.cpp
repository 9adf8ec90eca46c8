// Benchmarks of the controller issue (docs/BENCHMARKS.md, "Controller"). bench/controller_bench.sh
// runs all of them and prints one table; each mode can also be run alone:
//
//   controller_bench estate DIR [--targets 20]
//       the drill's estate: DIR/estate/tNN/ each holding one small archive (the demo's kind: 12
//       files and a 256 KiB one, pax + zstd) and its xxh128 manifest, and DIR/drill.toml.in, a
//       configuration naming them with @DATA_DIR@ and @SANDBOX_DIR@ left to fill in
//   controller_bench store DIR --binary RESTOREPROOF [--runs 100000] [--targets 500]
//                          [--ops 200] [--reps 20] [--report-from DB]
//       a store holding RUNS finished runs over TARGETS targets (a run a day per target, the newest
//       today); times `runs list --target T --since D` end to end through the binary and
//       ListRuns in this process, then ClaimRun, RecordStart and FinishRun of OPS runs (each a
//       durable commit), with a breakdown of where the time goes
//   controller_bench fire DIR [--targets 10000] [--reps 3]
//       a configuration of TARGETS targets with a cron test each; FireDue on a fresh store whose
//       marks are all a day old, so that every test is due and queued
//   controller_bench drill-log LOG START_MS END_MS
//       where a `drill run`'s time went, from its event log and the times (ms since the epoch)
//       taken just before it started and just after it ended
//   controller_bench serve-config DIR [--targets 1000]
//       DIR/serve.toml: TARGETS targets whose copies are empty directories and whose schedules
//       are not due, for `restoreproof serve`'s idle memory
//   controller_bench web-estate DIR [--targets 1000] [--runs 100000]
//       DIR/web.toml: TARGETS targets like serve-config's (named as `store` names them), listening on 127.0.0.1:0 with
//       [web] left at its defaults, and its store holding RUNS finished runs over them as `store`
//       writes them, for the web load benchmark (bench/web_bench.sh)
//
// Every mode prints `key value` lines on stdout (the script's summary reads them) and a human
// report on stderr.
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rp/archive_builder.h"
#include "rp/codec.h"
#include "rp/config.h"
#include "rp/scheduler.h"
#include "rp/store.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
double Median(const std::vector<double>& v) { return Quantile(v, 0.5); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "controller_bench: %s\n", what.c_str());
  std::exit(2);
}

void Check(const rp::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.message());
}

std::string Name(const char* prefix, int i, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%0*d", prefix, width, i);
  return buf;
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

// One [[targets]] entry; `copy_dir` holds its archives, `schedule` ("" none) its one test.
std::string TargetToml(const std::string& name, const std::string& copy_dir, const std::string& schedule,
                       const std::string& extra = "") {
  std::string t = "[[targets]]\nname = \"" + name +
                  "\"\nowner = \"Bench\"\nclassification = { K = 1, R = 1, T = 1 }\npersonal_data = \"none\"\n" + extra +
                  "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"" + copy_dir +
                  "\"\npattern = \"b-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar.zst\"\nmanifest = \"{file}.xxh128\"\n";
  if (!schedule.empty()) t += "[[targets.tests]]\nschedule = \"" + schedule + "\"\n";
  return t + "\n";
}

std::string ApplianceToml(const std::string& data_dir, const std::string& sandbox_dir, int workers) {
  return "[appliance]\ndata_dir = \"" + data_dir + "\"\nsandbox_dir = \"" + sandbox_dir +
         "\"\ntimezone = \"Europe/Stockholm\"\nworkers = " + std::to_string(workers) + "\n\n";
}

rp::Config Load(const std::string& path) {
  rp::ConfigResult r = rp::LoadConfigFile(path);
  if (!r.errors.empty()) Die(rp::FormatConfigErrors(r));
  return std::move(r.config);
}

// ---- estate -------------------------------------------------------------------------------------

int Estate(const std::string& dir, int targets) {
  const std::string estate = dir + "/estate";
  Fresh(estate);
  rp::SampleTreeOptions sto;
  sto.files = 12;
  sto.large_file_bytes = 256 * 1024;
  std::string toml = "# Written by controller_bench estate.\n" + ApplianceToml("@DATA_DIR@", "@SANDBOX_DIR@", 1);
  for (int i = 1; i <= targets; ++i) {
    const std::string name = Name("t", i, 2), at = estate + "/" + name;
    fs::create_directories(at);
    sto.seed = 1000 + static_cast<uint64_t>(i);
    const auto entries = rp::SampleTree(sto);
    const std::string file = at + "/b-20261201T020000.tar.zst";
    Check(rp::WriteArchive(file, {"pax", {"zstd"}}, entries), "writing " + file);
    WriteFile(file + ".xxh128", rp::ManifestFor(entries, rp::HashAlgo::kXxh128));
    // sandbox = "disk": verify's own default without --expected-size, so both restore alike.
    toml += TargetToml(name, at, "", "sandbox = \"disk\"\n");
  }
  WriteFile(dir + "/drill.toml.in", toml);
  std::printf("estate_targets %d\n", targets);
  return 0;
}

// ---- store --------------------------------------------------------------------------------------

struct Sql {
  sqlite3* db = nullptr;
  explicit Sql(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Die("sqlite3_open " + path);
    sqlite3_busy_timeout(db, 30000);
  }
  ~Sql() { sqlite3_close(db); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) Die(sql + ": " + (err ? err : "?"));
  }
  // Rows of one column, as text.
  std::vector<std::string> Column(const std::string& sql, const std::function<void(sqlite3_stmt*)>& bind = {},
                                  int column = 0) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) Die(sql + ": " + sqlite3_errmsg(db));
    if (bind) bind(st);
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, column);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    if (rc != SQLITE_DONE) Die(sql + ": " + sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return out;
  }
};

std::string FirstReport(const std::string& db);

// A passed run's report as FinishRun stores it: a real run's from the store `db` (the drill
// benchmark's), or a plain one.
std::string ReportJson(const std::string& db) {
  if (!db.empty()) {
    std::string text = FirstReport(db);
    if (!text.empty()) return text;
    std::fprintf(stderr, "controller_bench: no passed run in %s: a plain report stands in\n", db.c_str());
  }
  rp::VerifyReport r;
  r.source = "/srv/backups/t000/b-20261201T020000.tar.zst";
  r.format = "POSIX pax interchange format + zstd";
  r.manifest_used = true;
  r.files = 13;
  r.directories = 6;
  r.entries = 22;
  r.bytes = 300000;
  r.source_bytes = 120000;
  r.duration_s = 0.05;
  r.sandbox_removed = true;
  return rp::EncodeJson(r);
}

std::string FirstReport(const std::string& db) {
  Sql sql(db);
  const auto rows = sql.Column("SELECT report FROM runs WHERE state = 'passed' AND report != '' ORDER BY id LIMIT 1");
  return rows.empty() ? "" : rows[0];
}

// 100,000 runs, as the store holds them after a run a day per target: inserted directly in one
// transaction (through the store's API each would be four durable commits).
void Fill(const std::string& db_path, int runs, int targets, int64_t now, const std::string& report) {
  Sql sql(db_path);
  sql.Exec("BEGIN");
  sqlite3_stmt* st = nullptr;
  const char* ins =
      "INSERT INTO runs (target, test_index, trigger_kind, requested_by, state, queued_at, started_at, finished_at,"
      " point_id, point_time, location, seed, files, bytes, duration_s, worker, version, config_hash, report)"
      " VALUES (?, 0, 'schedule', 'scheduler', ?, ?, ?, ?, ?, ?, 'site-a', 0, 13, 300000, 0.05,"
      " 'bench/4242/123456', '0.1.0', 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c', ?)";
  if (sqlite3_prepare_v2(sql.db, ins, -1, &st, nullptr) != SQLITE_OK) Die(sqlite3_errmsg(sql.db));
  const int days = (runs + targets - 1) / targets;
  int n = 0;
  for (int d = days - 1; d >= 0 && n < runs; --d) {
    for (int t = 0; t < targets && n < runs; ++t, ++n) {
      const int64_t queued = now - int64_t{d} * 86400 - 3600 + t;  // oldest first: ids grow with time
      const std::string target = Name("t", t, 3);
      const bool failed = n % 20 == 7;
      char point[64];
      std::snprintf(point, sizeof point, "b-%06d.tar.zst", d);
      sqlite3_bind_text(st, 1, target.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, failed ? "failed" : "passed", -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, queued);
      sqlite3_bind_int64(st, 4, queued + 1);
      sqlite3_bind_int64(st, 5, queued + 2);
      sqlite3_bind_text(st, 6, point, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 7, queued - 3600);
      sqlite3_bind_text(st, 8, report.c_str(), static_cast<int>(report.size()), SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) Die(sqlite3_errmsg(sql.db));
      sqlite3_reset(st);
    }
  }
  sqlite3_finalize(st);
  sql.Exec("COMMIT");
  sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

// Runs argv with stdout and stderr to /dev/null; returns its wall time (s) and *status.
double Spawn(const std::vector<std::string>& args, int* status) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const double t0 = Now();
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) Die("cannot run " + args[0]);
  waitpid(pid, status, 0);
  const double t = Now() - t0;
  posix_spawn_file_actions_destroy(&fa);
  return t;
}

int StoreBench(const std::string& dir, const std::string& binary, int runs, int targets, int ops, int reps,
               const std::string& report_db) {
  Fresh(dir);
  const std::string data_dir = dir + "/data", empty = dir + "/empty", config_path = dir + "/store.toml";
  fs::create_directories(empty);
  std::string toml = "# Written by controller_bench store.\n" + ApplianceToml(data_dir, dir + "/sandboxes", 2);
  for (int t = 0; t < targets; ++t) toml += TargetToml(Name("t", t, 3), empty, "0 3 * * *");
  WriteFile(config_path, toml);
  const rp::Config config = Load(config_path);
  const std::string db = rp::StorePath(data_dir);
  fs::create_directories(data_dir);
  const int64_t now = static_cast<int64_t>(time(nullptr));
  {
    std::unique_ptr<rp::Store> store;
    Check(rp::OpenSqliteStore(db, &store), "store");  // the schema
  }
  const std::string report = ReportJson(report_db);
  double t0 = Now();
  Fill(db, runs, targets, now, report);
  const double fill_s = Now() - t0;
  std::fprintf(stderr, "store: %d runs over %d targets written in %.1f s; %.1f MiB; report %zu bytes\n", runs, targets,
               fill_s, static_cast<double>(fs::file_size(db)) / (1 << 20), report.size());

  // What `runs list --target T --since D` asks: one target's runs of the last 30 days.
  const std::string target = Name("t", targets / 2, 3);
  const int64_t since = now - 30 * 86400;
  const std::string since_text = config.appliance.zone.Format(since, "%Y-%m-%d");
  const int64_t since_day = *rp::ParseTimestamp(since_text, config.appliance.zone);

  // (a) end to end through the binary, after one warm-up.
  const std::vector<std::string> cmd = {binary, "--config", config_path, "runs", "list", "--target", target,
                                        "--since", since_text};
  int status = 0;
  Spawn(cmd, &status);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("runs list failed");
  std::vector<double> e2e;
  for (int i = 0; i < reps; ++i) e2e.push_back(Spawn(cmd, &status));
  // The same binary's start alone: a command that loads the configuration and opens nothing.
  const std::vector<std::string> cfg_cmd = {binary, "--config", config_path, "config", "check"};
  std::vector<double> start;
  for (int i = 0; i < reps; ++i) start.push_back(Spawn(cfg_cmd, &status));

  // (b) in this process: opening the store (what every command does), its integrity check, the
  // load of the configuration, ListRuns, and the query's parts.
  std::vector<double> open_s, list_s, load_s, integrity_s, quick_s, scan_s, indexed_s;
  size_t listed = 0;
  for (int i = 0; i < reps; ++i) {
    t0 = Now();
    rp::ConfigResult cr = rp::LoadConfigFile(config_path);
    load_s.push_back(Now() - t0);
    std::unique_ptr<rp::Store> store;
    t0 = Now();
    Check(rp::OpenSqliteStore(db, &store), "store");
    open_s.push_back(Now() - t0);
    rp::RunFilter f;
    f.target = target;
    f.since = since_day;
    f.limit = 100;  // `runs list`'s default
    t0 = Now();
    listed = store->ListRuns(f).size();
    list_s.push_back(Now() - t0);
  }
  std::string plan;
  {
    Sql sql(db);
    for (int i = 0; i < reps; ++i) {
      t0 = Now();
      sql.Column("PRAGMA integrity_check");
      integrity_s.push_back(Now() - t0);
      t0 = Now();
      sql.Column("PRAGMA quick_check");
      quick_s.push_back(Now() - t0);
    }
    // ListRuns's WHERE clause with the id alone selected: the table scan without decoding rows.
    const auto bind_list = [&](sqlite3_stmt* st) {
      sqlite3_bind_text(st, 1, target.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, target.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 3, since_day);
      sqlite3_bind_text(st, 4, "", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 5, "", -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 6, 0);
      sqlite3_bind_int64(st, 7, 0);
      sqlite3_bind_int64(st, 8, 100);
    };
    const std::string where =
        " FROM runs WHERE (?1 = '' OR target = ?2) AND queued_at >= ?3 AND (?4 = '' OR state = ?5)"
        " AND (?6 = 0 OR drill_id = ?7) ORDER BY id DESC LIMIT ?8";
    for (const auto& row : sql.Column("EXPLAIN QUERY PLAN SELECT id" + where, bind_list, 3)) plan += (plan.empty() ? "" : "; ") + row;
    for (int i = 0; i < reps; ++i) {
      t0 = Now();
      sql.Column("SELECT id" + where, bind_list);
      scan_s.push_back(Now() - t0);
    }
    // The same rows where the target is compared directly, so that runs_by_target serves it.
    for (int i = 0; i < reps; ++i) {
      t0 = Now();
      sql.Column("SELECT id FROM runs WHERE target = ?2 AND queued_at >= ?3 ORDER BY id DESC LIMIT ?8", bind_list);
      indexed_s.push_back(Now() - t0);
    }
  }

  // (c) a run's changes of state, each a durable commit (WAL, synchronous=FULL).
  std::unique_ptr<rp::Store> store;
  Check(rp::OpenSqliteStore(db, &store), "store");
  rp::VerifyReport vr;
  if (rp::DecodeJson(report, "report", &vr).ok() == false) vr = rp::VerifyReport{};
  std::vector<double> enqueue_s, claim_s, start_s, finish_s;
  for (int i = 0; i < ops; ++i) {
    rp::RunRequest q;
    q.target = Name("t", i % targets, 3);
    q.test_index = 0;
    q.trigger = rp::Trigger::kSchedule;
    q.requested_by = "scheduler";
    const int64_t at = static_cast<int64_t>(time(nullptr));
    t0 = Now();
    store->EnqueueRun(q, at);
    enqueue_s.push_back(Now() - t0);
    t0 = Now();
    auto run = store->ClaimRun("bench/1/1", at, at + 30);
    claim_s.push_back(Now() - t0);
    if (!run) Die("ClaimRun found nothing to claim");
    t0 = Now();
    if (!store->RecordStart(run->id, "bench/1/1", "b-20261201T020000.tar.zst", at - 3600, "site-a", 0,
                            "bench/1/1", "0.1.0", "b5bb9d80"))
      Die("RecordStart refused");
    start_s.push_back(Now() - t0);
    rp::RunOutcome o;
    o.state = rp::RunState::kPassed;
    o.finished_at = at;
    o.files = 13;
    o.bytes = 300000;
    o.duration_s = 0.05;
    o.report = vr;
    t0 = Now();
    if (!store->FinishRun(run->id, "bench/1/1", o)) Die("FinishRun refused");
    finish_s.push_back(Now() - t0);
  }
  // The floor under a durable commit: 4 KiB appended to a file next to the store, then fsync.
  std::vector<double> fsync_s;
  {
    const std::string probe = data_dir + "/fsync-probe";
    const int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) Die("cannot create " + probe);
    const std::string block(4096, 'x');
    for (int i = 0; i < ops; ++i) {
      t0 = Now();
      if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || fsync(fd) != 0)
        Die("cannot write " + probe);
      fsync_s.push_back(Now() - t0);
    }
    close(fd);
    unlink(probe.c_str());
  }
  const auto ms = [](double s) { return s * 1000; };
  std::printf("store_runs %d\nstore_targets %d\nstore_listed %zu\nstore_mib %.0f\n", runs, targets, listed,
              static_cast<double>(fs::file_size(db)) / (1 << 20));
  std::printf("runs_list_e2e_ms %.2f\nruns_list_e2e_p90_ms %.2f\nconfig_check_e2e_ms %.2f\n", ms(Median(e2e)),
              ms(Quantile(e2e, 0.9)), ms(Median(start)));
  std::printf("config_load_ms %.2f\nstore_open_ms %.2f\nintegrity_check_ms %.2f\nlist_runs_ms %.2f\n", ms(Median(load_s)),
              ms(Median(open_s)), ms(Median(integrity_s)), ms(Median(list_s)));
  std::printf("quick_check_ms %.2f\nlist_scan_ms %.2f\nlist_indexed_ms %.2f\n", ms(Median(quick_s)), ms(Median(scan_s)),
              ms(Median(indexed_s)));
  for (auto [name, v] : {std::pair{"fsync", &fsync_s}, {"enqueue", &enqueue_s}, {"claim", &claim_s}, {"record_start", &start_s},
                         {"finish", &finish_s}})
    std::printf("%s_p50_ms %.2f\n%s_p99_ms %.2f\n%s_max_ms %.2f\n", name, ms(Quantile(*v, 0.5)), name,
                ms(Quantile(*v, 0.99)), name, ms(*std::max_element(v->begin(), v->end())));
  std::fprintf(stderr, "store: query plan of ListRuns: %s\n", plan.c_str());
  return 0;
}

// ---- fire ---------------------------------------------------------------------------------------

int FireBench(const std::string& dir, int targets, int reps) {
  Fresh(dir);
  const std::string empty = dir + "/empty", config_path = dir + "/fire.toml";
  fs::create_directories(empty);
  // Half daily at 03:00, half hourly: two kinds of cron set, both due after a day.
  std::string toml = "# Written by controller_bench fire.\n" + ApplianceToml(dir + "/data", dir + "/sandboxes", 2);
  for (int t = 0; t < targets; ++t) toml += TargetToml(Name("t", t, 5), empty, t % 2 ? "@hourly" : "0 3 * * *");
  WriteFile(config_path, toml);
  double t0 = Now();
  const rp::Config config = Load(config_path);
  const double load_s = Now() - t0;
  const int64_t now = static_cast<int64_t>(time(nullptr));
  std::vector<rp::FireItem> marks;
  for (const auto& e : rp::ScheduleEntries(config))
    if (e.drill.empty()) {  // drills keep no mark: not due
      rp::FireItem item;
      item.key = e.key;
      item.new_slot = now - 86400;
      marks.push_back(std::move(item));
    }
  std::vector<double> fire_s, compute_s, marks_s, pending_s, write_s;
  size_t queued = 0;
  for (int r = 0; r < reps; ++r) {
    const std::string data_dir = dir + "/data-" + std::to_string(r);
    fs::create_directories(data_dir);
    std::unique_ptr<rp::Store> store;
    Check(rp::OpenSqliteStore(rp::StorePath(data_dir), &store), "store");
    store->Fire(marks, now - 86400);
    t0 = Now();
    const rp::FireResult fr = rp::FireDue(config, store.get(), now, nullptr);
    fire_s.push_back(Now() - t0);
    queued = fr.runs_queued;
    // Its parts, on a second fresh store: the store's reads, the next-run times alone, the write.
    const std::string other = dir + "/parts-" + std::to_string(r);
    fs::create_directories(other);
    std::unique_ptr<rp::Store> s2;
    Check(rp::OpenSqliteStore(rp::StorePath(other), &s2), "store");
    s2->Fire(marks, now - 86400);
    t0 = Now();
    const auto got = s2->ScheduleMarks();
    marks_s.push_back(Now() - t0);
    t0 = Now();
    s2->PendingScheduled();
    pending_s.push_back(Now() - t0);
    t0 = Now();
    std::vector<rp::FireItem> items;
    for (const auto& e : rp::ScheduleEntries(config)) {
      const auto it = got.find(e.key);
      if (it == got.end()) continue;
      if (rp::NextFire(e, it->second, config.appliance.zone, now) > now) continue;
      rp::NextFire(e, now, config.appliance.zone, now);
      rp::FireItem item;
      item.key = e.key;
      item.old_slot = it->second;
      item.new_slot = now;
      rp::RunRequest q;
      q.target = e.target;
      q.test_index = e.test_index;
      q.trigger = rp::Trigger::kSchedule;
      q.requested_by = "scheduler";
      item.run = std::move(q);
      items.push_back(std::move(item));
    }
    compute_s.push_back(Now() - t0);
    t0 = Now();
    s2->Fire(items, now);
    write_s.push_back(Now() - t0);
  }
  const auto ms = [](double s) { return s * 1000; };
  std::printf("fire_targets %d\nfire_queued %zu\nfire_ms %.1f\nfire_min_ms %.1f\nfire_config_load_ms %.1f\n", targets,
              queued, ms(Median(fire_s)), ms(*std::min_element(fire_s.begin(), fire_s.end())), ms(load_s));
  std::printf("fire_marks_read_ms %.1f\nfire_pending_ms %.1f\nfire_compute_ms %.1f\nfire_write_ms %.1f\n",
              ms(Median(marks_s)), ms(Median(pending_s)), ms(Median(compute_s)), ms(Median(write_s)));
  if (queued != static_cast<size_t>(targets)) Die("FireDue queued " + std::to_string(queued) + " runs, not " +
                                                  std::to_string(targets));
  return 0;
}

// ---- drill-log ----------------------------------------------------------------------------------

// Milliseconds since the epoch of an event's "time" ("2026-12-05T14:31:03.984Z").
double EventMs(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7)
    Die("unexpected event time " + text);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) * 1000 + ms;
}

// Where a `drill run`'s wall time went, from its event log (stderr) and the times (ms since the
// epoch) the script took before it started and after it ended.
int DrillLog(const std::string& log, double start_ms, double end_ms) {
  std::ifstream in(log);
  if (!in) Die("cannot read " + log);
  double started = -1, last = -1, engine = 0, between = 0, around = 0, run_start = -1;
  int runs = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("event") || !j.contains("time")) continue;
    const std::string event = j["event"].get<std::string>();
    const double t = EventMs(j["time"].get<std::string>());
    if (event == "drill-started") {
      started = last = t;
    } else if (event == "run-started") {
      between += t - last;
      run_start = t;
    } else if (event == "run-finished") {
      const double d = j.value("duration_s", 0.0) * 1000;
      engine += d;
      around += t - run_start - d;
      last = t;
      ++runs;
    }
  }
  if (started < 0 || runs == 0) Die(log + ": no drill-started or run-finished event");
  // Events carry milliseconds: each figure is within a few ms.
  std::printf("drill_runs %d\ndrill_startup_ms %.0f\ndrill_engine_ms %.0f\ndrill_between_ms %.0f\n"
              "drill_around_ms %.0f\ndrill_tail_ms %.0f\n",
              runs, started - start_ms, engine, between, around, end_ms - last);
  return 0;
}

// ---- serve-config -------------------------------------------------------------------------------

int ServeConfig(const std::string& dir, int targets) {
  Fresh(dir);
  std::string toml = "# Written by controller_bench serve-config.\n" + ApplianceToml(dir + "/data", dir + "/sandboxes", 2);
  for (int t = 0; t < targets; ++t) {
    const std::string copy = dir + "/copies/" + Name("t", t, 4);
    fs::create_directories(copy);
    // A new schedule starts counting when serve first sees it: nothing is due while it idles.
    toml += TargetToml(Name("t", t, 4), copy, "0 3 * * *");
  }
  WriteFile(dir + "/serve.toml", toml);
  Load(dir + "/serve.toml");
  std::printf("serve_targets %d\n", targets);
  return 0;
}

// ---- web-estate ---------------------------------------------------------------------------------

int WebEstate(const std::string& dir, int targets, int runs) {
  Fresh(dir);
  const std::string data_dir = dir + "/data", config_path = dir + "/web.toml";
  std::string toml = "# Written by controller_bench web-estate.\n" + ApplianceToml(data_dir, dir + "/sandboxes", 2);
  toml.insert(toml.find("workers"), "listen = \"127.0.0.1:0\"\n");
  for (int t = 0; t < targets; ++t) {
    const std::string copy = dir + "/copies/" + Name("t", t, 3);
    fs::create_directories(copy);
    toml += TargetToml(Name("t", t, 3), copy, "0 3 * * *");  // the names Fill gives the runs
  }
  WriteFile(config_path, toml);
  Load(config_path);
  fs::create_directories(data_dir);
  const std::string db = rp::StorePath(data_dir);
  {
    std::unique_ptr<rp::Store> store;
    Check(rp::OpenSqliteStore(db, &store), "store");  // the schema
  }
  const double t0 = Now();
  Fill(db, runs, targets, static_cast<int64_t>(time(nullptr)), ReportJson(""));
  std::fprintf(stderr, "web-estate: %d targets, %d runs written in %.1f s; %.1f MiB\n", targets, runs, Now() - t0,
               static_cast<double>(fs::file_size(db)) / (1 << 20));
  std::printf("web_targets %d\nweb_runs %d\n", targets, runs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: controller_bench estate|store|fire|serve-config|web-estate DIR [--targets N] [--runs N] [--ops N]"
                 " [--reps N] [--binary PATH] [--report-from DB]\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "drill-log") {
    if (argc != 5) Die("usage: controller_bench drill-log LOG START_MS END_MS");
    return DrillLog(argv[2], std::atof(argv[3]), std::atof(argv[4]));
  }
  const std::string dir = fs::absolute(argv[2]).lexically_normal().string();
  int targets = -1, runs = 100000, ops = 200, reps = -1;
  std::string binary, report_from;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--targets") targets = std::atoi(argv[i + 1]);
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
    else if (a == "--ops") ops = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--binary") binary = argv[i + 1];
    else if (a == "--report-from") report_from = argv[i + 1];
    else Die("unknown option " + a);
  }
  if (mode == "estate") return Estate(dir, targets > 0 ? targets : 20);
  if (mode == "store") {
    if (binary.empty()) Die("store needs --binary RESTOREPROOF");
    return StoreBench(dir, fs::absolute(binary).string(), runs, targets > 0 ? targets : 500, ops, reps > 0 ? reps : 20,
                      report_from);
  }
  if (mode == "fire") return FireBench(dir, targets > 0 ? targets : 10000, reps > 0 ? reps : 3);
  if (mode == "serve-config") return ServeConfig(dir, targets > 0 ? targets : 1000);
  if (mode == "web-estate") return WebEstate(dir, targets > 0 ? targets : 1000, runs);
  Die("unknown mode " + mode);
}
