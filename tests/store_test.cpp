// The store's address and opening, PostgreSQL's roles and triggers, and `store migrate|check`
// through the binary: on a real PostgreSQL 15 (rp/pg_server.h) and real SQLite files.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "process_kit.h"
#include "rp/config.h"
#include "rp/store.h"
#include "rp/store_url.h"
#include "store_backends.h"
#include "testkit.h"

namespace rp {
namespace {

// ---- [store] url ----

TEST(StoreUrl, NamesUserHostPortAndDatabase) {
  StoreUrl u;
  ASSERT_TRUE(ParseStoreUrl("postgresql://rp_agent@db.example.org:6543/restoreproof", &u).ok());
  EXPECT_EQ(u.user, "rp_agent");
  EXPECT_EQ(u.host, "db.example.org");
  EXPECT_EQ(u.port, 6543);
  EXPECT_EQ(u.database, "restoreproof");
  ASSERT_TRUE(ParseStoreUrl("postgres://a@10.0.0.7/db", &u).ok());
  EXPECT_EQ(u.port, 5432) << "no port: PostgreSQL's";
  ASSERT_TRUE(ParseStoreUrl("postgresql://a@[fd00::1]:5433/db", &u).ok());
  EXPECT_EQ(u.host, "fd00::1");
  EXPECT_EQ(u.port, 5433);
}

TEST(StoreUrl, AnythingElseIsRefusedSayingWhatAndWhere) {
  const struct {
    const char* url;
    const char* says;
  } cases[] = {
      {"mysql://a@h/db", "at character 1: it does not start with postgresql://"},
      {"postgresql://h:5432/db", "names no user"},
      {"postgresql://@h/db", "the user name is empty"},
      {"postgresql://a@/db", "the host is empty"},
      {"postgresql://a@h:99999/db", "larger than 65535"},
      {"postgresql://a@h:0/db", "the port is 0"},
      {"postgresql://a@h:x/db", "the port is not a number"},
      {"postgresql://a@h:5432", "the database is missing"},
      {"postgresql://a@h/", "the database name is empty"},
      {"postgresql://a@h/db?sslmode=require", "at character 20: options (?...) are not read"},
      {"postgresql://a@h/d%20b", "the database name may hold only"},
      {"postgresql://a b@h/db", "the user name may hold only"},
      {"postgresql://a@h_x/db", "a host name holds only"},
      {"postgresql://a@[fd00::1/db", "not closed"},
  };
  for (const auto& c : cases) {
    StoreUrl u;
    const Status s = ParseStoreUrl(c.url, &u);
    ASSERT_FALSE(s.ok()) << c.url;
    EXPECT_EQ(s.code(), Status::Code::kUsage);
    EXPECT_NE(s.message().find("[store] url"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.url << ": " << s.message();
  }
}

TEST(StoreUrl, APasswordInTheUrlIsRefusedWithoutRepeatingIt) {
  StoreUrl u;
  const Status s = ParseStoreUrl("postgresql://agent:Sekr1t-pw@db:5432/rp", &u);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("password_file"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("Sekr1t"), std::string::npos) << s.message();
}

// ---- [store] password_file and OpenStore ----

class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = test::PgServer::Shared(&error);
    ASSERT_TRUE(server_) << "PostgreSQL could not be started: " << error;
    database_ = server_->NewDatabase();
    ASSERT_FALSE(database_.empty());
    config_.appliance.data_dir = dir_.path();
    config_.store.url = server_->Url(database_);
    config_.store.password_file = server_->password_file();
  }
  test::TempDir dir_;
  test::PgServer* server_ = nullptr;
  std::string database_;
  Config config_;
};

TEST_F(PostgresStore, OpenStoreConnectsWithTheUrlAndThePasswordFile) {
  std::unique_ptr<Store> s;
  int from = -1;
  const Status st = OpenStore(config_, &s, false, &from);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s->Backend(), "postgresql");
  EXPECT_EQ(from, 0) << "a new database is migrated from nothing";
  EXPECT_EQ(s->SchemaVersion(), StoreSchemaVersion());
  std::unique_ptr<Store> again;
  ASSERT_TRUE(OpenStore(config_, &again, false, &from).ok());
  EXPECT_EQ(from, StoreSchemaVersion());
  EXPECT_FALSE(std::filesystem::exists(StorePath(dir_.path()))) << "no SQLite file beside a PostgreSQL store";
}

TEST_F(PostgresStore, AConnectionTheServerEndedIsOpenedAgainForTheNextCall) {
  std::unique_ptr<Store> s;
  ASSERT_TRUE(OpenStore(config_, &s).ok());
  RunRequest q;
  q.target = "app";
  const int64_t first = s->EnqueueRun(q, 100);
  // The server ends every other connection to the database (a restart, an agent cut off).
  std::string out;
  ASSERT_EQ(server_->Psql(database_,
                          "-tA -c \"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND pid <> pg_backend_pid()\"",
                          &out),
            0)
      << out;
  ASSERT_NE(out, "0\n") << "the store's connection was ended";
  // The call that meets the broken connection may fail; the store does not stay broken.
  try {
    s->GetRun(first);
  } catch (const std::exception&) {
  }
  const auto again = s->GetRun(first);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->request.target, "app");
  EXPECT_GT(s->EnqueueRun(q, 101), first);
}

TEST_F(PostgresStore, AWrongPasswordFailsWithoutTheMessageCarryingIt) {
  const std::string wrong = dir_ / "wrong";
  test::WriteFile(wrong, "Not-The-Password-4711\n");
  chmod(wrong.c_str(), 0600);
  config_.store.password_file = wrong;
  std::unique_ptr<Store> s;
  const Status st = OpenStore(config_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kEnvironment);
  EXPECT_NE(st.message().find(config_.store.url), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("Not-The-Password-4711"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(server_->password()), std::string::npos) << st.message();
}

TEST_F(PostgresStore, APasswordFileOthersMayReadIsRefusedUnread) {
  const std::string open_file = dir_ / "open";
  test::WriteFile(open_file, server_->password() + "\n");
  chmod(open_file.c_str(), 0644);
  config_.store.password_file = open_file;
  std::unique_ptr<Store> s;
  const Status st = OpenStore(config_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("0644"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(open_file), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(server_->password()), std::string::npos) << st.message();
  config_.store.password_file = dir_ / "missing";
  EXPECT_FALSE(OpenStore(config_, &s).ok());
}

TEST_F(PostgresStore, AStoreFromANewerVersionIsRefused) {
  {
    std::unique_ptr<Store> s;
    ASSERT_TRUE(OpenStore(config_, &s).ok());
  }
  std::string out;
  ASSERT_EQ(server_->Psql(database_, "-c 'UPDATE schema_version SET version = 99'", &out), 0) << out;
  std::unique_ptr<Store> s;
  const Status st = OpenStore(config_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kEnvironment);
  EXPECT_NE(st.message().find("schema version 99, newer than this restoreproof knows"), std::string::npos)
      << st.message();
}

TEST_F(PostgresStore, ADatabaseOfOtherTablesIsNotAStore) {
  std::string out;
  ASSERT_EQ(server_->Psql(database_, "-c 'CREATE TABLE other (x INTEGER)'", &out), 0) << out;
  std::unique_ptr<Store> s;
  const Status st = OpenStore(config_, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a restoreproof store"), std::string::npos) << st.message();
}

// ---- docs/sql/roles.sql: an independent verifier ----

class PostgresRoles : public PostgresStore {
 protected:
  // Opens the store as `role` with `password`.
  std::unique_ptr<Store> OpenAs(const std::string& role, const std::string& password) {
    StoreUrl url;
    EXPECT_TRUE(ParseStoreUrl(server_->Url(database_, role), &url).ok());
    std::unique_ptr<Store> s;
    const Status st = OpenPostgresStore(url, password, &s);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }
  // psql as `role`: the exit status; *out what it said.
  int PsqlAs(const std::string& role, const std::string& sql, std::string* out) {
    return server_->Psql(database_, "-c " + test::ShellQuote(sql), out, role, "pw-" + role);
  }
};

TEST_F(PostgresRoles, TheVerifierRecordsARunButCannotChangeOrDeleteItsResultOrTheLog) {
  const std::string roles_sql = std::string(RP_SOURCE_DIR) + "/docs/sql/roles.sql";
  std::string out;
  // The file as an operator runs it: before the first migration, and again after.
  ASSERT_EQ(server_->Psql(database_, "-f " + test::ShellQuote(roles_sql), &out), 0) << out;
  EXPECT_NE(out.find("store migrate"), std::string::npos) << "it says the tables are still to be made: " << out;
  for (const char* role : {"restoreproof_owner", "restoreproof_appliance", "restoreproof_verifier"})
    ASSERT_EQ(server_->Psql(database_, "-c " + test::ShellQuote(std::string("ALTER ROLE ") + role +
                                                               " PASSWORD 'pw-" + role + "'"),
                            &out),
              0)
        << out;
  {
    auto owner = OpenAs("restoreproof_owner", "pw-restoreproof_owner");  // migrates
    ASSERT_TRUE(owner);
  }
  ASSERT_EQ(server_->Psql(database_, "-f " + test::ShellQuote(roles_sql), &out), 0) << out;

  auto appliance = OpenAs("restoreproof_appliance", "pw-restoreproof_appliance");
  auto verifier = OpenAs("restoreproof_verifier", "pw-restoreproof_verifier");
  ASSERT_TRUE(appliance && verifier);
  RunRequest q;
  q.target = "payroll";
  const int64_t id = appliance->EnqueueRun(q, 100);
  const int64_t other = appliance->EnqueueRun(q, 101);

  // The verifier claims, records the start, the progress and the result, queues a retry,
  // stores a baseline and appends to the log.
  const auto run = verifier->ClaimRun("agent-host/1/1", 200, 300);
  ASSERT_TRUE(run);
  ASSERT_EQ(run->id, id);
  EXPECT_TRUE(verifier->RenewLease(id, "agent-host/1/1", 400, nullptr));
  EXPECT_TRUE(verifier->RecordStart(id, "agent-host/1/1", "p1", 90, "site-a", 7, "agent-host", "0.1", "h"));
  EXPECT_TRUE(verifier->RecordProgress(id, "agent-host/1/1", RunProgress{1, 2, 3, 210}));
  RunOutcome o;
  o.state = RunState::kAborted;
  o.finished_at = 220;
  RunRequest retry = q;
  retry.retry_of = id;
  retry.attempt = 2;
  o.retry = retry;
  ASSERT_TRUE(verifier->FinishRun(id, "agent-host/1/1", o));
  EXPECT_EQ(verifier->GetRun(id)->db_role, "restoreproof_verifier") << "set by the server, not the client";
  verifier->PutBaseline("payroll", "site-a", "p1", id, 220, "inventory");
  LogRecord r;
  r.time = 220;
  r.target = "payroll";
  const LogRecord appended = verifier->AppendLog(r);
  EXPECT_EQ(appended.seq, 1);

  // ... and is refused what would change evidence.
  const std::string sid = std::to_string(id);
  EXPECT_NE(PsqlAs("restoreproof_verifier", "UPDATE runs SET state = 'passed' WHERE id = " + sid, &out), 0);
  EXPECT_NE(out.find("a finished run is evidence and never changes"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_verifier", "DELETE FROM runs WHERE id = " + sid, &out), 0);
  EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_verifier", "UPDATE runs SET cancel_requested = 1 WHERE id = " + std::to_string(other), &out), 0);
  EXPECT_NE(out.find("permission denied"), std::string::npos) << "not a column a verifier may set: " << out;
  EXPECT_NE(PsqlAs("restoreproof_verifier", "UPDATE restoration_log SET hash = 'x' WHERE seq = 1", &out), 0);
  EXPECT_NE(out.find("never changes once its hash is set"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_verifier", "DELETE FROM restoration_log WHERE seq = 1", &out), 0);
  EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_verifier", "DELETE FROM baselines", &out), 0);

  // Nobody changes a finished run or the log, whatever its grants: the appliance, the owner.
  EXPECT_NE(PsqlAs("restoreproof_appliance", "UPDATE runs SET message = 'x' WHERE id = " + sid, &out), 0);
  EXPECT_NE(out.find("a finished run is evidence"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_owner", "DELETE FROM runs WHERE id = " + sid, &out), 0);
  EXPECT_NE(out.find("runs are never deleted"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_owner", "DELETE FROM restoration_log", &out), 0);
  EXPECT_NE(out.find("append-only"), std::string::npos) << out;
  EXPECT_NE(PsqlAs("restoreproof_owner", "UPDATE restoration_log SET reason = 'rewritten'", &out), 0);
  EXPECT_EQ(appliance->GetRun(id)->state, RunState::kAborted);
  EXPECT_EQ(appliance->ReadLog(1, 0).at(0).hash, appended.hash);
  EXPECT_TRUE(appliance->CancelRun(other, 230, "by anna")) << "queued runs still change";
}

// ---- store migrate, store check ----

class StoreCli : public ::testing::Test {
 protected:
  StoreCli() : config_(dir_ / "restoreproof.toml"), data_dir_(dir_ / "data") {
    std::filesystem::create_directories(data_dir_);
    chmod(data_dir_.c_str(), 0700);
    Write("");
  }
  void Write(const std::string& store_section) {
    test::WriteFile(config_, "[appliance]\ndata_dir = \"" + data_dir_ + "\"\ntimezone = \"Europe/Stockholm\"\n" +
                                 store_section);
  }
  test::CliResult Rp(const std::string& args) { return test::RunWithConfig(dir_.path(), config_, args + " </dev/null"); }
  test::TempDir dir_;
  std::string config_, data_dir_;
};

TEST_F(StoreCli, MigrateAndCheckAnSqliteStore) {
  auto r = Rp("store check");
  EXPECT_EQ(r.rc, 3) << "no store yet: " << r.err;
  r = Rp("store migrate");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("store sqlite " + StorePath(data_dir_) + ": schema 0 -> " + std::to_string(StoreSchemaVersion())),
            std::string::npos)
      << r.out;
  r = Rp("store migrate");
  EXPECT_NE(r.out.find("(already current)"), std::string::npos) << r.out;
  r = Rp("store check");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("backend: sqlite"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("integrity: ok"), std::string::npos) << r.out;
  r = Rp("--json store check");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\"schema_version\":" + std::to_string(StoreSchemaVersion())), std::string::npos) << r.out;
  ASSERT_EQ(test::RunShell("sqlite3 " + test::ShellQuote(StorePath(data_dir_)) +
                           " 'UPDATE schema_version SET version = 99;'"),
            0);
  r = Rp("store migrate");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("schema version 99, newer than this restoreproof knows"), std::string::npos) << r.err;
  r = Rp("store check");
  EXPECT_EQ(r.rc, 3);
}

TEST_F(StoreCli, MigrateAndCheckAPostgresqlStoreAndFindAMissingTrigger) {
  std::string error;
  test::PgServer* server = test::PgServer::Shared(&error);
  ASSERT_TRUE(server) << error;
  const std::string db = server->NewDatabase();
  Write("[store]\nurl = \"" + server->Url(db) + "\"\npassword_file = \"" + server->password_file() + "\"\n");
  auto r = Rp("store migrate");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("store postgresql " + server->Url(db) + ": schema 0 -> " + std::to_string(StoreSchemaVersion())),
            std::string::npos)
      << r.out;
  r = Rp("store check");
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("backend: postgresql"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("role: " + server->superuser()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("triggers: all present"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(server->password()), std::string::npos);
  std::string out;
  ASSERT_EQ(server->Psql(db, "-c 'DROP TRIGGER runs_never_deleted ON runs'", &out), 0) << out;
  r = Rp("store check");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.out.find("problem: the trigger runs_never_deleted is missing"), std::string::npos) << r.out;
  Write("[store]\nurl = \"postgresql://nobody@127.0.0.1:1/none\"\npassword_file = \"" + server->password_file() + "\"\n");
  r = Rp("store check");
  EXPECT_EQ(r.rc, 3) << "no server there: " << r.err;
  Write("[store]\nurl = \"postgresql://a:pw@h/db\"\npassword_file = \"" + server->password_file() + "\"\n");
  r = Rp("store check");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("password_file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rp
