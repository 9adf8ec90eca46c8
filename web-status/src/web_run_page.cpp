// /runs/ID (docs/web.md "Pages"): one restore run in full: who asked for it and why, its
// timings and throughput, the point and copy it restored, where and by which version it ran,
// the isolation layers in force, the engine's findings, and its restoration-log record with the
// record's hash. While it is queued or running the page shows its progress and reloads itself
// every 5 s until it has ended.
#include <mstch/mstch.hpp>

#include <algorithm>
#include <cmath>

#include "rp/coverage.h"
#include "rp/path_text.h"
#include "web_pages.h"

namespace rp::web {

namespace {

constexpr size_t kMaxFindingsShown = 1000;

constexpr const char* kRunPage = R"(<h1>{{t_run}} #{{id}} <span class="muted">{{t_of}}</span> <a href="/targets/{{href}}">{{target}}</a></h1>
<p role="status"><span class="verdict {{s.css}}"><span aria-hidden="true">{{s.icon}}</span> {{s.word}}</span>{{#message}} {{message}}{{/message}}</p>
{{#live}}<h2 id="progress">{{t_progress}}</h2>
<p>{{#percent}}<progress max="100" value="{{percent}}" aria-labelledby="progress">{{percent}} %</progress> {{/percent}}{{bytes}} · {{files}} {{t_files_word}} · {{rate}}{{#eta}} · {{t_eta}} {{eta}}{{/eta}} <span class="muted">({{t_as_of}} {{at}}; {{t_reload}})</span></p>
{{/live}}<h2 id="facts">{{t_facts}}</h2>
<dl class="facts">
<dt>{{t_target}}</dt><dd><a href="/targets/{{href}}">{{target}}</a></dd>
<dt>{{t_trigger}}</dt><dd>{{trigger}}{{#drill}} (<a href="/drills#drill-{{drill}}">{{t_drill}} #{{drill}}</a>){{/drill}}</dd>
<dt>{{t_requested_by}}</dt><dd>{{requested_by}}</dd>
<dt>{{t_attempt}}</dt><dd>{{attempt}}{{#retry_of}} ({{t_retry_of}} <a href="/runs/{{retry_of}}">#{{retry_of}}</a>){{/retry_of}}</dd>
<dt>{{t_queued}}</dt><dd>{{queued}}</dd>
<dt>{{t_started}}</dt><dd>{{started}}</dd>
<dt>{{t_finished}}</dt><dd>{{finished}}</dd>
<dt>{{t_duration}}</dt><dd>{{duration}}</dd>
<dt>{{t_rate}}</dt><dd>{{rate_total}}</dd>
<dt>{{t_files}}</dt><dd>{{files_total}}</dd>
<dt>{{t_bytes}}</dt><dd>{{bytes_total}}</dd>
<dt>{{t_point}}</dt><dd>{{point}}</dd>
<dt>{{t_copy}}</dt><dd>{{location}}</dd>
<dt>{{t_worker}}</dt><dd>{{worker}}</dd>
<dt>{{t_db_role}}</dt><dd>{{db_role}}</dd>
<dt>{{t_version}}</dt><dd>{{version}}</dd>
<dt>{{t_config}}</dt><dd><code>{{config_hash}}</code></dd>
<dt>{{t_clock}}</dt><dd>{{clock}}</dd>
</dl>
{{#sample}}<h2 id="sample">{{t_sample}}</h2>
<dl class="facts">
<dt>{{t_slice}}</dt><dd>{{slice}}</dd>
<dt>{{t_seed}}</dt><dd><code>{{seed}}</code></dd>
<dt>{{t_sample_files}}</dt><dd>{{files}}</dd>
<dt>{{t_sample_bytes}}</dt><dd>{{bytes}}</dd>
<dt>{{t_predicted}}</dt><dd>{{predicted}}</dd>
</dl>
<p>{{t_sample_note}}</p>
{{/sample}}<h2 id="isolation">{{t_isolation}}</h2>
{{#has_isolation}}<table class="cards" aria-labelledby="isolation">
<thead><tr><th scope="col">{{t_layer}}</th><th scope="col">{{t_state}}</th><th scope="col">{{t_detail}}</th></tr></thead>
<tbody>
{{#isolation}}<tr><td data-label="{{t_layer}}"><code>{{layer}}</code></td><td data-label="{{t_state}}"><span class="verdict {{v.css}}"><span aria-hidden="true">{{v.icon}}</span> {{v.word}}</span></td><td data-label="{{t_detail}}">{{detail}}</td></tr>
{{/isolation}}</tbody>
</table>{{/has_isolation}}
{{^has_isolation}}<p>{{t_no_isolation}}</p>{{/has_isolation}}
<h2 id="findings">{{t_findings}}</h2>
{{#has_findings}}<table class="cards" aria-labelledby="findings">
<thead><tr><th scope="col">{{t_kind}}</th><th scope="col">{{t_path}}</th><th scope="col">{{t_message}}</th></tr></thead>
<tbody>
{{#findings}}<tr><td data-label="{{t_kind}}"><span class="verdict {{v.css}}"><span aria-hidden="true">{{v.icon}}</span> <code>{{kind}}</code></span></td><td data-label="{{t_path}}"><code>{{path}}</code></td><td data-label="{{t_message}}">{{message}}</td></tr>
{{/findings}}</tbody>
</table>{{#more}}<p>{{more}}</p>{{/more}}{{/has_findings}}
{{^has_findings}}<p>{{t_no_findings}}</p>{{/has_findings}}
<h2 id="log">{{t_log}}</h2>
{{#has_log}}{{#log}}<dl class="facts">
<dt>{{t_seq}}</dt><dd>{{seq}}</dd>
<dt>{{t_time}}</dt><dd>{{time}}</dd>
<dt>{{t_kind}}</dt><dd>{{kind}}</dd>
<dt>{{t_responsible}}</dt><dd>{{responsible}}</dd>
<dt>{{t_result}}</dt><dd>{{result}}</dd>
<dt>{{t_correctness}}</dt><dd>{{correctness}}</dd>
<dt>{{t_hash}}</dt><dd><code class="hash">{{hash}}</code></dd>
<dt>{{t_prev}}</dt><dd><code class="hash">{{prev_hash}}</code></dd>
</dl>{{/log}}{{/has_log}}
{{^has_log}}<p>{{t_no_log}}</p>{{/has_log}}
)";

mstch::map Look(const VerdictLook& v) { return mstch::map{{"css", v.css}, {"icon", v.icon}, {"word", v.word}}; }

std::string Count(uint64_t n) { return std::to_string(n); }

}  // namespace

Reply RunRoute(State& state, const Request& request, const Identity& who, Lang lang) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  const bool get = request.method == "GET" || request.method == "HEAD";
  const std::string segment = request.path.substr(std::string("/runs/").size());
  const auto id = ParseDecimal(segment, 1, INT64_MAX);
  const auto run = id ? state.store().GetRun(*id) : std::nullopt;
  if (!run) return ErrorPage(state, request, who, lang, 404, t("There is no such run.", "Det finns ingen sådan körning."));
  if (!get) return MethodNotAllowed("GET, HEAD", false);
  if (!request.query.empty() && !RefreshAsked(request))
    return Text(400, "this page takes no query parameters but refresh=on\n");
  const auto config = state.config();
  const RunRecord& r = *run;
  const bool ended = RunStateFinal(r.state);

  mstch::map ctx{{"t_run", t("Run", "Körning")},
                 {"t_of", t("of", "av")},
                 {"id", std::to_string(r.id)},
                 {"target", r.request.target},
                 {"href", UrlSegment(r.request.target)},
                 {"s", Look(RunLook(lang, r.state))},
                 {"message", EscapeMessage(r.message)},
                 {"t_progress", t("Progress", "Förlopp")},
                 {"t_files_word", t("files", "filer")},
                 {"t_eta", t("time left", "tid kvar")},
                 {"t_as_of", t("as of", "per")},
                 {"t_reload", t("this page reloads every 5 s until the run ends",
                                "sidan laddas om var 5:e sekund tills körningen är klar")},
                 {"t_facts", t("The run", "Körningen")},
                 {"t_target", t("Target", "Mål")},
                 {"t_trigger", t("Trigger", "Utlöst av")},
                 {"trigger", TriggerWord(lang, r.request.trigger)},
                 {"t_drill", t("drill", "övning")},
                 {"t_requested_by", t("Requested by", "Begärd av")},
                 {"requested_by", r.request.requested_by.empty() ? std::string("-") : r.request.requested_by},
                 {"t_attempt", t("Attempt", "Försök")},
                 {"attempt", std::to_string(r.request.attempt)},
                 {"t_retry_of", t("retry of", "nytt försök efter")},
                 {"t_queued", t("Queued", "Köad")},
                 {"queued", FormatTime(*config, r.queued_at)},
                 {"t_started", t("Started", "Startad")},
                 {"started", FormatTime(*config, r.started_at)},
                 {"t_finished", t("Finished", "Avslutad")},
                 {"finished", FormatTime(*config, r.finished_at)},
                 {"t_duration", t("Duration (restore and verification)", "Tid (återläsning och verifiering)")},
                 {"duration", ended && r.duration_s > 0
                                  ? FormatDuration(r.duration_s) +
                                        (r.report && r.report->sample ? t(" (the sample only)", " (bara stickprovet)") : "")
                                  : std::string("-")},
                 {"t_rate", t("Throughput", "Genomströmning")},
                 {"rate_total", ended ? FormatRate(r.throughput_bps()) : std::string("-")},
                 {"t_files", t("Files restored and verified", "Filer återlästa och verifierade")},
                 {"files_total", ended ? Count(r.files) : std::string("-")},
                 {"t_bytes", t("Bytes restored", "Byte återlästa")},
                 {"bytes_total", ended ? FormatBytes(r.bytes) + " (" + Count(r.bytes) + " B)" : std::string("-")},
                 {"t_point", t("Recovery point", "Återställningspunkt")},
                 {"point", r.point_id.empty() ? std::string("-")
                                              : EscapePath(r.point_id) + " (" + FormatTime(*config, r.point_time) + ")"},
                 {"t_copy", t("Copy (location)", "Kopia (plats)")},
                 {"location", r.location.empty() ? std::string("-") : r.location},
                 {"t_worker", t("Verifying host (host/process/start)", "Verifierande värd (värd/process/start)")},
                 {"worker", r.worker.empty() ? std::string("\u2014") : r.worker},
                 {"t_db_role", t("Database role that recorded the result", "Databasroll som registrerade resultatet")},
                 {"db_role", r.db_role.empty() ? std::string("\u2014") : r.db_role},
                 {"t_sample", t("Sample", "Stickprov")},
                 {"t_slice", t("Slice", "Del")},
                 {"t_seed", t("Seed", "Frö")},
                 {"t_sample_files", t("Files of the point sampled", "Filer i punkten i stickprovet")},
                 {"t_sample_bytes", t("Bytes of the point sampled", "Byte i punkten i stickprovet")},
                 {"t_predicted", t("Whole point", "Hela punkten")},
                 {"t_sample_note", t("This test restored and verified one slice of the point's files (slices are numbered from 0; "
                                     "\"restoreproof verify --seed SEED --slice K\" draws the same sample). The time for the "
                                     "whole point is predicted from the sample's throughput, not measured.",
                                     "Testet återläste och verifierade en del av punktens filer (delarna numreras från 0; "
                                     "\"restoreproof verify --seed FRÖ --slice K\" drar samma stickprov). Tiden för hela "
                                     "punkten är beräknad från stickprovets genomströmning, inte mätt.")},
                 {"t_version", t("Version", "Version")},
                 {"version", r.version.empty() ? std::string("-") : r.version},
                 {"t_config", t("Configuration (SHA-256)", "Konfiguration (SHA-256)")},
                 {"config_hash", r.config_hash.empty() ? std::string("-") : r.config_hash},
                 {"t_clock", t("Clock when it started", "Klockan vid start")},
                 {"clock", !r.clock.known ? t("not known", "okänd")
                           : r.clock.synchronised
                               ? t("synchronised", "synkroniserad") + ", " + t("max error ", "största fel ") +
                                     std::to_string(r.clock.maximum_error_us / 1000) + " ms"
                               : t("NOT synchronised", "INTE synkroniserad")},
                 {"t_isolation", t("Isolation layers", "Isoleringslager")},
                 {"t_layer", t("Layer", "Lager")},
                 {"t_state", t("State", "Läge")},
                 {"t_detail", t("Detail", "Detalj")},
                 {"t_no_isolation", t("No isolation was recorded (the run has not restored anything yet, or it was stopped before).",
                                      "Ingen isolering registrerad (körningen har inte återläst något än, eller stoppades innan).")},
                 {"t_findings", t("Findings", "Avvikelser")},
                 {"t_kind", t("Kind", "Slag")},
                 {"t_path", t("Path", "Sökväg")},
                 {"t_message", t("Message", "Meddelande")},
                 {"t_no_findings", t("No findings.", "Inga avvikelser.")},
                 {"t_log", t("Restoration log record", "Post i återläsningsloggen")},
                 {"t_no_log", ended ? t("No record of this run is in the restoration log.",
                                        "Ingen post om körningen finns i återläsningsloggen.")
                                    : t("The record is written when the run ends.", "Posten skrivs när körningen är klar.")},
                 {"t_seq", t("Sequence number", "Löpnummer")},
                 {"t_time", t("Time", "Tid")},
                 {"t_responsible", t("Responsible", "Ansvarig")},
                 {"t_result", t("Result", "Resultat")},
                 {"t_correctness", t("Correctness of personal data", "Personuppgifternas riktighet")},
                 {"t_hash", t("Hash (SHA-256)", "Kontrollsumma (SHA-256)")},
                 {"t_prev", t("Previous record's hash", "Föregående posts kontrollsumma")}};
  if (r.report && r.report->sample) {
    const SampleFigures& f = *r.report->sample;
    auto share = [](uint64_t part, uint64_t whole) {
      return Percent(whole ? static_cast<double>(part) / static_cast<double>(whole) : 0);
    };
    const auto whole = PredictedFullSeconds(r);
    const double objective = config->FindTarget(r.request.target) ? config->PolicyFor(*config->FindTarget(r.request.target)).rto_s : 0;
    std::string predicted = whole ? PredictedDuration(lang, *whole) : t("not predicted (the sample restored nothing)",
                                                                       "inte beräknad (stickprovet återläste inget)");
    if (whole && objective > 0)
      predicted += t(" against the objective ", " mot målet ") + FormatDuration(objective) + " " +
                   (*whole <= objective ? t("(met)", "(uppfyllt)") : t("(exceeded)", "(överskridet)"));
    ctx.emplace("sample", mstch::map{
                              {"slice", SliceText(lang, f.spec)},
                              {"seed", std::to_string(f.spec.seed)},
                              {"files", Count(f.sample_files) + t(" of ", " av ") + Count(f.point_files) + " (" +
                                            share(f.sample_files, f.point_files) + ")"},
                              {"bytes", FormatBytes(f.sample_bytes) + t(" of ", " av ") + FormatBytes(f.point_bytes) + " (" +
                                            share(f.sample_bytes, f.point_bytes) + ")"},
                              {"predicted", predicted}});
  }
  if (r.request.drill_id > 0) ctx.emplace("drill", std::to_string(r.request.drill_id));
  if (r.request.retry_of > 0) ctx.emplace("retry_of", std::to_string(r.request.retry_of));

  if (!ended) {
    const RunProgress& p = r.progress;
    const double elapsed = p.at > r.started_at && r.started_at > 0 ? static_cast<double>(p.at - r.started_at) : 0;
    const double rate = elapsed > 0 ? static_cast<double>(p.bytes) / elapsed : 0;
    mstch::map live{{"bytes", FormatBytes(p.bytes)},
                    {"files", Count(p.files)},
                    {"rate", FormatRate(rate)},
                    {"at", p.at > 0 ? FormatTime(*config, p.at) : t("not started", "inte startad")}};
    if (p.total_bytes > 0) {
      const double share = std::min(1.0, static_cast<double>(p.bytes) / static_cast<double>(p.total_bytes));
      live["percent"] = std::to_string(static_cast<int>(std::floor(share * 100)));
      live["bytes"] = FormatBytes(p.bytes) + " / " + FormatBytes(p.total_bytes);
      if (rate > 0)
        live["eta"] = FormatDuration(static_cast<double>(p.total_bytes - std::min(p.bytes, p.total_bytes)) / rate);
    }
    ctx.emplace("live", live);
  }

  mstch::array isolation, findings;
  if (r.report) {
    for (const IsolationRecord& layer : r.report->isolation.records()) {
      VerdictLook v;
      switch (layer.state) {
        case LayerState::kEnforced: v = {"v-ok", "\u2714", t("enforced", "i kraft")}; break;
        case LayerState::kUnavailable: v = {"v-failing", "\u2716", t("unavailable", "inte tillgängligt")}; break;
        case LayerState::kNotRequested: v = {"v-warning", "\u25B2", t("not requested", "inte begärt")}; break;
      }
      isolation.push_back(mstch::map{{"layer", std::string(IsolationLayerName(layer.layer))},
                                     {"v", Look(v)},
                                     {"detail", EscapeMessage(layer.detail)}});
    }
    const auto& all = r.report->findings;
    for (size_t i = 0; i < all.size() && i < kMaxFindingsShown; ++i) {
      const Finding& f = all[i];
      const bool fails = FindingFailsRun(f.kind);
      findings.push_back(mstch::map{
          {"v", Look(fails ? VerdictLook{"v-failing", "\u2716", ""} : VerdictLook{"v-ok", "\u2139", ""})},
          {"kind", std::string(FindingKindName(f.kind))},
          {"path", f.path.empty() ? std::string("-") : EscapePath(f.path)},
          {"message", EscapeMessage(f.message)}});
    }
    const uint64_t rest = (all.size() > kMaxFindingsShown ? all.size() - kMaxFindingsShown : 0) + r.report->findings_dropped;
    if (rest > 0)
      ctx.emplace("more", std::to_string(rest) +
                              t(" more findings are not shown here (\"restoreproof runs show ID --json\" lists the stored ones).",
                                " avvikelser till visas inte här (\"restoreproof runs show ID --json\" listar de sparade)."));
  }
  ctx.emplace("has_isolation", !isolation.empty());
  ctx.emplace("isolation", isolation);
  ctx.emplace("has_findings", !findings.empty());
  ctx.emplace("findings", findings);

  // The log record: written when the run ended, with the run's finishing time, so it is among
  // the first records from that second on (a bounded read, however old the run).
  std::optional<LogRecord> record;
  if (ended && r.finished_at > 0) {
    if (const int64_t seq = state.store().FirstLogSeqSince(r.finished_at); seq > 0)
      for (const LogRecord& l : state.store().ReadLog(seq, 500))
        if (l.run_id == r.id) {
          record = l;
          break;
        }
  }
  ctx.emplace("has_log", record.has_value());
  if (record)
    ctx.emplace("log", mstch::map{{"seq", std::to_string(record->seq)},
                                  {"time", FormatTime(*config, record->time)},
                                  {"kind", std::string(LogKindName(record->kind))},
                                  {"responsible", record->responsible.empty() ? std::string("-") : record->responsible},
                                  {"result", record->result},
                                  {"correctness", std::string(CorrectnessName(record->correctness))},
                                  {"hash", record->hash},
                                  {"prev_hash", record->prev_hash}});

  PageParts page;
  page.title = t("Run #", "Körning #") + std::to_string(r.id);
  page.main_html = mstch::render(kRunPage, ctx);
  page.refresh_s = ended ? 0 : 5;
  return Html(200, RenderPage(state, request, &who, lang, page));
}

}  // namespace rp::web
