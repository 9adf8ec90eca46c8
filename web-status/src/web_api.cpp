// The JSON API under /api/v1/ (docs/api.md): status, targets, runs, drills and the restoration
// log for signed-in users and scripts, and one action, queuing a target's restore test. Every
// record is written through the vocabulary's codec (to_json of RunRecord, LogRecord,
// DrillReport; a catalog snapshot as the codec stored it): there is no second encoder here.
#include <nlohmann/json.hpp>

#include "rp/codec.h"
#include "rp/drill.h"
#include "rp/policy.h"
#include "rp/restoration_log.h"
#include "web_app.h"

namespace rp::web {

namespace {

using nlohmann::json;

// The newest catalog snapshot of a target, decoded; nullopt when none (or unreadable).
struct Snapshot {
  int64_t at = 0;
  std::string json;
  TargetEvaluation evaluation;
};
std::optional<Snapshot> LatestSnapshot(Store& store, const std::string& target) {
  const auto s = store.LatestCatalogSnapshot(target);
  if (!s) return std::nullopt;
  Snapshot out;
  out.at = s->first;
  out.json = s->second;
  if (!DecodeJson(s->second, "catalog snapshot", &out.evaluation).ok()) return std::nullopt;
  return out;
}

json TargetSummary(const TargetConfig& t, const std::optional<Snapshot>& s) {
  json j = {{"name", t.name},
            {"owner", t.owner},
            {"classification", {{"K", t.classification.k}, {"R", t.classification.r}, {"T", t.classification.t}}},
            {"personal_data", !t.personal_data.none},
            {"verdict", s ? json(std::string(VerdictName(s->evaluation.verdict))) : json(nullptr)},
            {"checked_at", s ? json(s->at) : json(nullptr)}};
  return j;
}

json Verdict(const std::optional<rp::Verdict>& v) { return v ? json(std::string(VerdictName(*v))) : json(nullptr); }

// The status and the target list depend only on the status board: each is written once per board
// (at most every 2 s) however many scripts and screens ask.
std::string StatusBody(const StatusBoard& b) {
  json targets = json::array();
  for (const TargetStatus& t : b.targets)
    targets.push_back({{"name", t.name}, {"verdict", Verdict(t.verdict)}, {"checked_at", t.verdict ? json(t.checked_at) : json(nullptr)}});
  json runs = json::object();
  for (RunState st : {RunState::kQueued, RunState::kRunning, RunState::kPassed, RunState::kFailed, RunState::kAborted,
                      RunState::kInterrupted, RunState::kCancelled}) {
    const auto it = b.runs.find(st);
    runs[std::string(RunStateName(st))] = it == b.runs.end() ? 0 : it->second;
  }
  const json counts = {{"ok", b.Count(rp::Verdict::kOk)},
                       {"warning", b.Count(rp::Verdict::kWarning)},
                       {"failing", b.Count(rp::Verdict::kFailing)},
                       {"unchecked", b.Unchecked()}};
  // The overall verdict counts only checked targets: nullopt until one is checked.
  std::optional<rp::Verdict> worst;
  for (const TargetStatus& t : b.targets)
    if (t.verdict) worst = std::max(worst.value_or(rp::Verdict::kOk), *t.verdict);
  return json({{"verdict", Verdict(worst)},
               {"targets", targets},
               {"counts", counts},
               {"runs", runs},
               {"built_at", b.built_at},
               {"version", RP_VERSION}})
             .dump(2) +
         "\n";
}

Reply Status(State& state) {
  const auto board = state.board();
  const auto page = state.CachedPage("/api/v1/status", board, [&] { return StatusBody(*board); });
  Reply r(200, "application/json", page->html);
  r.gzip_body = page->gzip;
  return r;
}

Reply Targets(State& state) {
  const auto config = state.config();
  json arr = json::array();
  for (const TargetConfig& t : config->targets) arr.push_back(TargetSummary(t, LatestSnapshot(state.store(), t.name)));
  return Json(200, {{"targets", arr}});
}

Reply TargetDetail(State& state, const TargetConfig& t) {
  const auto s = LatestSnapshot(state.store(), t.name);
  json j = TargetSummary(t, s);
  j["evaluation"] = s ? json::parse(s->json) : json(nullptr);
  return Json(200, j);
}

Reply QueueTest(State& state, const Request& request, const Identity& who, const TargetConfig& t) {
  RunRequest q;
  q.target = t.name;
  q.test_index = t.tests.empty() ? -1 : 0;  // the first test's select and checks, as a drill runs it
  q.trigger = Trigger::kApi;
  q.requested_by = who.actor();
  const int64_t id = state.store().EnqueueRun(q, NowS());
  Audit(state, who.actor(), request, "run-requested", "target " + t.name + ", run " + std::to_string(id));
  state.BoardChanged();
  const auto run = state.store().GetRun(id);
  return Json(202, run ? json(*run) : json({{"id", id}}));
}

// The `target`, `since` and `limit` parameters `runs` and `log` share, into a filter of either
// kind; "" or what is wrong with one.
template <class Filter>
std::string ReadTargetSinceLimit(const QueryParameters& q, const Config& config, Filter* f) {
  if (const auto it = q.values.find("target"); it != q.values.end()) {
    if (!ValidAccountName(it->second) && !config.FindTarget(it->second)) return "target: not a target name";
    f->target = it->second;
  }
  if (const auto it = q.values.find("since"); it != q.values.end()) {
    const auto t = ParseTimestamp(it->second, config.appliance.zone);
    if (!t) return "since: expected ISO 8601 like 2026-11-22T08:00:00+01:00 or a date";
    f->since = *t;
  }
  if (const auto it = q.values.find("limit"); it != q.values.end()) {
    const auto n = ParseDecimal(it->second, 1, 1000);
    if (!n) return "limit: expected an integer from 1 to 1000";
    f->limit = static_cast<size_t>(*n);
  }
  return "";
}

Reply Runs(State& state, const Request& request) {
  const QueryParameters q = ParseQuery(request.query, {"target", "since", "state", "limit"});
  if (!q.error.empty()) return JsonError(400, q.error);
  const auto config = state.config();
  RunFilter f;
  f.limit = 100;
  if (const std::string e = ReadTargetSinceLimit(q, *config, &f); !e.empty()) return JsonError(400, e);
  if (const auto it = q.values.find("state"); it != q.values.end()) {
    f.state = ParseRunState(it->second);
    if (!f.state) return JsonError(400, "state: expected queued, running, passed, failed, aborted, interrupted or cancelled");
  }
  json arr = json::array();
  for (const RunRecord& r : state.store().ListRuns(f)) arr.push_back(r);
  return Json(200, {{"runs", arr}});
}

Reply Drills(State& state) {
  const auto config = state.config();
  json arr = json::array();
  for (const DrillRecord& d : state.store().ListDrills(1000)) arr.push_back(DrillReportOf(*config, &state.store(), d));
  return Json(200, {{"drills", arr}});
}

Reply Log(State& state, const Request& request) {
  const QueryParameters q = ParseQuery(request.query, {"target", "since", "limit"});
  if (!q.error.empty()) return JsonError(400, q.error);
  const auto config = state.config();
  LogFilter f;
  f.limit = 100;
  if (const std::string e = ReadTargetSinceLimit(q, *config, &f); !e.empty()) return JsonError(400, e);
  json arr = json::array();
  for (const LogRecord& r : state.store().ListLog(f)) arr.push_back(r);
  return Json(200, {{"records", arr}});
}

// Every /api/v1/ route in one table: path segments ("{}" matches one segment and is passed on),
// method, the least role, whether it takes a query string.
using ApiHandler = Reply (*)(State&, const Request&, const Identity&, const std::vector<std::string>&);
struct ApiRoute {
  std::initializer_list<std::string_view> pattern;
  bool post;
  Role role;
  bool query;
  ApiHandler handler;
};

const TargetConfig* FindTarget(State& state, const std::string& name, std::shared_ptr<const Config>* keep) {
  *keep = state.config();
  return (*keep)->FindTarget(name);
}

const ApiRoute kApiRoutes[] = {
    {{"status"}, false, Role::kViewer, false,
     [](State& s, const Request&, const Identity&, const std::vector<std::string>&) { return Status(s); }},
    {{"targets"}, false, Role::kViewer, false,
     [](State& s, const Request&, const Identity&, const std::vector<std::string>&) { return Targets(s); }},
    {{"targets", "{}"}, false, Role::kViewer, false,
     [](State& s, const Request&, const Identity&, const std::vector<std::string>& p) {
       std::shared_ptr<const Config> keep;
       const TargetConfig* t = FindTarget(s, p[0], &keep);
       return t ? TargetDetail(s, *t) : JsonError(404, "no such target");
     }},
    {{"targets", "{}", "test"}, true, Role::kOperator, false,
     [](State& s, const Request& r, const Identity& who, const std::vector<std::string>& p) {
       std::shared_ptr<const Config> keep;
       const TargetConfig* t = FindTarget(s, p[0], &keep);
       return t ? QueueTest(s, r, who, *t) : JsonError(404, "no such target");
     }},
    {{"runs"}, false, Role::kViewer, true,
     [](State& s, const Request& r, const Identity&, const std::vector<std::string>&) { return Runs(s, r); }},
    {{"runs", "{}"}, false, Role::kViewer, false,
     [](State& s, const Request&, const Identity&, const std::vector<std::string>& p) {
       const auto id = ParseDecimal(p[0], 1, INT64_MAX);
       const auto run = id ? s.store().GetRun(*id) : std::nullopt;
       return run ? Json(200, json(*run)) : JsonError(404, "no such run");
     }},
    {{"drills"}, false, Role::kViewer, false,
     [](State& s, const Request&, const Identity&, const std::vector<std::string>&) { return Drills(s); }},
    {{"log"}, false, Role::kAuditor, true,
     [](State& s, const Request& r, const Identity&, const std::vector<std::string>&) { return Log(s, r); }},
};

bool Matches(std::initializer_list<std::string_view> pattern, const std::vector<std::string>& segs,
             std::vector<std::string>* params) {
  if (pattern.size() != segs.size()) return false;
  size_t i = 0;
  for (std::string_view p : pattern) {
    if (p == "{}")
      params->push_back(segs[i]);
    else if (p != segs[i])
      return false;
    ++i;
  }
  return true;
}

}  // namespace

Reply Api(State& state, const Request& request) {
  bool token_refused = false;
  const auto who = Identify(state, request, true, &token_refused);
  if (!who) {
    Reply r = JsonError(401, token_refused ? "the API token is not valid (unknown, malformed or revoked)"
                                           : "sign in, or send an API token as Authorization: Bearer rp_...");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"restoreproof\"");
    return r;
  }
  // A session signed in with a one-time password may only set a new one (on /password).
  if (who->must_change_password)
    return JsonError(403, "change the one-time password first: sign in on the web page, which asks for a new one");
  const auto segs = SplitApiPath(request.path);
  if (!segs) return JsonError(400, "malformed path");
  const bool get = request.method == "GET" || request.method == "HEAD";
  for (const ApiRoute& route : kApiRoutes) {
    std::vector<std::string> params;
    if (!Matches(route.pattern, *segs, &params)) continue;
    if (route.post ? request.method != "POST" : !get) return MethodNotAllowed(route.post ? "POST" : "GET, HEAD", true);
    if (!RoleAllows(who->role, route.role))
      return JsonError(403, "this needs the " + std::string(RoleName(route.role)) + " role; " + who->actor() + " has " +
                                std::string(RoleName(who->role)));
    if (route.post && !CsrfOk(state, request, *who))
      return JsonError(403, "refused: no valid CSRF token (X-CSRF-Token or the form field csrf)");
    if (!route.query && !request.query.empty()) return JsonError(400, "this route takes no query parameters");
    return route.handler(state, request, *who, params);
  }
  return JsonError(404, "no such route");
}

}  // namespace rp::web
