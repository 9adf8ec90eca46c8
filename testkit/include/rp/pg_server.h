// A real PostgreSQL 15 for tests (no mocks): Debian's initdb and postgres
// (/usr/lib/postgresql/15/bin), in a temporary directory, run as the unprivileged user `nobody`
// (postgres refuses root), on a free port, with scram-sha-256 password authentication for a
// superuser role with a generated password, fsync off. Stopped (SIGINT, waited for) and removed
// when the object is destroyed (kept when the environment has RP_PG_KEEP, for its postgres.log);
// the server also gets SIGQUIT if the test process dies first.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rp::test {

struct PgServerOptions {
  // listen_addresses: 127.0.0.1 always, and these too (an agent's network namespace reaches the
  // server at an address of its own). pg_hba accepts password logins from any address.
  std::vector<std::string> extra_listen_addresses;
};

class PgServer {
 public:
  explicit PgServer(PgServerOptions options = {});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // One server per test process, started the first time it is asked for; nullptr (and
  // *error set) when it cannot be started.
  static PgServer* Shared(std::string* error = nullptr);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // why it did not start
  int port() const { return port_; }
  const std::string& superuser() const { return superuser_; }
  const std::string& password() const { return password_; }
  // A file (mode 0600) holding the superuser's password: [store] password_file.
  const std::string& password_file() const { return password_file_; }

  // Creates a fresh database owned by the superuser; false (and *error) when it cannot.
  bool CreateDatabase(const std::string& name, std::string* error = nullptr);
  // A database name not used before in this process ("rp_<pid>_<n>"), created.
  std::string NewDatabase();
  // postgresql://USER@127.0.0.1:PORT/DATABASE (USER: the superuser when empty).
  std::string Url(const std::string& database, const std::string& user = "") const;
  // Runs psql on `database` as `user` with `password` (the superuser's when user is empty),
  // with ON_ERROR_STOP; `args` is appended to the command line (for example "-c 'SQL'" or
  // "-f FILE"). Returns psql's exit status; *output gets its stdout and stderr.
  int Psql(const std::string& database, const std::string& args, std::string* output = nullptr,
           const std::string& user = "", const std::string& password = "") const;

 private:
  void Start(const PgServerOptions& options);
  void Stop();

  std::string error_;
  std::string dir_, data_dir_;
  std::string superuser_ = "rp_super", password_, password_file_;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

}  // namespace rp::test
