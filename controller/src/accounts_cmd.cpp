#include "rp/accounts_cmd.h"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rp/accounts.h"
#include "rp/appliance.h"

namespace rp {

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A password in memory, wiped when it goes.
struct Secret {
  std::string text;
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { Wipe(); }
  void Wipe() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
    text.clear();
  }
};

enum class LineRead { kLine, kEnd, kTooLong, kError };

// One line from `fd`, a byte at a time so that nothing after it is consumed; the '\n' (and a
// '\r' before it) dropped. kEnd: end of input before any byte.
LineRead ReadLine(int fd, Secret* line) {
  line->Wipe();
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LineRead::kError;
    if (n == 0) break;
    any = true;
    if (c == '\n') break;
    if (line->text.size() > kMaxPasswordBytes) continue;  // read on to the line's end, keep no more
    line->text += c;
  }
  if (!line->text.empty() && line->text.back() == '\r') line->text.pop_back();
  if (!any) return LineRead::kEnd;
  return line->text.size() > kMaxPasswordBytes ? LineRead::kTooLong : LineRead::kLine;
}

// Echo off on a terminal for as long as it lives.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// The new user's password: from a terminal asked twice with echo off, else the first line.
// 0, or the exit code after saying why on `err`.
int ReadNewPassword(int fd, const std::string& name, std::ostream& err, Secret* password) {
  const char* prefix = "restoreproof user add: ";
  const auto problem = [&](LineRead r) {
    if (r == LineRead::kEnd) err << prefix << "no password on standard input: give it as one line (or run the command on a terminal)\n";
    if (r == LineRead::kTooLong) err << prefix << "the password is longer than " << kMaxPasswordBytes << " bytes\n";
    if (r == LineRead::kError) err << prefix << "standard input cannot be read: " << std::strerror(errno) << "\n";
    return kExitUsage;
  };
  if (!isatty(fd)) {
    const LineRead r = ReadLine(fd, password);
    return r == LineRead::kLine ? 0 : problem(r);
  }
  Secret again;
  EchoOff quiet(fd);
  err << "Password for " << name << ": " << std::flush;
  if (const LineRead r = ReadLine(fd, password); r != LineRead::kLine) return problem(r);
  // Checked before the second prompt, so a short one is not typed twice for nothing.
  if (Status s = CheckPassword(password->text); !s.ok()) {
    err << prefix << s.message() << "\n";
    return kExitUsage;
  }
  err << "Again: " << std::flush;
  if (const LineRead r = ReadLine(fd, &again); r != LineRead::kLine) return problem(r);
  if (!ConstantTimeEquals(password->text, again.text)) {
    err << prefix << "the two passwords differ; nothing was changed\n";
    return kExitUsage;
  }
  return 0;
}

// Checks a command's NAME and --role; 0 or the usage exit after saying why.
int CheckNameAndRole(const char* command, const std::string& name, const std::string& role_text, Role* role,
                     std::ostream& err) {
  if (!ValidAccountName(name)) {
    err << "restoreproof " << command << ": the name \"" << name
        << "\" is not 1 to 64 of the characters a-z, 0-9, '.', '_' and '-'\n";
    return kExitUsage;
  }
  const auto r = ParseRole(role_text);
  if (!r) {
    err << "restoreproof " << command << ": --role: expected " << kRoleNames << ", found \"" << role_text << "\"\n";
    return kExitUsage;
  }
  *role = *r;
  return 0;
}

AuditRecord CliAudit(const std::string& action, const std::string& detail, int64_t at) {
  AuditRecord a;
  a.at = at;
  a.actor = InvokingUser();
  a.address = "cli";
  a.action = action;
  a.detail = detail;
  return a;
}

}  // namespace

int UserAddCommand(const std::string& config_path, const UserAddOptions& o, int password_fd, std::ostream& out,
                   std::ostream& err) {
  Role role = Role::kViewer;
  if (const int rc = CheckNameAndRole("user add", o.name, o.role, &role, err); rc != 0) return rc;
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto refuse_existing = [&] {
    a.store->AppendAudit(CliAudit("user-add-refused", "user " + o.name + " exists", Now()));
    err << "restoreproof user add: the user \"" << o.name << "\" exists; nothing was changed\n";
    return kExitUsage;
  };
  if (a.store->GetUser(o.name)) return refuse_existing();

  UserRecord u;
  {
    Secret password;
    if (const int rc = ReadNewPassword(password_fd, o.name, err, &password); rc != 0) return rc;
    const Status s = HashPassword(password.text, &u.password_hash);
    if (!s.ok()) {
      err << "restoreproof user add: " << s.message() << "\n";
      return s.code() == Status::Code::kUsage ? kExitUsage : kExitEnvironment;
    }
  }
  u.name = o.name;
  u.role = role;
  u.created_at = Now();
  u.must_change_password = o.one_time;
  const std::string role_name(RoleName(role));
  if (!a.store->AddUser(u, CliAudit("user-add", "user " + u.name + ", role " + role_name + (o.one_time ? ", one-time password" : ""),
                                    u.created_at)))
    return refuse_existing();  // added by another process since it was looked up
  if (o.json)
    out << nlohmann::json{{"name", u.name}, {"role", role_name}, {"created_at", u.created_at},
                          {"must_change_password", u.must_change_password}}
               .dump()
        << "\n";
  else
    out << "user " << u.name << " added, role " << role_name
        << (o.one_time ? "; the password is one-time: the first sign-in asks for a new one" : "") << "\n";
  if (a.store->CountAdmins() == 0)
    err << "restoreproof user add: no admin exists yet: the web page serves nothing until one is added with "
           "`restoreproof user add NAME --role admin`\n";
  return 0;
}

int UserListCommand(const std::string& config_path, bool json, std::ostream& out, std::ostream& err) {
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  const auto users = a.store->ListUsers();
  if (json) {
    auto list = nlohmann::json::array();
    for (const auto& u : users)
      list.push_back({{"name", u.name}, {"role", std::string(RoleName(u.role))}, {"created_at", u.created_at},
                      {"disabled", u.disabled},
                      {"must_change_password", u.must_change_password}});
    out << nlohmann::json{{"users", list}}.dump(2) << "\n";
    return 0;
  }
  if (users.empty()) {
    out << "no users; add the first admin with `restoreproof user add NAME --role admin`\n";
    return 0;
  }
  const TimeZone& zone = a.config->appliance.zone;
  out << "NAME                              ROLE      CREATED                    DISABLED\n";
  for (const auto& u : users) {
    char line[256];
    std::snprintf(line, sizeof line, "%-33s %-9s %-26s %s\n", u.name.c_str(), std::string(RoleName(u.role)).c_str(),
                  zone.Format(u.created_at, "%Y-%m-%d %H:%M:%S %z").c_str(), u.disabled ? "yes" : "no");
    out << line;
  }
  return 0;
}

int TokenCreateCommand(const std::string& config_path, const TokenCreateOptions& o, std::ostream& out,
                       std::ostream& err) {
  Role role = Role::kViewer;
  if (const int rc = CheckNameAndRole("token create", o.name, o.role, &role, err); rc != 0) return rc;
  Appliance a;
  if (const int rc = OpenAppliance(config_path, &a, err); rc != 0) return rc;
  Secret token;
  token.text = NewApiToken();
  ApiTokenRecord t;
  t.name = o.name;
  t.role = role;
  t.token_hash = TokenHash(token.text);
  t.created_at = Now();
  const std::string role_name(RoleName(role));
  const int64_t id = a.store->AddApiToken(
      t, CliAudit("token-create", "token " + t.name + ", role " + role_name + ", sha256 " + t.token_hash.substr(0, 16) + "...",
                  t.created_at));
  if (o.json) {
    out << nlohmann::json{{"name", t.name}, {"role", role_name}, {"token", token.text}}.dump() << "\n";
  } else {
    out << token.text << "\n";
    err << "restoreproof token create: token " << id << " (" << t.name << ", role " << role_name
        << ") created; it is shown this once, only its SHA-256 is kept\n";
  }
  return 0;
}

}  // namespace rp
