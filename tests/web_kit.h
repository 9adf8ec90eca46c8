// Raw HTTP over POSIX sockets and `restoreproof serve` as a process on a loopback port of its
// choosing (port 0, read back from its JSON log), for the web tests (web_test, web_auth_test).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <cctype>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "rp/archive_builder.h"
#include "process_kit.h"
#include "testkit.h"

extern char** environ;

namespace rp::webtest {

using nlohmann::json;
using test::ShellQuote;
using test::TempDir;

inline int64_t NowUtc() { return static_cast<int64_t>(time(nullptr)); }

// --- raw HTTP -----------------------------------------------------------------------------------

inline int Connect(int port, double timeout_s = 10) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{static_cast<time_t>(timeout_s), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct Response {
  int status = 0;  // 0: no status line came (the connection was closed or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::vector<std::string> set_cookies;         // every Set-Cookie value, in order
  std::string body;
};

// An HTTP/1.x answer as it came over the wire (or as `curl -i` prints it); status 0 when it is
// not one.
inline Response ParseResponse(const std::string& raw) {
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    if (name == "set-cookie") r.set_cookies.push_back(r.headers[name]);
  }
  r.body = raw.substr(end + 4);
  return r;
}

inline Response ReadResponse(int fd) {
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  return ParseResponse(raw);
}

inline Response Request(int port, const std::string& method, const std::string& path, const std::string& extra = "") {
  const int fd = Connect(port);
  if (fd < 0) return {};
  SendAll(fd, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + "\r\n");
  Response r = ReadResponse(fd);
  close(fd);
  return r;
}

// --- forms and cookies -------------------------------------------------------------------------

// Fields as application/x-www-form-urlencoded: every byte but letters, digits, '-', '_' and '.'
// percent-encoded.
inline std::string FormEncode(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += "&";
    for (const std::string* part : {&k, &v}) {
      for (char ch : *part) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
          out += static_cast<char>(c);
        } else {
          char buf[4];
          std::snprintf(buf, sizeof buf, "%%%02X", c);
          out += buf;
        }
      }
      if (part == &k) out += "=";
    }
  }
  return out;
}

// The value a Set-Cookie of the answer gives `name` ("" when none does).
inline std::string CookieValue(const Response& r, const std::string& name) {
  for (const auto& c : r.set_cookies)
    if (c.rfind(name + "=", 0) == 0) return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
  return "";
}

// The hidden `csrf` field of a page ("" when it has none).
inline std::string HiddenCsrf(const std::string& html) {
  std::smatch m;
  if (std::regex_search(html, m, std::regex(R"re(name="csrf" value="([0-9a-f]+)")re"))) return m[1];
  return "";
}

// --- serve as a process -------------------------------------------------------------------------

// A temporary appliance whose web server listens on a port of its choosing: `open-files` (no
// personal data) and `payroll-secret` (personal data), each with two daily tar points and
// their xxh128 manifests at one site.
class Appliance {
 public:
  Appliance(const std::string& web = "") : config(dir / "restoreproof.toml"), data_dir(dir / "data"), log(dir / "serve.log") {
    std::filesystem::create_directories(dir / "sandboxes");
    std::string toml = "[appliance]\ndata_dir = \"" + data_dir + "\"\nsandbox_dir = \"" + (dir / "sandboxes") +
                       "\"\ntimezone = \"UTC\"\nlisten = \"127.0.0.1:0\"\ndrain_grace = \"5s\"\n\n[policy]\nmin_copies = 1\n\n" +
                       web + "\n";
    for (const auto& [name, pd] : {std::pair<std::string, std::string>{"open-files", "none"},
                                   {"payroll-secret", "Anställda: namn, personnummer"}}) {
      const std::string site = dir / ("site-a/" + name);
      std::filesystem::create_directories(site);
      for (int day = 2; day >= 1; --day) {
        SampleTreeOptions o;
        o.seed = static_cast<uint64_t>(day) + name.size();
        o.files = 4;
        o.large_file_bytes = 16 * 1024;
        o.exotic_names = false;
        o.links = false;
        const auto tree = SampleTree(o);
        const int64_t t = NowUtc() / 86400 * 86400 - day * 86400 + 7200;
        const time_t s = static_cast<time_t>(t);
        std::tm tm{};
        gmtime_r(&s, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        const std::string file = site + "/" + name + "-" + stamp + ".tar";
        EXPECT_TRUE(WriteArchive(file, ArchiveSpec{"pax", {}}, tree).ok());
        test::WriteFile(file + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
      }
      toml += "[[targets]]\nname = \"" + name + "\"\nowner = \"Test Owner\"\nclassification = { K = 1, R = 1, T = 1 }\n"
              "personal_data = \"" + pd + "\"\nsandbox = \"disk\"\n[[targets.copies]]\nlocation = \"site-a\"\n"
              "kind = \"archive-dir\"\npath = \"" + site + "\"\npattern = \"" + name +
              "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n"
              "[[targets.tests]]\nschedule = \"@yearly\"\n\n";
    }
    test::WriteFile(config, toml);
  }

  TempDir dir;
  const std::string config, data_dir, log;
};

// `restoreproof --config FILE serve` in its own process group, its log in a file; killed at the end.
class Serve {
 public:
  explicit Serve(const Appliance& a) : log_(a.log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, a.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    std::string bin = RP_BINARY, opt = "--config", cfg = a.config, cmd = "serve";
    char* argv[] = {bin.data(), opt.data(), cfg.data(), cmd.data(), nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &fa, &attr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  ~Serve() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // The port of its `nth` `web-started` event (1: the first); 0 when none came within 30 s.
  int Port(int nth = 1) {
    int port = 0;
    test::WaitFor([&] {
      std::istringstream in(test::ReadFile(log_));
      std::string line;
      int seen = 0;
      while (std::getline(in, line)) {
        const json j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.value("event", "") == "web-started" && ++seen == nth)
          port = j.value("port", 0);
      }
      return port != 0;
    }, 30);
    return port;
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  std::string Log() const { return test::ReadFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
};


// `restoreproof user add NAME --role ROLE` with `password` on standard input; its exit code.
inline int AddUser(const Appliance& a, const std::string& name, const std::string& role, const std::string& password) {
  return test::Run("printf '%s\\n' " + ShellQuote(password) + " | " + ShellQuote(RP_BINARY) + " --config " +
                   ShellQuote(a.config) + " user add " + ShellQuote(name) + " --role " + role + " >/dev/null 2>&1");
}

}  // namespace rp::webtest
