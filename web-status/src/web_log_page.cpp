// /log (docs/web.md "Pages"; auditor and admin): the restoration log, newest first, 50 records
// a page (`?before=SEQ` shows the 50 before that sequence number), every record's fields and
// the start of its hash. The page recomputes the hash of each record it shows and checks that
// each links to the one before it; the whole chain and the signed checkpoints are `restoreproof
// log verify`'s work (a million records are not read for one request).
#include <mstch/mstch.hpp>

#include <algorithm>

#include "rp/path_text.h"
#include "web_pages.h"

namespace rp::web {

namespace {

constexpr int64_t kPerPage = 50;

constexpr const char* kLogPage = R"(<h1>{{t_title}}</h1>
<p>{{t_intro}}</p>
{{#has_records}}<p role="status"><span class="verdict {{check.css}}"><span aria-hidden="true">{{check.icon}}</span> {{check.word}}</span> {{check_text}}</p>
<p>{{t_showing}}</p>
<table class="cards log" aria-label="{{t_title}}">
<thead><tr><th scope="col" class="num">{{t_seq}}</th><th scope="col">{{t_time}}</th><th scope="col">{{t_kind}}</th><th scope="col">{{t_target}}</th><th scope="col">{{t_point}}</th><th scope="col">{{t_responsible}}</th><th scope="col">{{t_pd}}</th><th scope="col">{{t_reason}}</th><th scope="col">{{t_result}}</th><th scope="col">{{t_correctness}}</th><th scope="col">{{t_hash}}</th></tr></thead>
<tbody>
{{#records}}<tr><td data-label="{{t_seq}}" class="num">{{seq}}</td><td data-label="{{t_time}}">{{time}}</td><td data-label="{{t_kind}}">{{kind}}</td><td data-label="{{t_target}}">{{#href}}<a href="/targets/{{href}}">{{target}}</a>{{/href}}{{^href}}{{target}}{{/href}}{{#run}} (<a href="/runs/{{run}}">#{{run}}</a>){{/run}}</td><td data-label="{{t_point}}">{{point}}</td><td data-label="{{t_responsible}}">{{responsible}}</td><td data-label="{{t_pd}}">{{pd}}</td><td data-label="{{t_reason}}">{{reason}}</td><td data-label="{{t_result}}">{{result}}</td><td data-label="{{t_correctness}}">{{correctness}}</td><td data-label="{{t_hash}}"><code class="hash">{{hash}}</code>{{#bad}} <span class="verdict v-failing"><span aria-hidden="true">&#x2716;</span> {{bad}}</span>{{/bad}}</td></tr>
{{/records}}</tbody>
</table>
<nav aria-label="{{t_pages}}"><ul class="pager">
{{#has_newer}}<li><a href="/log{{newer}}">{{t_newer}}</a></li>{{/has_newer}}
{{#older}}<li><a href="/log?before={{older}}">{{t_older}}</a></li>{{/older}}
</ul></nav>
{{/has_records}}
{{^has_records}}<p>{{t_empty}}</p>{{/has_records}}
)";

std::string Or(const std::string& s) { return s.empty() ? std::string("-") : EscapeMessage(s); }

}  // namespace

Reply LogRoute(State& state, const Request& request, const Identity& who, Lang lang) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  if (request.method != "GET" && request.method != "HEAD") return MethodNotAllowed("GET, HEAD", false);
  if (!RoleAllows(who.role, Role::kAuditor)) return NeedsRole(state, request, who, lang, Role::kAuditor);
  const QueryParameters q = ParseQuery(request.query, {"before"});
  if (!q.error.empty()) return ErrorPage(state, request, who, lang, 400, q.error);
  LogFilter newest;
  newest.limit = 1;
  const auto head_records = state.store().ListLog(newest);
  const int64_t head = head_records.empty() ? 0 : head_records.back().seq;
  int64_t before = head + 1;
  if (const auto it = q.values.find("before"); it != q.values.end()) {
    const auto n = ParseDecimal(it->second, 1, INT64_MAX - 1);
    if (!n)
      return ErrorPage(state, request, who, lang, 400,
                       t("before: expected a sequence number (a whole number from 1)",
                         "before: ett löpnummer väntades (ett heltal från 1)"));
    before = std::min(*n, head + 1);
  }
  const auto config = state.config();
  const int64_t from = std::max<int64_t>(1, before - kPerPage);
  // One record more, before the page, to check the first record's link.
  const int64_t read_from = std::max<int64_t>(1, from - 1);
  const std::vector<LogRecord> read =
      before > read_from ? state.store().ReadLog(read_from, static_cast<size_t>(before - read_from)) : std::vector<LogRecord>{};

  // The page's own check: every record's hash recomputed, every link to the record before.
  int64_t first_bad = 0;
  std::string first_bad_what;
  std::map<int64_t, std::string> bad;
  for (size_t i = 0; i < read.size(); ++i) {
    const LogRecord& r = read[i];
    std::string what;
    if (!r.damage.empty())
      what = t("damaged", "skadad");
    else if (LogRecordHash(r.prev_hash, r) != r.hash)
      what = t("changed", "ändrad");
    else if (i > 0 && (read[i - 1].seq + 1 != r.seq || read[i - 1].hash != r.prev_hash))
      what = t("not linked", "inte länkad");
    else if (i == 0 && r.seq == 1 && r.prev_hash != kLogGenesisHash)
      what = t("not linked", "inte länkad");
    if (!what.empty()) {
      bad[r.seq] = what;
      if (!first_bad) first_bad = r.seq, first_bad_what = what;
    }
  }

  mstch::array rows;
  int64_t shown_lo = 0, shown_hi = 0;
  for (auto it = read.rbegin(); it != read.rend(); ++it) {
    const LogRecord& r = *it;
    if (r.seq < from) continue;
    if (!shown_hi) shown_hi = r.seq;
    shown_lo = r.seq;
    const TargetConfig* target = r.target.empty() ? nullptr : config->FindTarget(r.target);
    mstch::map row{{"seq", std::to_string(r.seq)},
                   {"time", FormatTime(*config, r.time)},
                   {"kind", std::string(LogKindName(r.kind))},
                   {"target", Or(r.target)},
                   {"href", target ? UrlSegment(target->name) : std::string()},
                   {"run", r.run_id > 0 ? std::to_string(r.run_id) : std::string()},
                   {"point", Or(r.point)},
                   {"responsible", Or(r.responsible)},
                   {"pd", Or(r.personal_data)},
                   {"reason", Or(r.reason)},
                   {"result", Or(r.result)},
                   {"correctness", std::string(CorrectnessName(r.correctness))},
                   {"hash", HashPrefix(r.hash, 16)},
                   {"bad", bad.count(r.seq) ? bad[r.seq] : std::string()}};
    rows.push_back(std::move(row));
  }
  VerdictLook check;
  std::string check_text;
  const std::string range = std::to_string(shown_lo) + "–" + std::to_string(shown_hi);
  if (first_bad) {
    check = {"v-failing", "\u2716", t("chain broken", "kedjan bruten")};
    check_text = t("Record ", "Post ") + std::to_string(first_bad) + ": " + first_bad_what + ". " +
                 t("Run \"restoreproof log verify\" on the appliance.", "Kör \"restoreproof log verify\" på enheten.");
  } else {
    check = {"v-ok", "\u2714", t("chain holds", "kedjan håller")};
    check_text = t("Records ", "Posterna ") + range +
                 t(" recompute to their hashes and each links to the one before it.",
                   " räknas om till sina kontrollsummor och varje post länkar till den före.");
  }
  mstch::map ctx{
      {"t_title", t("Restoration log", "Återläsningslogg")},
      {"t_intro", t("Every restoration, test or real, every change of the configuration and every export of clear names, newest first. Each record's hash covers the hash of the record before it, so a record cannot be changed, removed or inserted without breaking the chain. The command \"restoreproof log verify\" checks the whole chain and the signed checkpoints.",
                    "Varje återläsning, test eller skarp, varje ändring av konfigurationen och varje export av namn i klartext, nyast först. Varje posts kontrollsumma omfattar kontrollsumman för posten före, så en post kan inte ändras, tas bort eller läggas till utan att kedjan bryts. Kommandot \"restoreproof log verify\" kontrollerar hela kedjan och de signerade kontrollpunkterna.")},
      {"has_records", !rows.empty()},
      {"records", rows},
      {"check", mstch::map{{"css", check.css}, {"icon", check.icon}, {"word", check.word}}},
      {"check_text", check_text},
      {"t_showing", t("Records ", "Poster ") + range + t(" of ", " av ") + std::to_string(head) + "."},
      {"t_seq", t("Seq", "Nr")},
      {"t_time", t("Time", "Tid")},
      {"t_kind", t("Kind", "Slag")},
      {"t_target", t("Target", "Mål")},
      {"t_point", t("Point", "Punkt")},
      {"t_responsible", t("Responsible", "Ansvarig")},
      {"t_pd", t("Personal data", "Personuppgifter")},
      {"t_reason", t("Reason", "Skäl")},
      {"t_result", t("Result", "Resultat")},
      {"t_correctness", t("Correctness", "Riktighet")},
      {"t_hash", t("Hash (start)", "Kontrollsumma (början)")},
      {"t_pages", t("Log pages", "Loggsidor")},
      {"t_newer", t("Newer records", "Nyare poster")},
      {"t_older", t("Older records", "Äldre poster")},
      {"t_empty", t("The restoration log is empty.", "Återläsningsloggen är tom.")}};
  if (from > 1) ctx.emplace("older", std::to_string(from));
  ctx.emplace("has_newer", before <= head);
  if (before <= head) {
    const int64_t newer = before + kPerPage;
    ctx.emplace("newer", newer > head ? std::string() : "?before=" + std::to_string(newer));
  }
  PageParts page;
  page.title = t("Restoration log", "Återläsningslogg");
  page.main_html = mstch::render(kLogPage, ctx);
  page.current = "/log";
  return Html(200, RenderPage(state, request, &who, lang, page));
}

}  // namespace rp::web
