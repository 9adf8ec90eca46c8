// The store's tests run against both backends: an SQLite file in the test's directory, and a
// fresh database on the test process's PostgreSQL 15 (rp/pg_server.h), never a mock.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rp/pg_server.h"
#include "rp/store.h"
#include "rp/store_url.h"

namespace rp::test {

enum class StoreBackend { kSqlite, kPostgres };

inline std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param == StoreBackend::kSqlite ? "SQLite" : "PostgreSQL";
}

// Opens stores of one backend, all of them the same store: the file `sqlite_path`, or a database
// created for this object on first use.
class BackendStores {
 public:
  BackendStores(StoreBackend backend, std::string sqlite_path) : backend_(backend), path_(std::move(sqlite_path)) {}

  StoreBackend backend() const { return backend_; }
  PgServer* server() { return server_; }
  const std::string& database() const { return database_; }

  // The store, or nullptr with a test failure that says why.
  std::unique_ptr<Store> Open(bool integrity_check = false) {
    std::unique_ptr<Store> s;
    Status st = Status::Ok();
    if (backend_ == StoreBackend::kSqlite) {
      st = OpenSqliteStore(path_, &s, integrity_check);
    } else {
      if (!Database()) return nullptr;
      StoreUrl url;
      st = ParseStoreUrl(server_->Url(database_), &url);
      if (st.ok()) st = OpenPostgresStore(url, server_->password(), &s);
    }
    EXPECT_TRUE(st.ok()) << st.message();
    return st.ok() ? std::move(s) : nullptr;
  }

  // PostgreSQL: the server and this object's database, started and created on first use.
  bool Database() {
    if (!database_.empty()) return true;
    std::string error;
    server_ = PgServer::Shared(&error);
    if (!server_) {
      ADD_FAILURE() << "PostgreSQL could not be started: " << error;
      return false;
    }
    database_ = server_->NewDatabase();
    if (database_.empty()) ADD_FAILURE() << "could not create a database";
    return !database_.empty();
  }

 private:
  StoreBackend backend_;
  std::string path_;
  PgServer* server_ = nullptr;
  std::string database_;
};

}  // namespace rp::test
