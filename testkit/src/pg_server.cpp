// PgServer (rp/pg_server.h): Debian's PostgreSQL 15 started for a test process.
#include "rp/pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

namespace rp::test {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  std::ifstream("/dev/urandom", std::ios::binary).read(raw.data(), static_cast<std::streamsize>(bytes));
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// The user the server runs as: nobody (postgres refuses to run as root).
bool Unprivileged(uid_t* uid, gid_t* gid) {
  const passwd* pw = getpwnam("nobody");
  if (!pw) return false;
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return true;
}

// Forks and runs `argv` as the unprivileged user with stdout and stderr to `log`. With
// `die_with_parent`, the child gets SIGQUIT (an immediate shutdown) when this process dies.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, const std::string& cwd,
            bool die_with_parent) {
  uid_t uid = 0;
  gid_t gid = 0;
  const bool root = geteuid() == 0;
  if (root && !Unprivileged(&uid, &gid)) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out >= 0) {
    dup2(out, 1);
    dup2(out, 2);
  }
  const int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, 0);
  if (root && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGQUIT);  // after setuid, which clears it
    if (getppid() != parent) _exit(125);
  }
  if (chdir(cwd.c_str()) != 0) _exit(126);
  execv(args[0], args.data());
  _exit(127);
}

int Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

PgServer::PgServer(PgServerOptions options) { Start(options); }

PgServer::~PgServer() { Stop(); }

PgServer* PgServer::Shared(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<PgServer> server;
  std::lock_guard lock(mu);
  if (!server) server = std::make_unique<PgServer>();
  if (!server->ok()) {
    if (error) *error = server->error();
    return nullptr;
  }
  return server.get();
}

void PgServer::Start(const PgServerOptions& options) {
  if (access((std::string(kBin) + "/postgres").c_str(), X_OK) != 0) {
    error_ = std::string(kBin) + "/postgres is not installed (Debian's postgresql-15; scripts/deps.sh)";
    return;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "rp-pg-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  dir_ = tmpl;
  data_dir_ = dir_ + "/data";
  uid_t uid = 0;
  gid_t gid = 0;
  if (geteuid() == 0) {
    if (!Unprivileged(&uid, &gid)) {
      error_ = "there is no user nobody to run postgres as";
      return;
    }
    if (chown(dir_.c_str(), uid, gid) != 0) {
      error_ = "chown " + dir_ + ": " + std::strerror(errno);
      return;
    }
  }
  password_ = RandomHex(16);
  // The server's copy (initdb reads it as nobody) and the test's copy, both mode 0600.
  const std::string init_pw = dir_ + "/initdb-password";
  std::ofstream(init_pw) << password_ << "\n";
  chmod(init_pw.c_str(), 0600);
  if (geteuid() == 0 && chown(init_pw.c_str(), uid, gid) != 0) {
    error_ = "chown " + init_pw + ": " + std::strerror(errno);
    return;
  }
  password_file_ = dir_ + "/password";
  std::ofstream(password_file_) << password_ << "\n";
  chmod(password_file_.c_str(), 0600);
  const std::string log = dir_ + "/initdb.log";
  pid_t pid = Spawn({std::string(kBin) + "/initdb", "-D", data_dir_, "-U", superuser_, "--pwfile=" + init_pw,
                     "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
                    log, dir_, false);
  if (pid < 0 || Wait(pid) != 0) {
    error_ = "initdb failed: " + Tail(log);
    return;
  }
  unlink(init_pw.c_str());
  {
    std::ofstream hba(data_dir_ + "/pg_hba.conf", std::ios::trunc);
    hba << "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n";
  }
  std::string listen = "127.0.0.1";
  for (const auto& a : options.extra_listen_addresses) listen += "," + a;
  const std::string server_log = dir_ + "/postgres.log";
  for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) {
    port_ = FreePort();
    pid = Spawn({std::string(kBin) + "/postgres", "-D", data_dir_, "-p", std::to_string(port_), "-c",
                 "listen_addresses=" + listen, "-c", "unix_socket_directories=", "-c", "fsync=off", "-c",
                 "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300", "-c",
                 "log_min_messages=warning", "-c", "log_min_error_statement=error"},
                server_log, data_dir_, true);
    if (pid < 0) break;
    // Ready when psql connects; a server that exited (a port taken meanwhile) is started again.
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        break;
      }
      if (Psql("postgres", "-c 'SELECT 1'") == 0) {
        pid_ = pid;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid > 0 && pid_ < 0) {
      kill(pid, SIGQUIT);
      Wait(pid);
    }
  }
  if (pid_ < 0) error_ = "postgres did not start: " + Tail(server_log);
}

void PgServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown: disconnects clients, then exits
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pid_ > 0) {
      kill(pid_, SIGQUIT);
      Wait(pid_);
      pid_ = -1;
    }
  }
  if (!dir_.empty() && std::getenv("RP_PG_KEEP")) {
    std::fprintf(stderr, "PgServer: RP_PG_KEEP is set: %s is kept (postgres.log: the server's log)\n", dir_.c_str());
  } else if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool PgServer::CreateDatabase(const std::string& name, std::string* error) {
  std::string out;
  // The name is quoted as an identifier; tests choose it.
  if (Psql("postgres", "-c " + Quote("CREATE DATABASE \"" + name + "\""), &out) == 0) return true;
  if (error) *error = out;
  return false;
}

std::string PgServer::NewDatabase() {
  const std::string name = "rp_" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  std::string error;
  if (!CreateDatabase(name, &error)) return "";
  return name;
}

std::string PgServer::Url(const std::string& database, const std::string& user) const {
  return "postgresql://" + (user.empty() ? superuser_ : user) + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

int PgServer::Psql(const std::string& database, const std::string& args, std::string* output, const std::string& user,
                   const std::string& password) const {
  const std::string cmd = "PGPASSWORD=" + Quote(user.empty() ? password_ : password) + " PGCONNECT_TIMEOUT=5 " +
                          std::string(kBin) + "/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                          std::to_string(port_) + " -U " + Quote(user.empty() ? superuser_ : user) + " -d " +
                          Quote(database) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace rp::test
