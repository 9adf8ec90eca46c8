// The HTML pages after sign-in (private to rp_web, docs/web.md "Pages"): each page file renders
// its own mstch template into the layout of web_layout.cpp. web_pages.cpp routes to them.
#pragma once

#include <string>

#include "web_app.h"

namespace rp::web {

// The words the pages share: a verdict as a word and an icon, never a colour alone.
struct VerdictLook {
  std::string css;   // "v-ok", "v-warning", "v-failing"
  std::string icon;  // a symbol, hidden from screen readers (the word says it)
  std::string word;
};
VerdictLook LookOf(Lang lang, std::optional<Verdict> verdict);  // nullopt: not checked yet
std::string RunStateWord(Lang lang, RunState state);
std::string TriggerWord(Lang lang, Trigger trigger);
// A path segment of a URL (a target's name in /targets/NAME), percent-encoded.
std::string UrlSegment(const std::string& text);
// A run's state as a verdict-like look: passed ok, failed failing, the others a warning; the
// word is RunStateWord's.
VerdictLook RunLook(Lang lang, RunState state);
// A page saying what went wrong (403 "needs the ROLE role", 404, 400, 500) in the layout.
Reply ErrorPage(State& state, const Request& request, const Identity& who, Lang lang, int status,
                const std::string& message);
// 403 for a signed-in user whose role is below `need`.
Reply NeedsRole(State& state, const Request& request, const Identity& who, Lang lang, Role need);
// 403 for a POST whose CSRF token is missing or wrong (CsrfOk has audited it).
Reply CsrfRefused(State& state, const Request& request, const Identity& who, Lang lang);
// Sampled restore tests (docs/sampling.md) as the pages write them.
// A share as a percentage with one decimal, never rounded up to 100: "45.0%", "99.9%", "100%".
std::string Percent(double ratio);
// The mark of a time predicted from a sample rather than measured: "predicted", "beräknad".
std::string PredictedWord(Lang lang);
// "40 s (predicted)": a whole-point time predicted from a sample.
std::string PredictedDuration(Lang lang, double seconds);
// "slice 1 of 4", "del 1 av 4" (slices are numbered from 0, as `verify --slice` takes them).
std::string SliceText(Lang lang, const SampleSpec& spec);
// A target's coverage in a sentence: "Coverage within 30 d: 45.0% of files, 40.0% of bytes", led
// by "Coverage short" when the window is complete and it is below 100%.
std::string CoverageText(Lang lang, const TargetCoverage& coverage);

// The first `n` characters of a hash, for a column (the whole hash is on the run's page).
inline std::string HashPrefix(const std::string& hash, size_t n = 12) { return hash.substr(0, n); }

// The pages. `who` is signed in and allowed the page's role.
Reply DashboardPage(State& state, const Request& request, const Identity& who, Lang lang);
// /targets/NAME (GET, viewer) and /targets/NAME/test (POST, operator): web_target_page.cpp.
Reply TargetRoute(State& state, const Request& request, const Identity& who, Lang lang);
// /runs/ID (GET, viewer): web_run_page.cpp.
Reply RunRoute(State& state, const Request& request, const Identity& who, Lang lang);
// /drills (GET viewer; POST operator: start a drill): web_drills_page.cpp.
Reply DrillsRoute(State& state, const Request& request, const Identity& who, Lang lang);
// /log (GET, auditor): web_log_page.cpp.
Reply LogRoute(State& state, const Request& request, const Identity& who, Lang lang);
// /evidence (GET the form, POST the bundle; auditor): web_evidence_page.cpp.
Reply EvidenceRoute(State& state, const Request& request, const Identity& who, Lang lang);

}  // namespace rp::web
