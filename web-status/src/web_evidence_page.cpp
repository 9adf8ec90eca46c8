// /evidence (docs/web.md "Pages"; auditor and admin): a form choosing the period (from and to,
// dates in the appliance's zone, `to` inclusive of its day) and the targets (none ticked: every
// target); its POST builds and signs the bundle exactly as `restoreproof evidence export` does
// (BuildEvidence, WriteEvidenceBundle; names of targets holding personal data pseudonymised,
// never in clear from the web) and answers it as a download. The bundle is written to a
// temporary directory under data_dir and read whole into the reply: a year's bundle is about
// 100 MB at most, which the server holds in memory while it sends it.
#include <mstch/mstch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "rp/evidence.h"
#include "rp/evidence_bundle.h"
#include "web_pages.h"

namespace rp::web {

namespace {

constexpr const char* kEvidencePage = R"(<h1>{{t_title}}</h1>
<p>{{t_intro}}</p>
{{#has_error}}<p class="error" role="alert" id="form-error"><span class="verdict v-failing"><span aria-hidden="true">&#x2716;</span> {{error}}</span></p>{{/has_error}}
<form method="post" action="/evidence" class="evidence">
<input type="hidden" name="csrf" value="{{csrf}}">
<fieldset>
<legend>{{t_period}}</legend>
<p><label for="from">{{t_from}}</label> <input type="date" id="from" name="from" value="{{from}}" required{{#has_error}} aria-describedby="form-error"{{/has_error}}></p>
<p><label for="to">{{t_to}}</label> <input type="date" id="to" name="to" value="{{to}}" required{{#has_error}} aria-describedby="form-error"{{/has_error}}></p>
<p class="muted">{{t_zone_note}}</p>
</fieldset>
<fieldset>
<legend>{{t_targets}}</legend>
<p class="muted">{{t_targets_note}}</p>
<ul class="checks">
{{#targets}}<li><input type="checkbox" id="t-{{index}}" name="target.{{name}}" value="on"{{#checked}} checked{{/checked}}> <label for="t-{{index}}">{{name}}</label>{{#pd}} <span class="muted">({{t_pseudonymised}})</span>{{/pd}}</li>
{{/targets}}</ul>
</fieldset>
<p><button type="submit">{{t_download}}</button></p>
</form>
)";

struct FormState {
  std::string from, to, error;
  std::set<std::string> targets;
};

Reply EvidenceForm(State& state, const Request& request, const Identity& who, Lang lang, int status, const FormState& f) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  const auto config = state.config();
  mstch::array targets;
  int i = 0;
  for (const TargetConfig& tc : config->targets)
    targets.push_back(mstch::map{{"index", std::to_string(i++)},
                                 {"name", tc.name},
                                 {"checked", f.targets.count(tc.name) > 0},
                                 {"pd", !tc.personal_data.none}});
  mstch::map ctx{
      {"t_title", t("Evidence", "Underlag")},
      {"t_intro", t("A signed bundle of what happened to the chosen targets in a period: the report as HTML, PDF, JSON and CSV, the restoration-log excerpt, the appliance's public key, SHA256SUMS and its Ed25519 signature. The command \"restoreproof evidence verify FILE\" checks it anywhere.",
                    "Ett signerat paket med vad som hänt de valda målen under en period: rapporten som HTML, PDF, JSON och CSV, utdraget ur återläsningsloggen, enhetens publika nyckel, SHA256SUMS och dess Ed25519-signatur. Kommandot \"restoreproof evidence verify FIL\" kontrollerar det var som helst.")},
      {"has_error", !f.error.empty()},
      {"error", f.error},
      {"csrf", who.csrf},
      {"t_period", t("Period", "Period")},
      {"t_from", t("From (first day)", "Från (första dagen)")},
      {"t_to", t("To (last day, included)", "Till (sista dagen, inräknad)")},
      {"from", f.from},
      {"to", f.to},
      {"t_zone_note", t("Days in ", "Dagar i ") + config->appliance.zone.name() + "."},
      {"t_targets", t("Targets", "Mål")},
      {"t_targets_note", t("None ticked: every target. Names of targets that hold personal data are pseudonymised in the bundle.",
                           "Inget markerat: alla mål. Namn på mål som har personuppgifter ersätts med pseudonymer i paketet.")},
      {"t_pseudonymised", t("personal data: pseudonymised", "personuppgifter: pseudonymiseras")},
      {"targets", targets},
      {"t_download", t("Build and download the bundle", "Skapa och hämta paketet")}};
  PageParts page;
  page.title = t("Evidence", "Underlag");
  page.main_html = mstch::render(kEvidencePage, ctx);
  page.current = "/evidence";
  return Html(status, RenderPage(state, request, &who, lang, page));
}

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

Reply Export(State& state, const Request& request, const Identity& who, Lang lang) {
  auto t = [lang](const char* en, const char* sv) { return std::string(lang == Lang::kSv ? sv : en); };
  const auto config = state.config();
  const TimeZone& zone = config->appliance.zone;
  FormState f;
  bool repeated = false;
  const auto form = ParseForm(request.body, &repeated);
  if (!form || repeated) {
    f.error = t("The form could not be read.", "Formuläret kunde inte läsas.");
    return EvidenceForm(state, request, who, lang, 400, f);
  }
  std::vector<std::string> targets;
  for (const auto& [name, value] : *form) {
    if (name == "csrf") continue;
    if (name == "from") f.from = value;
    else if (name == "to") f.to = value;
    else if (name.rfind("target.", 0) == 0) {
      const std::string target = name.substr(7);
      if (!config->FindTarget(target)) {
        f.error = t("There is no such target: ", "Det finns inget sådant mål: ") + target;
        return EvidenceForm(state, request, who, lang, 400, f);
      }
      f.targets.insert(target);
      targets.push_back(target);
    } else {
      f.error = t("The form has a field it should not have: ", "Formuläret har ett fält det inte ska ha: ") + name;
      return EvidenceForm(state, request, who, lang, 400, f);
    }
  }
  const auto from = Date::Parse(f.from);
  const auto to = Date::Parse(f.to);
  if (!from || !to) {
    f.error = std::string(!from ? t("From", "Från") : t("To", "Till")) +
              t(": expected a date like 2026-11-22.", ": ett datum som 2026-11-22 väntades.");
    return EvidenceForm(state, request, who, lang, 400, f);
  }
  if (*to < *from) {
    f.error = t("The period ends before it begins.", "Perioden slutar innan den börjar.");
    return EvidenceForm(state, request, who, lang, 400, f);
  }
  const Pseudonymiser* names = state.names();
  const std::string& data_dir = config->appliance.data_dir;
  std::unique_ptr<SigningKey> key;
  std::string public_pem;
  auto fail = [&](const std::string& why) {
    return ErrorPage(state, request, who, lang, 500,
                     t("The bundle could not be made: ", "Paketet kunde inte skapas: ") + why);
  };
  if (!names) return fail(t("no pseudonym key", "ingen pseudonymnyckel"));
  if (Status s = SigningKey::LoadOrCreate(data_dir, &key); !s.ok()) return fail(s.message());
  if (!ReadSmallFile(PublicKeyPath(data_dir), &public_pem)) return fail(PublicKeyPath(data_dir));

  const int64_t now = NowS();
  EvidenceRequest req;
  req.from = zone.StartOfDay(*from);
  req.to = zone.StartOfDay(*to + 1);
  req.targets = targets;
  req.now = now;
  EvidenceReport report;
  LogExcerpt excerpt;
  if (Status s = BuildEvidence(*config, state.store(), req, *names, key->public_key(), &report, &excerpt); !s.ok()) {
    f.error = s.message();
    return EvidenceForm(state, request, who, lang, 400, f);
  }
  std::string dir_template = data_dir + "/web-evidence-XXXXXX";
  if (!mkdtemp(dir_template.data())) return fail(data_dir + ": " + std::strerror(errno));
  const std::string dir = dir_template;
  const std::string path = dir + "/bundle.tar.gz";
  std::string bundle;
  Status written = WriteEvidenceBundle(path, report, std::move(excerpt), zone, *key, public_pem, now);
  const bool read = written.ok() && ReadWhole(path, &bundle);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!written.ok()) return fail(written.message());
  if (!read) return fail(path);

  const std::string file = "evidence-" + from->ToString() + "-" + to->ToString() + ".tar.gz";
  std::string which;
  for (const auto& name : targets) which += (which.empty() ? "" : ",") + name;
  Audit(state, who.actor(), request, "evidence-export",
        "period " + from->ToString() + " to " + to->ToString() + ", targets " + (which.empty() ? "all" : which) +
            ", pseudonymised, " + std::to_string(bundle.size()) + " bytes");
  Reply r;
  r.status = 200;
  r.content_type = "application/gzip";
  r.body = std::move(bundle);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + file + "\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

Reply EvidenceRoute(State& state, const Request& request, const Identity& who, Lang lang) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (!get && request.method != "POST") return MethodNotAllowed("GET, HEAD, POST", false);
  if (!RoleAllows(who.role, Role::kAuditor)) return NeedsRole(state, request, who, lang, Role::kAuditor);
  if (get) {
    if (!request.query.empty()) return Text(400, "this page takes no query parameters\n");
    const auto config = state.config();
    const Date today = config->appliance.zone.LocalDate(NowS());
    FormState f;
    f.from = (today - 30).ToString();
    f.to = today.ToString();
    return EvidenceForm(state, request, who, lang, 200, f);
  }
  if (!CsrfOk(state, request, who)) return CsrfRefused(state, request, who, lang);
  return Export(state, request, who, lang);
}

}  // namespace rp::web
