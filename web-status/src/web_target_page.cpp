// /targets/NAME (docs/web.md "Pages"): one target in full. Its facts and policy; its copies as
// the backup locations hold them now; a 30-day retention calendar per copy, drawn as a grid of
// days (verified, present, missing: a colour, a letter and a label each); the restore-test
// history with a server-rendered SVG chart of duration and throughput over 90 days against the
// RTO objective; the findings of the newest catalog check, each with its rule cited by section;
// and, for an operator, a button that queues a restore test now (POST /targets/NAME/test).
//
// Reading the copies touches backup disks and repositories (restic, borg), so what they hold is
// kept per target for a minute (CatalogCache); the runs and findings come from the store.
#include <mstch/mstch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rp/catalog.h"
#include "rp/coverage.h"
#include "rp/evidence.h"
#include "rp/path_text.h"
#include "web_pages.h"

namespace rp::web {

namespace {

constexpr int kCalendarDays = 30;
constexpr int kChartDays = 90;
constexpr double kCatalogTtlS = 60;
constexpr double kCatalogWaitS = 5;  // a page waits this long for a target's copies to be read

// What one copy held when it was last read.
struct CopyHolding {
  bool online = true;
  std::string error;
  std::vector<int64_t> points;  // times, oldest first
};
struct Holding {
  std::shared_ptr<const Config> config;  // read for this configuration
  double read_at = 0;                    // steady seconds
  std::vector<CopyHolding> copies;       // as the target's copies are listed
  bool reading = false;                  // nothing read yet: the first read has not ended
};

double SteadyS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Per target, what its copies held, for kCatalogTtlS. One read per target at a time, on a thread
// of its own: a request waits for it at most kCatalogWaitS and then shows what was held before
// (or that the copies are still being read), so a copy that hangs (a dead NFS mount) holds one
// reader thread, never the web server's threads. The reader owns a reference to the shared state,
// so it may outlive the cache at exit.
class CatalogCache {
 public:
  std::shared_ptr<const Holding> Get(const std::shared_ptr<const Config>& config, const TargetConfig& target) {
    Shared& s = *shared_;
    std::unique_lock lock(s.mu);
    auto held = [&]() -> std::shared_ptr<const Holding> {
      const auto it = s.held.find(target.name);
      return it == s.held.end() ? nullptr : it->second;
    };
    if (const auto h = held(); h && h->config == config && SteadyS() - h->read_at < kCatalogTtlS) return h;
    if (s.reading.insert(target.name).second)
      std::thread([shared = shared_, config, copies = target.copies, name = target.name] {
        auto h = std::make_shared<Holding>();
        h->config = config;
        for (const CopyConfig& copy : copies) {
          CopyHolding c;
          try {
            const CopyCatalog cat = DiscoverCopy(copy, config->appliance.zone);
            c.online = cat.online;
            c.error = cat.error;
            for (const RecoveryPoint& p : cat.points) c.points.push_back(p.time);
          } catch (const std::exception& e) {
            c.online = false;
            c.error = e.what();
          }
          h->copies.push_back(std::move(c));
        }
        h->read_at = SteadyS();
        std::lock_guard done(shared->mu);
        // A configuration reload leaves entries of removed targets behind: drop what is stale.
        for (auto it = shared->held.begin(); it != shared->held.end();)
          it = it->second->config != config ? shared->held.erase(it) : std::next(it);
        shared->held[name] = h;
        shared->reading.erase(name);
        shared->cv.notify_all();
      }).detach();
    s.cv.wait_for(lock, std::chrono::duration<double>(kCatalogWaitS), [&] { return !s.reading.count(target.name); });
    if (const auto h = held()) return h;  // as read now, or as last read while the new read goes on
    auto none = std::make_shared<Holding>();
    none->config = config;
    none->reading = true;
    return none;
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, std::shared_ptr<const Holding>> held;
    std::set<std::string> reading;  // targets whose copies a thread is reading now
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

CatalogCache& Catalogs() {
  static CatalogCache cache;  // the pages' own cache: one per process, like the server
  return cache;
}

constexpr const char* kTargetPage = R"(<h1>{{t_target}} {{name}}</h1>
{{#is_checked}}<p><span class="verdict {{v.css}}"><span aria-hidden="true">{{v.icon}}</span> {{v.word}}</span> <span class="muted">{{t_checked}} {{checked}}</span></p>{{/is_checked}}
{{^is_checked}}<p><span class="verdict v-warning"><span aria-hidden="true">?</span> {{t_unchecked}}</span></p>{{/is_checked}}
{{#can_test}}<form method="post" action="/targets/{{href}}/test" class="action"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t_test_now}}</button> <span class="muted">{{t_test_note}}</span></form>{{/can_test}}
<h2 id="facts">{{t_facts}}</h2>
<dl class="facts">
<dt>{{t_owner}}</dt><dd>{{owner}}</dd>
<dt>{{t_class}}</dt><dd>{{class}}</dd>
<dt>{{t_pd}}</dt><dd>{{pd}}</dd>
<dt>{{t_rto}}</dt><dd>{{rto}}</dd>
<dt>{{t_policy}}</dt><dd>{{policy}}</dd>
</dl>
<h2 id="copies">{{t_copies}}</h2>
<table class="cards" aria-labelledby="copies">
<thead><tr><th scope="col">{{t_location}}</th><th scope="col">{{t_kind}}</th><th scope="col">{{t_path}}</th><th scope="col" class="num">{{t_points}}</th><th scope="col">{{t_newest}}</th><th scope="col">{{t_readable}}</th></tr></thead>
<tbody>
{{#copies}}<tr><td data-label="{{t_location}}">{{location}}</td><td data-label="{{t_kind}}">{{kind}}</td><td data-label="{{t_path}}"><code>{{path}}</code></td><td data-label="{{t_points}}" class="num">{{points}}</td><td data-label="{{t_newest}}">{{newest}}</td><td data-label="{{t_readable}}"><span class="verdict {{r.css}}"><span aria-hidden="true">{{r.icon}}</span> {{r.word}}</span>{{#error}} {{error}}{{/error}}</td></tr>
{{/copies}}</tbody>
</table>
<h2 id="calendar">{{t_calendar}}</h2>
{{#reading}}<p role="status">{{t_reading}}</p>
{{/reading}}
<p>{{t_calendar_note}}</p>
<ul class="legend" aria-label="{{t_legend}}">
<li><span class="key d-verified" aria-hidden="true">{{l_verified}}</span> {{w_verified}}</li>
<li><span class="key d-present" aria-hidden="true">{{l_present}}</span> {{w_present}}</li>
<li><span class="key d-missing" aria-hidden="true">{{l_missing}}</span> {{w_missing}}</li>
</ul>
{{#calendars}}<h3 id="cal-{{index}}">{{t_copy}} {{location}} <span class="muted">({{summary}})</span></h3>
<ol class="cal" aria-labelledby="cal-{{index}}">
{{#days}}<li class="d-{{state}}"><span aria-hidden="true"><span class="dom">{{dom}}</span> <span class="mark">{{letter}}</span></span><span class="sr">{{label}}</span></li>
{{/days}}</ol>
{{/calendars}}
{{#coverage}}<h2 id="coverage">{{t_coverage}}</h2>
<p><span class="verdict {{look.css}}"><span aria-hidden="true">{{look.icon}}</span> {{look.word}}</span></p>
<dl class="facts">
<dt>{{t_window}}</dt><dd>{{window}}</dd>
<dt>{{t_cov_point}}</dt><dd>{{point}}{{#ref}} (<a href="/runs/{{ref}}">{{t_run}} #{{ref}}</a>){{/ref}}</dd>
<dt>{{t_slices}}</dt><dd>{{slices}}</dd>
<dt>{{t_cov_files}}</dt><dd>{{files}}</dd>
<dt>{{t_cov_bytes}}</dt><dd>{{bytes}}</dd>
<dt>{{t_counted}}</dt><dd>{{#counted}}<a href="/runs/{{id}}">#{{id}}</a> ({{what}}){{^last}}, {{/last}}{{/counted}}{{^counted}}{{t_none_counted}}{{/counted}}</dd>
{{#predicted}}<dt>{{t_predicted}}</dt><dd>{{predicted}}</dd>
{{/predicted}}</dl>
<p>{{t_coverage_note}}</p>
{{/coverage}}<h2 id="history">{{t_history}}</h2>
{{{chart}}}
{{#has_runs}}<table class="cards" aria-labelledby="history">
<thead><tr><th scope="col">{{t_run}}</th><th scope="col">{{t_state}}</th><th scope="col">{{t_trigger}}</th><th scope="col">{{t_finished}}</th><th scope="col">{{t_point}}</th><th scope="col">{{t_copy}}</th><th scope="col">{{t_sample}}</th><th scope="col" class="num">{{t_duration}}</th><th scope="col" class="num">{{t_rate}}</th></tr></thead>
<tbody>
{{#runs}}<tr><td data-label="{{t_run}}"><a href="/runs/{{id}}">#{{id}}</a></td><td data-label="{{t_state}}"><span class="verdict {{s.css}}"><span aria-hidden="true">{{s.icon}}</span> {{s.word}}</span></td><td data-label="{{t_trigger}}">{{trigger}}</td><td data-label="{{t_finished}}">{{finished}}</td><td data-label="{{t_point}}">{{point}}</td><td data-label="{{t_copy}}">{{location}}</td><td data-label="{{t_sample}}">{{sample}}</td><td data-label="{{t_duration}}" class="num">{{duration}}{{#predicted}}<br>{{t_whole}} {{predicted}}{{/predicted}}</td><td data-label="{{t_rate}}" class="num">{{rate}}</td></tr>
{{/runs}}</tbody>
</table>{{/has_runs}}
{{^has_runs}}<p>{{t_no_runs}}</p>{{/has_runs}}
<h2 id="findings">{{t_findings}}</h2>
{{#has_findings}}<table class="cards" aria-labelledby="findings">
<thead><tr><th scope="col">{{t_severity}}</th><th scope="col">{{t_rule}}</th><th scope="col">{{t_cites}}</th><th scope="col">{{t_message}}</th></tr></thead>
<tbody>
{{#findings}}<tr><td data-label="{{t_severity}}"><span class="verdict {{v.css}}"><span aria-hidden="true">{{v.icon}}</span> {{v.word}}</span></td><td data-label="{{t_rule}}"><code>{{rule}}</code></td><td data-label="{{t_cites}}">{{citation}}</td><td data-label="{{t_message}}">{{message}}</td></tr>
{{/findings}}</tbody>
</table>{{/has_findings}}
{{^has_findings}}<p>{{t_no_findings}}</p>{{/has_findings}}
)";

// The chart: numbers computed here, every text escaped by mstch as inserted. Two panels share
// the time axis: duration (points, passed as circles and the others as crosses, joined by a
// line) with the objective as a dashed horizontal line, and throughput as bars.
constexpr const char* kChart = R"(<figure class="chart">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {{w}} {{h}}" width="{{w}}" height="{{h}}">
<title id="chart-title">{{title}}</title>
<desc id="chart-desc">{{desc}}</desc>
<rect x="0" y="0" width="{{w}}" height="{{h}}" fill="#ffffff"/>
<text x="{{left}}" y="16" font-size="13" font-weight="700" fill="#1f2328">{{t_duration_axis}}</text>
{{#d_ticks}}<line x1="{{left}}" x2="{{right}}" y1="{{y}}" y2="{{y}}" stroke="#d0d7de" stroke-width="1"/>
<text x="{{label_x}}" y="{{label_y}}" font-size="11" text-anchor="end" fill="#57606a">{{label}}</text>
{{/d_ticks}}<line class="objective" x1="{{left}}" x2="{{right}}" y1="{{obj_y}}" y2="{{obj_y}}" stroke="#a40e26" stroke-width="2" stroke-dasharray="6 4"/>
<text x="{{right}}" y="{{obj_label_y}}" font-size="11" text-anchor="end" fill="#a40e26">{{t_objective}} {{objective}}</text>
{{#has_line}}<polyline points="{{line}}" fill="none" stroke="#0550ae" stroke-width="1.5"/>
{{/has_line}}{{#d_points}}{{#passed}}{{#predicted}}<circle class="predicted" cx="{{x}}" cy="{{y}}" r="4" fill="#ffffff" stroke="#0550ae" stroke-width="2"><title>{{label}}</title></circle>
{{/predicted}}{{^predicted}}<circle cx="{{x}}" cy="{{y}}" r="4" fill="#0550ae"><title>{{label}}</title></circle>
{{/predicted}}{{/passed}}{{^passed}}<path d="M{{x1}} {{y1}} L{{x2}} {{y2}} M{{x1}} {{y2}} L{{x2}} {{y1}}" stroke="#a40e26" stroke-width="2.5"><title>{{label}}</title></path>
{{/passed}}{{/d_points}}<text x="{{left}}" y="{{tp_title_y}}" font-size="13" font-weight="700" fill="#1f2328">{{t_rate_axis}}</text>
{{#t_ticks}}<line x1="{{left}}" x2="{{right}}" y1="{{y}}" y2="{{y}}" stroke="#d0d7de" stroke-width="1"/>
<text x="{{label_x}}" y="{{label_y}}" font-size="11" text-anchor="end" fill="#57606a">{{label}}</text>
{{/t_ticks}}{{#bars}}<rect x="{{x}}" y="{{y}}" width="{{bw}}" height="{{bh}}" fill="#116329"><title>{{label}}</title></rect>
{{/bars}}<line x1="{{left}}" x2="{{right}}" y1="{{axis_y}}" y2="{{axis_y}}" stroke="#57606a" stroke-width="1"/>
{{#x_ticks}}<line x1="{{x}}" x2="{{x}}" y1="{{axis_y}}" y2="{{tick_y}}" stroke="#57606a" stroke-width="1"/>
<text x="{{x}}" y="{{label_y}}" font-size="11" text-anchor="middle" fill="#57606a">{{label}}</text>
{{/x_ticks}}<text x="{{mid}}" y="{{x_title_y}}" font-size="12" text-anchor="middle" fill="#1f2328">{{t_time_axis}}</text>
</svg>
<figcaption class="muted">{{caption}}</figcaption>
</figure>
)";

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A round step for an axis: 1, 2 or 5 times a power of ten (of the unit's scale) so that `max`
// takes about `n` steps.
double NiceStep(double max, int n) {
  if (!(max > 0)) return 1;
  const double raw = max / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

std::string Chart(const Config& config, const std::vector<RunRecord>& runs, double objective_s, int64_t now, Lang lang) {
  auto t = [lang](const std::string& en, const std::string& sv) { return lang == Lang::kSv ? sv : en; };
  const double w = 760, left = 78, right = w - 16;
  const double d_top = 28, d_bottom = 208;   // duration panel
  const double t_top = 248, t_bottom = 348;  // throughput panel
  const double h = 400, axis_y = t_bottom;
  const int64_t start = now - int64_t{kChartDays} * 86400;
  auto x_of = [&](int64_t at) { return left + (right - left) * static_cast<double>(at - start) / static_cast<double>(now - start); };

  std::vector<const RunRecord*> shown;  // ended with a measurement, oldest first
  for (auto it = runs.rbegin(); it != runs.rend(); ++it)
    if (RunStateFinal(it->state) && it->finished_at >= start && it->duration_s > 0) shown.push_back(&*it);

  // A sampled test is drawn at the whole point's predicted time: that is what the objective is
  // about (its own duration restored only a slice).
  auto restore_s = [](const RunRecord& r) { return PredictedFullSeconds(r).value_or(r.duration_s); };
  double max_d = objective_s * 1.15, max_t = 0;
  int passed = 0, over = 0, predicted = 0;
  double best = 0, worst = 0;
  for (const RunRecord* r : shown) {
    const double d = restore_s(*r);
    max_d = std::max(max_d, d * 1.05);
    max_t = std::max(max_t, r->throughput_bps());
    if (r->state == RunState::kPassed) ++passed;
    if (d > objective_s) ++over;
    if (PredictedFullSeconds(*r)) ++predicted;
    best = best == 0 ? d : std::min(best, d);
    worst = std::max(worst, d);
  }
  const double d_step = NiceStep(max_d, 4);
  max_d = std::ceil(max_d / d_step) * d_step;
  const double t_step = NiceStep(max_t > 0 ? max_t : 1, 2);
  max_t = std::max(t_step, std::ceil(max_t / t_step) * t_step);
  auto yd = [&](double d) { return d_bottom - (d_bottom - d_top) * d / max_d; };
  auto yt = [&](double v) { return t_bottom - (t_bottom - t_top) * v / max_t; };

  mstch::array d_ticks, t_ticks, x_ticks, d_points, bars;
  for (double v = 0; v <= max_d + d_step / 2; v += d_step)
    d_ticks.push_back(mstch::map{{"y", Num(yd(v))}, {"label_x", Num(left - 6)}, {"label_y", Num(yd(v) + 4)},
                                 {"label", FormatDuration(v)}});
  for (double v = 0; v <= max_t + t_step / 2; v += t_step)
    t_ticks.push_back(mstch::map{{"y", Num(yt(v))}, {"label_x", Num(left - 6)}, {"label_y", Num(yt(v) + 4)},
                                 {"label", v > 0 ? FormatRate(v) : std::string("0")}});
  const TimeZone& zone = config.appliance.zone;
  const Date today = zone.LocalDate(now);
  for (int back = kChartDays; back >= 0; back -= 15) {
    const int64_t at = zone.StartOfDay(today - back) + 43200;
    if (at < start || at > now) continue;
    x_ticks.push_back(mstch::map{{"x", Num(x_of(at))}, {"label", zone.Format(at, "%m-%d")}});
  }
  std::string line;
  const double bw = std::max(2.0, std::min(10.0, (right - left) / static_cast<double>(std::max<size_t>(shown.size(), 1)) * 0.6));
  for (const RunRecord* r : shown) {
    const auto whole = PredictedFullSeconds(*r);
    const double x = x_of(r->finished_at), y = yd(restore_s(*r));
    if (!line.empty()) line += ' ';
    line += Num(x) + "," + Num(y);
    std::string label = "#" + std::to_string(r->id) + " " + FormatTime(config, r->finished_at) + ": " +
                        RunStateWord(lang, r->state) + ", " + FormatDuration(r->duration_s) + ", " +
                        FormatRate(r->throughput_bps());
    if (whole) label += t("; sample, whole point ", "; stickprov, hela punkten ") + PredictedDuration(lang, *whole);
    d_points.push_back(mstch::map{{"passed", r->state == RunState::kPassed}, {"predicted", whole.has_value()},
                                  {"x", Num(x)}, {"y", Num(y)},
                                  {"x1", Num(x - 4)}, {"x2", Num(x + 4)}, {"y1", Num(y - 4)}, {"y2", Num(y + 4)},
                                  {"label", label}});
    const double tp = r->throughput_bps();
    bars.push_back(mstch::map{{"x", Num(x - bw / 2)}, {"y", Num(yt(tp))}, {"bw", Num(bw)},
                              {"bh", Num(std::max(0.0, t_bottom - yt(tp)))}, {"label", label}});
  }
  const double obj_y = yd(objective_s);
  std::string desc;
  if (shown.empty()) {
    desc = t("No restore test ended in the last 90 days.", "Inget återläsningstest har avslutats de senaste 90 dagarna.");
  } else {
    desc = std::to_string(shown.size()) + t(" restore tests in the last 90 days, ", " återläsningstester de senaste 90 dagarna, ") +
           std::to_string(passed) + t(" passed; ", " godkända; ") + t("duration from ", "tid från ") + FormatDuration(best) +
           t(" to ", " till ") + FormatDuration(worst) + t(" against an objective of ", " mot målet ") +
           FormatDuration(objective_s) + ", " + std::to_string(over) + t(" over it.", " över det.");
    if (predicted > 0)
      desc += " " + std::to_string(predicted) +
              t(" of them restored a sample: each is drawn at the time predicted for the whole point (a hollow circle when it passed).",
                " av dem återläste ett stickprov: vart och ett ritas vid den tid som beräknats för hela punkten (en ofylld cirkel när det godkändes).");
  }
  mstch::map ctx{{"w", Num(w)}, {"h", Num(h)}, {"left", Num(left)}, {"right", Num(right)},
                 {"mid", Num((left + right) / 2)},
                 {"title", t("Restore duration and throughput, last 90 days, against the RTO objective",
                             "Återläsningstid och genomströmning, senaste 90 dagarna, mot RTO-målet")},
                 {"desc", desc},
                 {"t_duration_axis", t("Duration (restore and verification)", "Tid (återläsning och verifiering)")},
                 {"t_rate_axis", t("Throughput", "Genomströmning")},
                 {"t_time_axis", t("Day the test ended (month-day)", "Dag då testet avslutades (månad-dag)")},
                 {"t_objective", t("RTO objective", "RTO-mål")},
                 {"objective", FormatDuration(objective_s)},
                 {"obj_y", Num(obj_y)},
                 {"obj_label_y", Num(obj_y - 4 < d_top + 10 ? obj_y + 13 : obj_y - 4)},
                 {"tp_title_y", Num(t_top - 14)},
                 {"axis_y", Num(axis_y)},
                 {"tick_y", Num(axis_y + 5)},
                 {"label_y", Num(axis_y + 18)},
                 {"x_title_y", Num(h - 10)},
                 {"has_line", shown.size() > 1},
                 {"line", line},
                 {"d_ticks", d_ticks},
                 {"t_ticks", t_ticks},
                 {"x_ticks", x_ticks},
                 {"d_points", d_points},
                 {"bars", bars},
                 {"caption", desc + " " + t("The table below lists every run.", "Tabellen nedan visar varje körning.")}};
  return mstch::render(kChart, ctx);
}

mstch::map Look(const VerdictLook& v) { return mstch::map{{"css", v.css}, {"icon", v.icon}, {"word", v.word}}; }

std::string Seconds(double s, Lang lang) {
  if (s >= 86400 && std::fmod(s, 86400) == 0) return std::to_string(static_cast<int64_t>(s / 86400)) + (lang == Lang::kSv ? " d" : " d");
  return FormatDuration(s);
}

// The coverage of a target that samples: the board's figures (computed by its thread; here only
// when the board does not have them), and the passed runs of the window that count for them.
mstch::map CoverageSection(State& state, const Config& config, const TargetConfig& target, const TargetStatus* status,
                           const Policy& policy, int64_t now, Lang lang) {
  auto t = [lang](const std::string& en, const std::string& sv) { return lang == Lang::kSv ? sv : en; };
  const TargetCoverage c =
      status && status->coverage ? *status->coverage : CoverageOf(target, &state.store(), now);
  VerdictLook look;
  if (c.complete())
    look = {"v-ok", "\u2714", t("Every file of the point verified within the window", "Varje fil i punkten verifierad inom fönstret")};
  else if (c.window_complete)
    look = {"v-failing", "\u2716", t("Coverage short: below 100% at the end of the window", "Otillräcklig täckning: under 100 % vid fönstrets slut")};
  else
    look = {"v-warning", "\u25B2", t("Below 100%: the target has not been tested for a whole window yet",
                                    "Under 100 %: målet har ännu inte testats under ett helt fönster")};
  mstch::map m{{"look", Look(look)},
               {"window", std::to_string(c.window_days) + t(" days, since ", " dagar, sedan ") + FormatTime(config, c.window_start) +
                              (c.window_complete ? t("; the target has been tested for a whole window", "; målet har testats under ett helt fönster")
                                                 : t("; the target has not been tested for a whole window yet",
                                                     "; målet har ännu inte testats under ett helt fönster"))},
               {"point", c.reference_run ? EscapePath(c.point) : t("none: no test passed within the window", "ingen: inget test godkändes inom fönstret")}};
  if (c.reference_run) m.emplace("ref", std::to_string(c.reference_run));
  m.emplace("slices", !c.reference_run ? std::string("-")
                      : c.full         ? t("the whole point (a test that did not sample)", "hela punkten (ett test utan stickprov)")
                                       : std::to_string(c.slices_covered) + t(" of ", " av ") + std::to_string(c.cycle.slices) +
                                             t(" (seed ", " (frö ") + std::to_string(c.cycle.seed) + ")");
  m.emplace("files", std::to_string(c.covered_files) + t(" of ", " av ") + std::to_string(c.point_files) + " (" +
                         Percent(c.files_ratio()) + ")");
  m.emplace("bytes", FormatBytes(c.covered_bytes) + t(" of ", " av ") + FormatBytes(c.point_bytes) + " (" +
                         Percent(c.bytes_ratio()) + ")");
  // The runs that count, oldest first: passed within the window, of the judged cycle or whole.
  mstch::array counted;
  std::vector<std::pair<int64_t, std::string>> items;
  if (c.reference_run)
    if (const auto reference = state.store().GetRun(c.reference_run))
      if (const auto whole = PredictedFullSeconds(*reference))
        m.emplace("predicted", PredictedDuration(lang, *whole) + t(" against the objective ", " mot målet ") +
                                   FormatDuration(policy.rto_s) + " " +
                                   (*whole <= policy.rto_s ? t("(met)", "(uppfyllt)") : t("(exceeded)", "(överskridet)")));
  for (const auto& r : c.counted)
    items.emplace_back(r.run, r.full ? t("whole point", "hela punkten") : SliceText(lang, r.spec));
  for (size_t i = 0; i < items.size(); ++i)
    counted.push_back(mstch::map{{"id", std::to_string(items[i].first)}, {"what", items[i].second},
                                 {"last", i + 1 == items.size()}});
  m.emplace("counted", counted);
  return m;
}

Reply TargetPage(State& state, const Request& request, const Identity& who, Lang lang,
                 const std::shared_ptr<const Config>& config, const TargetConfig& target) {
  auto t = [lang](const std::string& en, const std::string& sv) { return lang == Lang::kSv ? sv : en; };
  const int64_t now = NowS();
  const TimeZone& zone = config->appliance.zone;
  const Policy policy = config->PolicyFor(target);
  const auto board = state.board();
  const TargetStatus* status = board->Find(target.name);

  mstch::map ctx{{"t_target", t("Target", "Mål")},
                 {"name", target.name},
                 {"href", UrlSegment(target.name)},
                 {"t_checked", t("catalog checked", "katalogen kontrollerad")},
                 {"t_unchecked", t("Not checked yet", "Inte kontrollerad än")},
                 {"t_test_now", t("Test now", "Testa nu")},
                 {"t_test_note", t("queues a restore test of this target", "köar ett återläsningstest av målet")},
                 {"can_test", RoleAllows(who.role, Role::kOperator)},
                 {"csrf", who.csrf},
                 {"t_facts", t("Facts", "Fakta")},
                 {"t_owner", t("Owner", "Ägare")},
                 {"owner", target.owner},
                 {"t_class", t("Classification (K/R/T)", "Klassning (K/R/T)")},
                 {"class", "K" + std::to_string(target.classification.k) + " R" + std::to_string(target.classification.r) +
                               " T" + std::to_string(target.classification.t)},
                 {"t_pd", t("Personal data", "Personuppgifter")},
                 {"pd", target.personal_data.none
                            ? t("none declared", "inga enligt deklarationen")
                            : t("declared: ", "deklarerade: ") + target.personal_data.description},
                 {"t_rto", t("Recovery time objective (RTO)", "Mål för återställningstid (RTO)")},
                 {"rto", FormatDuration(policy.rto_s)},
                 {"t_policy", t("Policy", "Policy")},
                 {"policy", t("a backup every ", "en kopia var ") + Seconds(policy.backup_interval_s, lang) + "; " +
                                std::to_string(policy.retention_days) + t(" days retained", " dagar sparas") + "; " +
                                std::to_string(policy.min_copies) + t(" copies at distinct locations", " kopior på skilda platser") +
                                "; " + t("a passed restore test every ", "ett godkänt återläsningstest var ") +
                                Seconds(policy.restore_test_interval_s, lang)},
                 {"t_copies", t("Copies", "Kopior")},
                 {"t_location", t("Location", "Plats")},
                 {"t_kind", t("Kind", "Slag")},
                 {"t_path", t("Path", "Sökväg")},
                 {"t_points", t("Points", "Återställningspunkter")},
                 {"t_newest", t("Newest point", "Senaste punkt")},
                 {"t_readable", t("Readable", "Läsbar")},
                 {"t_calendar", t("Retention calendar, last 30 days", "Lagringskalender, senaste 30 dagarna")},
                 {"t_reading", t("The copies are still being read (they did not answer within 5 seconds): reload the page in a moment.",
                                 "Kopiorna läses fortfarande (de svarade inte inom 5 sekunder): ladda om sidan om en stund.")},
                 {"t_calendar_note",
                  lang == Lang::kEn ? "One square per local day (" + zone.name() + "), oldest first: verified means a passed restore test restored a point of that day from that copy; present means a point of that day exists; missing means none does."
                  : "En ruta per lokal dag (" + zone.name() + "), äldst först: verifierad betyder att ett godkänt återläsningstest återläste en punkt från den dagen ur den kopian; finns betyder att en punkt från dagen finns; saknas betyder att ingen finns."},
                 {"t_legend", t("Legend", "Teckenförklaring")},
                 {"l_verified", t("\u2714 V", "\u2714 V")},
                 {"l_present", t("\u25CF P", "\u25CF F")},
                 {"l_missing", t("\u2716 M", "\u2716 S")},
                 {"w_verified", t("verified", "verifierad")},
                 {"w_present", t("present", "finns")},
                 {"w_missing", t("missing", "saknas")},
                 {"t_copy", t("Copy", "Kopia")},
                 {"t_history", t("Restore tests", "Återläsningstester")},
                 {"t_run", t("Run", "Körning")},
                 {"t_state", t("Result", "Resultat")},
                 {"t_trigger", t("Trigger", "Utlöst av")},
                 {"t_finished", t("Finished", "Avslutad")},
                 {"t_point", t("Point", "Punkt")},
                 {"t_duration", t("Duration", "Tid")},
                 {"t_sample", t("Sample", "Stickprov")},
                 {"t_whole", t("whole point:", "hela punkten:")},
                 {"t_coverage", t("Coverage of sampled restore tests", "Täckning av stickprovstester")},
                 {"t_window", t("Window", "Fönster")},
                 {"t_cov_point", t("Point judged", "Bedömd punkt")},
                 {"t_slices", t("Slices verified", "Verifierade delar")},
                 {"t_cov_files", t("Files verified", "Verifierade filer")},
                 {"t_cov_bytes", t("Bytes verified", "Verifierade byte")},
                 {"t_counted", t("Runs counted", "Räknade körningar")},
                 {"t_none_counted", t("none", "inga")},
                 {"t_predicted", t("Whole point, predicted from the sample", "Hela punkten, beräknad från stickprovet")},
                 {"t_coverage_note",
                  t("Each sampled test restores one slice of the point's files; the passed tests within the window "
                    "count for the newest point tested. Below 100% once the target has been tested for a whole "
                    "window is a failing finding (restore-test.coverage).",
                    "Varje stickprovstest återläser en del av punktens filer; de godkända testerna inom fönstret "
                    "räknas för den senast testade punkten. Under 100 % när målet har testats under ett helt "
                    "fönster är en avvikelse (restore-test.coverage).")},
                 {"t_rate", t("Throughput", "Genomströmning")},
                 {"t_no_runs", t("No restore test has run yet.", "Inget återläsningstest har körts än.")},
                 {"t_findings", t("Findings of the latest catalog check", "Avvikelser vid senaste katalogkontrollen")},
                 {"t_severity", t("Severity", "Allvar")},
                 {"t_rule", t("Rule", "Regel")},
                 {"t_cites", t("Requirement", "Krav")},
                 {"t_message", t("Finding", "Avvikelse")},
                 {"t_no_findings", t("No findings.", "Inga avvikelser.")}};
  ctx.emplace("is_checked", status && status->verdict);
  if (status && status->verdict) {
    ctx.emplace("checked", FormatTime(*config, status->checked_at));
    ctx.emplace("v", Look(LookOf(lang, status->verdict)));
  }

  // The copies and the calendar.
  const auto holding = Catalogs().Get(config, target);
  ctx.emplace("reading", holding->reading);
  const Date today = zone.LocalDate(now);
  const Date first = today - (kCalendarDays - 1);
  RunFilter verified_filter;
  verified_filter.target = target.name;
  verified_filter.state = RunState::kPassed;
  verified_filter.since = zone.StartOfDay(first);
  verified_filter.limit = 10000;
  std::set<std::pair<std::string, int64_t>> verified;  // (location, local day)
  for (const RunRecord& r : state.store().ListRuns(verified_filter))
    if (r.point_time > 0) verified.emplace(r.location, zone.LocalDate(r.point_time).days);

  mstch::array copies, calendars;
  for (size_t i = 0; i < target.copies.size() && i < holding->copies.size(); ++i) {
    const CopyConfig& copy = target.copies[i];
    const CopyHolding& held = holding->copies[i];
    const int64_t newest = held.points.empty() ? 0 : *std::max_element(held.points.begin(), held.points.end());
    copies.push_back(mstch::map{
        {"location", copy.location},
        {"kind", std::string(CopyKindName(copy.kind))},
        {"path", EscapePath(copy.path)},
        {"points", std::to_string(held.points.size())},
        {"newest", newest > 0 ? FormatTime(*config, newest) : t("none", "ingen")},
        {"r", Look(held.online ? VerdictLook{"v-ok", "\u2714", t("yes", "ja")}
                               : VerdictLook{"v-failing", "\u2716", t("no", "nej")})},
        {"error", held.online ? std::string() : EscapeMessage(held.error)}});
    std::set<int64_t> present;
    for (int64_t p : held.points) present.insert(zone.LocalDate(p).days);
    mstch::array days;
    int n_verified = 0, n_present = 0, n_missing = 0;
    for (Date d = first; d <= today; d = d + 1) {
      std::string st, letter, word;
      if (present.count(d.days) && verified.count({copy.location, d.days})) {
        st = "verified", letter = "V", word = t("verified", "verifierad"), ++n_verified;
      } else if (present.count(d.days)) {
        st = "present", letter = t("P", "F"), word = t("present", "finns"), ++n_present;
      } else {
        st = "missing", letter = t("M", "S"), word = t("missing", "saknas"), ++n_missing;
      }
      char dom[4];
      std::snprintf(dom, sizeof dom, "%02u", d.day());
      days.push_back(mstch::map{{"state", st}, {"dom", std::string(dom)}, {"letter", letter},
                                {"label", d.ToString() + ": " + word}, {"date", d.ToString()}});
    }
    calendars.push_back(mstch::map{
        {"index", std::to_string(i)},
        {"location", copy.location},
        {"summary", std::to_string(n_verified) + " " + t("verified", "verifierade") + ", " + std::to_string(n_present) +
                        " " + t("present", "finns") + ", " + std::to_string(n_missing) + " " + t("missing", "saknas")},
        {"days", days}});
  }
  ctx.emplace("copies", copies);
  ctx.emplace("calendars", calendars);

  // The history: the newest 200 runs in the table; the chart draws 90 days of them.
  RunFilter history_filter;
  history_filter.target = target.name;
  history_filter.since = now - int64_t{kChartDays} * 86400;
  history_filter.limit = 2000;
  const std::vector<RunRecord> runs = state.store().ListRuns(history_filter);
  ctx.emplace("chart", Chart(*config, runs, policy.rto_s, now, lang));
  mstch::array rows;
  RunFilter table_filter;
  table_filter.target = target.name;
  table_filter.limit = 200;
  for (const RunRecord& r : state.store().ListRuns(table_filter)) {
    const bool measured = RunStateFinal(r.state) && r.duration_s > 0;
    const bool sampled = r.report && r.report->sample;
    mstch::map row{{"id", std::to_string(r.id)},
                   {"s", Look(RunLook(lang, r.state))},
                   {"trigger", TriggerWord(lang, r.request.trigger)},
                   {"finished", FormatTime(*config, r.finished_at)},
                   {"point", r.point_time > 0 ? FormatTime(*config, r.point_time) : std::string("-")},
                   {"location", r.location.empty() ? std::string("-") : r.location},
                   {"sample", sampled ? SliceText(lang, r.report->sample->spec) : std::string("-")},
                   {"duration", measured ? FormatDuration(r.duration_s) : std::string("-")},
                   {"rate", measured ? FormatRate(r.throughput_bps()) : std::string("-")}};
    if (const auto whole = PredictedFullSeconds(r); whole && measured) row.emplace("predicted", PredictedDuration(lang, *whole));
    rows.push_back(std::move(row));
  }
  ctx.emplace("has_runs", !rows.empty());
  ctx.emplace("runs", rows);

  if (target.Samples()) ctx.emplace("coverage", CoverageSection(state, *config, target, status, policy, now, lang));

  mstch::array findings;
  if (status)
    for (const PolicyFinding& f : status->findings)
      findings.push_back(mstch::map{{"v", Look(LookOf(lang, f.severity))},
                                    {"rule", std::string(PolicyRuleName(f.rule))},
                                    {"citation", std::string(RuleCitation(f.rule))},
                                    {"message", EscapeMessage(f.message)}});
  ctx.emplace("has_findings", !findings.empty());
  ctx.emplace("findings", findings);

  PageParts page;
  page.title = t("Target ", "Mål ") + target.name;
  page.main_html = mstch::render(kTargetPage, ctx);
  return Html(200, RenderPage(state, request, &who, lang, page));
}

Reply QueueTestFromPage(State& state, const Request& request, const Identity& who, const TargetConfig& target) {
  RunRequest q;
  q.target = target.name;
  q.test_index = target.tests.empty() ? -1 : 0;  // the first test's select and checks, as the API does
  q.trigger = Trigger::kApi;
  q.requested_by = who.actor();
  const int64_t id = state.store().EnqueueRun(q, NowS());
  Audit(state, who.actor(), request, "run-requested", "target " + target.name + ", run " + std::to_string(id));
  state.BoardChanged();
  return SeeOther("/runs/" + std::to_string(id));
}

}  // namespace

Reply TargetRoute(State& state, const Request& request, const Identity& who, Lang lang) {
  const std::string rest = request.path.substr(std::string("/targets/").size());
  const size_t slash = rest.find('/');
  const auto name = PercentDecode(rest.substr(0, slash), false);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash);
  const bool get = request.method == "GET" || request.method == "HEAD";
  const auto config = state.config();
  const TargetConfig* target = name ? config->FindTarget(*name) : nullptr;
  auto not_found = [&] {
    return ErrorPage(state, request, who, lang, 404,
                     lang == Lang::kSv ? "Det finns inget sådant mål." : "There is no such target.");
  };
  if (action.empty()) {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    if (!request.query.empty()) return Text(400, "this page takes no query parameters\n");
    if (!target) return not_found();
    return TargetPage(state, request, who, lang, config, *target);
  }
  if (action != "/test") return not_found();
  if (request.method != "POST") return MethodNotAllowed("POST", false);
  if (!RoleAllows(who.role, Role::kOperator)) return NeedsRole(state, request, who, lang, Role::kOperator);
  if (!CsrfOk(state, request, who)) return CsrfRefused(state, request, who, lang);
  if (!target) return not_found();
  return QueueTestFromPage(state, request, who, *target);
}

}  // namespace rp::web
