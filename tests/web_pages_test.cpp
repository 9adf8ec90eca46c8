// The HTML pages after sign-in (issue 17, docs/web.md "Pages"): /targets/NAME, /runs/ID,
// /drills, /log and /evidence, as each role meets them, against the real `serve` binary on a
// loopback port of its choosing, a real estate of tar archives with manifests at two sites (one
// day missing at the first), a real restore test run by the real `drill run` command before
// `serve` starts, and the real SQLite store read afterwards for what was queued and audited.
// The chart is parsed as XML (python3's xml.etree), the evidence bundle checked by the real
// `evidence verify`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "rp/calendar.h"
#include "rp/restoration_log.h"
#include "rp/store.h"
#include "process_kit.h"
#include "testkit.h"
#include "web_kit.h"

namespace rp {
namespace {

using nlohmann::json;
using test::ShellQuote;
using webtest::AddUser;
using webtest::Appliance;
using webtest::Request;
using webtest::Response;
using webtest::CookieValue;
using webtest::FormEncode;
using webtest::HiddenCsrf;
using webtest::Serve;

const std::string kPassword = "correct horse battery";
const char* const kZone = "Europe/Stockholm";
// The owner and the second site's name carry HTML's meta characters: the pages must escape them.
const std::string kOwner = "Ops <script>alert(1)</script> & \"Co\"";
const std::string kSiteB = "site-b <i>&\"'";

// A text as mstch inserts it into a page.
std::string Escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '/': out += "&#x2F;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string H(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

struct Session {
  std::string cookie, csrf;
  std::string header(const std::string& more = "") const { return "Cookie: rp_session=" + cookie + more + "\r\n"; }
};

Response PostForm(int port, const std::string& path, const std::map<std::string, std::string>& fields,
                  const std::string& extra) {
  const std::string body = FormEncode(fields);
  return Request(port, "POST", path,
                 extra + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
}

Session Login(int port, const std::string& name) {
  const Response form = Request(port, "GET", "/login");
  const Response r = PostForm(port, "/login", {{"name", name}, {"password", kPassword}, {"csrf", HiddenCsrf(form.body)}},
                              "Cookie: rp_login_csrf=" + CookieValue(form, "rp_login_csrf") + "\r\n");
  Session s;
  s.cookie = CookieValue(r, "rp_session");
  if (!s.cookie.empty()) s.csrf = HiddenCsrf(Request(port, "GET", "/", s.header()).body);
  return s;
}

Response Get(int port, const std::string& path, const Session& s, const std::string& extra = "") {
  return Request(port, "GET", path, s.header() + extra);
}

std::unique_ptr<Store> OpenStore(const std::string& data_dir) {
  std::unique_ptr<Store> store;
  EXPECT_TRUE(OpenSqliteStore(StorePath(data_dir), &store, false).ok());
  return store;
}

size_t AuditCount(Store& store, const std::string& action) {
  size_t n = 0;
  for (const auto& r : store.ListAudit(0, 0)) n += r.action == action;
  return n;
}

// The estate: `web-app` (no personal data) with a point on days 1, 2, 4 and 5 before today at
// site-a (day 3 missing) and on days 1 and 2 at the second site; `payroll` (personal data) with
// two points at site-a. Points at 12:00 UTC, named in the appliance's zone.
struct Estate {
  Appliance a;
  TimeZone zone = *TimeZone::Locate(kZone);
  std::map<std::string, std::vector<int64_t>> points;  // per location of web-app

  std::string Site(const std::string& target, const std::string& site, const std::vector<int>& days) {
    const std::string dir = a.dir / (target + "-" + std::to_string(std::hash<std::string>{}(site) % 1000));
    std::filesystem::create_directories(dir);
    for (int day : days) {
      SampleTreeOptions o;
      o.seed = static_cast<uint64_t>(day) * 7 + target.size();
      o.files = 12;
      o.large_file_bytes = 32 * 1024;
      o.exotic_names = false;
      o.links = false;
      const auto tree = SampleTree(o);
      const int64_t t = (webtest::NowUtc() / 86400 - day) * 86400 + 43200;
      const std::string file = dir + "/" + target + "-" + zone.Format(t, "%Y%m%dT%H%M%S") + ".tar";
      EXPECT_TRUE(WriteArchive(file, ArchiveSpec{"pax", {}}, tree).ok());
      test::WriteFile(file + ".xxh128", ManifestFor(tree, HashAlgo::kXxh128));
      if (target == "web-app") points[site].push_back(t);
    }
    return dir;
  }

  static std::string Toml(const std::string& s) {  // a TOML basic string
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  void Write() {
    auto copy = [&](const std::string& target, const std::string& site, const std::string& dir) {
      return "[[targets.copies]]\nlocation = " + Toml(site) + "\nkind = \"archive-dir\"\npath = " + Toml(dir) +
             "\npattern = \"" + target + "-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar\"\nmanifest = \"{file}.xxh128\"\n";
    };
    std::string toml = "[appliance]\ndata_dir = " + Toml(a.data_dir) + "\nsandbox_dir = " + Toml(a.dir / "sandboxes") +
                       "\ntimezone = \"" + kZone + "\"\nlisten = \"127.0.0.1:0\"\ndrain_grace = \"5s\"\n\n"
                       "[policy]\nmin_copies = 1\n\n";
    toml += "[[targets]]\nname = \"web-app\"\nowner = " + Toml(kOwner) +
            "\nclassification = { K = 2, R = 3, T = 2 }\npersonal_data = \"none\"\nsandbox = \"disk\"\n"
            "policy = { rto = \"1h\" }\n" +
            copy("web-app", "site-a", Site("web-app", "site-a", {1, 2, 4, 5})) +
            copy("web-app", kSiteB, Site("web-app", kSiteB, {1, 2})) + "[[targets.tests]]\nschedule = \"@yearly\"\n\n";
    toml += "[[targets]]\nname = \"payroll\"\nowner = \"HR\"\nclassification = { K = 3, R = 3, T = 2 }\n"
            "personal_data = \"Anställda: namn, personnummer\"\nsandbox = \"disk\"\n" +
            copy("payroll", "site-a", Site("payroll", "site-a", {1, 2})) + "[[targets.tests]]\nschedule = \"@yearly\"\n";
    test::WriteFile(a.config, toml);
  }
};

// One estate, one drill and one `serve` for the whole suite: the drill restores for real.
class WebPages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    e_ = new Estate;
    e_->Write();
    for (const auto& [user, role] : std::vector<std::pair<std::string, std::string>>{
             {"viewer1", "viewer"}, {"operator1", "operator"}, {"auditor1", "auditor"}, {"root", "admin"}})
      ASSERT_EQ(AddUser(e_->a, user, role, kPassword), 0) << user;
    drill_ = test::RunWithConfig(e_->a.dir.path(), e_->a.config, "drill run --target web-app --responsible Dana --json");
    serve_ = new Serve(e_->a);
    port_ = serve_->Port();
    // The first catalog check writes the snapshots the findings come from.
    test::WaitFor([] { return serve_->Log().find("\"catalog-checked\"") != std::string::npos; }, 30);
  }
  static void TearDownTestSuite() {
    delete serve_;
    delete e_;
  }
  void SetUp() override {
    ASSERT_EQ(drill_.rc, 0) << drill_.out << drill_.err;
    ASSERT_GT(port_, 0) << serve_->Log();
  }
  // Waits until no run is queued or running.
  static bool Idle(Store& store, double seconds = 60) {
    return test::WaitFor([&] {
      for (const auto& r : store.ListRuns({}))
        if (!RunStateFinal(r.state)) return false;
      return true;
    }, seconds);
  }
  static Estate* e_;
  static Serve* serve_;
  static int port_;
  static test::CliResult drill_;
};
Estate* WebPages::e_ = nullptr;
Serve* WebPages::serve_ = nullptr;
int WebPages::port_ = 0;
test::CliResult WebPages::drill_;

TEST_F(WebPages, EachRoleReachesItsPagesAndIsRefusedTheOthers) {
  auto store = OpenStore(e_->a.data_dir);
  const auto runs = store->ListRuns({});
  ASSERT_FALSE(runs.empty());
  const std::string run_path = "/runs/" + std::to_string(runs.back().id);
  for (const char* user : {"viewer1", "operator1", "auditor1", "root"}) {
    const Session s = Login(port_, user);
    ASSERT_FALSE(s.cookie.empty()) << user;
    for (const std::string& path : std::vector<std::string>{"/targets/web-app", "/targets/payroll", run_path, "/drills"}) {
      const Response r = Get(port_, path, s);
      EXPECT_EQ(r.status, 200) << user << " " << path << " " << r.body;
      EXPECT_EQ(H(r, "content-type"), "text/html; charset=utf-8") << path;
      EXPECT_NE(r.body.find("<h1>"), std::string::npos) << path;
    }
    const bool auditor = user == std::string("auditor1") || user == std::string("root");
    for (const char* path : {"/log", "/evidence"}) {
      const Response r = Get(port_, path, s);
      EXPECT_EQ(r.status, auditor ? 200 : 403) << user << " " << path;
      if (!auditor) {
        EXPECT_NE(r.body.find("auditor"), std::string::npos) << r.body;
      }
    }
    EXPECT_EQ(Get(port_, "/targets/nope", s).status, 404);
    EXPECT_EQ(Get(port_, "/targets/web-app/nope", s).status, 404);
    EXPECT_EQ(Get(port_, "/runs/abc", s).status, 404);
    EXPECT_EQ(Get(port_, "/runs/0", s).status, 404);
    EXPECT_EQ(Get(port_, "/runs/999999", s).status, 404);
    EXPECT_EQ(Get(port_, "/runs/1%20OR%201=1", s).status, 404);
    EXPECT_EQ(Get(port_, "/targets/web-app?x=1", s).status, 400);
    EXPECT_EQ(Request(port_, "POST", "/runs/" + std::to_string(runs.back().id), s.header() + "Content-Length: 0\r\n").status, 405);
  }
  // Without a session every page sends the browser to sign in.
  for (const char* path : {"/targets/web-app", "/runs/1", "/drills", "/log", "/evidence"})
    EXPECT_EQ(Request(port_, "GET", path).status, 303) << path;
}

// The calendar's cells against what the test wrote and what the store says was verified.
TEST_F(WebPages, TheCalendarShowsVerifiedPresentAndMissingForTheRightDays) {
  auto store = OpenStore(e_->a.data_dir);
  ASSERT_TRUE(Idle(*store));
  RunFilter passed;
  passed.state = RunState::kPassed;
  passed.target = "web-app";
  const auto runs = store->ListRuns(passed);
  ASSERT_FALSE(runs.empty()) << "the drill's restore test passed";
  std::set<std::pair<std::string, int64_t>> verified;
  for (const auto& r : runs) verified.emplace(r.location, e_->zone.LocalDate(r.point_time).days);

  const Session s = Login(port_, "viewer1");
  const Response page = Get(port_, "/targets/web-app", s);
  ASSERT_EQ(page.status, 200);
  const Date today = e_->zone.LocalDate(webtest::NowUtc());
  int index = 0;
  int seen_verified = 0, seen_missing = 0;
  for (const std::string& site : std::vector<std::string>{"site-a", kSiteB}) {
    std::set<int64_t> present;
    for (int64_t t : e_->points[site]) present.insert(e_->zone.LocalDate(t).days);
    const std::string open = "<ol class=\"cal\" aria-labelledby=\"cal-" + std::to_string(index++) + "\">";
    const size_t at = page.body.find(open);
    ASSERT_NE(at, std::string::npos) << page.body;
    const std::string list = page.body.substr(at, page.body.find("</ol>", at) - at);
    std::vector<std::string> expected, shown;
    for (Date d = today - 29; d <= today; d = d + 1) {
      const bool has = present.count(d.days) > 0;
      const std::string state = has && verified.count({site, d.days}) ? "verified" : has ? "present" : "missing";
      expected.push_back("d-" + state + " " + d.ToString() + ": " + state);
      seen_verified += state == "verified";
      seen_missing += state == "missing";
    }
    const std::regex cell(R"re(<li class="(d-[a-z]+)">.*?<span class="sr">([0-9-]+): ([a-z]+)</span></li>)re");
    for (auto it = std::sregex_iterator(list.begin(), list.end(), cell); it != std::sregex_iterator(); ++it)
      shown.push_back((*it)[1].str() + " " + (*it)[2].str() + ": " + (*it)[3].str());
    EXPECT_EQ(shown, expected) << site;
  }
  EXPECT_GE(seen_verified, 1);
  EXPECT_GE(seen_missing, 30 - 4 + 30 - 2 - 0);  // the days without points, day 3 at site-a among them
  // The copies' table names both locations and kinds; the legend says each word.
  EXPECT_NE(page.body.find("archive-dir"), std::string::npos);
  for (const char* word : {"verified", "present", "missing"})
    EXPECT_NE(page.body.find(std::string("</span> ") + word + "</li>"), std::string::npos) << word;
}

TEST_F(WebPages, TheChartIsWellFormedSvgWithTheObjectiveLineAndTheRunsDrawn) {
  const Session s = Login(port_, "viewer1");
  const Response page = Get(port_, "/targets/web-app", s);
  ASSERT_EQ(page.status, 200);
  const size_t from = page.body.find("<svg"), to = page.body.find("</svg>");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  const std::string svg = page.body.substr(from, to + 6 - from);
  EXPECT_NE(svg.find("role=\"img\""), std::string::npos);
  EXPECT_NE(svg.find("aria-labelledby=\"chart-title chart-desc\""), std::string::npos);
  test::TempDir dir;
  test::WriteFile(dir / "chart.svg", svg);
  // Parsed as XML; the objective line is horizontal at the 1 h objective, and each passed run is
  // a circle at or below it (its duration is seconds, not an hour).
  const std::string script =
      "import sys, xml.etree.ElementTree as E\n"
      "ns = '{http://www.w3.org/2000/svg}'\n"
      "root = E.parse(sys.argv[1]).getroot()\n"
      "assert root.tag == ns + 'svg', root.tag\n"
      "lines = [l for l in root.iter(ns + 'line') if l.get('class') == 'objective']\n"
      "assert len(lines) == 1, lines\n"
      "l = lines[0]\n"
      "assert l.get('y1') == l.get('y2')\n"
      "y = float(l.get('y1'))\n"
      "circles = list(root.iter(ns + 'circle'))\n"
      "assert len(circles) >= 1, 'no run drawn'\n"
      "assert all(float(c.get('cy')) > y for c in circles), 'a run drawn above the objective'\n"
      "texts = ' '.join(t.text or '' for t in root.iter(ns + 'text'))\n"
      "assert 'RTO objective 1 h 00 min' in texts, texts\n"
      "assert root.find(ns + 'title').text.startswith('Restore duration and throughput')\n"
      "assert root.find(ns + 'desc').text\n"
      "print('ok')\n";
  test::WriteFile(dir / "check.py", script);
  std::string out;
  EXPECT_EQ(test::Run("python3 " + ShellQuote(dir / "check.py") + " " + ShellQuote(dir / "chart.svg"), &out), 0)
      << out << svg;
  // The text alternative: the history table lists the drill's run with a link to it.
  auto store = OpenStore(e_->a.data_dir);
  RunFilter f;
  f.target = "web-app";
  const auto runs = store->ListRuns(f);
  ASSERT_FALSE(runs.empty());
  EXPECT_NE(page.body.find("<a href=\"/runs/" + std::to_string(runs.back().id) + "\">"), std::string::npos);
}

TEST_F(WebPages, TheFindingsNameTheirRuleAndCiteItsSection) {
  const Session s = Login(port_, "viewer1");
  const Response page = Get(port_, "/targets/web-app", s);
  ASSERT_EQ(page.status, 200);
  // Day 3 is missing at site-a and 30 days are asked for: retention.daily fails, cited by §.
  EXPECT_NE(page.body.find("<code>retention.daily</code>"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find(Escaped("Säker drift av IS/IT §6.")), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("v-failing"), std::string::npos);
  // The facts: classification, RTO, personal data.
  EXPECT_NE(page.body.find("K2 R3 T2"), std::string::npos);
  EXPECT_NE(page.body.find("1 h 00 min"), std::string::npos);
  EXPECT_NE(page.body.find("none declared"), std::string::npos);
  const Response payroll = Get(port_, "/targets/payroll", s);
  EXPECT_NE(payroll.body.find("declared: Anställda: namn, personnummer"), std::string::npos);
}

TEST_F(WebPages, HtmlMetaCharactersInConfiguredTextsAreEscaped) {
  const Session s = Login(port_, "viewer1");
  const Response page = Get(port_, "/targets/web-app", s);
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("<i>"), std::string::npos);
  EXPECT_NE(page.body.find("<dd>" + Escaped(kOwner) + "</dd>"), std::string::npos)
      << page.body.substr(page.body.find("<dt>Owner"), 200);
  EXPECT_NE(page.body.find("<td data-label=\"Location\">" + Escaped(kSiteB) + "</td>"), std::string::npos);
  // A name with meta characters in the path is no target, and is not echoed.
  const Response odd = Get(port_, "/targets/%3Cscript%3Ealert(1)%3C%2Fscript%3E", s);
  EXPECT_EQ(odd.status, 404);
  EXPECT_EQ(odd.body.find("<script>"), std::string::npos);
  EXPECT_EQ(odd.body.find("alert(1)"), std::string::npos);
}

TEST_F(WebPages, TestNowNeedsAnOperatorAndTheTokenQueuesARunAndShowsIt) {
  auto store = OpenStore(e_->a.data_dir);
  const Session viewer = Login(port_, "viewer1"), op = Login(port_, "operator1");
  ASSERT_FALSE(op.csrf.empty());
  EXPECT_EQ(Get(port_, "/targets/web-app", viewer).body.find("action=\"/targets/web-app/test\""), std::string::npos)
      << "a viewer sees no button";
  const Response target = Get(port_, "/targets/web-app", op);
  EXPECT_NE(target.body.find("action=\"/targets/web-app/test\""), std::string::npos);
  EXPECT_EQ(HiddenCsrf(target.body), op.csrf);

  const size_t before = store->ListRuns({}).size();
  const size_t refusals = AuditCount(*store, "csrf-refused");
  EXPECT_EQ(PostForm(port_, "/targets/web-app/test", {}, op.header()).status, 403);
  EXPECT_EQ(PostForm(port_, "/targets/web-app/test", {{"csrf", std::string(64, 'f')}}, op.header()).status, 403);
  EXPECT_EQ(PostForm(port_, "/targets/web-app/test", {{"csrf", viewer.csrf}}, viewer.header()).status, 403);
  EXPECT_EQ(Get(port_, "/targets/web-app/test", op).status, 405);
  EXPECT_EQ(store->ListRuns({}).size(), before) << "nothing queued by a refused POST";
  EXPECT_EQ(AuditCount(*store, "csrf-refused"), refusals + 2);

  const Response queued = PostForm(port_, "/targets/web-app/test", {{"csrf", op.csrf}}, op.header());
  ASSERT_EQ(queued.status, 303) << queued.body;
  const std::string location = H(queued, "location");
  ASSERT_EQ(location.rfind("/runs/", 0), 0u) << location;
  const int64_t id = std::stoll(location.substr(6));
  const auto run = store->GetRun(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->request.target, "web-app");
  EXPECT_EQ(run->request.trigger, Trigger::kApi);
  EXPECT_EQ(run->request.requested_by, "operator1");
  EXPECT_EQ(store->ListRuns({}).size(), before + 1);
  EXPECT_EQ(AuditCount(*store, "run-requested"), 1u);

  const Response shown = Get(port_, location + "?refresh=on", viewer);
  ASSERT_EQ(shown.status, 200);
  EXPECT_NE(shown.body.find("#" + std::to_string(id)), std::string::npos);
  EXPECT_NE(shown.body.find("operator1"), std::string::npos);
  if (!RunStateFinal(store->GetRun(id)->state)) {
    EXPECT_NE(shown.body.find("http-equiv=\"refresh\" content=\"5\""), std::string::npos) << "a live run reloads";
  }

  // serve's runner restores it; the page then shows it in full, its log record's hash included.
  ASSERT_TRUE(test::WaitFor([&] { return RunStateFinal(store->GetRun(id)->state); }, 90)) << serve_->Log();
  const RunRecord done = *store->GetRun(id);
  EXPECT_EQ(done.state, RunState::kPassed) << done.message;
  const Response full = Get(port_, location + "?refresh=on", viewer);
  EXPECT_EQ(full.body.find("http-equiv=\"refresh\""), std::string::npos) << "an ended run does not reload";
  EXPECT_NE(full.body.find("\u2714</span> passed"), std::string::npos);
  EXPECT_NE(full.body.find("<code>worker_process</code>"), std::string::npos) << "the isolation layers";
  EXPECT_NE(full.body.find("<dd>" + Escaped(done.location) + "</dd>"), std::string::npos);
  EXPECT_NE(full.body.find(std::to_string(done.files)), std::string::npos);
  LogFilter lf;
  lf.target = "web-app";
  std::string hash;
  for (const auto& r : store->ListLog(lf))
    if (r.run_id == id) hash = r.hash;
  ASSERT_FALSE(hash.empty());
  EXPECT_NE(full.body.find("<code class=\"hash\">" + hash + "</code>"), std::string::npos);
}

TEST_F(WebPages, DrillsAreReportedAndAnOperatorStartsOne) {
  auto store = OpenStore(e_->a.data_dir);
  const Session viewer = Login(port_, "viewer1"), op = Login(port_, "operator1");
  const Response page = Get(port_, "/drills", viewer);
  ASSERT_EQ(page.status, 200);
  const auto drills = store->ListDrills(10);
  ASSERT_FALSE(drills.empty());
  EXPECT_NE(page.body.find("id=\"drill-" + std::to_string(drills.back().id) + "\""), std::string::npos);
  EXPECT_NE(page.body.find("<dd>Dana</dd>"), std::string::npos) << "the responsible person";
  EXPECT_NE(page.body.find("passed</span> every target was restored within its objective."), std::string::npos);
  EXPECT_NE(page.body.find("<a href=\"/targets/web-app\">web-app</a>"), std::string::npos);
  EXPECT_EQ(page.body.find("action=\"/drills\""), std::string::npos) << "a viewer sees no button";
  EXPECT_NE(Get(port_, "/drills", op).body.find("action=\"/drills\""), std::string::npos);

  const size_t before = store->ListDrills(100).size();
  EXPECT_EQ(PostForm(port_, "/drills", {}, op.header()).status, 403);
  EXPECT_EQ(PostForm(port_, "/drills", {{"csrf", viewer.csrf}}, viewer.header()).status, 403);
  EXPECT_EQ(store->ListDrills(100).size(), before);
  const Response started = PostForm(port_, "/drills", {{"csrf", op.csrf}}, op.header());
  ASSERT_EQ(started.status, 303) << started.body;
  const auto now = store->ListDrills(100);
  ASSERT_EQ(now.size(), before + 1);
  const DrillRecord& d = now.front();
  EXPECT_EQ(H(started, "location"), "/drills#drill-" + std::to_string(d.id));
  EXPECT_EQ(d.responsible, "operator1");
  EXPECT_EQ(d.trigger, Trigger::kApi);
  EXPECT_EQ(d.targets, (std::vector<std::string>{"web-app", "payroll"}));
  RunFilter f;
  f.drill_id = d.id;
  EXPECT_EQ(store->ListRuns(f).size(), 2u);
  EXPECT_EQ(AuditCount(*store, "drill-requested"), 1u);
  // serve's runner restores both and finishes the drill.
  EXPECT_TRUE(test::WaitFor([&] { return store->GetDrill(d.id)->state == DrillState::kFinished; }, 120)) << serve_->Log();
  const Response after = Get(port_, "/drills", viewer);
  EXPECT_NE(after.body.find("<dd>operator1</dd>"), std::string::npos);
}

TEST_F(WebPages, TheLogIsPagedNewestFirstWithItsHashesAndAChangedRecordShows) {
  auto store = OpenStore(e_->a.data_dir);
  for (int i = 0; i < 60; ++i) {
    LogRecord r = NewLogRecord(LogKind::kConfigChange, webtest::NowUtc(), e_->zone);
    r.responsible = "tester";
    r.reason = "change " + std::to_string(i);
    r.result = "applied";
    store->AppendLog(r);
  }
  LogFilter newest;
  newest.limit = 1;
  const int64_t head = store->ListLog(newest).back().seq;
  ASSERT_GT(head, 60);
  const Session s = Login(port_, "auditor1");
  const Response first = Get(port_, "/log", s);
  ASSERT_EQ(first.status, 200);
  const auto all = store->ReadLog(1, 0);
  auto row_seqs = [](const std::string& body) {
    std::vector<int64_t> seqs;
    const std::regex seq(R"re(<tr><td data-label="Seq" class="num">([0-9]+)</td>)re");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), seq); it != std::sregex_iterator(); ++it)
      seqs.push_back(std::stoll((*it)[1]));
    return seqs;
  };
  std::vector<int64_t> expected;
  for (int64_t q = head; q > head - 50; --q) expected.push_back(q);
  EXPECT_EQ(row_seqs(first.body), expected);
  EXPECT_NE(first.body.find(all.back().hash.substr(0, 16)), std::string::npos);
  EXPECT_NE(first.body.find("recompute to their hashes"), std::string::npos);
  const std::string older = "/log?before=" + std::to_string(head - 49);
  EXPECT_NE(first.body.find("href=\"" + older + "\""), std::string::npos) << first.body;
  const Response second = Get(port_, older, s);
  ASSERT_EQ(second.status, 200);
  const auto seqs = row_seqs(second.body);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), head - 50);
  EXPECT_EQ(seqs.back(), std::max<int64_t>(1, head - 99));
  EXPECT_NE(second.body.find("href=\"/log\""), std::string::npos) << "the newer page";
  EXPECT_EQ(Get(port_, "/log?before=abc", s).status, 400);
  EXPECT_EQ(Get(port_, "/log?before=1&before=2", s).status, 400);
  EXPECT_EQ(Get(port_, "/log?x=1", s).status, 400);

  // A record changed behind the store's back: the page that shows it says so.
  ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(e_->a.data_dir)) +
                      " \"UPDATE restoration_log SET responsible = 'Mallory' WHERE seq = " + std::to_string(head - 3) + "\""),
            0);
  const Response changed = Get(port_, "/log", s);
  EXPECT_NE(changed.body.find("Record " + std::to_string(head - 3) + ": changed"), std::string::npos) << changed.body;
  EXPECT_NE(changed.body.find("Mallory"), std::string::npos);
  // Put back, so that the log verifies again for the tests after this one.
  ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(StorePath(e_->a.data_dir)) +
                      " \"UPDATE restoration_log SET responsible = 'tester' WHERE seq = " + std::to_string(head - 3) + "\""),
            0);
  EXPECT_NE(Get(port_, "/log", s).body.find("recompute to their hashes"), std::string::npos);
}

TEST_F(WebPages, EvidenceIsASignedBundleThatVerifiesAndBadDatesAnswerTheForm) {
  auto store = OpenStore(e_->a.data_dir);
  const Session auditor = Login(port_, "auditor1"), op = Login(port_, "operator1");
  const Response form = Get(port_, "/evidence", auditor);
  ASSERT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("<label for=\"from\">"), std::string::npos);
  EXPECT_NE(form.body.find("name=\"target.web-app\""), std::string::npos);
  EXPECT_NE(form.body.find("name=\"target.payroll\""), std::string::npos);

  const Date today = e_->zone.LocalDate(webtest::NowUtc());
  const std::string from = (today - 7).ToString(), to = today.ToString();
  EXPECT_EQ(PostForm(port_, "/evidence", {{"from", from}, {"to", to}}, auditor.header()).status, 403);
  EXPECT_EQ(PostForm(port_, "/evidence", {{"csrf", op.csrf}, {"from", from}, {"to", to}}, op.header()).status, 403);
  const Response bad = PostForm(port_, "/evidence", {{"csrf", auditor.csrf}, {"from", "2026-13-45"}, {"to", to}}, auditor.header());
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("expected a date like 2026-11-22"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("<form method=\"post\" action=\"/evidence\""), std::string::npos);
  const Response reversed = PostForm(port_, "/evidence", {{"csrf", auditor.csrf}, {"from", to}, {"to", from}}, auditor.header());
  EXPECT_EQ(reversed.status, 400);
  EXPECT_NE(reversed.body.find("ends before it begins"), std::string::npos);
  EXPECT_EQ(PostForm(port_, "/evidence", {{"csrf", auditor.csrf}, {"from", from}, {"to", to}, {"target.nope", "on"}},
                     auditor.header()).status, 400);
  EXPECT_EQ(AuditCount(*store, "evidence-export"), 0u);

  const Response bundle = PostForm(port_, "/evidence",
                                   {{"csrf", auditor.csrf}, {"from", from}, {"to", to}, {"target.web-app", "on"},
                                    {"target.payroll", "on"}},
                                   auditor.header());
  ASSERT_EQ(bundle.status, 200) << bundle.body.substr(0, 2000);
  EXPECT_EQ(H(bundle, "content-type"), "application/gzip");
  EXPECT_EQ(H(bundle, "content-disposition"), "attachment; filename=\"evidence-" + from + "-" + to + ".tar.gz\"");
  test::TempDir dir;
  test::WriteFile(dir / "bundle.tar.gz", bundle.body);
  std::string out;
  EXPECT_EQ(test::Run(ShellQuote(RP_BINARY) + " evidence verify " + ShellQuote(dir / "bundle.tar.gz") + " --key " +
                          ShellQuote(e_->a.data_dir + "/signing.pub"),
                      &out),
            0)
      << out;
  // Pseudonymised: the name of the target holding personal data is not in the bundle.
  test::Run("cd " + ShellQuote(dir.path()) + " && tar xzf bundle.tar.gz");
  std::string grep;
  EXPECT_NE(test::Run("grep -rl payroll " + ShellQuote(dir / "evidence"), &grep), 0) << grep;
  EXPECT_EQ(AuditCount(*store, "evidence-export"), 1u);
  // Nothing of it is left under data_dir.
  for (const auto& entry : std::filesystem::directory_iterator(e_->a.data_dir))
    EXPECT_EQ(entry.path().filename().string().rfind("web-evidence-", 0), std::string::npos) << entry.path();
}

TEST_F(WebPages, PagesAreSwedishFromAcceptLanguageAndAfterTheSwitch) {
  const Session s = Login(port_, "auditor1");
  const Response sv = Get(port_, "/targets/web-app", s, "Accept-Language: sv-SE,sv;q=0.9,en;q=0.5\r\n");
  ASSERT_EQ(sv.status, 200);
  EXPECT_NE(sv.body.find("<html lang=\"sv\">"), std::string::npos);
  EXPECT_NE(sv.body.find("Lagringskalender"), std::string::npos);
  EXPECT_NE(sv.body.find("Återläsningstid och genomströmning"), std::string::npos);
  EXPECT_EQ(sv.body.find("Retention calendar"), std::string::npos);

  const Response sw = Request(port_, "GET", "/lang?to=sv&back=/drills", s.header());
  ASSERT_EQ(sw.status, 303);
  const std::string lang = CookieValue(sw, "rp_lang");
  ASSERT_EQ(lang, "sv");
  const std::string cookie = "; rp_lang=" + lang;
  for (const auto& [path, word] : std::vector<std::pair<std::string, std::string>>{
           {"/drills", "Övningar"}, {"/log", "Återläsningslogg"}, {"/evidence", "Underlag"},
           {"/runs/1", "Körning"}, {"/targets/payroll", "Kopior"}}) {
    const Response r = Request(port_, "GET", path, s.header(cookie));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_NE(r.body.find("<html lang=\"sv\">"), std::string::npos) << path;
    EXPECT_NE(r.body.find(word), std::string::npos) << path;
  }
  const Response en = Request(port_, "GET", "/drills", s.header());
  EXPECT_NE(en.body.find("<html lang=\"en\">"), std::string::npos);
}

// A run not ended yet shows its progress and reloads every 5 s; once it has ended it does not.
// (Queued for tomorrow, so serve's runner leaves it alone; cancelled at the end.)
TEST_F(WebPages, ARunNotEndedShowsItsProgressAndReloadsUntilItEnds) {
  auto store = OpenStore(e_->a.data_dir);
  RunRequest q;
  q.target = "payroll";
  q.test_index = 0;
  q.requested_by = "tester";
  q.not_before = webtest::NowUtc() + 86400;
  const int64_t id = store->EnqueueRun(q, webtest::NowUtc());
  const Session s = Login(port_, "viewer1");
  const Response offered = Get(port_, "/runs/" + std::to_string(id), s);
  ASSERT_EQ(offered.status, 200);
  EXPECT_EQ(offered.body.find("http-equiv=\"refresh\""), std::string::npos) << "no reload the reader did not ask for";
  EXPECT_NE(offered.body.find("href=\"&#x2F;runs&#x2F;" + std::to_string(id) + "?refresh=on\""), std::string::npos);
  const Response live = Get(port_, "/runs/" + std::to_string(id) + "?refresh=on", s);
  ASSERT_EQ(live.status, 200);
  EXPECT_NE(live.body.find("http-equiv=\"refresh\" content=\"5\""), std::string::npos);
  EXPECT_NE(live.body.find("Stop refreshing"), std::string::npos);
  EXPECT_NE(live.body.find("<h2 id=\"progress\">Progress</h2>"), std::string::npos);
  EXPECT_NE(live.body.find("</span> queued</span>"), std::string::npos);
  EXPECT_NE(live.body.find("The record is written when the run ends."), std::string::npos);
  ASSERT_TRUE(store->CancelRun(id, webtest::NowUtc(), "test over"));
  const Response ended = Get(port_, "/runs/" + std::to_string(id) + "?refresh=on", s);
  EXPECT_EQ(ended.body.find("http-equiv=\"refresh\""), std::string::npos) << "an ended run does not reload";
  EXPECT_EQ(ended.body.find("<h2 id=\"progress\">"), std::string::npos);
  EXPECT_NE(ended.body.find("</span> cancelled</span> test over"), std::string::npos) << ended.body;
}

}  // namespace
}  // namespace rp
