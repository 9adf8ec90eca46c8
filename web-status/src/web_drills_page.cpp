// /drills (docs/web.md "Pages"): the drill reports, newest first (the store's drills through
// DrillReportOf, as `drills show` and /api/v1/drills read them): when, who was responsible,
// whether every target passed within its objective, and per target its run, point, measured
// time against the objective. An operator's "Start a drill" (POST /drills) creates a drill of
// every target the way `restoreproof drill run` does (StartDrill: one queued run per target in
// one transaction); `serve`'s runner restores them and finishes the drill.
#include <mstch/mstch.hpp>

#include "rp/drill.h"
#include "rp/path_text.h"
#include "web_pages.h"

namespace rp::web {

namespace {

constexpr size_t kDrillsShown = 50;

constexpr const char* kDrillsPage = R"(<h1>{{t_title}}</h1>
{{#can_start}}<form method="post" action="/drills" class="action"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t_start}}</button> <span class="muted">{{t_start_note}}</span></form>{{/can_start}}
{{#drills}}<section aria-labelledby="drill-{{id}}">
<h2 id="drill-{{id}}">{{name}} #{{id}}</h2>
<p><span class="verdict {{v.css}}"><span aria-hidden="true">{{v.icon}}</span> {{v.word}}</span>{{#note}} {{note}}{{/note}}</p>
<dl class="facts">
<dt>{{t_started}}</dt><dd>{{started}}</dd>
<dt>{{t_finished}}</dt><dd>{{finished}}</dd>
<dt>{{t_responsible}}</dt><dd>{{responsible}}</dd>
<dt>{{t_trigger}}</dt><dd>{{trigger}}</dd>
</dl>
<table class="cards" aria-labelledby="drill-{{id}}">
<thead><tr><th scope="col">{{t_target}}</th><th scope="col">{{t_result}}</th><th scope="col">{{t_run}}</th><th scope="col">{{t_point}}</th><th scope="col" class="num">{{t_measured}}</th><th scope="col" class="num">{{t_objective}}</th><th scope="col">{{t_met}}</th><th scope="col">{{t_message}}</th></tr></thead>
<tbody>
{{#targets}}<tr><td data-label="{{t_target}}"><a href="/targets/{{href}}">{{target}}</a></td><td data-label="{{t_result}}"><span class="verdict {{s.css}}"><span aria-hidden="true">{{s.icon}}</span> {{s.word}}</span></td><td data-label="{{t_run}}">{{#run}}<a href="/runs/{{run}}">#{{run}}</a>{{/run}}{{^run}}-{{/run}}</td><td data-label="{{t_point}}">{{point}}</td><td data-label="{{t_measured}}" class="num">{{measured}}</td><td data-label="{{t_objective}}" class="num">{{objective}}</td><td data-label="{{t_met}}"><span class="verdict {{m.css}}"><span aria-hidden="true">{{m.icon}}</span> {{m.word}}</span></td><td data-label="{{t_message}}">{{message}}</td></tr>
{{/targets}}</tbody>
</table>
</section>
{{/drills}}
{{^drills}}<p>{{t_none}}</p>{{/drills}}
)";

mstch::map Look(const VerdictLook& v) { return mstch::map{{"css", v.css}, {"icon", v.icon}, {"word", v.word}}; }

Reply DrillsPage(State& state, const Request& request, const Identity& who, Lang lang) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  const auto config = state.config();
  mstch::map ctx{{"t_title", t("Drills", "Övningar")},
                 {"can_start", RoleAllows(who.role, Role::kOperator)},
                 {"csrf", who.csrf},
                 {"t_start", t("Start a drill", "Starta en övning")},
                 {"t_start_note", t("restores every target now and measures it against its objective",
                                    "återläser varje mål nu och mäter tiden mot målet")},
                 {"t_started", t("Started", "Startad")},
                 {"t_finished", t("Finished", "Avslutad")},
                 {"t_responsible", t("Responsible", "Ansvarig")},
                 {"t_trigger", t("Started by", "Startad av")},
                 {"t_target", t("Target", "Mål")},
                 {"t_result", t("Result", "Resultat")},
                 {"t_run", t("Run", "Körning")},
                 {"t_point", t("Point (copy)", "Punkt (kopia)")},
                 {"t_measured", t("Measured", "Uppmätt")},
                 {"t_objective", t("Objective", "Mål")},
                 {"t_met", t("Within the objective", "Inom målet")},
                 {"t_message", t("Why not", "Varför inte")},
                 {"t_none", t("No drill has run yet.", "Ingen övning har körts än.")}};
  mstch::array drills;
  for (const DrillRecord& d : state.store().ListDrills(kDrillsShown)) {
    const DrillReport rep = DrillReportOf(*config, &state.store(), d);
    VerdictLook v;
    if (d.state == DrillState::kRunning)
      v = {"v-warning", "\u25B7", t("running", "pågår")};
    else if (rep.passed)
      v = {"v-ok", "\u2714", t("passed", "godkänd")};
    else
      v = {"v-failing", "\u2716", t("failed", "underkänd")};
    mstch::array targets;
    for (const DrillTargetResult& r : rep.targets) {
      const bool ended = RunStateFinal(r.state);
      VerdictLook m = !ended ? VerdictLook{"v-warning", "\u25B7", t("not yet", "inte än")}
                      : r.met ? VerdictLook{"v-ok", "\u2714", t("yes", "ja")}
                              : VerdictLook{"v-failing", "\u2716", t("no", "nej")};
      targets.push_back(mstch::map{
          {"target", r.target},
          {"href", UrlSegment(r.target)},
          {"s", Look(RunLook(lang, r.state))},
          {"run", r.run_id > 0 ? std::to_string(r.run_id) : std::string()},
          {"point", r.point_id.empty() ? std::string("-")
                                       : FormatTime(*config, r.point_time) + " (" + r.location + ")"},
          {"measured", ended && r.measured_s > 0 ? FormatDuration(r.measured_s) : std::string("-")},
          {"objective", FormatDuration(r.objective_s)},
          {"m", Look(m)},
          {"message", r.message.empty() ? std::string("-") : EscapeMessage(r.message)}});
    }
    drills.push_back(mstch::map{{"id", std::to_string(d.id)},
                                {"name", d.name},
                                {"v", Look(v)},
                                {"note", d.state == DrillState::kRunning ? std::string()
                                         : rep.passed ? t("every target was restored within its objective.",
                                                          "varje mål återlästes inom sitt mål.")
                                                      : t("not every target was restored within its objective.",
                                                          "inte alla mål återlästes inom sitt mål.")},
                                {"started", FormatTime(*config, d.started_at)},
                                {"finished", d.state == DrillState::kRunning ? t("not yet", "inte än")
                                                                             : FormatTime(*config, d.finished_at)},
                                {"responsible", d.responsible.empty() ? t("the scheduler", "schemaläggaren") : d.responsible},
                                {"trigger", TriggerWord(lang, d.trigger)},
                                {"targets", targets}});
  }
  ctx.emplace("drills", drills);
  PageParts page;
  page.title = t("Drills", "Övningar");
  page.main_html = mstch::render(kDrillsPage, ctx);
  page.current = "/drills";
  return Html(200, RenderPage(state, request, &who, lang, page));
}

Reply StartDrillFromPage(State& state, const Request& request, const Identity& who, Lang lang) {
  const auto config = state.config();
  int64_t id = 0;
  if (Status s = StartDrill(*config, &state.store(), "on-demand", {}, Trigger::kApi, who.actor(), NowS(), &id); !s.ok())
    return ErrorPage(state, request, who, lang, 400, s.message());
  Audit(state, who.actor(), request, "drill-requested", "drill " + std::to_string(id) + ", every target");
  state.BoardChanged();
  return SeeOther("/drills#drill-" + std::to_string(id));
}

}  // namespace

Reply DrillsRoute(State& state, const Request& request, const Identity& who, Lang lang) {
  if (request.method == "GET" || request.method == "HEAD") {
    if (!request.query.empty()) return Text(400, "this page takes no query parameters\n");
    return DrillsPage(state, request, who, lang);
  }
  if (request.method != "POST") return MethodNotAllowed("GET, HEAD, POST", false);
  if (!RoleAllows(who.role, Role::kOperator)) return NeedsRole(state, request, who, lang, Role::kOperator);
  if (!CsrfOk(state, request, who)) return CsrfRefused(state, request, who, lang);
  return StartDrillFromPage(state, request, who, lang);
}

}  // namespace rp::web
