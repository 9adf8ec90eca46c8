// The dashboard (/) and the routing of every HTML page after sign-in (docs/web.md "Pages").
// The dashboard's part of the page depends only on the status board and the language, so it is
// rendered once per board and language and reused until the board is rebuilt: a wall of screens
// and phones polling it costs a session check and the layout each.
#include <mstch/mstch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "web_pages.h"

namespace rp::web {

namespace {

const Msg kOk{"OK", "OK"};
const Msg kWarning{"Warning", "Varning"};
const Msg kFailing{"Failing", "Fel"};
const Msg kUnchecked{"Not checked yet", "Inte kontrollerad än"};

constexpr const char* kDashboard = R"(<h1>{{t_title}}</h1>
<p class="overall verdict {{overall.css}}" role="status"><span aria-hidden="true">{{overall.icon}}</span> {{overall_text}}</p>
<p>{{counts}} <span class="muted">{{t_updated}} {{updated}}</span></p>
{{#has_running}}<h2 id="running">{{t_running}}</h2>
<table class="cards" aria-labelledby="running">
<thead><tr><th scope="col">{{t_target}}</th><th scope="col">{{t_run}}</th><th scope="col">{{t_started}}</th><th scope="col">{{t_progress}}</th><th scope="col" class="num">{{t_files}}</th><th scope="col" class="num">{{t_rate}}</th><th scope="col" class="num">{{t_eta}}</th></tr></thead>
<tbody>
{{#running}}<tr><td data-label="{{t_target}}"><a href="/targets/{{href}}">{{target}}</a></td><td data-label="{{t_run}}"><a href="/runs/{{id}}">#{{id}}</a> {{trigger}}</td><td data-label="{{t_started}}">{{started}}</td><td data-label="{{t_progress}}">{{#percent}}<progress max="100" value="{{percent}}" aria-label="{{t_progress}} {{target}}">{{percent}} %</progress> {{/percent}}{{bytes}}</td><td data-label="{{t_files}}" class="num">{{files}}</td><td data-label="{{t_rate}}" class="num">{{rate}}</td><td data-label="{{t_eta}}" class="num">{{eta}}</td></tr>
{{/running}}</tbody>
</table>
{{/has_running}}<h2 id="targets">{{t_targets}}</h2>
<table class="cards dash" aria-labelledby="targets">
<thead><tr><th scope="col">{{t_target}}</th><th scope="col">{{t_verdict}}</th><th scope="col">{{t_newest}}</th><th scope="col">{{t_last_test}}</th><th scope="col">{{t_retention}}</th><th scope="col">{{t_redundancy}}</th><th scope="col">{{t_rto}}</th><th scope="col">{{t_class}}</th><th scope="col">{{t_owner}}</th></tr></thead>
<tbody>
{{#targets}}<tr><td><a href="/targets/{{href}}">{{name}}</a></td><td><span class="v {{v.css}}">{{v.word}}</span></td><td>{{newest}}</td><td>{{test}}{{#cov}}<br><span class="{{cov.css}}">{{cov.text}}</span>{{/cov}}</td><td><span class="v {{ret.css}}">{{ret.word}}</span></td><td><span class="v {{red.css}}">{{red.word}}</span></td><td>{{rto}}</td><td>{{class}}</td><td>{{owner}}</td></tr>
{{/targets}}</tbody>
</table>
{{^targets}}<p>{{t_no_targets}}</p>{{/targets}}
)";

mstch::map LookMap(const VerdictLook& v) { return mstch::map{{"css", v.css}, {"icon", v.icon}, {"word", v.word}}; }

std::string DashboardMain(const Config& config, const StatusBoard& b, Lang lang) {
  const int64_t now = b.built_at;
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  mstch::map ctx{{"t_title", t("Continuity status", "Kontinuitetsstatus")},
                 {"t_updated", t("Updated", "Uppdaterad")},
                 {"updated", FormatTime(config, now)},
                 {"t_running", t("Restores running now", "Återläsningar som pågår nu")},
                 {"t_target", t("Target", "Mål")},
                 {"t_run", t("Run", "Körning")},
                 {"t_started", t("Started", "Startad")},
                 {"t_progress", t("Progress", "Förlopp")},
                 {"t_files", t("Files", "Filer")},
                 {"t_rate", t("Rate", "Takt")},
                 {"t_eta", t("Time left", "Tid kvar")},
                 {"t_targets", t("Backup targets", "Säkerhetskopierade system")},
                 {"t_verdict", t("Status", "Status")},
                 {"t_newest", t("Newest backup", "Senaste kopia")},
                 {"t_last_test", t("Last restore test", "Senaste återläsningstest")},
                 {"t_retention", t("Retention", "Lagring")},
                 {"t_redundancy", t("Redundancy", "Redundans")},
                 {"t_rto", t("Restore time vs. objective", "Återläsningstid mot mål")},
                 {"t_class", t("Class (K/R/T)", "Klass (K/R/T)")},
                 {"t_owner", t("Owner", "Ägare")},
                 {"t_no_targets", t("No backup targets are configured.", "Inga mål är konfigurerade.")}};
  const VerdictLook overall = LookOf(lang, b.overall);
  ctx.emplace("overall", LookMap(overall));
  std::string overall_text;
  if (b.targets.empty())
    overall_text = t("No targets configured", "Inga mål konfigurerade");
  else if (b.overall == Verdict::kOk)
    overall_text = t("Every target can be restored", "Alla mål kan återläsas");
  else if (b.overall == Verdict::kWarning)
    overall_text = t("Restorable, with warnings", "Återläsningsbart, med varningar");
  else
    overall_text = t("Some targets are failing", "Några mål har fel");
  ctx.emplace("overall_text", overall_text);
  ctx.emplace("counts", std::to_string(b.Count(Verdict::kFailing)) + " " + t("failing", "fel") + ", " +
                            std::to_string(b.Count(Verdict::kWarning)) + " " + t("warning", "varning") + ", " +
                            std::to_string(b.Count(Verdict::kOk)) + " " + t("OK", "OK") + ", " +
                            std::to_string(b.Unchecked()) + " " + t("not checked yet", "inte kontrollerade") + ".");

  mstch::array running;
  for (const RunningRun& r : b.running) {
    const RunProgress& p = r.run.progress;
    const double elapsed = p.at > r.run.started_at ? static_cast<double>(p.at - r.run.started_at) : 0;
    const double rate = elapsed > 0 ? static_cast<double>(p.bytes) / elapsed : 0;
    mstch::map row{{"target", r.target},
                   {"href", UrlSegment(r.target)},
                   {"id", std::to_string(r.run.id)},
                   {"trigger", TriggerWord(lang, r.trigger)},
                   {"started", FormatTime(config, r.run.started_at)},
                   {"files", std::to_string(p.files)},
                   {"rate", FormatRate(rate)}};
    std::string bytes = FormatBytes(p.bytes);
    std::string eta = "-";
    if (p.total_bytes > 0) {
      const double share = std::min(1.0, static_cast<double>(p.bytes) / static_cast<double>(p.total_bytes));
      row.emplace("percent", std::to_string(static_cast<int>(std::floor(share * 100))));
      bytes += " / " + FormatBytes(p.total_bytes);
      if (rate > 0) eta = FormatDuration(static_cast<double>(p.total_bytes - std::min(p.bytes, p.total_bytes)) / rate);
    }
    row.emplace("bytes", bytes);
    row.emplace("eta", eta);
    running.push_back(std::move(row));
  }
  ctx.emplace("has_running", !running.empty());
  ctx.emplace("running", std::move(running));

  mstch::array rows;
  rows.reserve(b.targets.size());
  for (const TargetStatus& ts : b.targets) {
    std::string test = t("none yet", "inget än");
    if (ts.last_test) {
      const RunBrief& r = *ts.last_test;
      test = RunStateWord(lang, r.state) + ", " + FormatAge(lang, now - r.finished_at) + " " + t("ago", "sedan") + ", " +
             FormatDuration(r.duration_s);
      if (r.sample) test += ", " + t("sample ", "stickprov ") + SliceText(lang, *r.sample);
    }
    std::string rto = "-";
    if (ts.last_passed)
      rto = (ts.last_passed->predicted_s ? PredictedDuration(lang, *ts.last_passed->predicted_s)
                                         : FormatDuration(ts.last_passed->duration_s)) +
            " / " + FormatDuration(ts.rto_objective_s) + " " +
            (ts.RtoMet() ? t("(met)", "(uppfyllt)") : t("(exceeded)", "(överskridet)"));
    else
      rto = t("not measured", "inte mätt") + std::string(" / ") + FormatDuration(ts.rto_objective_s);
    mstch::map row{
        {"name", ts.name},
        {"href", UrlSegment(ts.name)},
        {"v", LookMap(LookOf(lang, ts.verdict))},
        {"newest", ts.newest_backup > 0 ? FormatAge(lang, now - ts.newest_backup) + " " + t("ago", "sedan")
                                        : (ts.verdict ? t("none", "ingen") : "-")},
        {"test", test},
        {"ret", LookMap(LookOf(lang, ts.retention))},
        {"red", LookMap(LookOf(lang, ts.redundancy))},
        {"rto", rto},
        {"class", std::to_string(ts.classification.k) + "/" + std::to_string(ts.classification.r) + "/" +
                      std::to_string(ts.classification.t)},
        {"owner", ts.owner}};
    if (ts.coverage) {
      // Below 100% at the end of a whole window is a failing finding: a badge with its word.
      // Before that the share is shown as it grows, plainly.
      const std::string css = ts.CoverageShort() ? "v v-failing cov" : ts.coverage->complete() ? "v v-ok cov" : "cov";
      row.emplace("cov", mstch::map{{"css", css}, {"text", CoverageText(lang, *ts.coverage)}});
    }
    rows.push_back(std::move(row));
  }
  ctx.emplace("targets", std::move(rows));
  return mstch::render(kDashboard, ctx);
}

}  // namespace

std::string Percent(double ratio) {
  if (!(ratio > 0)) return "0%";
  if (ratio >= 1) return "100%";
  char buf[32];
  // Floored, so that 99.96% is not shown as 100% (the epsilon keeps 0.55 at 55.0%).
  std::snprintf(buf, sizeof buf, "%.1f%%", std::min(999.0, std::floor(ratio * 1000 + 1e-6)) / 10);
  return buf;
}

std::string PredictedWord(Lang lang) { return lang == Lang::kSv ? "beräknad" : "predicted"; }

std::string PredictedDuration(Lang lang, double seconds) {
  return FormatDuration(seconds) + " (" + PredictedWord(lang) + ")";
}

std::string SliceText(Lang lang, const SampleSpec& spec) {
  return (lang == Lang::kSv ? "del " : "slice ") + std::to_string(spec.slice) + (lang == Lang::kSv ? " av " : " of ") +
         std::to_string(spec.slices);
}

std::string CoverageText(Lang lang, const TargetCoverage& c) {
  const bool sv = lang == Lang::kSv;
  const bool short_ = c.window_complete && !c.complete();
  std::string text = short_ ? (sv ? "Otillräcklig täckning inom " : "Coverage short within ")
                            : (sv ? "Täckning inom " : "Coverage within ");
  text += std::to_string(c.window_days) + " d: ";
  if (c.reference_run == 0) return text + (sv ? "inget test godkänt" : "no test passed");
  return text + Percent(c.files_ratio()) + (sv ? " av filerna, " : " of files, ") + Percent(c.bytes_ratio()) +
         (sv ? " av byten" : " of bytes");
}

VerdictLook LookOf(Lang lang, std::optional<Verdict> v) {
  if (!v) return {"v-warning v-unchecked", "?", T(lang, kUnchecked)};
  switch (*v) {
    case Verdict::kOk:
      return {"v-ok", "\u2714", T(lang, kOk)};
    case Verdict::kWarning:
      return {"v-warning", "\u25B2", T(lang, kWarning)};
    case Verdict::kFailing:
      break;
  }
  return {"v-failing", "\u2716", T(lang, kFailing)};
}

std::string RunStateWord(Lang lang, RunState s) {
  switch (s) {
    case RunState::kQueued: return lang == Lang::kSv ? "i kö" : "queued";
    case RunState::kRunning: return lang == Lang::kSv ? "pågår" : "running";
    case RunState::kPassed: return lang == Lang::kSv ? "godkänd" : "passed";
    case RunState::kFailed: return lang == Lang::kSv ? "underkänd" : "failed";
    case RunState::kAborted: return lang == Lang::kSv ? "avbruten" : "aborted";
    case RunState::kInterrupted: return lang == Lang::kSv ? "avbruten av omstart" : "interrupted";
    case RunState::kCancelled: return lang == Lang::kSv ? "återkallad" : "cancelled";
  }
  return std::string(RunStateName(s));
}

std::string TriggerWord(Lang lang, Trigger t) {
  switch (t) {
    case Trigger::kSchedule: return lang == Lang::kSv ? "schemalagd" : "scheduled";
    case Trigger::kDrill: return lang == Lang::kSv ? "övning" : "drill";
    case Trigger::kOperator: return lang == Lang::kSv ? "operatör" : "operator";
    case Trigger::kApi: return lang == Lang::kSv ? "webb/API" : "web/API";
  }
  return "";
}

std::string UrlSegment(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

VerdictLook RunLook(Lang lang, RunState s) {
  switch (s) {
    case RunState::kPassed: return {"v-ok", "\u2714", RunStateWord(lang, s)};
    case RunState::kFailed: return {"v-failing", "\u2716", RunStateWord(lang, s)};
    case RunState::kQueued:
    case RunState::kRunning: return {"v-warning", "\u25B7", RunStateWord(lang, s)};
    default: break;
  }
  return {"v-warning", "\u25B2", RunStateWord(lang, s)};
}

namespace {
constexpr const char* kErrorPage = R"(<h1>{{title}}</h1>
<p>{{message}}</p>
<p><a href="/">{{t_back}}</a></p>
)";
}  // namespace

Reply ErrorPage(State& state, const Request& request, const Identity& who, Lang lang, int status,
                const std::string& message) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  std::string title;
  switch (status) {
    case 400: title = t("The request could not be used", "Begäran kunde inte användas"); break;
    case 403: title = t("Not allowed", "Inte tillåtet"); break;
    case 404: title = t("Not found", "Hittades inte"); break;
    default: title = t("Something went wrong", "Något gick fel"); break;
  }
  PageParts page;
  page.title = title;
  page.main_html = mstch::render(kErrorPage, mstch::map{{"title", title},
                                                         {"message", message},
                                                         {"t_back", t("Back to the continuity status",
                                                                      "Tillbaka till kontinuitetsstatus")}});
  return Html(status, RenderPage(state, request, &who, lang, page));
}

Reply NeedsRole(State& state, const Request& request, const Identity& who, Lang lang, Role need) {
  const std::string role(RoleName(need));
  return ErrorPage(state, request, who, lang, 403,
                   lang == Lang::kSv ? "Det här kräver rollen " + role + "; du har rollen " + std::string(RoleName(who.role)) + "."
                                     : "This needs the " + role + " role; you have the " + std::string(RoleName(who.role)) + " role.");
}

Reply CsrfRefused(State& state, const Request& request, const Identity& who, Lang lang) {
  return ErrorPage(state, request, who, lang, 403,
                   lang == Lang::kSv ? "Avvisad: formuläret saknade en giltig CSRF-token. Ladda om sidan och försök igen."
                                     : "Refused: the form carried no valid CSRF token. Reload the page and try again.");
}

Reply DashboardPage(State& state, const Request& request, const Identity& who, Lang lang) {
  const auto config = state.config();
  const auto board = state.board();
  // The whole page depends on the board, the language and the session (its user and CSRF token
  // in the header): made once per board for each session that asks.
  if (!request.query.empty() && !RefreshAsked(request))
    return Text(400, "this page takes no query parameters but refresh=on\n");
  const auto page = state.CachedPage("/|" + std::string(LangCode(lang)) + (RefreshAsked(request) ? "|r" : "") + "|" + who.name + "|" + std::string(RoleName(who.role)) + (who.proxy ? "|p" : "") + "|" + who.csrf, board, [&] {
    const auto main = state.Rendered("dashboard", lang == Lang::kSv, board,
                                     [&] { return DashboardMain(*config, *board, lang); });
    PageParts parts;
    parts.title = lang == Lang::kSv ? "Kontinuitetsstatus" : "Continuity status";
    parts.main_html = *main;
    parts.refresh_s = board->running.empty() ? 60 : 5;
    parts.current = "/";
    return RenderPage(state, request, &who, lang, parts);
  });
  Reply r = Html(200, page->html);
  r.gzip_body = page->gzip;
  return r;
}

Reply Pages(State& state, const Request& request) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  const std::string& path = request.path;
  // A path that is no page is 404 for everyone, signed in or not (docs/web.md).
  const bool page = path == "/" || path == "/drills" || path == "/log" || path == "/evidence" ||
                    (path.rfind("/targets/", 0) == 0 && path.size() > 9) || (path.rfind("/runs/", 0) == 0 && path.size() > 6);
  if (!page) return Text(404, "not found\n");
  const auto who = Identify(state, request, false, nullptr);
  if (!who) return SeeOther("/login");
  if (who->must_change_password && request.path != "/password") return SeeOther("/password");
  const Lang lang = PickLang(request);
  if (request.path == "/") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    return DashboardPage(state, request, *who, lang);
  }
  // PAGE ROUTES (added by the page files below this line)
  if (path.rfind("/targets/", 0) == 0) return TargetRoute(state, request, *who, lang);
  if (path.rfind("/runs/", 0) == 0) return RunRoute(state, request, *who, lang);
  if (path == "/drills") return DrillsRoute(state, request, *who, lang);
  if (path == "/log") return LogRoute(state, request, *who, lang);
  if (path == "/evidence") return EvidenceRoute(state, request, *who, lang);
  return Text(404, "not found\n");
}

}  // namespace rp::web
