#include "rp/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>
#include <variant>

#include "rp/schedule.h"
#include "rp/posix_io.h"
#include "rp/units.h"

namespace rp {
namespace {

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

constexpr std::pair<std::string_view, int> kFacilities[] = {
    {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
    {"ntp", 12},    {"audit", 13},  {"alert", 14},  {"clock", 15},  {"local0", 16}, {"local1", 17},
    {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
};

// Printable US-ASCII without space (RFC 5424's PRINTUSASCII), `max` characters at most.
bool PrintUsAscii(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s)
    if (c < 33 || c > 126) return false;
  return true;
}

// Reads a [syslog] target into `c`; what is wrong with it otherwise.
std::optional<std::string> ParseSyslogTarget(const std::string& text, SyslogConfig* c) {
  c->target = text;
  if (text == "local") {
    c->transport = SyslogTransport::kLocal;
    return std::nullopt;
  }
  if (text.rfind("udp://", 0) == 0) c->transport = SyslogTransport::kUdp;
  else if (text.rfind("tcp://", 0) == 0) c->transport = SyslogTransport::kTcp;
  else return "the scheme must be udp:// or tcp://, or the target the word local";
  const std::string rest = text.substr(6);
  size_t colon = 0;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return "the IPv6 address has no closing ]";
    c->host = rest.substr(1, close - 1);
    if (c->host.find(':') == std::string::npos ||
        c->host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return "\"" + c->host + "\" is not an IPv6 address";
    colon = close + 1;
    if (colon >= rest.size() || rest[colon] != ':') return "no :PORT after the address";
  } else {
    colon = rest.rfind(':');
    if (colon == std::string::npos) return "no :PORT (there is no default port)";
    c->host = rest.substr(0, colon);
    if (c->host.find(':') != std::string::npos) return "an IPv6 address goes in brackets, like [2001:db8::1]:514";
    if (c->host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
        std::string::npos)
      return "\"" + c->host + "\" is not a host name or address";
  }
  if (c->host.empty()) return "no host";
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    return "the port must be a number from 1 to 65535, found \"" + port + "\"";
  c->port = std::stoi(port);
  return std::nullopt;
}

class Loader {
 public:
  Loader(std::string file, std::vector<ConfigError>* errors) : file_(std::move(file)), errors_(errors) {}

  void Error(const toml::node* at, const std::string& key, const std::string& expected, const std::string& found) {
    ConfigError e;
    e.file = file_;
    if (at) {
      e.line = static_cast<int>(at->source().begin.line);
      e.column = static_cast<int>(at->source().begin.column);
    }
    e.key = key;
    e.expected = expected;
    e.found = found;
    errors_->push_back(std::move(e));
  }

  // Every key not in `known` is an error.
  void Unknown(const toml::table& t, std::initializer_list<std::string_view> known, const std::string& path) {
    for (const auto& [k, v] : t) {
      bool ok = false;
      for (auto n : known) ok = ok || k.str() == n;
      if (!ok) {
        std::string list;
        for (auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
        Error(&v, Join(path, std::string(k.str())), "one of the keys " + list, "unknown key " + Quote(k.str()));
      }
    }
  }

  static std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

  const toml::node* Get(const toml::table& t, std::string_view key) { return t.get(key); }

  std::optional<std::string> String(const toml::table& t, std::string_view key, const std::string& path, bool required,
                                    const toml::node* parent = nullptr) {
    const toml::node* n = Get(t, key);
    if (!n) {
      if (required) Error(parent, Join(path, std::string(key)), "a string (required)", "the key is missing");
      return std::nullopt;
    }
    if (!n->is_string()) {
      Error(n, Join(path, std::string(key)), "a string", TypeName(*n));
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  std::optional<int64_t> Integer(const toml::table& t, std::string_view key, const std::string& path, int64_t lo,
                                 int64_t hi, bool required, const toml::node* parent = nullptr) {
    const toml::node* n = Get(t, key);
    const std::string k = Join(path, std::string(key));
    const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!n) {
      if (required) Error(parent, k, range + " (required)", "the key is missing");
      return std::nullopt;
    }
    if (!n->is_integer()) {
      Error(n, k, range, TypeName(*n) + (n->is_string() ? " " + Quote(n->as_string()->get()) : ""));
      return std::nullopt;
    }
    const int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      Error(n, k, range, std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> Duration(const toml::table& t, std::string_view key, const std::string& path) {
    const toml::node* n = Get(t, key);
    if (!n) return std::nullopt;
    const std::string k = Join(path, std::string(key));
    const std::string expected = "a duration string with a unit, like \"90m\", \"12h\", \"1d\"";
    if (!n->is_string()) {
      Error(n, k, expected, TypeName(*n));
      return std::nullopt;
    }
    auto d = ParseConfigDuration(n->as_string()->get());
    if (!d || *d <= 0) {
      Error(n, k, expected, Quote(n->as_string()->get()));
      return std::nullopt;
    }
    return d;
  }

  // An optional array of strings.
  void Strings(const toml::table& t, std::string_view key, const std::string& path, std::vector<std::string>* out) {
    const toml::node* n = Get(t, key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) {
      Error(n, Join(path, std::string(key)), "an array of strings", TypeName(*n));
      return;
    }
    for (const auto& e : *a) {
      if (e.is_string()) out->push_back(e.as_string()->get());
      else Error(&e, Join(path, std::string(key)), "strings", TypeName(e));
    }
  }

  void Notify(const toml::node& n, const std::string& path, NotifyConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table", TypeName(n));
      return;
    }
    if (auto v = String(*t, "name", path, true, &n)) c->name = *v;
    auto kind = String(*t, "kind", path, true, &n);
    if (kind && *kind == "webhook") {
      c->kind = NotifyKind::kWebhook;
      Unknown(*t, {"name", "kind", "url", "secret_file", "timeout"}, path);
      if (auto v = String(*t, "url", path, true, &n)) {
        c->url = *v;
        if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
          Error(Get(*t, "url"), path + ".url", "an http:// or https:// URL", Quote(*v));
      }
      if (auto v = String(*t, "secret_file", path, true, &n)) c->secret_file = *v;
    } else if (kind && *kind == "email") {
      c->kind = NotifyKind::kEmail;
      Unknown(*t, {"name", "kind", "smtp_host", "smtp_port", "from", "to", "starttls", "username", "password_file", "timeout"},
              path);
      if (auto v = String(*t, "smtp_host", path, true, &n)) c->smtp_host = *v;
      if (auto v = Integer(*t, "smtp_port", path, 1, 65535, false)) c->smtp_port = static_cast<int>(*v);
      if (auto v = String(*t, "from", path, true, &n)) c->from = *v;
      Strings(*t, "to", path, &c->to);
      if (c->to.empty()) Error(Get(*t, "to") ? Get(*t, "to") : &n, path + ".to", "a non-empty array of addresses (required)",
                               Get(*t, "to") ? "an empty array" : "the key is missing");
      if (auto v = String(*t, "starttls", path, false)) {
        if (*v == "auto") c->starttls = StartTls::kAuto;
        else if (*v == "required") c->starttls = StartTls::kRequired;
        else if (*v == "off") c->starttls = StartTls::kOff;
        else Error(Get(*t, "starttls"), path + ".starttls", "auto, required or off", Quote(*v));
      }
      if (auto v = String(*t, "username", path, false)) c->username = *v;
      if (auto v = String(*t, "password_file", path, false)) c->password_file = *v;
      if (!c->username.empty() && c->password_file.empty())
        Error(&n, path + ".password_file", "password_file with username (never the password itself)", "the key is missing");
    } else if (kind) {
      Error(Get(*t, "kind"), path + ".kind", "webhook or email", Quote(*kind));
    }
    if (auto d = Duration(*t, "timeout", path)) c->timeout_s = *d;
  }

  // [store]: url = "postgresql://..." with password_file (an absolute path); both or neither.
  void Store(const toml::node& n, StoreConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, "store", "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"url", "password_file"}, "store");
    if (auto v = String(*t, "url", "store", true, &n)) {
      if (v->rfind("postgresql://", 0) != 0)
        Error(Get(*t, "url"), "store.url", "a PostgreSQL URL \"postgresql://USER@HOST:PORT/DB\" (no password in it)",
              Quote(v->substr(0, v->find(':'))) + "...");
      else if (v->find('@') != std::string::npos && v->substr(13, v->find('@') - 13).find(':') != std::string::npos)
        Error(Get(*t, "url"), "store.url", "a URL without a password (it belongs in password_file)", "a password in the URL");
      else
        c->url = *v;
    }
    if (auto v = String(*t, "password_file", "store", true, &n)) {
      if (v->empty() || (*v)[0] != '/') Error(Get(*t, "password_file"), "store.password_file", "an absolute path", Quote(*v));
      else c->password_file = *v;
    }
  }

  // [agent]: locations = ["site-a", ...], the copies this agent can read.
  void Agent(const toml::node& n, AgentConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, "agent", "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"locations"}, "agent");
    Strings(*t, "locations", "agent", &c->locations);
  }

  void Web(const toml::node& n, WebConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, "web", "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"enabled", "threads", "queue", "max_request_bytes", "timeout", "tls_certificate", "tls_key",
                 "proxy_user_header", "trusted_proxies"},
            "web");
    if (const toml::node* e = Get(*t, "enabled")) {
      if (e->is_boolean()) c->enabled = e->as_boolean()->get();
      else Error(e, "web.enabled", "true or false", TypeName(*e));
    }
    if (auto v = Integer(*t, "threads", "web", 1, 64, false)) c->threads = static_cast<int>(*v);
    if (auto v = Integer(*t, "queue", "web", 1, 4096, false)) c->queue = static_cast<int>(*v);
    if (auto v = Integer(*t, "max_request_bytes", "web", 1024, 16 << 20, false)) c->max_request_bytes = *v;
    if (auto d = Duration(*t, "timeout", "web")) {
      if (*d > 300) Error(Get(*t, "timeout"), "web.timeout", "a duration of at most \"5m\"", Quote(Get(*t, "timeout")->as_string()->get()));
      else c->timeout_s = *d;
    }
    WebTls(*t, c);
    WebProxy(*t, c);
  }

  // tls_certificate and tls_key: both or neither, absolute paths (read when the server starts).
  void WebTls(const toml::table& t, WebConfig* c) {
    for (const char* key : {"tls_certificate", "tls_key"})
      if (auto v = String(t, key, "web", false)) {
        if (v->empty() || (*v)[0] != '/') Error(Get(t, key), std::string("web.") + key, "an absolute path to a PEM file", Quote(*v));
        else (std::string_view(key) == "tls_key" ? c->tls_key : c->tls_certificate) = *v;
      }
    const bool cert = Get(t, "tls_certificate") != nullptr, key = Get(t, "tls_key") != nullptr;
    if (cert != key)
      Error(cert ? Get(t, "tls_certificate") : Get(t, "tls_key"), cert ? "web.tls_key" : "web.tls_certificate",
            "tls_certificate and tls_key together (TLS needs the certificate and its private key)",
            "the key is missing");
    if (cert != key || c->tls_certificate.empty() || c->tls_key.empty()) {  // never half a TLS set-up
      c->tls_certificate.clear();
      c->tls_key.clear();
    }
  }

  // proxy_user_header and trusted_proxies: both or neither.
  void WebProxy(const toml::table& t, WebConfig* c) {
    if (auto v = String(t, "proxy_user_header", "web", false)) {
      std::string lower;
      bool token = !v->empty() && v->size() <= 64;
      for (const char ch : *v) {
        token = token && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_');
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (!token)
        Error(Get(t, "proxy_user_header"), "web.proxy_user_header",
              "an HTTP header name of 1 to 64 letters, digits, '-' and '_', like \"X-Remote-User\"", Quote(*v));
      else if (lower == "cookie" || lower == "authorization" || lower == "host" || lower == "content-type" ||
               lower == "content-length" || lower == "x-csrf-token")
        Error(Get(t, "proxy_user_header"), "web.proxy_user_header",
              "a header of the proxy's own, like \"X-Remote-User\", not one browsers or the API already send", Quote(*v));
      else
        c->proxy_user_header = *v;
    }
    if (const toml::node* p = Get(t, "trusted_proxies")) {
      const toml::array* a = p->as_array();
      if (!a || a->empty()) {
        Error(p, "web.trusted_proxies", "a non-empty array of addresses and networks, like [\"127.0.0.1\", \"10.0.0.0/8\"]",
              a ? "an empty array" : TypeName(*p));
      } else {
        for (size_t i = 0; i < a->size(); ++i) {
          const toml::node& e = *a->get(i);
          const std::string key = "web.trusted_proxies[" + std::to_string(i) + "]";
          if (!e.is_string()) {
            Error(&e, key, "an IP address or network as a string", TypeName(e));
            continue;
          }
          std::string why;
          if (auto net = ParseIpNetwork(e.as_string()->get(), &why)) c->trusted_proxies.push_back(*net);
          else Error(&e, key, "an IPv4 or IPv6 address or network, like \"10.0.0.0/8\" or \"::1\"", Quote(e.as_string()->get()) + ": " + why);
        }
      }
    }
    const bool header = Get(t, "proxy_user_header") != nullptr, proxies = Get(t, "trusted_proxies") != nullptr;
    if (header != proxies)
      Error(header ? Get(t, "proxy_user_header") : Get(t, "trusted_proxies"),
            header ? "web.trusted_proxies" : "web.proxy_user_header",
            "proxy_user_header and trusted_proxies together (the header is trusted only from those addresses)",
            "the key is missing");
    if (header != proxies || c->proxy_user_header.empty() || c->trusted_proxies.empty()) {
      c->proxy_user_header.clear();
      c->trusted_proxies.clear();
    }
  }

  void Syslog(const toml::node& n, SyslogConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, "syslog", "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"target", "facility", "app_name", "hostname"}, "syslog");
    if (auto v = String(*t, "target", "syslog", true, &n))
      if (auto why = ParseSyslogTarget(*v, c))
        Error(Get(*t, "target"), "syslog.target", "udp://HOST:PORT, tcp://HOST:PORT or local",
              Quote(*v) + " (" + *why + ")");
    if (auto v = String(*t, "facility", "syslog", false)) {
      if (auto code = ParseSyslogFacility(*v)) c->facility = *code;
      else Error(Get(*t, "facility"), "syslog.facility", "an RFC 5424 facility: kern, user, mail, daemon, auth, syslog, "
                 "lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock or local0 .. local7", Quote(*v));
    }
    if (auto v = String(*t, "app_name", "syslog", false)) {
      if (PrintUsAscii(*v, 48)) c->app_name = *v;
      else Error(Get(*t, "app_name"), "syslog.app_name", "1 to 48 printable ASCII characters without spaces", Quote(*v));
    }
    if (auto v = String(*t, "hostname", "syslog", false)) {
      if (PrintUsAscii(*v, 255)) c->hostname = *v;
      else Error(Get(*t, "hostname"), "syslog.hostname", "1 to 255 printable ASCII characters without spaces", Quote(*v));
    }
  }

  void Drill(const toml::node& n, const std::string& path, DrillConfig* d) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"name", "schedule", "targets", "notify"}, path);
    if (auto v = String(*t, "name", path, true, &n)) d->name = *v;
    if (auto v = String(*t, "schedule", path, false)) {
      auto parsed = ParseSchedule(*v);
      if (const auto* schedule = std::get_if<Schedule>(&parsed)) d->schedule = *schedule;
      else Error(Get(*t, "schedule"), path + ".schedule", std::get<ScheduleError>(parsed).expected,
                 std::get<ScheduleError>(parsed).found);
    }
    Strings(*t, "targets", path, &d->targets);
    Strings(*t, "notify", path, &d->notify);
  }

  // Names that refer to [[targets]] and [[notify]] entries must exist.
  void References(const toml::table& root, Config* cfg) {
    const auto node_of = [&](const char* array, size_t i, const char* key) -> const toml::node* {
      const toml::node* a = root.get(array);
      const toml::node* e = a && a->as_array() && i < a->as_array()->size() ? a->as_array()->get(i) : nullptr;
      const toml::node* k = e && e->as_table() ? e->as_table()->get(key) : nullptr;
      return k ? k : e;
    };
    std::set<std::string> seen;
    for (size_t i = 0; i < cfg->notify.size(); ++i)
      if (!cfg->notify[i].name.empty() && !seen.insert(cfg->notify[i].name).second)
        Error(node_of("notify", i, "name"), "notify[" + std::to_string(i) + "].name", "a name no other channel has",
              Quote(cfg->notify[i].name) + ", already used");
    const auto check_notify = [&](const std::vector<std::string>& names, const char* array, size_t i) {
      for (const auto& name : names)
        if (!cfg->FindNotify(name))
          Error(node_of(array, i, "notify"), std::string(array) + "[" + std::to_string(i) + "].notify",
                "names of [[notify]] channels", Quote(name) + ", which no [[notify]] entry has");
    };
    for (size_t i = 0; i < cfg->targets.size(); ++i) check_notify(cfg->targets[i].notify, "targets", i);
    seen.clear();
    for (size_t i = 0; i < cfg->drills.size(); ++i) {
      check_notify(cfg->drills[i].notify, "drills", i);
      if (!seen.insert(cfg->drills[i].name).second)
        Error(node_of("drills", i, "name"), "drills[" + std::to_string(i) + "].name", "a name no other drill has",
              Quote(cfg->drills[i].name) + ", already used");
      for (const auto& name : cfg->drills[i].targets)
        if (!cfg->FindTarget(name))
          Error(node_of("drills", i, "targets"), "drills[" + std::to_string(i) + "].targets", "names of [[targets]]",
                Quote(name) + ", which no target has");
    }
  }

  void PolicyTable(const toml::table& t, const std::string& path, PolicyValues* p, bool allow_availability) {
    if (allow_availability) {
      Unknown(t, {"backup_interval", "retention_days", "restore_test_interval", "min_copies", "rto", "max_retention_days",
                  "freshness_grace", "copy_lag", "weekly_keeps", "monthly_keeps", "availability"},
              path);
    } else {
      Unknown(t, {"backup_interval", "retention_days", "restore_test_interval", "min_copies", "rto", "max_retention_days",
                  "freshness_grace", "copy_lag", "weekly_keeps", "monthly_keeps"},
              path);
    }
    p->backup_interval_s = Duration(t, "backup_interval", path);
    p->restore_test_interval_s = Duration(t, "restore_test_interval", path);
    p->rto_s = Duration(t, "rto", path);
    p->freshness_grace_s = Duration(t, "freshness_grace", path);
    p->copy_lag_s = Duration(t, "copy_lag", path);
    if (auto v = Integer(t, "retention_days", path, 1, 36500, false)) p->retention_days = static_cast<int>(*v);
    if (auto v = Integer(t, "min_copies", path, 1, 16, false)) p->min_copies = static_cast<int>(*v);
    if (auto v = Integer(t, "max_retention_days", path, 1, 36500, false)) p->max_retention_days = static_cast<int>(*v);
    if (auto v = Integer(t, "weekly_keeps", path, 0, 520, false)) p->weekly_keeps = static_cast<int>(*v);
    if (auto v = Integer(t, "monthly_keeps", path, 0, 1200, false)) p->monthly_keeps = static_cast<int>(*v);
    if (p->retention_days && p->max_retention_days && *p->max_retention_days < *p->retention_days)
      Error(Get(t, "max_retention_days"), Join(path, "max_retention_days"),
            "at least retention_days (" + std::to_string(*p->retention_days) + ")", std::to_string(*p->max_retention_days));
  }

  std::optional<ContentCheck> Check(const toml::node& n, const std::string& path) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table like { kind = \"min-files\", count = 10 }", TypeName(n));
      return std::nullopt;
    }
    auto kind_text = String(*t, "kind", path, true, &n);
    if (!kind_text) return std::nullopt;
    auto kind = ParseCheckKind(*kind_text);
    if (!kind) {
      Error(Get(*t, "kind"), path + ".kind",
            "one of min-files, min-bytes, required-paths, sqlite-integrity, unchanged-since-baseline, command",
            Quote(*kind_text));
      return std::nullopt;
    }
    ContentCheck c;
    c.kind = *kind;
    if (auto name = String(*t, "name", path, false)) c.name = *name;
    switch (c.kind) {
      case CheckKind::kMinFiles:
        Unknown(*t, {"kind", "name", "count"}, path);
        if (auto v = Integer(*t, "count", path, 1, int64_t{1} << 40, true, &n)) c.count = static_cast<uint64_t>(*v);
        break;
      case CheckKind::kMinBytes: {
        Unknown(*t, {"kind", "name", "bytes"}, path);
        const toml::node* b = Get(*t, "bytes");
        if (!b) {
          Error(&n, path + ".bytes", "a size like \"10M\" or an integer (required)", "the key is missing");
        } else if (b->is_integer() && b->as_integer()->get() > 0) {
          c.bytes = static_cast<uint64_t>(b->as_integer()->get());
        } else if (auto sz = b->is_string() ? ParseByteSize(b->as_string()->get()) : std::nullopt) {
          c.bytes = *sz;
        } else {
          Error(b, path + ".bytes", "a size like \"10M\" or a positive integer", TypeName(*b));
        }
        break;
      }
      case CheckKind::kRequiredPaths:
      case CheckKind::kSqliteIntegrity: {
        Unknown(*t, {"kind", "name", "glob", "globs"}, path);
        if (auto g = String(*t, "glob", path, false)) c.globs.push_back(*g);
        if (const toml::node* gs = Get(*t, "globs")) {
          const toml::array* a = gs->as_array();
          if (!a) Error(gs, path + ".globs", "an array of strings", TypeName(*gs));
          else
            for (const auto& e : *a) {
              if (e.is_string()) c.globs.push_back(e.as_string()->get());
              else Error(&e, path + ".globs", "strings", TypeName(e));
            }
        }
        if (c.globs.empty()) Error(&n, path + ".glob", "a glob (required)", "the key is missing");
        break;
      }
      case CheckKind::kUnchangedSinceBaseline:
        Unknown(*t, {"kind", "name"}, path);
        break;
      case CheckKind::kCommand: {
        Unknown(*t, {"kind", "name", "argv", "timeout"}, path);
        const toml::node* a = Get(*t, "argv");
        const toml::array* arr = a ? a->as_array() : nullptr;
        if (!arr || arr->empty()) {
          Error(a ? a : &n, path + ".argv", "a non-empty array of strings, the program first (required)",
                a ? TypeName(*a) : "the key is missing");
        } else {
          for (const auto& e : *arr) {
            if (e.is_string()) c.argv.push_back(e.as_string()->get());
            else Error(&e, path + ".argv", "strings", TypeName(e));
          }
          if (!c.argv.empty() && (c.argv[0].empty() || c.argv[0][0] != '/'))
            Error(arr->get(0), path + ".argv", "an absolute path to the program", Quote(c.argv[0]));
        }
        if (auto d = Duration(*t, "timeout", path)) c.timeout_s = *d;
        break;
      }
    }
    return c;
  }

  void Copy(const toml::node& n, const std::string& path, CopyConfig* c) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"location", "kind", "path", "pattern", "manifest", "full_marker", "incremental_marker",
                 "differential_marker", "password_file", "passphrase_file", "secret_env"},
            path);
    if (auto v = String(*t, "location", path, true, &n)) c->location = *v;
    if (auto v = String(*t, "kind", path, true, &n)) {
      if (*v == "archive-dir") c->kind = CopyKind::kArchiveDir;
      else if (*v == "dir-snapshots") c->kind = CopyKind::kDirSnapshots;
      else if (*v == "restic") c->kind = CopyKind::kRestic;
      else if (*v == "borg") c->kind = CopyKind::kBorg;
      else Error(Get(*t, "kind"), path + ".kind", "one of archive-dir, dir-snapshots, restic, borg", Quote(*v));
    }
    if (auto v = String(*t, "path", path, true, &n)) {
      c->path = *v;
      if (c->kind != CopyKind::kRestic && (v->empty() || (*v)[0] != '/'))
        Error(Get(*t, "path"), path + ".path", "an absolute path", Quote(*v));
    }
    if (auto v = String(*t, "pattern", path, c->kind == CopyKind::kArchiveDir, &n)) {
      c->pattern = *v;
      if (v->find('/') != std::string::npos) Error(Get(*t, "pattern"), path + ".pattern", "a file name pattern without '/'", Quote(*v));
    }
    if (auto v = String(*t, "manifest", path, false)) c->manifest = *v;
    if (auto v = String(*t, "full_marker", path, false)) c->full_marker = *v;
    if (auto v = String(*t, "incremental_marker", path, false)) c->incremental_marker = *v;
    if (auto v = String(*t, "differential_marker", path, false)) c->differential_marker = *v;
    if (auto v = String(*t, "password_file", path, false)) c->password_file = *v;
    if (auto v = String(*t, "passphrase_file", path, false)) c->passphrase_file = *v;
    if (auto v = String(*t, "secret_env", path, false)) c->secret_env = *v;
    if (c->kind == CopyKind::kRestic && c->password_file.empty() && c->secret_env.empty())
      Error(&n, path + ".password_file", "password_file or secret_env for a restic repository (never the password itself)",
            "neither key");
    if (c->kind != CopyKind::kArchiveDir && !c->pattern.empty())
      Error(Get(*t, "pattern"), path + ".pattern", "no pattern: only archive-dir copies have one", Quote(c->pattern));
  }

  void Test(const toml::node& n, const std::string& path, TestConfig* test) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table", TypeName(n));
      return;
    }
    Unknown(*t, {"schedule", "select", "checks", "sample", "sample_bytes"}, path);
    Sample(*t, path, test);
    // A malformed schedule or select is reported at its offending token. toml++ counts columns
    // in code points, and a one-line string without escapes spans its code points plus the
    // two quotes (an escape or a multi-line string spans more): then the token's column is
    // known; in any other string the error points at the value.
    const auto report = [&](std::string_view key, const ScheduleError& e) {
      const toml::node* node = Get(*t, key);
      Error(node, path + "." + std::string(key), e.expected, e.found);
      const std::string_view value = node->as_string()->get();
      const auto code_points = [](std::string_view s) {
        size_t count = 0;
        for (const char c : s) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        return count;
      };
      const toml::source_region& at = node->source();
      if (at.begin.line == at.end.line && size_t{at.end.column} - size_t{at.begin.column} == code_points(value) + 2)
        errors_->back().column += static_cast<int>(1 + code_points(value.substr(0, std::min(e.offset, value.size()))));
    };
    if (auto v = String(*t, "schedule", path, false)) {
      auto parsed = ParseSchedule(*v);
      if (const auto* schedule = std::get_if<Schedule>(&parsed)) test->schedule = *schedule;
      else report("schedule", std::get<ScheduleError>(parsed));
    }
    if (auto v = String(*t, "select", path, false)) {
      auto parsed = ParseTestSelect(*v);
      if (const auto* select = std::get_if<TestSelect>(&parsed)) test->select = *select;
      else report("select", std::get<SelectError>(parsed));
    }
    if (const toml::node* cs = Get(*t, "checks")) {
      const toml::array* a = cs->as_array();
      if (!a) {
        Error(cs, path + ".checks", "an array of check tables", TypeName(*cs));
      } else {
        for (size_t i = 0; i < a->size(); ++i)
          if (auto c = Check(*a->get(i), path + ".checks[" + std::to_string(i) + "]")) test->checks.push_back(*c);
      }
    }
  }

  // sample = "10%" (a share of the files, more than 0 and at most 100) or sample_bytes = "50G":
  // one or neither.
  void Sample(const toml::table& t, const std::string& path, TestConfig* test) {
    std::string why;
    if (auto v = String(t, "sample", path, false)) {
      if (auto size = ParseSamplePercent(*v, &why)) test->sample = *size;
      else Error(Get(t, "sample"), path + ".sample", "a share of the files, like \"10%\" (more than 0%, at most 100%)", Quote(*v));
    }
    if (auto v = String(t, "sample_bytes", path, false)) {
      if (Get(t, "sample")) {
        Error(Get(t, "sample_bytes"), path + ".sample_bytes", "sample or sample_bytes, not both", Quote(*v));
      } else if (auto size = ParseSampleBytes(*v, &why)) {
        test->sample = *size;
      } else {
        Error(Get(t, "sample_bytes"), path + ".sample_bytes", "a size of content to restore per test, like \"50G\"", Quote(*v));
      }
    }
  }

  void Target(const toml::node& n, const std::string& path, TargetConfig* tc) {
    const toml::table* t = n.as_table();
    if (!t) {
      Error(&n, path, "a table", TypeName(n));
      return;
    }
    Unknown(*t,
            {"name", "owner", "classification", "personal_data", "checksum", "production_path", "sandbox",
             "stall_timeout", "spin_timeout", "memory_limit", "policy", "copies", "tests", "notify", "coverage_days"},
            path);
    if (auto v = Integer(*t, "coverage_days", path, 1, 3660, false)) tc->coverage_days = static_cast<int>(*v);
    Strings(*t, "notify", path, &tc->notify);
    if (auto v = String(*t, "name", path, true, &n)) {
      tc->name = *v;
      bool ok = !v->empty();
      for (char ch : *v) ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-');
      if (!ok) Error(Get(*t, "name"), path + ".name", "a name of a-z, 0-9, '.', '_', '-'", Quote(*v));
    }
    if (auto v = String(*t, "owner", path, true, &n)) {
      tc->owner = *v;
      if (v->find_first_not_of(" \t") == std::string::npos)
        Error(Get(*t, "owner"), path + ".owner", "the responsible person's name", "an empty string");
    }
    if (const toml::node* c = Get(*t, "classification")) {
      if (const toml::table* ct = c->as_table()) {
        Unknown(*ct, {"K", "R", "T"}, path + ".classification");
        if (auto v = Integer(*ct, "K", path + ".classification", 1, 4, true, c)) tc->classification.k = static_cast<int>(*v);
        if (auto v = Integer(*ct, "R", path + ".classification", 1, 4, true, c)) tc->classification.r = static_cast<int>(*v);
        if (auto v = Integer(*ct, "T", path + ".classification", 1, 4, true, c)) tc->classification.t = static_cast<int>(*v);
      } else {
        Error(c, path + ".classification", "a table { K = 1-4, R = 1-4, T = 1-4 }", TypeName(*c));
      }
    } else {
      Error(&n, path + ".classification", "a table { K = 1-4, R = 1-4, T = 1-4 } (required)", "the key is missing");
    }
    if (const toml::node* p = Get(*t, "personal_data")) {
      if (p->is_string()) {
        const std::string& s = p->as_string()->get();
        if (s.find_first_not_of(" \t") == std::string::npos)
          Error(p, path + ".personal_data", "a description of the personal data, or \"none\"", "an empty string");
        tc->personal_data.none = s == "none";
        tc->personal_data.description = s;
      } else if (const toml::table* pt = p->as_table()) {
        Unknown(*pt, {"categories", "subjects"}, path + ".personal_data");
        for (const char* key : {"categories", "subjects"}) {
          const toml::node* a = pt->get(key);
          auto& out = std::string_view(key) == "categories" ? tc->personal_data.categories : tc->personal_data.subjects;
          if (!a || !a->is_array() || a->as_array()->empty()) {
            Error(a ? a : p, path + ".personal_data." + key, "a non-empty array of strings (required)",
                  a ? TypeName(*a) : "the key is missing");
            continue;
          }
          for (const auto& e : *a->as_array()) {
            if (e.is_string()) out.push_back(e.as_string()->get());
            else Error(&e, path + ".personal_data." + key, "strings", TypeName(e));
          }
        }
      } else {
        Error(p, path + ".personal_data", "a string, \"none\", or { categories = [...], subjects = [...] }", TypeName(*p));
      }
    } else {
      Error(&n, path + ".personal_data", "a declaration of the personal data held, or \"none\" (required)",
            "the key is missing");
    }
    if (auto v = String(*t, "checksum", path, false)) {
      auto a = ParseHashAlgo(*v);
      if (!a || (*a != HashAlgo::kXxh128 && *a != HashAlgo::kSha256 && *a != HashAlgo::kSha512 && *a != HashAlgo::kBlake2b))
        Error(Get(*t, "checksum"), path + ".checksum", "xxh128, sha256, sha512 or blake2b", Quote(*v));
      else {
        tc->checksum = *a;
        tc->checksum_set = true;
      }
    }
    // Integrity class 3 or higher needs a digest that resists deliberate tampering.
    if (!tc->checksum_set && tc->classification.r >= 3) tc->checksum = HashAlgo::kSha256;
    if (auto v = String(*t, "production_path", path, false)) tc->production_path = *v;
    if (auto v = String(*t, "sandbox", path, false)) {
      if (auto kind = ParseSandboxKind(*v)) tc->sandbox = *kind;
      else Error(Get(*t, "sandbox"), path + ".sandbox", "auto, disk or tmpfs", Quote(*v));
    }
    if (auto d = Duration(*t, "stall_timeout", path)) tc->stall_timeout_s = *d;
    if (auto d = Duration(*t, "spin_timeout", path)) tc->spin_timeout_s = *d;
    if (auto v = String(*t, "memory_limit", path, false)) {
      const auto sz = ParseByteSize(*v);
      if (!sz || *sz < kMinMemoryLimitBytes)
        Error(Get(*t, "memory_limit"), path + ".memory_limit", "a size of at least 64M, like \"2G\"", Quote(*v));
      else
        tc->memory_limit_bytes = *sz;
    }
    if (const toml::node* p = Get(*t, "policy")) {
      if (const toml::table* pt = p->as_table()) PolicyTable(*pt, path + ".policy", &tc->policy, false);
      else Error(p, path + ".policy", "a table of policy overrides", TypeName(*p));
    }
    const toml::node* cs = Get(*t, "copies");
    const toml::array* ca = cs ? cs->as_array() : nullptr;
    if (!ca || ca->empty()) {
      Error(cs ? cs : &n, path + ".copies", "at least one [[targets.copies]] (required)",
            cs ? TypeName(*cs) : "the key is missing");
    } else {
      for (size_t i = 0; i < ca->size(); ++i) {
        tc->copies.emplace_back();
        Copy(*ca->get(i), path + ".copies[" + std::to_string(i) + "]", &tc->copies.back());
      }
    }
    if (const toml::node* ts = Get(*t, "tests")) {
      if (const toml::array* ta = ts->as_array()) {
        for (size_t i = 0; i < ta->size(); ++i) {
          tc->tests.emplace_back();
          Test(*ta->get(i), path + ".tests[" + std::to_string(i) + "]", &tc->tests.back());
        }
      } else {
        Error(ts, path + ".tests", "an array of [[targets.tests]] tables", TypeName(*ts));
      }
    }
  }

  void Root(const toml::table& root, Config* cfg) {
    std::string timezone = kDefaultTimeZone;
    Unknown(root, {"appliance", "policy", "targets", "notify", "drills", "syslog", "web", "store", "agent"}, "");
    if (const toml::node* st = root.get("store")) Store(*st, &cfg->store);
    if (const toml::node* ag = root.get("agent")) Agent(*ag, &cfg->agent);
    if (const toml::node* a = root.get("appliance")) {
      if (const toml::table* at = a->as_table()) {
        Unknown(*at,
                {"data_dir", "sandbox_dir", "timezone", "workers", "listen", "tmpfs_budget", "run_timeout", "drain_grace",
                 "lease", "retries", "retry_backoff"},
                "appliance");
        auto& ap = cfg->appliance;
        for (auto [key, out] : {std::pair<const char*, std::string*>{"data_dir", &ap.data_dir}, {"sandbox_dir", &ap.sandbox_dir}}) {
          if (auto v = String(*at, key, "appliance", false)) {
            if (v->empty() || (*v)[0] != '/') Error(at->get(key), std::string("appliance.") + key, "an absolute path", Quote(*v));
            *out = *v;
          }
        }
        if (auto v = String(*at, "timezone", "appliance", false)) timezone = *v;
        if (auto v = Integer(*at, "workers", "appliance", 1, 64, false)) ap.workers = static_cast<int>(*v);
        if (auto v = Integer(*at, "retries", "appliance", 0, 20, false)) ap.retries = static_cast<int>(*v);
        if (auto d = Duration(*at, "run_timeout", "appliance")) ap.run_timeout_s = *d;
        if (auto d = Duration(*at, "drain_grace", "appliance")) ap.drain_grace_s = *d;
        if (auto d = Duration(*at, "retry_backoff", "appliance")) ap.retry_backoff_s = *d;
        if (auto d = Duration(*at, "lease", "appliance")) {
          if (*d < 3) Error(at->get("lease"), "appliance.lease", "a duration of at least 3s", Quote(at->get("lease")->as_string()->get()));
          else ap.lease_s = *d;
        }
        if (auto v = String(*at, "tmpfs_budget", "appliance", false)) {
          const auto sz = ParseByteSize(*v);
          if (!sz || *sz < kMinMemoryLimitBytes)
            Error(at->get("tmpfs_budget"), "appliance.tmpfs_budget", "a size of at least 64M, like \"8G\"", Quote(*v));
          else
            ap.tmpfs_budget = *sz;
        }
        if (auto v = String(*at, "listen", "appliance", false)) {
          const size_t colon = v->rfind(':');
          const std::string port = colon == std::string::npos ? "" : v->substr(colon + 1);
          const bool ok = colon != std::string::npos && colon > 0 && !port.empty() &&
                          port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5 &&
                          std::stoi(port) >= 0 && std::stoi(port) <= 65535;
          if (!ok) Error(at->get("listen"), "appliance.listen", "host:port with a port from 0 to 65535, like \"127.0.0.1:8080\"", Quote(*v));
          ap.listen = *v;
        }
      } else {
        Error(a, "appliance", "a table", TypeName(*a));
      }
    }
    if (cfg->appliance.sandbox_dir.empty()) cfg->appliance.sandbox_dir = cfg->appliance.data_dir + "/sandboxes";
    if (auto zone = TimeZone::Locate(timezone)) {
      cfg->appliance.zone = *zone;
    } else {
      const toml::node* a = root.get("appliance");
      const toml::node* at = a && a->as_table() ? a->as_table()->get("timezone") : nullptr;
      Error(at, "appliance.timezone", "an IANA time zone of the system's tz database, such as \"Europe/Stockholm\"",
            Quote(timezone) +
                (at ? "" : " (the default, which this machine's tz database lacks: is tzdata installed?)"));
    }
    if (const toml::node* p = root.get("policy")) {
      if (const toml::table* pt = p->as_table()) {
        PolicyTable(*pt, "policy", &cfg->baseline, true);
        if (const toml::node* av = pt->get("availability")) {
          if (const toml::table* avt = av->as_table()) {
            Unknown(*avt, {"T1", "T2", "T3", "T4"}, "policy.availability");
            for (int level = 1; level <= 4; ++level) {
              const std::string key = "T" + std::to_string(level);
              if (const toml::node* lv = avt->get(key)) {
                if (const toml::table* lt = lv->as_table())
                  PolicyTable(*lt, "policy.availability." + key, &cfg->availability[level], false);
                else
                  Error(lv, "policy.availability." + key, "a table of policy overrides", TypeName(*lv));
              }
            }
          } else {
            Error(av, "policy.availability", "a table with T1..T4", TypeName(*av));
          }
        }
      } else {
        Error(p, "policy", "a table", TypeName(*p));
      }
    }
    if (const toml::node* ts = root.get("targets")) {
      if (const toml::array* ta = ts->as_array()) {
        std::set<std::string> names;
        for (size_t i = 0; i < ta->size(); ++i) {
          cfg->targets.emplace_back();
          const std::string path = "targets[" + std::to_string(i) + "]";
          Target(*ta->get(i), path, &cfg->targets.back());
          const std::string& name = cfg->targets.back().name;
          // Across the levels (baseline, class, target) the maximum must not undercut the
          // retention that applies.
          const Policy eff = cfg->PolicyFor(cfg->targets.back());
          if (eff.max_retention_days && *eff.max_retention_days < eff.retention_days)
            Error(ta->get(i), path, "a max_retention_days of at least the retention_days that applies (" +
                                        std::to_string(eff.retention_days) + ")",
                  std::to_string(*eff.max_retention_days) + " after the class and target overrides");
          if (!name.empty() && !names.insert(name).second)
            Error(ta->get(i)->as_table() ? ta->get(i)->as_table()->get("name") : ta->get(i), path + ".name",
                  "a name no other target has", Quote(name) + ", already used");
        }
      } else {
        Error(ts, "targets", "an array of [[targets]] tables", TypeName(*ts));
      }
    }
    for (const char* key : {"notify", "drills"}) {
      const toml::node* node = root.get(key);
      if (!node) continue;
      const toml::array* arr = node->as_array();
      if (!arr) {
        Error(node, key, std::string("an array of [[") + key + "]] tables", TypeName(*node));
        continue;
      }
      for (size_t i = 0; i < arr->size(); ++i) {
        const std::string path = std::string(key) + "[" + std::to_string(i) + "]";
        if (std::string_view(key) == "notify") Notify(*arr->get(i), path, &cfg->notify.emplace_back());
        else Drill(*arr->get(i), path, &cfg->drills.emplace_back());
      }
    }
    if (cfg->drills.empty()) cfg->drills.emplace_back();
    if (const toml::node* sl = root.get("syslog")) Syslog(*sl, &cfg->syslog.emplace());
    if (const toml::node* w = root.get("web")) Web(*w, &cfg->web);
    References(root, cfg);
  }

 private:
  std::string file_;
  std::vector<ConfigError>* errors_;
};

}  // namespace

std::string ConfigError::Format() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  s += "expected " + expected + ", found " + found;
  return s;
}

std::string_view NotifyKindName(NotifyKind kind) { return kind == NotifyKind::kWebhook ? "webhook" : "email"; }

std::string_view StartTlsName(StartTls mode) {
  switch (mode) {
    case StartTls::kAuto: return "auto";
    case StartTls::kRequired: return "required";
    case StartTls::kOff: return "off";
  }
  return "auto";
}

std::optional<int> ParseSyslogFacility(std::string_view name) {
  for (const auto& [n, code] : kFacilities)
    if (n == name) return code;
  return std::nullopt;
}

std::string_view SyslogFacilityName(int code) {
  for (const auto& [n, c] : kFacilities)
    if (c == code) return n;
  return "local0";
}

DrillConfig::DrillConfig() : schedule(std::get<Schedule>(ParseSchedule("0 2 * * mon#1"))) {}

bool TargetConfig::Samples() const {
  for (const auto& t : tests)
    if (t.sample) return true;
  return false;
}

const TargetConfig* Config::FindTarget(std::string_view name) const {
  for (const auto& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

const NotifyConfig* Config::FindNotify(std::string_view name) const {
  for (const auto& n : notify)
    if (n.name == name) return &n;
  return nullptr;
}

std::string_view CopyKindName(CopyKind kind) {
  switch (kind) {
    case CopyKind::kArchiveDir: return "archive-dir";
    case CopyKind::kDirSnapshots: return "dir-snapshots";
    case CopyKind::kRestic: return "restic";
    case CopyKind::kBorg: return "borg";
  }
  return "?";
}

void ApplyPolicy(const PolicyValues& v, Policy* p) {
  if (v.backup_interval_s) p->backup_interval_s = *v.backup_interval_s;
  if (v.retention_days) p->retention_days = *v.retention_days;
  if (v.restore_test_interval_s) p->restore_test_interval_s = *v.restore_test_interval_s;
  if (v.min_copies) p->min_copies = *v.min_copies;
  if (v.rto_s) p->rto_s = *v.rto_s;
  if (v.max_retention_days) p->max_retention_days = *v.max_retention_days;
  if (v.freshness_grace_s) p->freshness_grace_s = *v.freshness_grace_s;
  if (v.copy_lag_s) p->copy_lag_s = *v.copy_lag_s;
  if (v.weekly_keeps) p->weekly_keeps = *v.weekly_keeps;
  if (v.monthly_keeps) p->monthly_keeps = *v.monthly_keeps;
}

Policy Config::PolicyFor(const TargetConfig& t) const {
  Policy p;
  ApplyPolicy(baseline, &p);
  if (t.classification.t >= 1 && t.classification.t <= 4) ApplyPolicy(availability[t.classification.t], &p);
  ApplyPolicy(t.policy, &p);
  return p;
}

std::optional<double> ParseConfigDuration(std::string_view text) { return ParseDurationWithUnit(text); }

ConfigResult ParseConfig(std::string_view text, const std::string& file_name) {
  ConfigResult result;
  result.config.file = file_name;
  try {
    const toml::table root = toml::parse(text, file_name);
    Loader(file_name, &result.errors).Root(root, &result.config);
    // In file order; errors without a position (nothing to point at) last.
    std::stable_sort(result.errors.begin(), result.errors.end(), [](const ConfigError& a, const ConfigError& b) {
      const int la = a.line ? a.line : INT32_MAX, lb = b.line ? b.line : INT32_MAX;
      return la != lb ? la < lb : a.column < b.column;
    });
  } catch (const toml::parse_error& e) {
    ConfigError err;
    err.file = file_name;
    err.line = static_cast<int>(e.source().begin.line);
    err.column = static_cast<int>(e.source().begin.column);
    err.expected = "valid TOML";
    err.found = std::string(e.description());
    result.errors.push_back(err);
  }
  return result;
}

ConfigResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult r;
    r.errors.push_back(ConfigError{path, 0, 0, "", "a readable configuration file", "it cannot be opened"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

std::string FormatConfigErrors(const ConfigResult& r) {
  std::string text;
  for (const auto& e : r.errors) text += e.Format() + "\n";
  text += "the configuration has " + std::to_string(r.errors.size()) + " error(s); see `restoreproof config check`";
  return text;
}

Status DefaultSandboxParent(const std::string& config_path, bool config_named, std::string* parent) {
  if (!config_named && access(config_path.c_str(), F_OK) != 0) {
    // A directory under a shared temporary directory: ours and private, or not used at all.
    const std::string dir = TempDirectory() + "/restoreproof-sandboxes";
    mkdir(dir.c_str(), 0700);
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
      return Status::Environment(dir + " is not a private directory of this user (it must be a directory owned by uid " +
                                 std::to_string(geteuid()) + " with mode 0700): remove it, or name a sandbox "
                                 "directory with --sandbox or a configuration file");
    *parent = dir;
    return Status::Ok();
  }
  const ConfigResult r = LoadConfigFile(config_path);
  if (!r.errors.empty()) return Status::Usage(FormatConfigErrors(r));
  *parent = r.config.appliance.sandbox_dir;
  return Status::Ok();
}

}  // namespace rp
