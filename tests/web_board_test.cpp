// The dashboard and what it stands on: the Accept-Language reader, the status board (order,
// counts, the RTO, restores running now with their progress), its cache, and the page over real
// loopback HTTP against the real binary and its SQLite store, in English and Swedish.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <regex>

#include "rp/codec.h"
#include "rp/metrics.h"
#include "rp/store.h"
#include "status_board.h"
#include "web_kit.h"
#include "web_app.h"
#include "web_parse.h"

namespace rp::webtest {
namespace {

constexpr const char* kPassword = "correct horse battery staple";

TEST(PreferredLanguage, PicksTheHighestQualityOfTheSupportedAndIgnoresTheRest) {
  EXPECT_EQ(PreferredLanguage("sv-SE,sv;q=0.9,en;q=0.8", {"en", "sv"}), "sv");
  EXPECT_EQ(PreferredLanguage("en-GB,en;q=0.9,sv;q=0.8", {"en", "sv"}), "en");
  EXPECT_EQ(PreferredLanguage("de-DE,de;q=0.9,sv;q=0.5,en;q=0.4", {"en", "sv"}), "sv");
  EXPECT_EQ(PreferredLanguage("de, fr", {"en", "sv"}), "");
  EXPECT_EQ(PreferredLanguage("SV", {"en", "sv"}), "sv");
  EXPECT_EQ(PreferredLanguage("*", {"en", "sv"}), "en");
  EXPECT_EQ(PreferredLanguage("sv;q=0, en;q=0.1", {"en", "sv"}), "en");
  EXPECT_EQ(PreferredLanguage("sv;q=0", {"en", "sv"}), "");
  // Equal quality: the first named wins.
  EXPECT_EQ(PreferredLanguage("en;q=0.5, sv;q=0.5", {"en", "sv"}), "en");
  // Malformed quality values are skipped, not guessed.
  EXPECT_EQ(PreferredLanguage("sv;q=2, en;q=0.3", {"en", "sv"}), "en");
  EXPECT_EQ(PreferredLanguage("sv;q=0.x, en", {"en", "sv"}), "en");
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(AcceptsGzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip("*, gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=x"));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("gzipx"));
  EXPECT_EQ(PreferredLanguage("", {"en", "sv"}), "");
  EXPECT_EQ(PreferredLanguage(",,,;;;q=", {"en", "sv"}), "");
}

// A store with four targets in the four states a board sorts by.
class Board : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string toml = "[appliance]\ndata_dir = \"" + (dir_ / "data") + "\"\ntimezone = \"UTC\"\n[policy]\nrto = \"1h\"\n";
    for (const char* name : {"alpha-ok", "bravo-failing", "charlie-unchecked", "delta-warning", "echo-failing"})
      toml += std::string("[[targets]]\nname = \"") + name +
              "\"\nowner = \"O\"\nclassification = { K = 2, R = 3, T = 4 }\npersonal_data = \"none\"\n"
              "[[targets.copies]]\nlocation = \"a\"\nkind = \"archive-dir\"\npath = \"/nonexistent\"\n"
              "pattern = \"x-{YYYY}{MM}{DD}.tar\"\n";
    test::WriteFile(dir_ / "c.toml", toml);
    const ConfigResult cr = LoadConfigFile(dir_ / "c.toml");
    ASSERT_TRUE(cr.errors.empty()) << cr.errors[0].Format();
    config_ = std::make_shared<const Config>(cr.config);
    std::filesystem::create_directories(dir_ / "data");
    ASSERT_TRUE(OpenSqliteStore(StorePath(dir_ / "data"), &store_, false).ok());
  }
  void Snapshot(const std::string& target, Verdict v, int64_t newest, std::vector<PolicyFinding> findings = {}) {
    TargetEvaluation e;
    e.target = target;
    e.verdict = v;
    e.newest = newest;
    e.findings = std::move(findings);
    store_->PutCatalogSnapshot(target, NowUtc(), std::string(VerdictName(v)), EncodeJson(e));
  }
  // A run of `target` that ran and ended in `state`, taking `duration_s`.
  int64_t Ended(const std::string& target, RunState state, double duration_s) {
    RunRequest q;
    q.target = target;
    const int64_t id = store_->EnqueueRun(q, NowUtc());
    const auto run = store_->ClaimRun("me", NowUtc(), NowUtc() + 600);
    EXPECT_TRUE(run && run->id == id);
    RunOutcome o;
    o.state = state;
    o.finished_at = NowUtc();
    o.duration_s = duration_s;
    o.bytes = 1000;
    EXPECT_TRUE(store_->FinishRun(id, "me", o));
    return id;
  }
  TempDir dir_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
};

TEST_F(Board, SortsFailingThenWarningThenUncheckedThenOkAndCountsEach) {
  Snapshot("alpha-ok", Verdict::kOk, NowUtc() - 3600);
  Snapshot("bravo-failing", Verdict::kFailing, 0);
  Snapshot("delta-warning", Verdict::kWarning, NowUtc() - 7200);
  Snapshot("echo-failing", Verdict::kFailing, 0);
  const web::StatusBoard b = web::BuildStatusBoard(*config_, *store_, NowUtc());
  std::vector<std::string> order;
  for (const auto& t : b.targets) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"bravo-failing", "echo-failing", "delta-warning", "charlie-unchecked",
                                             "alpha-ok"}));
  EXPECT_EQ(b.Count(Verdict::kFailing), 2);
  EXPECT_EQ(b.Count(Verdict::kWarning), 1);
  EXPECT_EQ(b.Count(Verdict::kOk), 1);
  EXPECT_EQ(b.Unchecked(), 1);
  EXPECT_EQ(b.overall, Verdict::kFailing);
  EXPECT_FALSE(b.Find("charlie-unchecked")->verdict);
  EXPECT_EQ(b.Find("alpha-ok")->rto_objective_s, 3600);
  EXPECT_EQ(b.Find("alpha-ok")->classification.t, 4);
}

TEST_F(Board, RetentionAndRedundancyAreTheWorstFindingOfTheirFamilies) {
  PolicyFinding stale;
  stale.rule = PolicyRule::kFreshness;
  stale.severity = Verdict::kFailing;
  PolicyFinding lag;
  lag.rule = PolicyRule::kRedundancyLag;
  lag.severity = Verdict::kWarning;
  Snapshot("alpha-ok", Verdict::kFailing, 1, {stale, lag});
  PolicyFinding offline;
  offline.rule = PolicyRule::kLocationOffline;
  offline.severity = Verdict::kFailing;
  PolicyFinding daily;
  daily.rule = PolicyRule::kRetentionDaily;
  daily.severity = Verdict::kFailing;
  Snapshot("bravo-failing", Verdict::kFailing, 1, {offline, daily});
  const web::StatusBoard b = web::BuildStatusBoard(*config_, *store_, NowUtc());
  EXPECT_EQ(b.Find("alpha-ok")->retention, Verdict::kOk) << "freshness is not retention";
  EXPECT_EQ(b.Find("alpha-ok")->redundancy, Verdict::kWarning);
  EXPECT_EQ(b.Find("bravo-failing")->retention, Verdict::kFailing);
  EXPECT_EQ(b.Find("bravo-failing")->redundancy, Verdict::kFailing) << "an offline copy breaks redundancy";
  EXPECT_FALSE(b.Find("charlie-unchecked")->retention);
}

TEST_F(Board, TheRtoIsMeasuredByTheNewestPassedTestEvenAfterAFailure) {
  Ended("alpha-ok", RunState::kPassed, 120);
  Ended("alpha-ok", RunState::kFailed, 5);
  Ended("bravo-failing", RunState::kPassed, 7200);
  const web::StatusBoard b = web::BuildStatusBoard(*config_, *store_, NowUtc());
  const auto* a = b.Find("alpha-ok");
  ASSERT_TRUE(a->last_test && a->last_passed);
  EXPECT_EQ(a->last_test->state, RunState::kFailed);
  EXPECT_EQ(a->last_passed->duration_s, 120);
  EXPECT_TRUE(a->RtoMet());
  EXPECT_FALSE(b.Find("bravo-failing")->RtoMet()) << "two hours against an objective of one";
  EXPECT_FALSE(b.Find("charlie-unchecked")->last_test);
  EXPECT_EQ(b.runs.at(RunState::kPassed), 2);
  EXPECT_EQ(b.runs.at(RunState::kFailed), 1);
}

TEST_F(Board, RunningRestoresCarryTheProgressTheirHolderRecorded) {
  RunRequest q;
  q.target = "delta-warning";
  const int64_t id = store_->EnqueueRun(q, NowUtc());
  q.target = "alpha-ok";
  store_->EnqueueRun(q, NowUtc());
  ASSERT_TRUE(store_->ClaimRun("holder", NowUtc(), NowUtc() + 600));
  EXPECT_TRUE(store_->RecordProgress(id, "holder", RunProgress{7, 5000, 20000, NowUtc()}));
  EXPECT_FALSE(store_->RecordProgress(id, "someone-else", RunProgress{99, 99, 99, NowUtc()}))
      << "only the holder writes progress";
  const web::StatusBoard b = web::BuildStatusBoard(*config_, *store_, NowUtc());
  ASSERT_EQ(b.running.size(), 1u);
  EXPECT_EQ(b.running[0].target, "delta-warning");
  EXPECT_EQ(b.running[0].run.progress.files, 7u);
  EXPECT_EQ(b.running[0].run.progress.bytes, 5000u);
  EXPECT_EQ(b.running[0].run.progress.total_bytes, 20000u);
  EXPECT_EQ(b.runs.at(RunState::kQueued), 1);
  EXPECT_EQ(b.runs.at(RunState::kRunning), 1);
}

TEST_F(Board, TheCacheRebuildsBesideTheRequestsAndAtOnceWhenInvalidatedOrReconfigured) {
  web::StatusCache cache(60);
  const auto first = cache.Get(config_, *store_);
  Snapshot("alpha-ok", Verdict::kOk, 1);
  EXPECT_EQ(cache.Get(config_, *store_), first) << "a fresh board is reused";
  EXPECT_FALSE(first->Find("alpha-ok")->verdict);
  cache.Invalidate();
  const auto second = cache.Get(config_, *store_);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->Find("alpha-ok")->verdict, Verdict::kOk);
  auto other = std::make_shared<const Config>(*config_);
  EXPECT_NE(cache.Get(other, *store_), second) << "another configuration, another board";
  web::StatusCache quick(0.5);
  const auto q1 = quick.Get(config_, *store_);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(quick.Get(config_, *store_), q1) << "an aged board is answered at once, not waited for";
  EXPECT_TRUE(test::WaitFor([&] { return quick.Get(config_, *store_) != q1; }, 10)) << "and rebuilt beside";
}

TEST_F(Board, ABoardLeftToAgeWhileNobodyAskedIsNotShownAgain) {
  web::StatusCache cache(0.3);
  const auto first = cache.Get(config_, *store_);
  Snapshot("alpha-ok", Verdict::kFailing, 1);
  // Nobody asks: the cache's thread sleeps; a later request must not get the old board.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  const auto later = cache.Get(config_, *store_);
  EXPECT_NE(later, first);
  EXPECT_EQ(later->Find("alpha-ok")->verdict, Verdict::kFailing);
}

TEST(PageFormat, DurationsBytesAndAgesReadAsAPersonWritesThem) {
  EXPECT_EQ(web::FormatDuration(0.5), "0.50 s");
  EXPECT_EQ(web::FormatDuration(42), "42 s");
  EXPECT_EQ(web::FormatDuration(192), "3 min 12 s");
  EXPECT_EQ(web::FormatDuration(3725), "1 h 02 min");
  EXPECT_EQ(web::FormatDuration(2.2e10), "> 2400 h") << "an estimate past any int";
  EXPECT_EQ(web::FormatDuration(-3), "0.00 s");
  EXPECT_EQ(web::FormatBytes(512), "512 B");
  EXPECT_EQ(web::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(web::FormatBytes(300ull << 20), "300 MiB");
  EXPECT_EQ(web::FormatRate(0), "-");
  EXPECT_EQ(web::FormatAge(web::Lang::kSv, 3 * 86400 + 5), "3 d");
  EXPECT_EQ(web::FormatAge(web::Lang::kEn, 7300), "2 h");
}

// --- the page -------------------------------------------------------------------------------

Response Get(int port, const std::string& path, const std::string& extra = "") {
  return Request(port, "GET", path, extra);
}

std::string H(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

std::string SessionHeader(int port, const std::string& name) {
  const Response form = Request(port, "GET", "/login");
  const std::string body = "name=" + name + "&password=correct+horse+battery+staple&csrf=" + HiddenCsrf(form.body);
  const Response r = Request(port, "POST", "/login",
                             "Cookie: rp_login_csrf=" + CookieValue(form, "rp_login_csrf") +
                                 "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body);
  return "Cookie: rp_session=" + CookieValue(r, "rp_session") + "\r\n";
}

class Dashboard : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(AddUser(a_, "viewer1", "viewer", kPassword), 0);
    ASSERT_EQ(AddUser(a_, "root", "admin", kPassword), 0);
    serve_ = std::make_unique<Serve>(a_);
    port_ = serve_->Port();
    ASSERT_GT(port_, 0) << serve_->Log();
    ASSERT_TRUE(OpenSqliteStore(StorePath(a_.data_dir), &store_, false).ok());
  }
  // A verdict newer than any catalog check serve makes itself.
  void Put(const std::string& target, Verdict v) {
    TargetEvaluation e;
    e.target = target;
    e.verdict = v;
    e.newest = NowUtc() - 5400;
    store_->PutCatalogSnapshot(target, NowUtc() + 100000, std::string(VerdictName(v)), EncodeJson(e));
  }
  Appliance a_;
  std::unique_ptr<Serve> serve_;
  int port_ = 0;
  std::unique_ptr<Store> store_;
};

TEST_F(Dashboard, ShowsEveryTargetFailingFirstWithWordAndIconAndRunningRestoresWithProgress) {
  Put("open-files", Verdict::kOk);
  Put("payroll-secret", Verdict::kFailing);
  RunRequest q;
  q.target = "open-files";
  q.not_before = NowUtc() + 100000;  // not for serve's own runner
  const int64_t id = store_->EnqueueRun(q, NowUtc());
  // Claimed here as if another process ran it: serve sees a running run with progress.
  const auto run = store_->ClaimRun("elsewhere/1/1", NowUtc() + 200000, NowUtc() + 300000);
  ASSERT_TRUE(run && run->id == id);
  ASSERT_TRUE(store_->RecordProgress(id, "elsewhere/1/1", RunProgress{3, 512 * 1024, 1024 * 1024, NowUtc()}));
  const std::string session = SessionHeader(port_, "viewer1");
  const Response page = Get(port_, "/", session);
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string& html = page.body;
  const size_t failing = html.find(">payroll-secret<"), ok = html.find(">open-files</a></td><td><span class=\"v v-ok\">");
  ASSERT_NE(failing, std::string::npos) << html;
  ASSERT_NE(ok, std::string::npos) << html;
  EXPECT_LT(failing, ok) << "the failing target comes first";
  EXPECT_NE(html.find("Some targets are failing"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"v v-failing\">Failing</span>"), std::string::npos) << "a word, not a colour alone";
  EXPECT_NE(html.find("<span class=\"v v-ok\">OK</span>"), std::string::npos);
  const std::string css = Get(port_, "/static/app.css").body;
  EXPECT_NE(css.find(".v.v-failing::before{content:\"\\2716"), std::string::npos) << "and an icon";
  EXPECT_NE(css.find(".v.v-ok::before{content:\"\\2714"), std::string::npos);
  EXPECT_NE(html.find("Restores running now"), std::string::npos);
  EXPECT_NE(html.find("<progress max=\"100\" value=\"50\""), std::string::npos) << "half of the expected bytes";
  EXPECT_NE(html.find("512 KiB &#x2F; 1.0 MiB"), std::string::npos) << "bytes of the expected total";
  EXPECT_EQ(html.find("http-equiv=\"refresh\""), std::string::npos) << "no reload the reader did not ask for";
  EXPECT_NE(html.find("href=\"&#x2F;?refresh=on\""), std::string::npos) << "but a link to ask for it";
  const Response wall = Get(port_, "/?refresh=on", session);
  EXPECT_NE(wall.body.find("http-equiv=\"refresh\" content=\"5\""), std::string::npos) << "fast while restores run";
  EXPECT_NE(wall.body.find("<a href=\"&#x2F;\">Stop refreshing</a>"), std::string::npos);
  EXPECT_EQ(Get(port_, "/?refresh=yes", session).status, 400);
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  // A browser asks for gzip: the same page, compressed.
  const Response gz = Get(port_, "/", session + "Accept-Encoding: br, gzip;q=0.8\r\n");
  EXPECT_EQ(H(gz, "content-encoding"), "gzip");
  EXPECT_EQ(H(gz, "vary"), "Accept-Encoding");
  EXPECT_LT(gz.body.size(), html.size() / 2);
  EXPECT_EQ(gz.body.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(H(Get(port_, "/", session + "Accept-Encoding: gzip;q=0, identity\r\n"), "content-encoding"), "");
  EXPECT_NE(html.find("href=\"/runs/" + std::to_string(id) + "\""), std::string::npos);
  EXPECT_NE(H(page, "content-security-policy").find("style-src 'self'"), std::string::npos);
  EXPECT_EQ(H(page, "content-security-policy").find("script-src"), std::string::npos) << "no script is allowed";
}

TEST_F(Dashboard, SpeaksSwedishFromAcceptLanguageAndFromTheRememberedSwitch) {
  const std::string session = SessionHeader(port_, "viewer1");
  const Response sv = Get(port_, "/", session + "Accept-Language: sv-SE,sv;q=0.9,en;q=0.5\r\n");
  EXPECT_NE(sv.body.find("<html lang=\"sv\">"), std::string::npos);
  EXPECT_NE(sv.body.find("Kontinuitetsstatus"), std::string::npos);
  const Response sw = Get(port_, "/lang?to=sv&back=%2F", session);
  EXPECT_EQ(sw.status, 303);
  EXPECT_EQ(H(sw, "location"), "/");
  bool kept = false;
  for (const auto& c : sw.set_cookies) kept = kept || (c.rfind("rp_lang=sv;", 0) == 0 && c.find("Max-Age=31536000") != std::string::npos);
  EXPECT_TRUE(kept) << "the choice is remembered for a year";
  const Response remembered = Get(port_, "/", session + "Cookie: rp_lang=sv\r\nAccept-Language: en\r\n");
  EXPECT_NE(remembered.body.find("Kontinuitetsstatus"), std::string::npos) << "the switch beats the browser";
  const Response en = Get(port_, "/", session + "Accept-Language: de, en;q=0.5\r\n");
  EXPECT_NE(en.body.find("Continuity status"), std::string::npos);
}

TEST_F(Dashboard, SignInSpeaksTheReadersLanguageWithTheSwitchAndTheSameStyle) {
  const Response en = Get(port_, "/login");
  EXPECT_NE(en.body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(en.body.find("Sign in to restoreproof"), std::string::npos);
  EXPECT_NE(en.body.find("/static/app.css"), std::string::npos);
  EXPECT_NE(en.body.find("href=\"/lang?to=sv&amp;back=&#x2F;login\""), std::string::npos);
  const Response sv = Get(port_, "/login", "Accept-Language: sv\r\n");
  EXPECT_NE(sv.body.find("<html lang=\"sv\">"), std::string::npos);
  EXPECT_NE(sv.body.find("Logga in i restoreproof"), std::string::npos);
  EXPECT_NE(sv.body.find("Användarnamn"), std::string::npos);
  const std::string body = "name=viewer1&password=wrong-password-123&csrf=" + HiddenCsrf(sv.body);
  const Response wrong = Request(port_, "POST", "/login",
                                 "Cookie: rp_lang=sv; rp_login_csrf=" + CookieValue(sv, "rp_login_csrf") +
                                     "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(wrong.body.find("Namnet eller lösenordet stämmer inte."), std::string::npos) << wrong.body;
}

TEST(NoAdmin, TheSetUpPageSpeaksSwedishToo) {
  Appliance a;
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  const Response sv = Request(port, "GET", "/", "Accept-Language: sv-SE\r\n");
  EXPECT_EQ(sv.status, 503);
  EXPECT_NE(sv.body.find("Det finns ingen administratör än"), std::string::npos) << sv.body;
  EXPECT_NE(sv.body.find("restoreproof user add NAME --role admin"), std::string::npos);
}

TEST_F(Dashboard, TheLanguageSwitchReturnsOnlyToPathsOnThisServer) {
  for (const char* back : {"%2F%2Fevil.example%2F", "https%3A%2F%2Fevil.example%2F", "%2F%5Cevil.example", "evil"}) {
    const Response r = Get(port_, std::string("/lang?to=en&back=") + back);
    EXPECT_EQ(r.status, 303) << back;
    EXPECT_EQ(H(r, "location"), "/") << back;
  }
  EXPECT_EQ(H(Get(port_, "/lang?to=en&back=%2Fdrills"), "location"), "/drills");
  EXPECT_EQ(Get(port_, "/lang?to=fr").status, 400);
  EXPECT_EQ(Get(port_, "/lang?to=en&to=sv").status, 400);
  const Response css = Get(port_, "/static/app.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(H(css, "content-type"), "text/css; charset=utf-8");
  EXPECT_NE(css.body.find("@media (max-width:700px)"), std::string::npos) << "cards on a phone";
}

TEST_F(Dashboard, TheStatusApiComesFromTheSameBoardWithQueuedAndRunningCounted) {
  Put("payroll-secret", Verdict::kFailing);
  Put("open-files", Verdict::kOk);
  RunRequest q;
  q.target = "open-files";
  q.not_before = NowUtc() + 100000;
  for (int i = 0; i < 3; ++i) store_->EnqueueRun(q, NowUtc());
  std::string token;
  test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(a_.config) + " token create t --role viewer 2>/dev/null",
            &token);
  token = token.substr(0, token.find('\n'));
  const Response r = Get(port_, "/api/v1/status", "Authorization: Bearer " + token + "\r\n");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["runs"]["queued"], 3);
  EXPECT_EQ(j["targets"][0]["name"], "payroll-secret") << "failing first";
  EXPECT_EQ(j["verdict"], "failing");
  EXPECT_TRUE(j["built_at"].is_number());
}

}  // namespace
}  // namespace rp::webtest

namespace rp::webtest {
namespace {

// A copy that never answers (here a restic repository whose password file is a FIFO nobody
// writes, so reading it blocks for ever, as a dead NFS mount does): its target's page still
// answers within seconds saying the copies are being read, twice in a row (one reader per target,
// not one per request), and the rest of the server is unaffected.
TEST(TargetPage, ACopyThatNeverAnswersHoldsNoWebThread) {
  TempDir fifo_dir;
  const std::string fifo = fifo_dir / "password";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Appliance a("[[targets]]\nname = \"hung\"\nowner = \"O\"\nclassification = { K = 1, R = 1, T = 1 }\n"
              "personal_data = \"none\"\n[[targets.copies]]\nlocation = \"nfs\"\nkind = \"restic\"\npath = \"" +
              (fifo_dir / "repo") + "\"\npassword_file = \"" + fifo + "\"\n\n");
  ASSERT_EQ(AddUser(a, "root", "admin", kPassword), 0);
  Serve serve(a);
  const int port = serve.Port();
  ASSERT_GT(port, 0) << serve.Log();
  const std::string session = SessionHeader(port, "root");
  for (int i = 0; i < 6; ++i) {  // more requests than the web server's 4 threads
    const auto start = std::chrono::steady_clock::now();
    const Response page = Request(port, "GET", "/targets/hung", session);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(page.status, 200) << page.body;
    // 5 s for the copies, no more: the restic started for the read must not inherit this
    // request's socket (it would hold the connection open until the server's deadline).
    EXPECT_LT(took, 9) << "request " << i;
    EXPECT_NE(page.body.find("The copies are still being read"), std::string::npos) << page.body.substr(0, 2000);
  }
  EXPECT_EQ(Request(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(Request(port, "GET", "/targets/open-files", session).status, 200) << "another target is not held up";
}

}  // namespace
}  // namespace rp::webtest

// Sampled restore tests on the board and the pages (issue 18, docs/sampling.md): coverage per
// target next to its restore test, a window that ended short of 100% shown as a problem, the
// whole point's time predicted from the sample and marked so wherever it stands against the RTO,
// the target's coverage section, the run's sample and who verified it, and /metrics.
namespace rp::webtest {
namespace {

constexpr int64_t kDayS = 86400;

// The figures of a 4-slice point of 100 files: slice k holds 20 + 5k files of 1,000 bytes each
// (as coverage_test.cpp writes them).
SampleFigures Slice(uint32_t slice, uint64_t seed = 42) {
  SampleFigures f;
  f.spec = {seed, 4, slice};
  f.slice_files = {20, 25, 30, 25};
  for (const uint64_t n : f.slice_files) {
    f.slice_bytes.push_back(n * 1000);
    f.point_files += n;
    f.point_bytes += n * 1000;
  }
  f.sample_files = f.slice_files[slice];
  f.sample_bytes = f.slice_bytes[slice];
  return f;
}

// A passed test of `target` queued `days_ago` days ago that restored slice `slice` in 10 s, as
// the runner records it (worker `host/pid/start`); its id.
int64_t RecordSampled(Store& store, const std::string& target, double days_ago, uint32_t slice,
                      RunState state = RunState::kPassed) {
  RunRequest q;
  q.target = target;
  q.test_index = 0;
  q.trigger = Trigger::kSchedule;
  const int64_t at = NowUtc() - static_cast<int64_t>(days_ago * kDayS);
  const int64_t id = store.EnqueueRun(q, at);
  const auto claimed = store.ClaimRun("verifier-7/4242/99", at, at + 600);
  EXPECT_TRUE(claimed && claimed->id == id);
  EXPECT_TRUE(store.RecordStart(id, "verifier-7/4242/99", target + "-point", at - 3600, "site-a", 0,
                                "verifier-7/4242/99", "v", "h"));
  RunOutcome o;
  o.state = state;
  o.finished_at = at + 60;
  VerifyReport report;
  report.sample = Slice(slice);
  report.files = report.sample->sample_files;
  report.bytes = report.sample->sample_bytes;
  report.duration_s = 10;
  report.status = state == RunState::kPassed ? RunStatus::kPassed : RunStatus::kFailed;
  o.files = report.files;
  o.bytes = report.bytes;
  o.duration_s = 10;
  o.report = report;
  EXPECT_TRUE(store.FinishRun(id, "verifier-7/4242/99", o));
  return id;
}

// A target that samples a quarter at a time with a window of 10 days, as TOML.
std::string SampledTargetToml(const std::string& name) {
  return "[[targets]]\nname = \"" + name +
         "\"\nowner = \"O\"\nclassification = { K = 1, R = 1, T = 1 }\npersonal_data = \"none\"\n"
         "coverage_days = 10\npolicy = { rto = \"1h\" }\n"
         "[[targets.copies]]\nlocation = \"site-a\"\nkind = \"archive-dir\"\npath = \"/nonexistent\"\n"
         "pattern = \"x-{YYYY}{MM}{DD}.tar\"\n[[targets.tests]]\nschedule = \"@yearly\"\nsample = \"25%\"\n\n";
}

class SampledBoard : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string toml = "[appliance]\ndata_dir = \"" + (dir_ / "data") + "\"\ntimezone = \"UTC\"\n" +
                             SampledTargetToml("short") + SampledTargetToml("covered") +
                             "[[targets]]\nname = \"whole\"\nowner = \"O\"\nclassification = { K = 1, R = 1, T = 1 }\n"
                             "personal_data = \"none\"\n[[targets.copies]]\nlocation = \"a\"\nkind = \"archive-dir\"\n"
                             "path = \"/nonexistent\"\npattern = \"x-{YYYY}{MM}{DD}.tar\"\n";
    test::WriteFile(dir_ / "c.toml", toml);
    const ConfigResult cr = LoadConfigFile(dir_ / "c.toml");
    ASSERT_TRUE(cr.errors.empty()) << cr.errors[0].Format();
    config_ = std::make_shared<const Config>(cr.config);
    std::filesystem::create_directories(dir_ / "data");
    ASSERT_TRUE(OpenSqliteStore(StorePath(dir_ / "data"), &store_, false).ok());
  }
  TempDir dir_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
};

TEST_F(SampledBoard, CarriesCoverageAndJudgesTheRtoByThePredictedWholePointTime) {
  // `short`: tested for more than a window; slices 1 and 2 passed within it (55 of 100 files).
  RecordSampled(*store_, "short", 20, 0);
  RecordSampled(*store_, "short", 2, 1);
  RecordSampled(*store_, "short", 1, 2);
  // `covered`: every slice within the window, one failed and passed again.
  RecordSampled(*store_, "covered", 20, 3);
  for (uint32_t k = 0; k < 4; ++k) RecordSampled(*store_, "covered", 5 - k, k);
  RecordSampled(*store_, "covered", 0.5, 0, RunState::kFailed);
  const web::StatusBoard b = web::BuildStatusBoard(*config_, *store_, NowUtc());

  const web::TargetStatus* s = b.Find("short");
  ASSERT_TRUE(s && s->coverage);
  EXPECT_TRUE(s->coverage->window_complete);
  EXPECT_EQ(s->coverage->covered_files, 55u);
  EXPECT_EQ(s->coverage->slices_covered, 2u);
  EXPECT_TRUE(s->CoverageShort()) << "below 100% at the end of a whole window";
  ASSERT_TRUE(s->last_passed && s->last_passed->sample && s->last_passed->predicted_s);
  EXPECT_EQ(s->last_passed->sample->slice, 2u);
  EXPECT_NEAR(*s->last_passed->predicted_s, 10.0 * 100 / 30, 1e-6) << "10 s for 30,000 of 100,000 bytes";
  EXPECT_EQ(s->last_passed->point_files, 100u);
  EXPECT_TRUE(s->RtoMet()) << "33 s predicted against an hour";

  const web::TargetStatus* c = b.Find("covered");
  ASSERT_TRUE(c && c->coverage);
  EXPECT_TRUE(c->coverage->complete());
  EXPECT_FALSE(c->CoverageShort());
  EXPECT_EQ(c->last_test->state, RunState::kFailed);
  EXPECT_NEAR(c->last_passed->RestoreSeconds(), 10.0 * 100 / 25, 1e-6) << "slice 3: 25,000 of 100,000 bytes";

  EXPECT_FALSE(b.Find("whole")->coverage) << "a target that does not sample has no coverage";

  // The RTO is judged by the prediction, not by the sample's own 10 s.
  web::TargetStatus slow = *s;
  slow.rto_objective_s = 20;
  EXPECT_FALSE(slow.RtoMet());

  // A later board reuses the coverage while no run of the target has ended, and computes it
  // again when one has.
  const web::StatusBoard again = web::BuildStatusBoard(*config_, *store_, NowUtc() + 5, &b);
  EXPECT_EQ(again.Find("short")->coverage_at, s->coverage_at);
  RecordSampled(*store_, "short", 0.1, 3);
  const web::StatusBoard after = web::BuildStatusBoard(*config_, *store_, NowUtc() + 6, &again);
  EXPECT_EQ(after.Find("short")->coverage->covered_files, 80u);
  EXPECT_EQ(after.Find("covered")->coverage_at, c->coverage_at) << "the other target's runs did not change";
  const web::StatusBoard late = web::BuildStatusBoard(*config_, *store_, NowUtc() + 6 + web::kCoverageReuseS + 1, &after);
  EXPECT_NE(late.Find("covered")->coverage_at, c->coverage_at) << "and not for longer than a minute";

  // /metrics takes the board's figures, or computes them itself without a board.
  std::map<std::string, TargetCoverage> given;
  for (const auto& t : late.targets)
    if (t.coverage) given.emplace(t.name, *t.coverage);
  given["covered"].point_files = 200;  // marked, to see which figures were used
  given["covered"].covered_files = 50;
  const std::string from_board = RenderMetrics(*config_, *store_, nullptr, NowUtc(), "v", &given);
  EXPECT_NE(from_board.find("restoreproof_coverage_files_ratio{target=\"covered\"} 0.25\n"), std::string::npos)
      << from_board;
  EXPECT_NE(from_board.find("restoreproof_coverage_files_ratio{target=\"short\"} 0.8\n"), std::string::npos);
  const std::string own = RenderMetrics(*config_, *store_, nullptr, NowUtc(), "v");
  EXPECT_NE(own.find("restoreproof_coverage_files_ratio{target=\"covered\"} 1\n"), std::string::npos) << own;
  EXPECT_NE(own.find("restoreproof_coverage_window_complete{target=\"short\"} 1\n"), std::string::npos);
  EXPECT_NE(own.find("restoreproof_predicted_restore_seconds{target=\"short\"} 40\n"), std::string::npos)
      << "slice 3 passed last: 10 s for 25,000 of 100,000 bytes";
  EXPECT_EQ(own.find("{target=\"whole\"}"), std::string::npos)
      << "a target that does not sample (nor ran, nor was checked) has no coverage and no prediction";
}

// The pages and /metrics through the real server, in English and Swedish.
class SampledPages : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(AddUser(a_, "viewer1", "viewer", kPassword), 0);
    ASSERT_EQ(AddUser(a_, "root", "admin", kPassword), 0);
    ASSERT_TRUE(OpenSqliteStore(StorePath(a_.data_dir), &store_, false).ok());
    RecordSampled(*store_, "sampled", 20, 0);
    first_ = RecordSampled(*store_, "sampled", 2, 1);
    last_ = RecordSampled(*store_, "sampled", 1, 2);
    serve_ = std::make_unique<Serve>(a_);
    port_ = serve_->Port();
    ASSERT_GT(port_, 0) << serve_->Log();
  }
  Appliance a_{SampledTargetToml("sampled")};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Serve> serve_;
  int port_ = 0;
  int64_t first_ = 0, last_ = 0;
};

TEST_F(SampledPages, TheDashboardShowsCoverageShortAndThePredictedTime) {
  const std::string session = SessionHeader(port_, "viewer1");
  const std::string en = Get(port_, "/", session).body;
  EXPECT_NE(en.find("<span class=\"v v-failing cov\">Coverage short within 10 d: 55.0% of files, 55.0% of bytes</span>"),
            std::string::npos)
      << en;
  EXPECT_NE(en.find("sample slice 2 of 4"), std::string::npos) << "next to the restore test";
  EXPECT_NE(en.find("33 s (predicted) &#x2F; 1 h 00 min (met)"), std::string::npos) << en;
  const std::string sv = Get(port_, "/", session + "Cookie: rp_lang=sv\r\n").body;
  EXPECT_NE(sv.find("Otillräcklig täckning inom 10 d: 55.0% av filerna, 55.0% av byten"), std::string::npos) << sv;
  EXPECT_NE(sv.find("stickprov del 2 av 4"), std::string::npos);
  EXPECT_NE(sv.find("33 s (beräknad) &#x2F; 1 h 00 min (uppfyllt)"), std::string::npos) << sv;
  EXPECT_NE(Get(port_, "/static/app.css").body.find(".v.cov{white-space:normal}"), std::string::npos)
      << "a long coverage badge wraps on a phone";
}

TEST_F(SampledPages, TheTargetPageHasACoverageSectionAndMarksPredictedTimes) {
  const std::string session = SessionHeader(port_, "viewer1");
  const Response page = Get(port_, "/targets/sampled", session);
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string& en = page.body;
  const size_t at = en.find("<h2 id=\"coverage\">Coverage of sampled restore tests</h2>");
  ASSERT_NE(at, std::string::npos) << en;
  const std::string section = en.substr(at, en.find("<h2 id=\"history\">") - at);
  EXPECT_NE(section.find("Coverage short: below 100% at the end of the window"), std::string::npos) << section;
  EXPECT_NE(section.find("<dd>2 of 4 (seed 42)</dd>"), std::string::npos) << section;
  EXPECT_NE(section.find("<dd>55 of 100 (55.0%)</dd>"), std::string::npos) << section;
  EXPECT_NE(section.find("the target has been tested for a whole window"), std::string::npos);
  const std::string counted = "<a href=\"/runs/" + std::to_string(first_) + "\">#" + std::to_string(first_) +
                              "</a> (slice 1 of 4), <a href=\"/runs/" + std::to_string(last_) + "\">#" +
                              std::to_string(last_) + "</a> (slice 2 of 4)</dd>";
  EXPECT_NE(section.find(counted), std::string::npos) << "the runs counted, oldest first\n" << section;
  EXPECT_NE(section.find("33 s (predicted) against the objective 1 h 00 min (met)"), std::string::npos) << section;
  // The history: the sample's slice, and the whole point's time marked predicted; the chart
  // draws a passed sample at its prediction as a hollow circle.
  EXPECT_NE(en.find("<td data-label=\"Sample\">slice 2 of 4</td>"), std::string::npos);
  EXPECT_NE(en.find("10 s<br>whole point: 33 s (predicted)</td>"), std::string::npos) << en;
  EXPECT_NE(en.find("<circle class=\"predicted\""), std::string::npos);
  EXPECT_NE(en.find("drawn at the time predicted for the whole point"), std::string::npos);
  const std::string sv = Get(port_, "/targets/sampled", session + "Cookie: rp_lang=sv\r\n").body;
  EXPECT_NE(sv.find("Täckning av stickprovstester"), std::string::npos) << sv;
  EXPECT_NE(sv.find("<dd>2 av 4 (frö 42)</dd>"), std::string::npos);
  EXPECT_NE(sv.find("(del 2 av 4)</dd>"), std::string::npos);
  EXPECT_NE(sv.find("hela punkten: 33 s (beräknad)"), std::string::npos) << sv;
  EXPECT_NE(sv.find("Otillräcklig täckning: under 100 % vid fönstrets slut"), std::string::npos);
}

TEST_F(SampledPages, TheRunPageShowsTheSampleThePredictionAndWhoVerified) {
  const std::string session = SessionHeader(port_, "viewer1");
  const Response page = Get(port_, "/runs/" + std::to_string(last_), session);
  ASSERT_EQ(page.status, 200) << page.body;
  const std::string& en = page.body;
  EXPECT_NE(en.find("<h2 id=\"sample\">Sample</h2>"), std::string::npos) << en;
  EXPECT_NE(en.find("<dt>Slice</dt><dd>slice 2 of 4</dd>"), std::string::npos);
  EXPECT_NE(en.find("<dt>Seed</dt><dd><code>42</code></dd>"), std::string::npos);
  EXPECT_NE(en.find("<dd>30 of 100 (30.0%)</dd>"), std::string::npos);
  EXPECT_NE(en.find("29 KiB of 98 KiB (30.0%)"), std::string::npos) << en;
  EXPECT_NE(en.find("<dd>33 s (predicted) against the objective 1 h 00 min (met)</dd>"), std::string::npos) << en;
  EXPECT_NE(en.find("<dd>10 s (the sample only)</dd>"), std::string::npos);
  EXPECT_NE(en.find("<dd>verifier-7&#x2F;4242&#x2F;99</dd>"), std::string::npos) << "the verifying host";
  EXPECT_NE(en.find("<dt>Database role that recorded the result</dt><dd>\u2014</dd>"), std::string::npos)
      << "none on SQLite";
  const std::string sv = Get(port_, "/runs/" + std::to_string(last_), session + "Cookie: rp_lang=sv\r\n").body;
  EXPECT_NE(sv.find("<h2 id=\"sample\">Stickprov</h2>"), std::string::npos) << sv;
  EXPECT_NE(sv.find("<dd>del 2 av 4</dd>"), std::string::npos);
  EXPECT_NE(sv.find("33 s (beräknad) mot målet 1 h 00 min (uppfyllt)"), std::string::npos) << sv;
  EXPECT_NE(sv.find("Databasroll som registrerade resultatet"), std::string::npos);
  EXPECT_NE(sv.find("Verifierande värd"), std::string::npos);
}

TEST_F(SampledPages, MetricsCarryCoverageAndThePredictedRestoreTime) {
  const Response m = Get(port_, "/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find("# TYPE restoreproof_coverage_files_ratio gauge"), std::string::npos) << m.body;
  auto value = [&](const std::string& series) {
    std::smatch v;
    if (!std::regex_search(m.body, v, std::regex(series + "\\{target=\"sampled\"\\} ([0-9.e+-]+)\n"))) return -1.0;
    return std::stod(v[1]);
  };
  EXPECT_NEAR(value("restoreproof_coverage_files_ratio"), 0.55, 1e-9) << m.body;
  EXPECT_NEAR(value("restoreproof_coverage_bytes_ratio"), 0.55, 1e-9);
  EXPECT_EQ(value("restoreproof_coverage_window_complete"), 1);
  EXPECT_NEAR(value("restoreproof_predicted_restore_seconds"), 10.0 * 100 / 30, 1e-3);
  EXPECT_EQ(m.body.find("restoreproof_coverage_files_ratio{target=\"open-files\"}"), std::string::npos)
      << "only targets that sample";
  EXPECT_EQ(m.body.find("restoreproof_predicted_restore_seconds{target=\"open-files\"}"), std::string::npos);
}

}  // namespace
}  // namespace rp::webtest
