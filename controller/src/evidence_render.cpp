// The evidence report (rp/evidence.h) as HTML, PDF and CSV; docs/evidence.md "The report" says
// what each holds. Every text of the model passes through CleanText, and in HTML through the one
// escaper HtmlEscape: markup is written only from string literals (HtmlOut::Markup). The PDF is
// drawn with libharu in landscape A4 with DejaVu Sans embedded; its long tables repeat their
// header on each page. Everything is linear in the size of the report.
#include "evidence_render.h"

#include <hpdf.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rp {

const char* const kEvidenceFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

namespace {

// ---------------------------------------------------------------------------------------------
// Text and numbers shared by every format

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kNone = "—";                    // no value

void AppendClean(std::string& out, std::string_view s, bool keep_breaks) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      size_t j = i + 1;
      while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x20 && static_cast<unsigned char>(s[j]) < 0x7f) ++j;
      out.append(s.substr(i, j - i));
      i = j;
      continue;
    }
    if (c < 0x80) {
      if (c == '\t' || c == '\n' || c == '\r') out += keep_breaks ? static_cast<char>(c) : ' ';
      else out += kReplacement;
      ++i;
      continue;
    }
    size_t n = 0;  // continuation bytes
    uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0fu, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07u, min = 0x10000;
    }
    bool ok = n > 0 && i + n < s.size();
    for (size_t k = 1; ok && k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = (b & 0xc0) == 0x80;
      cp = (cp << 6) | (b & 0x3fu);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (cp <= 0x9f) out += kReplacement;  // C1 controls
    else out.append(s.substr(i, n + 1));
    i += n + 1;
  }
}

std::string Num(int64_t v) { return std::to_string(v); }
std::string Num(uint64_t v) { return std::to_string(v); }

// The shortest text that reads back as the same double; locale-independent.
std::string Real(double v) {
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), res.ptr);
}

std::string Printf(const char* format, auto... args) {
  std::array<char, 96> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), format, args...);
  return std::string(buf.data(), static_cast<size_t>(std::clamp(n, 0, static_cast<int>(buf.size()) - 1)));
}

// The UTC calendar day of a time and the second of that day.
std::pair<Date, int> UtcDay(int64_t t) {
  int64_t days = t / 86400, sod = t % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  return {Date{days}, static_cast<int>(sod)};
}

// 2026-11-22T08:00:00Z; "" for 0 (no time).
std::string IsoUtc(int64_t t) {
  if (t == 0) return "";
  const auto [d, sod] = UtcDay(t);
  return Printf("%04d-%02u-%02uT%02d:%02d:%02dZ", d.year(), d.month(), d.day(), sod / 3600, sod / 60 % 60, sod % 60);
}

// "2026-11-22 09:00 +0100" in the report's zone; an em dash for 0.
std::string Local(const TimeZone& zone, int64_t t) {
  return t == 0 ? std::string(kNone) : zone.Format(t, "%Y-%m-%d %H:%M %z");
}

// "42.5 s", "12 min 03 s", "2 h 05 min".
std::string Duration(double s) {
  if (!std::isfinite(s) || s < 0) return std::string(kNone);
  if (s < 60) return Printf("%.1f s", s);
  const auto total = static_cast<long long>(std::llround(s));
  if (total < 3600) return Printf("%lld min %02lld s", total / 60, total % 60);
  return Printf("%lld h %02lld min", total / 3600, total / 60 % 60);
}

std::string Bytes(uint64_t b) {
  if (b < 1024) return Printf("%" PRIu64 " B", b);
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(b) / 1024.0;
  size_t u = 0;
  for (; v >= 1024.0 && u + 1 < kUnits.size(); ++u) v /= 1024.0;
  return Printf("%.1f %s", v, kUnits[u]);
}

std::string ClockError(int64_t us) {
  const double a = std::fabs(static_cast<double>(us));
  if (a < 1e3) return Printf("±%.0f µs", a);
  if (a < 1e6) return Printf("±%.1f ms", a / 1e3);
  return Printf("±%.1f s", a / 1e6);
}

// "synchronised (±1.2 ms)", "NOT synchronised (±3.0 s)", "unknown".
std::string ClockText(const EvidenceRun& run) {
  if (!run.clock_known) return "unknown";
  return (run.clock_synchronised ? "synchronised (" : "NOT synchronised (") + ClockError(run.clock_error_us) + ")";
}
std::string ClockShort(const EvidenceRun& run) {
  if (!run.clock_known) return "unknown";
  return (run.clock_synchronised ? "synced " : "NOT synced ") + ClockError(run.clock_error_us);
}

std::string KindText(const EvidenceRun& run) {
  return run.drill_id != 0 ? run.kind + " #" + Num(run.drill_id) : run.kind;
}

// "1 drill", "2 drills".
std::string Counted(uint64_t n, std::string_view noun) {
  return Num(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// A recovery time objective; 0 is none configured.
std::string Objective(double s) { return s > 0 ? Duration(s) : std::string("none"); }

std::string OrNone(std::string_view s) { return std::string(s.empty() ? kNone : s); }
std::string YesNo(bool b) { return b ? "yes" : "no"; }
std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

enum class Tone { kPlain, kGood, kWarn, kBad, kMuted };

Tone VerdictTone(std::string_view v) {
  if (v == "ok") return Tone::kGood;
  if (v == "warning") return Tone::kWarn;
  if (v == "failing") return Tone::kBad;
  return Tone::kPlain;
}
// The verdict as a word that does not need its colour: "OK", "WARNING", "FAILING".
std::string VerdictWord(std::string_view v) {
  std::string out = CleanText(v, false);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out.empty() ? std::string(kNone) : out;
}
Tone StateTone(std::string_view state) {
  if (state == "passed") return Tone::kGood;
  if (state == "failed" || state == "aborted" || state == "interrupted") return Tone::kBad;
  return Tone::kPlain;
}

struct RunCounts {
  int64_t passed = 0, failed = 0, other = 0;
};
RunCounts CountRuns(const EvidenceReport& r) {
  RunCounts c;
  for (const auto& run : r.runs) {
    if (run.state == "passed") ++c.passed;
    else if (run.state == "failed") ++c.failed;
    else ++c.other;
  }
  return c;
}
std::string RunSummary(const EvidenceReport& r) {
  const RunCounts c = CountRuns(r);
  return Counted(r.runs.size(), "run") + ": " + Num(c.passed) + " passed, " + Num(c.failed) +
         " failed, " + Num(c.other) + " other";
}

std::string ContentsText(const EvidenceReport& r) {
  return Counted(r.targets.size(), "target") + "; " + RunSummary(r) + "; " + Counted(r.drills.size(), "drill") + "; " +
         Counted(r.restorations.size(), "restoration");
}

std::string PeriodText(const EvidenceReport& r, const TimeZone& zone) {
  return Local(zone, r.from) + " to " + Local(zone, r.to) + " (end not included), " + zone.name();
}
std::string NamesText(const EvidenceReport& r) {
  if (!r.clear_names) return "pseudonymised: names and paths of targets that hold personal data are shown as keyed hashes";
  return "in clear, at the auditor's request";
}
std::string ChainText(const EvidenceReport& r) {
  if (r.chain_seq == 0) return "empty log, genesis hash " + r.chain_head;
  return "record " + Num(r.chain_seq) + ", hash " + r.chain_head;
}
std::string RtoText(const EvidenceTarget& t) {
  std::string s = "objective " + Objective(t.rto_objective_s) + ", " +
                  (t.rto_predicted ? "predicted from a sample " : "measured ") +
                  (t.rto_measured_s ? Duration(*t.rto_measured_s) : std::string("none in the period"));
  return s + (t.rto_met ? ": met" : ": NOT met");
}
// The newest passed test's time, marked when it is predicted from a sample.
std::string RtoMeasured(const EvidenceTarget& t) {
  if (!t.rto_measured_s) return std::string(kNone);
  return Duration(*t.rto_measured_s) + (t.rto_predicted ? " (predicted)" : "");
}
// A sampled run's sample: "slice 1 of 4, seed 123: 25 of 100 files, 24.4 KiB of 97.7 KiB"; a
// run that restored the whole point: "whole point".
std::string SampleText(const EvidenceRun& run) {
  if (run.sample_slices == 0) return "whole point";
  return "slice " + Num(uint64_t{run.sample_slice}) + " of " + Num(uint64_t{run.sample_slices}) + ", seed " +
         OrNone(run.sample_seed) + ": " + Num(run.sample_files) + " of " + Num(run.point_files) + " files, " +
         Bytes(run.sample_bytes) + " of " + Bytes(run.point_bytes);
}
// "2.5 s", or for a sampled run "2.5 s (sample); whole point 10.0 s (predicted)".
std::string RunDurationText(const EvidenceRun& run) {
  if (run.sample_slices == 0) return Duration(run.duration_s);
  std::string s = Duration(run.duration_s) + " (sample)";
  if (run.predicted_full_s > 0) s += "; whole point " + Duration(run.predicted_full_s) + " (predicted)";
  return s;
}
// Who verified a run: "host appliance-1, database role rp_verifier (worker appliance-1/4242/99)".
std::string VerifiedByText(const EvidenceRun& run) {
  return "host " + OrNone(run.host) + ", database role " + OrNone(run.db_role) +
         (run.worker.empty() ? std::string() : " (worker " + run.worker + ")");
}
std::string TestsText(const EvidenceTarget& t) {
  return Num(t.tests_passed) + " passed, " + Num(t.tests_failed) + " failed, " + Num(t.tests_other) + " other";
}
std::string PersonalDataText(const EvidenceTarget& t) {
  if (!t.personal_data) return "no";
  return t.personal_data_description.empty() ? "yes" : "yes: " + t.personal_data_description;
}
std::string TargetName(const EvidenceTarget& t) { return t.pseudonymised ? t.name + " (pseudonym)" : t.name; }

// ---------------------------------------------------------------------------------------------
// HTML

// Builds the document. Markup comes only from string literals; every other text goes through
// Text, which escapes it.
class HtmlOut {
 public:
  template <size_t N>
  HtmlOut& Markup(const char (&literal)[N]) {
    out_.append(literal, N - 1);
    return *this;
  }
  HtmlOut& Text(std::string_view text) {
    out_ += HtmlEscape(text);
    return *this;
  }
  HtmlOut& Td(std::string_view text) { return Markup("<td>").Text(text).Markup("</td>"); }
  HtmlOut& TdNum(std::string_view text) { return Markup("<td class=\"n\">").Text(text).Markup("</td>"); }
  HtmlOut& TdTone(std::string_view text, Tone tone) {
    switch (tone) {
      case Tone::kGood: Markup("<td class=\"good\">"); break;
      case Tone::kWarn: Markup("<td class=\"warn\">"); break;
      case Tone::kBad: Markup("<td class=\"bad\">"); break;
      case Tone::kPlain:
      case Tone::kMuted: Markup("<td>"); break;
    }
    return Text(text).Markup("</td>");
  }
  // A row header cell.
  HtmlOut& Th(std::string_view text) { return Markup("<th scope=\"row\">").Text(text).Markup("</th>"); }
  HtmlOut& Dd(std::string_view text) { return Markup("<dd>").Text(text).Markup("</dd>"); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

constexpr char kCss[] =
    "body{font-family:\"DejaVu Sans\",system-ui,sans-serif;font-size:0.95rem;line-height:1.4;color:#111;"
    "background:#fff;margin:1.5rem auto;max-width:90rem;padding:0 1rem}"
    "h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:2px solid #444}"
    "h3{font-size:1.1rem;margin-top:1.6rem}"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.meta dt{font-weight:bold}"
    "dl.meta dd{margin:0;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}"
    "caption{text-align:left;font-weight:bold;padding:.3rem 0}"
    "th,td{border:1px solid #999;padding:.2rem .4rem;text-align:left;vertical-align:top;overflow-wrap:break-word}"
    "thead th{background:#e4e4e4}tbody tr:nth-child(even){background:#f4f4f4}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".good{color:#0b5d1e}.warn{color:#7a4a00;font-weight:bold}.bad{color:#a00;font-weight:bold}"
    ".pre{white-space:pre-line}code,.hash{font-family:\"DejaVu Sans Mono\",monospace;overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}.scroll:focus{outline:2px solid #06c}"
    "ul.files{margin:0;padding-left:1.1rem}"
    "@media print{body{max-width:none;margin:0}.scroll{overflow:visible}h2{break-after:avoid}"
    "tr{break-inside:avoid}nav{display:none}}";

void HtmlHeader(HtmlOut& h, const EvidenceReport& r, const TimeZone& zone) {
  h.Markup("<header>\n<h1>Evidence report / <span lang=\"sv\">Revisionsunderlag</span></h1>\n"
           "<p>Restore tests, drills and restorations of the period, for audit against ")
      .Markup("<span lang=\"sv\">Säker drift av IS/IT</span> §6.1.</p>\n<dl class=\"meta\">\n");
  h.Markup("<dt>Appliance / <span lang=\"sv\">Enhet</span></dt>").Dd(r.appliance).Markup("\n");
  h.Markup("<dt>restoreproof version</dt>").Dd(r.version).Markup("\n");
  h.Markup("<dt>Generated / <span lang=\"sv\">Skapad</span></dt>").Dd(Local(zone, r.generated_at)).Markup("\n");
  h.Markup("<dt>Period</dt>").Dd(PeriodText(r, zone)).Markup("\n");
  h.Markup("<dt>Targets asked for</dt>")
      .Dd(r.requested_targets.empty() ? std::string("all") : Join(r.requested_targets, ", "))
      .Markup("\n");
  h.Markup("<dt>Names / <span lang=\"sv\">Namn</span></dt>").Dd(NamesText(r)).Markup("\n");
  if (r.clear_names) {
    h.Markup("<dt>Reason for clear names / <span lang=\"sv\">Skäl</span></dt>")
        .Markup("<dd class=\"pre\">")
        .Text(OrNone(r.clear_names_reason))
        .Markup("</dd>\n");
  }
  h.Markup("<dt>Signing key / <span lang=\"sv\">Signeringsnyckel</span></dt><dd>SHA-256 <span class=\"hash\">")
      .Text(OrNone(r.key_fingerprint))
      .Markup("</span></dd>\n");
  h.Markup("<dt>Restoration log head / <span lang=\"sv\">Återläsningsloggens huvud</span></dt>"
           "<dd class=\"hash\">")
      .Text(ChainText(r))
      .Markup("</dd>\n");
  h.Markup("<dt>Contents</dt>").Dd(ContentsText(r)).Markup("\n</dl>\n</header>\n");
}

void HtmlFindings(HtmlOut& h, const EvidenceTarget& t) {
  if (t.findings.empty()) {
    h.Markup("<p>No findings / <span lang=\"sv\">Inga avvikelser</span>.</p>\n");
    return;
  }
  h.Markup("<table>\n<caption>Findings / <span lang=\"sv\">Avvikelser</span>: ")
      .Text(t.name)
      .Markup("</caption>\n<thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Rule</th>"
              "<th scope=\"col\">Message</th><th scope=\"col\">Citation</th></tr></thead>\n<tbody>\n");
  for (const auto& f : t.findings) {
    h.Markup("<tr>").TdTone(VerdictWord(f.severity), VerdictTone(f.severity)).Td(f.rule);
    h.Markup("<td class=\"pre\">").Text(f.message).Markup("</td>").Td(f.citation).Markup("</tr>\n");
  }
  h.Markup("</tbody>\n</table>\n");
}

void HtmlTargets(HtmlOut& h, const EvidenceReport& r, const TimeZone& zone) {
  h.Markup("<section id=\"targets\" aria-labelledby=\"targets-h\">\n"
           "<h2 id=\"targets-h\">Targets / <span lang=\"sv\">Objekt</span></h2>\n");
  if (r.targets.empty()) {
    h.Markup("<p>No targets.</p>\n</section>\n");
    return;
  }
  h.Markup("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"targets-c\">\n<table>\n"
           "<caption id=\"targets-c\">Each target: verdict, recovery time and restore tests in the period</caption>\n"
           "<thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Classification</th>"
           "<th scope=\"col\">Owner / <span lang=\"sv\">Ägare</span></th>"
           "<th scope=\"col\">Personal data / <span lang=\"sv\">Personuppgifter</span></th>"
           "<th scope=\"col\">Verdict</th><th scope=\"col\">RTO objective</th><th scope=\"col\">RTO measured</th>"
           "<th scope=\"col\">RTO met</th><th scope=\"col\">Tests passed</th><th scope=\"col\">Tests failed</th>"
           "<th scope=\"col\">Tests other</th><th scope=\"col\">Last passed test</th></tr></thead>\n<tbody>\n");
  for (size_t i = 0; i < r.targets.size(); ++i) {
    const auto& t = r.targets[i];
    h.Markup("<tr><th scope=\"row\"><a href=\"#target-").Text(Num(static_cast<uint64_t>(i))).Markup("\">");
    h.Text(TargetName(t)).Markup("</a></th>").Td(OrNone(t.classification)).Td(OrNone(t.owner)).Td(YesNo(t.personal_data));
    h.TdTone(VerdictWord(t.verdict), VerdictTone(t.verdict)).TdNum(Objective(t.rto_objective_s));
    h.TdNum(RtoMeasured(t));
    h.TdTone(t.rto_met ? "met" : "NOT met", t.rto_met ? Tone::kGood : Tone::kBad);
    h.TdNum(Num(t.tests_passed)).TdNum(Num(t.tests_failed)).TdNum(Num(t.tests_other));
    h.Td(Local(zone, t.last_passed_test)).Markup("</tr>\n");
  }
  h.Markup("</tbody>\n</table>\n</div>\n");

  for (size_t i = 0; i < r.targets.size(); ++i) {
    const auto& t = r.targets[i];
    h.Markup("<section aria-labelledby=\"target-").Text(Num(static_cast<uint64_t>(i))).Markup("\">\n<h3 id=\"target-");
    h.Text(Num(static_cast<uint64_t>(i))).Markup("\">").Text(TargetName(t)).Markup("</h3>\n<dl class=\"meta\">\n");
    h.Markup("<dt>Classification / <span lang=\"sv\">Klassning</span></dt>").Dd(OrNone(t.classification));
    h.Markup("\n<dt>Owner / <span lang=\"sv\">Ägare</span></dt>").Dd(OrNone(t.owner));
    h.Markup("\n<dt>Personal data / <span lang=\"sv\">Personuppgifter</span></dt><dd class=\"pre\">")
        .Text(PersonalDataText(t))
        .Markup("</dd>");
    h.Markup("\n<dt>Locations / <span lang=\"sv\">Lagringsplatser</span></dt><dd>");
    if (t.locations.empty()) h.Text(kNone);
    else {
      h.Markup("<ul class=\"files\">");
      for (const auto& l : t.locations) h.Markup("<li>").Text(l).Markup("</li>");
      h.Markup("</ul>");
    }
    h.Markup("</dd>\n<dt>Verdict / <span lang=\"sv\">Bedömning</span></dt>");
    switch (VerdictTone(t.verdict)) {
      case Tone::kGood: h.Markup("<dd class=\"good\">"); break;
      case Tone::kWarn: h.Markup("<dd class=\"warn\">"); break;
      case Tone::kBad: h.Markup("<dd class=\"bad\">"); break;
      default: h.Markup("<dd>"); break;
    }
    h.Text(VerdictWord(t.verdict)).Markup("</dd>\n");
    h.Markup("<dt>Recovery time (RTO) / <span lang=\"sv\">Återställningstid</span></dt>").Dd(RtoText(t));
    h.Markup("\n<dt>Restore tests / <span lang=\"sv\">Återläsningstester</span></dt>").Dd(TestsText(t));
    h.Markup("\n<dt>Last passed test</dt>").Dd(Local(zone, t.last_passed_test)).Markup("\n</dl>\n");
    HtmlFindings(h, t);
    h.Markup("</section>\n");
  }
  h.Markup("</section>\n");
}

void HtmlRuns(HtmlOut& h, const EvidenceReport& r, const TimeZone& zone) {
  h.Markup("<section id=\"runs\" aria-labelledby=\"runs-h\">\n"
           "<h2 id=\"runs-h\">Runs / <span lang=\"sv\">Körningar</span></h2>\n");
  if (r.runs.empty()) {
    h.Markup("<p>No runs in the period.</p>\n</section>\n");
    return;
  }
  h.Markup("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"runs-c\">\n<table>\n"
           "<caption id=\"runs-c\">Every restore test and drill run in the period, oldest first (")
      .Text(RunSummary(r))
      .Markup(")</caption>\n<thead><tr><th scope=\"col\">Run</th><th scope=\"col\">Target</th>"
              "<th scope=\"col\">Kind</th><th scope=\"col\">State</th><th scope=\"col\">Queued</th>"
              "<th scope=\"col\">Started</th><th scope=\"col\">Finished</th><th scope=\"col\">Point</th>"
              "<th scope=\"col\">Location</th><th scope=\"col\">Files</th><th scope=\"col\">Bytes</th>"
              "<th scope=\"col\">Duration</th><th scope=\"col\">Sample</th><th scope=\"col\">Failing findings</th>"
              "<th scope=\"col\">Isolation</th><th scope=\"col\">Verified by</th><th scope=\"col\">Clock</th>"
              "<th scope=\"col\">Within RTO</th><th scope=\"col\">Citation</th></tr></thead>\n<tbody>\n");
  for (const auto& run : r.runs) {
    h.Markup("<tr>").Th(Num(run.id)).Td(run.target).Td(KindText(run)).TdTone(run.state, StateTone(run.state));
    h.Td(Local(zone, run.queued_at)).Td(Local(zone, run.started_at)).Td(Local(zone, run.finished_at));
    h.Markup("<td class=\"hash\">").Text(OrNone(run.point_id)).Markup("</td>").Td(OrNone(run.location));
    h.TdNum(Num(run.files)).TdNum(Bytes(run.bytes)).TdNum(RunDurationText(run)).Td(SampleText(run));
    h.Markup("<td class=\"pre\">").Text(Num(run.failing_findings));
    if (!run.message.empty()) h.Text(": ").Text(run.message);
    h.Markup("</td>").Td(OrNone(run.isolation)).Td(VerifiedByText(run));
    h.TdTone(ClockText(run), !run.clock_known ? Tone::kPlain : run.clock_synchronised ? Tone::kGood : Tone::kBad);
    h.TdTone(YesNo(run.within_rto) + " (objective " + Objective(run.rto_objective_s) + ")",
             run.within_rto ? Tone::kGood : Tone::kBad);
    h.Td(OrNone(run.citation)).Markup("</tr>\n");
  }
  h.Markup("</tbody>\n</table>\n</div>\n</section>\n");
}

void HtmlDrills(HtmlOut& h, const EvidenceReport& r, const TimeZone& zone) {
  h.Markup("<section id=\"drills\" aria-labelledby=\"drills-h\">\n"
           "<h2 id=\"drills-h\">Drills / <span lang=\"sv\">Övningar</span></h2>\n");
  if (r.drills.empty()) h.Markup("<p>No drills in the period.</p>\n");
  for (const auto& d : r.drills) {
    h.Markup("<h3>Drill ").Text(Num(d.id)).Text(": ").Text(d.name).Markup("</h3>\n<dl class=\"meta\">\n");
    h.Markup("<dt>Trigger</dt>").Dd(OrNone(d.trigger));
    h.Markup("\n<dt>Responsible / <span lang=\"sv\">Ansvarig</span></dt>").Dd(OrNone(d.responsible));
    h.Markup("\n<dt>Started</dt>").Dd(Local(zone, d.started_at));
    h.Markup("\n<dt>Finished</dt>").Dd(Local(zone, d.finished_at));
    h.Markup("\n<dt>Result / <span lang=\"sv\">Resultat</span></dt>");
    if (d.passed) h.Markup("<dd class=\"good\">passed</dd>\n</dl>\n");
    else h.Markup("<dd class=\"bad\">FAILED</dd>\n</dl>\n");
    if (d.targets.empty()) {
      h.Markup("<p>No targets in this drill.</p>\n");
      continue;
    }
    h.Markup("<table>\n<caption>Drill ").Text(Num(d.id)).Markup(": each target's restore and recovery time</caption>\n"
             "<thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Run</th><th scope=\"col\">State</th>"
             "<th scope=\"col\">Measured</th><th scope=\"col\">Objective</th><th scope=\"col\">RTO met</th>"
             "</tr></thead>\n<tbody>\n");
    for (const auto& t : d.targets) {
      h.Markup("<tr>").Th(t.target).TdNum(Num(t.run_id)).TdTone(t.state, StateTone(t.state));
      h.TdNum(Duration(t.measured_s)).TdNum(Objective(t.objective_s));
      h.TdTone(t.met ? "met" : "NOT met", t.met ? Tone::kGood : Tone::kBad).Markup("</tr>\n");
    }
    h.Markup("</tbody>\n</table>\n");
  }
  h.Markup("</section>\n");
}

void HtmlRestorations(HtmlOut& h, const EvidenceReport& r, const TimeZone& zone) {
  h.Markup("<section id=\"restorations\" aria-labelledby=\"restorations-h\">\n"
           "<h2 id=\"restorations-h\">Restorations / <span lang=\"sv\">Återläsningar</span></h2>\n"
           "<p>Real restores recorded in the restoration log in the period.</p>\n");
  if (r.restorations.empty()) {
    h.Markup("<p>No restorations in the period.</p>\n</section>\n");
    return;
  }
  h.Markup("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"restorations-c\">\n<table>\n"
           "<caption id=\"restorations-c\">Restorations: who, what personal data, why, and whether the data "
           "restored is correct</caption>\n"
           "<thead><tr><th scope=\"col\">Log record</th><th scope=\"col\">Time</th><th scope=\"col\">Target</th>"
           "<th scope=\"col\">Point</th><th scope=\"col\">Location</th>"
           "<th scope=\"col\">Responsible / <span lang=\"sv\">Ansvarig</span></th>"
           "<th scope=\"col\">Personal data / <span lang=\"sv\">Personuppgifter</span></th>"
           "<th scope=\"col\">Reason / <span lang=\"sv\">Skäl</span></th><th scope=\"col\">Result</th>"
           "<th scope=\"col\">Files</th><th scope=\"col\">Bytes</th>"
           "<th scope=\"col\">Correctness / <span lang=\"sv\">Riktighet</span></th>"
           "<th scope=\"col\">Files to correct / <span lang=\"sv\">Filer att rätta</span></th>"
           "</tr></thead>\n<tbody>\n");
  for (const auto& x : r.restorations) {
    h.Markup("<tr>").Th(Num(x.seq)).Td(Local(zone, x.time)).Td(x.target);
    h.Markup("<td class=\"hash\">").Text(OrNone(x.point)).Markup("</td>").Td(OrNone(x.location));
    h.Td(OrNone(x.responsible)).Markup("<td class=\"pre\">").Text(OrNone(x.personal_data)).Markup("</td>");
    h.Markup("<td class=\"pre\">").Text(OrNone(x.reason)).Markup("</td>").Td(OrNone(x.result));
    h.TdNum(Num(x.files)).TdNum(Bytes(x.bytes));
    h.TdTone(x.correctness, x.correctness == "correct" ? Tone::kGood : x.correctness == "incorrect" ? Tone::kBad : Tone::kPlain);
    h.Markup("<td>");
    if (x.failed_files.empty()) h.Text("none");
    else {
      h.Text(Num(static_cast<uint64_t>(x.failed_files.size()))).Markup(":<ul class=\"files\">");
      for (const auto& f : x.failed_files) h.Markup("<li><code>").Text(f).Markup("</code></li>");
      h.Markup("</ul>");
    }
    h.Markup("</td></tr>\n");
  }
  h.Markup("</tbody>\n</table>\n</div>\n</section>\n");
}

// ---------------------------------------------------------------------------------------------
// PDF

struct HpdfErrors {
  HPDF_STATUS error = HPDF_OK, detail = 0;
};
void OnHpdfError(HPDF_STATUS error, HPDF_STATUS detail, void* user) {
  auto* e = static_cast<HpdfErrors*>(user);
  if (e->error == HPDF_OK) *e = {error, detail};  // the first error is the cause
}
std::string HpdfErrorText(const HpdfErrors& e) {
  std::string s = Printf("libharu error 0x%04X, detail %u", static_cast<unsigned>(e.error), static_cast<unsigned>(e.detail));
  if (e.error == HPDF_FAILD_TO_ALLOC_MEM) s += " (out of memory)";
  return s;
}

struct DocFree {
  void operator()(HPDF_Doc d) const { HPDF_Free(d); }
};

struct PdfColumn {
  const char* title;
  float width;
  bool right = false;
};
struct PdfCell {
  std::string text;
  Tone tone = Tone::kPlain;
};

// A landscape A4 document with one embedded font, a cursor that moves down the page, and a new
// page whenever the cursor would pass the bottom margin. After the first libharu error every call
// does nothing; Save reports it.
class Pdf {
 public:
  static constexpr float kPageW = 841.89f, kPageH = 595.28f;
  static constexpr float kLeft = 36, kRight = 36, kTop = 34, kBottom = 40;
  static constexpr float kContentW = kPageW - kLeft - kRight;

  Status Open(const std::string& font_path, const EvidenceReport& r) {
    doc_.reset(HPDF_New(OnHpdfError, &errors_));
    if (!doc_) return Status::Environment("evidence PDF: libharu could not start (out of memory)");
    HPDF_SetCompressionMode(doc_.get(), HPDF_COMP_ALL);
    // Set while no encoder is current, so that libharu writes them as plain PDF strings.
    HPDF_SetInfoAttr(doc_.get(), HPDF_INFO_TITLE, "restoreproof evidence report");
    HPDF_SetInfoAttr(doc_.get(), HPDF_INFO_CREATOR, "restoreproof");
    if (r.generated_at != 0) {
      const auto [day, sod] = UtcDay(r.generated_at);
      HPDF_Date d{};
      d.year = day.year();
      d.month = static_cast<HPDF_INT>(day.month());
      d.day = static_cast<HPDF_INT>(day.day());
      d.hour = sod / 3600;
      d.minutes = sod / 60 % 60;
      d.seconds = sod % 60;
      d.ind = 'Z';
      if (d.year >= 1 && d.year <= 9999) HPDF_SetInfoDateAttr(doc_.get(), HPDF_INFO_CREATION_DATE, d);
    }
    HPDF_UseUTFEncodings(doc_.get());
    HPDF_SetCurrentEncoder(doc_.get(), "UTF-8");
    if (failed()) return Status::Environment("evidence PDF: libharu has no UTF-8 encoder: " + HpdfErrorText(errors_));
    const char* name = HPDF_LoadTTFontFromFile(doc_.get(), font_path.c_str(), HPDF_TRUE);
    if (!name || failed()) {
      std::string why = errors_.error == HPDF_FILE_OPEN_ERROR ? std::strerror(static_cast<int>(errors_.detail))
                                                               : "not a TrueType font libharu can embed (" + HpdfErrorText(errors_) + ")";
      return Status::Environment("evidence PDF: cannot load the font " + font_path + ": " + why +
                                 "; install Debian's fonts-dejavu-core");
    }
    font_ = HPDF_GetFont(doc_.get(), name, "UTF-8");
    if (!font_ || failed()) return Status::Environment("evidence PDF: cannot use the font " + font_path + ": " + HpdfErrorText(errors_));
    space_ = Units(" ");
    return Status::Ok();
  }

  bool failed() const { return errors_.error != HPDF_OK; }
  bool Fits(float h) const { return page_ != nullptr && y_ - h >= kBottom; }
  void Ensure(float h) {
    if (!Fits(h)) NewPage();
  }
  void Space(float h) {
    if (Fits(h)) y_ -= h;
  }

  void NewPage() {
    if (failed()) return;
    page_ = HPDF_AddPage(doc_.get());
    if (!page_) return;
    HPDF_Page_SetSize(page_, HPDF_PAGE_SIZE_A4, HPDF_PAGE_LANDSCAPE);
    pages_.push_back(page_);
    y_ = kPageH - kTop;
    size_ = 0;
    tone_ = std::nullopt;
  }

  // Width of `text` at `size` points.
  float Width(std::string_view text, float size) const { return static_cast<float>(Units(text)) * size / 1000.0f; }

  // `text` shortened with an ellipsis to fit `width`.
  std::string Fit(std::string_view text, float width, float size) const {
    std::string clean = CleanText(text, false);
    if (Width(clean, size) <= width) return clean;
    const float room = width - Width("…", size);
    const size_t keep = room <= 0 ? 0 : PrefixFitting(clean, static_cast<uint64_t>(room * 1000.0f / size));
    return clean.substr(0, keep) + "…";
  }

  // `text` broken into lines of at most `width`: at spaces, at line breaks, and inside a word
  // only when the word alone is too wide.
  std::vector<std::string> Wrap(std::string_view text, float width, float size) const {
    std::vector<std::string> lines;
    const std::string clean = CleanText(text, true);
    const auto limit = static_cast<uint64_t>(width * 1000.0f / size);
    size_t start = 0;
    while (start <= clean.size()) {
      size_t end = clean.find('\n', start);
      if (end == std::string::npos) end = clean.size();
      std::string para = clean.substr(start, end - start);
      for (char& c : para) c = (c == '\t' || c == '\r') ? ' ' : c;
      WrapParagraph(para, limit, &lines);
      start = end + 1;
    }
    return lines;
  }

  // Text at a position; one text object per call.
  void Show(float x, float baseline, std::string_view text, float size, Tone tone = Tone::kPlain) {
    if (failed() || !page_) return;
    HPDF_Page_BeginText(page_);
    Put(x, baseline, text, size, tone);
    HPDF_Page_EndText(page_);
  }

  void Title(std::string_view text) { Line(text, 16, Tone::kPlain, 6); }
  void Heading(std::string_view text) {
    Ensure(13 * 1.4f + 4 * 11);  // not alone at the bottom of a page
    Space(6);
    Line(text, 13, Tone::kPlain, 3);
    Rule();
  }
  void Subheading(std::string_view text, Tone tone = Tone::kPlain) {
    Ensure(10 * 1.4f + 3 * 11);
    Space(4);
    Line(text, 10, tone, 1);
  }
  void Paragraph(std::string_view text, float size = 8.5f, Tone tone = Tone::kMuted) { Line(text, size, tone, 0); }
  // A label and its value, the value wrapped in the column to the label's right.
  void Field(std::string_view label, std::string_view value, Tone tone = Tone::kPlain) {
    constexpr float kSize = 8.5f, kLabelW = 190;
    const auto lines = Wrap(value.empty() ? kNone : value, kContentW - kLabelW, kSize);
    for (size_t i = 0; i < lines.size(); ++i) {
      Ensure(kSize * 1.35f);
      if (failed()) return;
      const float base = y_ - kSize;
      HPDF_Page_BeginText(page_);
      if (i == 0) Put(kLeft, base, Fit(label, kLabelW - 6, kSize), kSize, Tone::kMuted);
      Put(kLeft + kLabelW, base, lines[i], kSize, tone);
      HPDF_Page_EndText(page_);
      y_ -= kSize * 1.35f;
    }
  }

  // One table row (or the header, shaded darker); cells fitted into their columns.
  void Row(const std::vector<PdfColumn>& cols, const std::vector<PdfCell>& cells, float size, float shade) {
    const float h = size * 1.4f;
    Ensure(h);
    if (failed()) return;
    if (shade < 1.0f) {
      HPDF_Page_SetGrayFill(page_, shade);
      HPDF_Page_Rectangle(page_, kLeft, y_ - h, kContentW, h);
      HPDF_Page_Fill(page_);
      tone_ = std::nullopt;
    }
    const float base = y_ - h + size * 0.4f;
    HPDF_Page_BeginText(page_);
    float x = kLeft;
    for (size_t i = 0; i < cols.size() && i < cells.size(); ++i) {
      const std::string text = Fit(cells[i].text, cols[i].width - 5, size);
      const float tx = cols[i].right ? x + cols[i].width - 3 - Width(text, size) : x + 2;
      Put(tx, base, text, size, cells[i].tone);
      x += cols[i].width;
    }
    HPDF_Page_EndText(page_);
    y_ -= h;
  }

  // A note under a table row, from column `indent`'s left edge to the right margin.
  void RowNote(float indent, std::string_view text, float size, Tone tone) {
    const float h = size * 1.35f;
    Ensure(h);
    Show(kLeft + indent, y_ - size, Fit(text, kContentW - indent - 4, size), size, tone);
    y_ -= h;
  }

  // "page N of M" and a line naming the report on every page.
  void Footers(std::string_view left) {
    const auto n = static_cast<uint64_t>(pages_.size());
    const std::string fitted = Fit(left, kContentW - 150, 7);
    for (uint64_t i = 0; i < n && !failed(); ++i) {
      page_ = pages_[i];
      size_ = 0;
      tone_ = std::nullopt;
      const std::string num = "page " + Num(i + 1) + " of " + Num(n) + " / sida " + Num(i + 1) + " av " + Num(n);
      HPDF_Page_BeginText(page_);
      Put(kLeft, 20, fitted, 7, Tone::kMuted);
      Put(kPageW - kRight - Width(num, 7), 20, num, 7, Tone::kMuted);
      HPDF_Page_EndText(page_);
    }
  }

  Status Save(std::string* out) {
    if (failed()) return Status::Environment("evidence PDF: " + HpdfErrorText(errors_));
    if (HPDF_SaveToStream(doc_.get()) != HPDF_OK || failed())
      return Status::Environment("evidence PDF: cannot write the document: " + HpdfErrorText(errors_));
    const HPDF_UINT32 size = HPDF_GetStreamSize(doc_.get());
    out->assign(size, '\0');
    HPDF_UINT32 got = size;
    if (size > 0) HPDF_ReadFromStream(doc_.get(), reinterpret_cast<HPDF_BYTE*>(out->data()), &got);
    // libharu reports reaching the end of its stream as an error; only a short read counts.
    if (got != size || (failed() && errors_.error != HPDF_STREAM_EOF)) {
      out->clear();
      return Status::Environment("evidence PDF: cannot read the document back: " + HpdfErrorText(errors_));
    }
    return Status::Ok();
  }

 private:
  // Width in 1/1000 of the font size. libharu measures at most HPDF_LIMIT_MAX_STRING_LEN bytes at
  // a time; glyph widths add up, so a longer text is measured in pieces cut between code points.
  uint64_t Units(std::string_view text) const {
    if (!font_) return 0;
    uint64_t units = 0;
    while (!text.empty()) {
      size_t n = std::min<size_t>(text.size(), HPDF_LIMIT_MAX_STRING_LEN);
      while (n < text.size() && n > 1 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
      units += HPDF_Font_TextWidth(font_, reinterpret_cast<const HPDF_BYTE*>(text.data()), static_cast<HPDF_UINT>(n)).width;
      text.remove_prefix(n);
    }
    return units;
  }

  static size_t CodePointLength(std::string_view s) {
    size_t n = s.empty() ? 0 : 1;
    while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) ++n;
    return n;
  }

  // The length of the longest prefix of `s` that ends between code points and is at most `limit`
  // wide (in 1/1000 of the font size): a binary search among the first code points, as many as
  // could fit if each were as narrow as DejaVu's narrowest visible glyph, so that breaking a long
  // text into lines stays linear in its length.
  size_t PrefixFitting(std::string_view s, uint64_t limit) const {
    constexpr uint64_t kNarrowest = 250;  // 'i', 'l' and ' ' are wider
    const uint64_t most = limit / kNarrowest + 1;
    std::vector<size_t> ends;  // where each of those code points ends
    for (size_t i = 0; i < s.size() && ends.size() < most; ++i) {
      if (i + 1 == s.size() || (static_cast<unsigned char>(s[i + 1]) & 0xc0) != 0x80) ends.push_back(i + 1);
    }
    size_t lo = 0, hi = ends.size();  // prefixes of ends[0..lo) code points fit; more than hi do not
    while (lo < hi) {
      const size_t mid = (lo + hi + 1) / 2;
      if (Units(s.substr(0, ends[mid - 1])) <= limit) lo = mid;
      else hi = mid - 1;
    }
    return lo == 0 ? 0 : ends[lo - 1];
  }

  void WrapParagraph(const std::string& para, uint64_t limit, std::vector<std::string>* lines) const {
    std::string line;
    uint64_t line_w = 0;
    size_t i = 0;
    bool any = false;
    while (i < para.size()) {
      if (para[i] == ' ') {
        ++i;
        continue;
      }
      size_t j = para.find(' ', i);
      if (j == std::string::npos) j = para.size();
      std::string_view word = std::string_view(para).substr(i, j - i);
      i = j;
      uint64_t w = Units(word);
      if (!line.empty() && line_w + space_ + w <= limit) {
        line += ' ';
        line += word;
        line_w += space_ + w;
        continue;
      }
      if (!line.empty()) {
        lines->push_back(std::move(line));
        any = true;
      }
      line.clear();
      line_w = 0;
      if (w > limit) {  // a word wider than the line: break it between code points
        for (size_t cut = PrefixFitting(word, limit); cut < word.size(); cut = PrefixFitting(word, limit)) {
          cut = std::max(cut, CodePointLength(word));
          lines->push_back(std::string(word.substr(0, cut)));
          any = true;
          word = word.substr(cut);
        }
        w = Units(word);
      }
      line = std::string(word);
      line_w = w;
    }
    if (!line.empty() || !any) lines->push_back(std::move(line));
  }

  void Put(float x, float baseline, std::string_view text, float size, Tone tone) {
    if (size != size_) {
      HPDF_Page_SetFontAndSize(page_, font_, size);
      size_ = size;
    }
    if (tone_ != tone) {
      switch (tone) {
        case Tone::kPlain: HPDF_Page_SetRGBFill(page_, 0, 0, 0); break;
        case Tone::kGood: HPDF_Page_SetRGBFill(page_, 0.04f, 0.36f, 0.12f); break;
        case Tone::kWarn: HPDF_Page_SetRGBFill(page_, 0.50f, 0.30f, 0); break;
        case Tone::kBad: HPDF_Page_SetRGBFill(page_, 0.68f, 0, 0); break;
        case Tone::kMuted: HPDF_Page_SetRGBFill(page_, 0.30f, 0.30f, 0.30f); break;
      }
      tone_ = tone;
    }
    if (text.empty()) return;
    const std::string z(text);  // libharu wants a terminated string
    HPDF_Page_TextOut(page_, x, baseline, z.c_str());
  }

  void Line(std::string_view text, float size, Tone tone, float after) {
    const auto lines = Wrap(text, kContentW, size);
    for (const auto& l : lines) {
      Ensure(size * 1.4f);
      Show(kLeft, y_ - size, l, size, tone);
      y_ -= size * 1.4f;
    }
    Space(after);
  }

  void Rule() {
    if (failed() || !page_) return;
    HPDF_Page_SetLineWidth(page_, 0.8f);
    HPDF_Page_SetGrayStroke(page_, 0.3f);
    HPDF_Page_MoveTo(page_, kLeft, y_ + 1);
    HPDF_Page_LineTo(page_, kPageW - kRight, y_ + 1);
    HPDF_Page_Stroke(page_);
    Space(5);
  }

  HpdfErrors errors_;
  std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, DocFree> doc_;
  HPDF_Font font_ = nullptr;
  HPDF_Page page_ = nullptr;
  std::vector<HPDF_Page> pages_;
  float y_ = 0;
  float size_ = 0;
  std::optional<Tone> tone_;
  uint64_t space_ = 0;
};

// A table whose header repeats, under "title (continued)", at the top of each further page.
class PdfTable {
 public:
  PdfTable(Pdf& pdf, std::string title, std::vector<PdfColumn> cols, float size)
      : pdf_(pdf), title_(std::move(title)), cols_(std::move(cols)), size_(size) {
    pdf_.Ensure(size_ * 1.4f * 3);
    Header();
  }
  // A row, and optionally a note on a line of its own under it (kept on the same page).
  void Row(const std::vector<PdfCell>& cells, std::string_view note = {}, Tone note_tone = Tone::kBad) {
    const float need = size_ * 1.4f + (note.empty() ? 0 : size_ * 1.35f);
    if (!pdf_.Fits(need)) {
      pdf_.NewPage();
      pdf_.Subheading(title_ + " (continued)");
      Header();
    }
    pdf_.Row(cols_, cells, size_, (rows_++ % 2) ? 0.94f : 1.0f);
    if (!note.empty()) pdf_.RowNote(cols_.front().width + 2, note, size_ - 0.5f, note_tone);
  }

 private:
  void Header() {
    std::vector<PdfCell> titles;
    titles.reserve(cols_.size());
    for (const auto& c : cols_) titles.push_back({c.title, Tone::kPlain});
    pdf_.Row(cols_, titles, size_, 0.82f);
  }

  Pdf& pdf_;
  std::string title_;
  std::vector<PdfColumn> cols_;
  float size_;
  uint64_t rows_ = 0;
};

void PdfHeader(Pdf& pdf, const EvidenceReport& r, const TimeZone& zone) {
  pdf.Title("Evidence report / Revisionsunderlag");
  pdf.Paragraph("Restore tests, drills and restorations of the period, for audit against Säker drift av "
                "IS/IT §6.1. Times are local (" + zone.name() + ") with their UTC offset.");
  pdf.Space(6);
  pdf.Field("Appliance / Enhet", r.appliance);
  pdf.Field("restoreproof version", r.version);
  pdf.Field("Generated / Skapad", Local(zone, r.generated_at));
  pdf.Field("Period", PeriodText(r, zone));
  pdf.Field("Targets asked for", r.requested_targets.empty() ? std::string("all") : Join(r.requested_targets, ", "));
  pdf.Field("Names / Namn", NamesText(r), r.clear_names ? Tone::kWarn : Tone::kPlain);
  if (r.clear_names) pdf.Field("Reason for clear names / Skäl", OrNone(r.clear_names_reason));
  pdf.Field("Signing key / Signeringsnyckel", "SHA-256 " + OrNone(r.key_fingerprint));
  pdf.Field("Restoration log head / Loggens huvud", ChainText(r));
  pdf.Field("Contents", ContentsText(r));
}

void PdfTargets(Pdf& pdf, const EvidenceReport& r, const TimeZone& zone) {
  pdf.Heading("Targets / Objekt");
  if (r.targets.empty()) {
    pdf.Paragraph("No targets.");
    return;
  }
  {
    PdfTable table(pdf, "Targets / Objekt",
                   {{"Target", 140}, {"Classification", 56}, {"Owner / Ägare", 104}, {"Pers. data", 44},
                    {"Verdict", 50}, {"RTO objective", 58, true}, {"Measured", 58, true}, {"RTO met", 40},
                    {"Passed", 34, true}, {"Failed", 34, true}, {"Other", 34, true}, {"Last passed test", 117.89f}},
                   7.5f);
    for (const auto& t : r.targets) {
      table.Row({{TargetName(t)},
                 {t.classification},
                 {t.owner},
                 {YesNo(t.personal_data)},
                 {VerdictWord(t.verdict), VerdictTone(t.verdict)},
                 {Objective(t.rto_objective_s)},
                 {RtoMeasured(t)},
                 {t.rto_met ? "met" : "NOT met", t.rto_met ? Tone::kGood : Tone::kBad},
                 {Num(t.tests_passed)},
                 {Num(t.tests_failed), t.tests_failed ? Tone::kBad : Tone::kPlain},
                 {Num(t.tests_other)},
                 {Local(zone, t.last_passed_test)}});
    }
  }
  for (const auto& t : r.targets) {
    pdf.Subheading("Target: " + TargetName(t));
    pdf.Field("Classification / Klassning", OrNone(t.classification));
    pdf.Field("Owner / Ägare", OrNone(t.owner));
    pdf.Field("Personal data / Personuppgifter", PersonalDataText(t));
    pdf.Field("Locations / Lagringsplatser", t.locations.empty() ? std::string(kNone) : Join(t.locations, "\n"));
    pdf.Field("Verdict / Bedömning", VerdictWord(t.verdict), VerdictTone(t.verdict));
    pdf.Field("Recovery time / Återställningstid", RtoText(t), t.rto_met ? Tone::kPlain : Tone::kBad);
    pdf.Field("Restore tests / Återläsningstester", TestsText(t));
    pdf.Field("Last passed test", Local(zone, t.last_passed_test));
    if (t.findings.empty()) {
      pdf.Field("Findings / Avvikelser", "none");
      continue;
    }
    std::string findings;
    for (const auto& f : t.findings) {
      if (!findings.empty()) findings += '\n';
      findings += VerdictWord(f.severity) + " [" + f.rule + "] " + CleanText(f.message, false) + " — " + f.citation;
    }
    pdf.Field("Findings / Avvikelser", findings);
  }
}

// Values that most runs share (isolation, citation) as short keys with a legend, so that the run
// table keeps one line per run without losing them.
class Legend {
 public:
  explicit Legend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string Key(const std::string& value) {
    if (value.empty()) return std::string(kNone);
    auto [it, added] = keys_.try_emplace(value, values_.size() + 1);
    if (added) values_.push_back(value);
    return prefix_ + Num(static_cast<uint64_t>(it->second));
  }
  void Print(Pdf& pdf, std::string_view label) const {
    std::string text;
    for (size_t i = 0; i < values_.size(); ++i) {
      if (i) text += '\n';
      text += prefix_ + Num(static_cast<uint64_t>(i + 1)) + " = " + values_[i];
    }
    pdf.Field(label, text.empty() ? std::string(kNone) : text);
  }

 private:
  std::string prefix_;
  std::unordered_map<std::string, uint64_t> keys_;
  std::vector<std::string> values_;
};

void PdfRuns(Pdf& pdf, const EvidenceReport& r, const TimeZone& zone) {
  pdf.Heading("Runs / Körningar");
  if (r.runs.empty()) {
    pdf.Paragraph("No runs in the period.");
    return;
  }
  Legend isolation("I"), citation("C"), verifier("V");
  for (const auto& run : r.runs) {
    isolation.Key(run.isolation);
    citation.Key(run.citation);
    verifier.Key(VerifiedByText(run));
  }
  pdf.Paragraph(RunSummary(r) + ", oldest first, one line each; under a run that did not pass, why, and under a "
                "run that restored a sample, its slice and seed and the whole point's predicted time. Long values "
                "are shortened with …; the HTML report and the runs CSV hold every value in full, with "
                "the queued and finished times and the worker.");
  pdf.Space(3);
  isolation.Print(pdf, "Isolation (Iso)");
  verifier.Print(pdf, "Verified by (By) / Verifierad av");
  citation.Print(pdf, "Rules cited (Rule) / Regler");
  pdf.Space(4);
  PdfTable table(pdf, "Runs / Körningar",
                 {{"Run", 34, true}, {"Target", 98.89f}, {"Kind", 58}, {"State", 46}, {"Started", 94},
                  {"Duration", 50, true}, {"Point", 66}, {"Location", 58}, {"Files", 36, true},
                  {"Bytes", 44, true}, {"Fail", 20, true}, {"RTO", 28}, {"Clock", 82}, {"Iso", 17},
                  {"By", 17}, {"Rule", 21}},
                 7);
  for (const auto& run : r.runs) {
    const bool failed_note = run.state != "passed" && !run.message.empty();
    std::string note_text = failed_note ? run.message : std::string();
    if (run.sample_slices > 0) {
      if (!note_text.empty()) note_text += " — ";
      note_text += "sample " + SampleText(run) + "; whole point " +
                   (run.predicted_full_s > 0 ? Duration(run.predicted_full_s) + " (predicted)" : std::string(kNone));
    }
    table.Row({{Num(run.id)},
               {run.target},
               {KindText(run)},
               {run.state, StateTone(run.state)},
               {Local(zone, run.started_at)},
               {Duration(run.duration_s)},
               {run.point_id},
               {run.location},
               {Num(run.files)},
               {Bytes(run.bytes)},
               {Num(run.failing_findings), run.failing_findings ? Tone::kBad : Tone::kPlain},
               {YesNo(run.within_rto), run.within_rto ? Tone::kGood : Tone::kBad},
               {ClockShort(run), !run.clock_known ? Tone::kPlain : run.clock_synchronised ? Tone::kGood : Tone::kBad},
               {isolation.Key(run.isolation)},
               {verifier.Key(VerifiedByText(run))},
               {citation.Key(run.citation)}},
              note_text, failed_note ? Tone::kBad : Tone::kPlain);
  }
}

void PdfDrills(Pdf& pdf, const EvidenceReport& r, const TimeZone& zone) {
  pdf.Heading("Drills / Övningar");
  if (r.drills.empty()) pdf.Paragraph("No drills in the period.");
  for (const auto& d : r.drills) {
    pdf.Subheading("Drill " + Num(d.id) + ": " + d.name + ": " + (d.passed ? "passed" : "FAILED"),
                   d.passed ? Tone::kPlain : Tone::kBad);
    pdf.Field("Trigger", OrNone(d.trigger));
    pdf.Field("Responsible / Ansvarig", OrNone(d.responsible));
    pdf.Field("Started, finished", Local(zone, d.started_at) + " – " + Local(zone, d.finished_at));
    if (d.targets.empty()) {
      pdf.Paragraph("No targets in this drill.");
      continue;
    }
    PdfTable table(pdf, "Drill " + Num(d.id),
                   {{"Target", 260}, {"Run", 60, true}, {"State", 70}, {"Measured", 80, true}, {"Objective", 80, true},
                    {"RTO met", 60}},
                   7.5f);
    for (const auto& t : d.targets) {
      table.Row({{t.target},
                 {Num(t.run_id)},
                 {t.state, StateTone(t.state)},
                 {Duration(t.measured_s)},
                 {Objective(t.objective_s)},
                 {t.met ? "met" : "NOT met", t.met ? Tone::kGood : Tone::kBad}});
    }
  }
}

void PdfRestorations(Pdf& pdf, const EvidenceReport& r, const TimeZone& zone) {
  pdf.Heading("Restorations / Återläsningar");
  pdf.Paragraph("Real restores recorded in the restoration log in the period.");
  if (r.restorations.empty()) pdf.Paragraph("No restorations in the period.");
  for (const auto& x : r.restorations) {
    pdf.Subheading("Restoration, log record " + Num(x.seq) + ": " + x.target + ", " + Local(zone, x.time));
    pdf.Field("Point, location", OrNone(x.point) + " from " + OrNone(x.location));
    pdf.Field("Responsible / Ansvarig", OrNone(x.responsible));
    pdf.Field("Personal data / Personuppgifter", OrNone(x.personal_data));
    pdf.Field("Reason / Skäl", OrNone(x.reason));
    pdf.Field("Result / Resultat", OrNone(x.result));
    pdf.Field("Files, bytes", Counted(x.files, "file") + ", " + Bytes(x.bytes));
    pdf.Field("Correctness / Riktighet", OrNone(x.correctness),
              x.correctness == "correct" ? Tone::kGood : x.correctness == "incorrect" ? Tone::kBad : Tone::kPlain);
    std::string files;
    for (const auto& f : x.failed_files) {
      if (!files.empty()) files += '\n';
      files += "• " + CleanText(f, false);
    }
    pdf.Field("Files to correct / Filer att rätta",
              files.empty() ? std::string("none") : Counted(x.failed_files.size(), "file") + ":\n" + files,
              files.empty() ? Tone::kPlain : Tone::kBad);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

// RFC 4180 with CRLF line ends. A text cell that a spreadsheet would read as a formula (it begins
// with = + - @, a tab or a CR) gets a leading apostrophe; the numbers and times written here
// never begin with one.
class CsvOut {
 public:
  void Text(std::string_view raw) {
    std::string v = CleanText(raw, true);
    if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r'))
      v.insert(v.begin(), '\'');
    Sep();
    if (v.find_first_of(",\"\r\n") == std::string::npos) {
      out_ += v;
      return;
    }
    out_ += '"';
    for (char c : v) {
      if (c == '"') out_ += '"';
      out_ += c;
    }
    out_ += '"';
  }
  void Plain(std::string_view v) {  // a value written here: a number, a time, a boolean
    Sep();
    out_ += v;
  }
  void Int(int64_t v) { Plain(Num(v)); }
  void Uint(uint64_t v) { Plain(Num(v)); }
  void Time(int64_t t) { Plain(IsoUtc(t)); }
  void Bool(bool b) { Plain(b ? "true" : "false"); }
  void Double(double v) { Plain(Real(v)); }
  void Header(std::initializer_list<const char*> names) {
    for (const char* n : names) Plain(n);
    End();
  }
  void End() {
    out_ += "\r\n";
    first_ = true;
  }
  std::string& str() { return out_; }

 private:
  void Sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace

std::string CleanText(std::string_view text, bool keep_breaks) {
  std::string out;
  out.reserve(text.size());
  AppendClean(out, text, keep_breaks);
  return out;
}

std::string HtmlEscape(std::string_view text) {
  const std::string clean = CleanText(text, true);
  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (char c : clean) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EvidenceHtml(const EvidenceReport& r, const TimeZone& zone) {
  HtmlOut h;
  h.str().reserve(4096 + r.runs.size() * 900 + r.targets.size() * 2048);
  h.Markup("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Evidence report: ")
      .Text(r.appliance)
      .Text(", ")
      .Text(Local(zone, r.from))
      .Text(" to ")
      .Text(Local(zone, r.to))
      .Markup("</title>\n<style>")
      .Markup(kCss)
      .Markup("</style>\n</head>\n<body>\n");
  HtmlHeader(h, r, zone);
  h.Markup("<nav aria-label=\"Contents\"><ul><li><a href=\"#targets\">Targets</a></li><li><a href=\"#runs\">Runs</a></li>"
           "<li><a href=\"#drills\">Drills</a></li><li><a href=\"#restorations\">Restorations</a></li></ul></nav>\n"
           "<main>\n");
  HtmlTargets(h, r, zone);
  HtmlRuns(h, r, zone);
  HtmlDrills(h, r, zone);
  HtmlRestorations(h, r, zone);
  h.Markup("</main>\n<footer><p>restoreproof ").Text(r.version).Markup(", report format ").Text(Num(static_cast<int64_t>(r.format)));
  h.Markup(". The bundle's SHA256SUMS and signature cover this file.</p></footer>\n</body>\n</html>\n");
  return std::move(h.str());
}

Status EvidencePdfWithFont(const EvidenceReport& r, const TimeZone& zone, const std::string& font_path,
                           std::string* pdf) {
  pdf->clear();
  Pdf doc;
  if (Status s = doc.Open(font_path, r); !s.ok()) return s;
  doc.NewPage();
  PdfHeader(doc, r, zone);
  PdfTargets(doc, r, zone);
  PdfRuns(doc, r, zone);
  PdfDrills(doc, r, zone);
  PdfRestorations(doc, r, zone);
  doc.Footers("Revisionsunderlag / evidence report: " + r.appliance + ", " + Local(zone, r.from) + " to " +
              Local(zone, r.to));
  return doc.Save(pdf);
}

Status EvidencePdf(const EvidenceReport& r, const TimeZone& zone, std::string* pdf) {
  return EvidencePdfWithFont(r, zone, kEvidenceFont, pdf);
}

std::string EvidenceRunsCsv(const EvidenceReport& r) {
  CsvOut c;
  c.str().reserve(512 + r.runs.size() * 400);
  c.Header({"run_id", "target", "kind", "drill_id", "state", "queued_at", "started_at", "finished_at", "point",
            "location", "files", "bytes", "duration_s", "failing_findings", "message", "isolation", "worker",
            "host", "db_role", "clock_known", "clock_synchronised", "clock_error_us", "rto_objective_s",
            "within_rto", "citation", "sample_slice", "sample_slices", "sample_seed", "sample_files",
            "sample_bytes", "point_files", "point_bytes", "predicted_full_s"});
  for (const auto& run : r.runs) {
    c.Int(run.id);
    c.Text(run.target);
    c.Text(run.kind);
    if (run.drill_id != 0) c.Int(run.drill_id);
    else c.Plain("");
    c.Text(run.state);
    c.Time(run.queued_at);
    c.Time(run.started_at);
    c.Time(run.finished_at);
    c.Text(run.point_id);
    c.Text(run.location);
    c.Uint(run.files);
    c.Uint(run.bytes);
    c.Double(run.duration_s);
    c.Uint(run.failing_findings);
    c.Text(run.message);
    c.Text(run.isolation);
    c.Text(run.worker);
    c.Text(run.host);
    c.Text(run.db_role);
    c.Bool(run.clock_known);
    if (run.clock_known) {
      c.Bool(run.clock_synchronised);
      c.Int(run.clock_error_us);
    } else {
      c.Plain("");
      c.Plain("");
    }
    c.Double(run.rto_objective_s);
    c.Bool(run.within_rto);
    c.Text(run.citation);
    if (run.sample_slices > 0) {  // a sampled run; the columns are empty for a whole point
      c.Uint(run.sample_slice);
      c.Uint(run.sample_slices);
      c.Text(run.sample_seed);
      c.Uint(run.sample_files);
      c.Uint(run.sample_bytes);
      c.Uint(run.point_files);
      c.Uint(run.point_bytes);
      if (run.predicted_full_s > 0) c.Double(run.predicted_full_s);
      else c.Plain("");
    } else {
      for (int i = 0; i < 8; ++i) c.Plain("");
    }
    c.End();
  }
  return std::move(c.str());
}

std::string EvidenceTargetsCsv(const EvidenceReport& r) {
  CsvOut c;
  c.Header({"target", "pseudonymised", "owner", "classification", "personal_data", "personal_data_description",
            "locations", "verdict", "findings_count", "findings", "rto_objective_s", "rto_measured_s", "rto_met",
            "tests_passed", "tests_failed", "tests_other", "last_passed_test", "rto_predicted"});
  for (const auto& t : r.targets) {
    c.Text(t.name);
    c.Bool(t.pseudonymised);
    c.Text(t.owner);
    c.Text(t.classification);
    c.Bool(t.personal_data);
    c.Text(t.personal_data_description);
    c.Text(Join(t.locations, "\n"));
    c.Text(t.verdict);
    c.Uint(t.findings.size());
    std::string findings;
    for (const auto& f : t.findings) {
      if (!findings.empty()) findings += '\n';
      findings += f.severity + " [" + f.rule + "] " + f.message + " (" + f.citation + ")";
    }
    c.Text(findings);
    c.Double(t.rto_objective_s);
    if (t.rto_measured_s) c.Double(*t.rto_measured_s);
    else c.Plain("");
    c.Bool(t.rto_met);
    c.Int(t.tests_passed);
    c.Int(t.tests_failed);
    c.Int(t.tests_other);
    c.Time(t.last_passed_test);
    c.Bool(t.rto_predicted);
    c.End();
  }
  return std::move(c.str());
}

std::string EvidenceDrillsCsv(const EvidenceReport& r) {
  CsvOut c;
  c.Header({"drill_id", "drill_name", "trigger", "responsible", "drill_started_at", "drill_finished_at", "drill_passed",
            "target", "run_id", "state", "measured_s", "objective_s", "met"});
  for (const auto& d : r.drills) {
    const auto drill = [&] {
      c.Int(d.id);
      c.Text(d.name);
      c.Text(d.trigger);
      c.Text(d.responsible);
      c.Time(d.started_at);
      c.Time(d.finished_at);
      c.Bool(d.passed);
    };
    if (d.targets.empty()) {  // the drill is still listed, with no target
      drill();
      for (int i = 0; i < 6; ++i) c.Plain("");
      c.End();
    }
    for (const auto& t : d.targets) {
      drill();
      c.Text(t.target);
      c.Int(t.run_id);
      c.Text(t.state);
      c.Double(t.measured_s);
      c.Double(t.objective_s);
      c.Bool(t.met);
      c.End();
    }
  }
  return std::move(c.str());
}

std::string EvidenceRestorationsCsv(const EvidenceReport& r) {
  CsvOut c;
  c.Header({"seq", "time", "target", "point", "location", "responsible", "personal_data", "reason", "result", "files",
            "bytes", "correctness", "failed_files_count", "failed_files"});
  for (const auto& x : r.restorations) {
    c.Int(x.seq);
    c.Time(x.time);
    c.Text(x.target);
    c.Text(x.point);
    c.Text(x.location);
    c.Text(x.responsible);
    c.Text(x.personal_data);
    c.Text(x.reason);
    c.Text(x.result);
    c.Uint(x.files);
    c.Uint(x.bytes);
    c.Text(x.correctness);
    c.Uint(x.failed_files.size());
    c.Text(Join(x.failed_files, "\n"));
    c.End();
  }
  return std::move(c.str());
}

}  // namespace rp
