// The evidence report's renderers (rp/evidence.h, docs/evidence.md "The report"): the HTML is one
// self-contained document in which no text of the model is markup; the PDF embeds DejaVu Sans and
// the real pdftotext (poppler) reads its rows and Swedish headings back, across pages, with
// nothing drawn outside a page; a missing or broken font is an error, not a crash; each CSV reads
// back through an RFC 4180 reader field for field, with the formula guard on text cells.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evidence_render.h"
#include "rp/evidence.h"
#include "testkit.h"

namespace rp {
namespace {

constexpr int64_t kFrom = 1793487600;       // 2026-11-01T00:00:00+01:00
constexpr int64_t kTo = 1796079600;         // 2026-12-01T00:00:00+01:00
constexpr int64_t kGenerated = 1795334400;  // 2026-11-22T08:00:00Z
constexpr char kTricky[] = "checksum mismatch, in \"lön.csv\"\nand 2 more";
constexpr char kScriptName[] = "<script>alert('x')</script>";

TimeZone Stockholm() { return *TimeZone::Locate("Europe/Stockholm"); }

EvidenceRun MakeRun(int64_t id, const std::string& target, const std::string& state, int64_t at) {
  EvidenceRun run;
  run.id = id;
  run.target = target;
  run.kind = "scheduled-test";
  run.state = state;
  run.queued_at = at - 5;
  run.started_at = at;
  run.finished_at = at + 95;
  run.point_id = "snap-" + std::to_string(id);
  run.location = "nas-1";
  run.files = 1200;
  run.bytes = 123456789;
  run.duration_s = 95.5;
  run.isolation = "landlock=enforced userns=enforced seccomp=enforced";
  run.worker = "appliance-1 pid 4242";
  run.clock_known = true;
  run.clock_synchronised = true;
  run.clock_error_us = 1500;
  run.rto_objective_s = 3600;
  run.within_rto = state == "passed";
  run.citation = "Säker drift av IS/IT §6.1";
  if (state != "passed") {
    run.failing_findings = 3;
    run.message = kTricky;
  }
  return run;
}

// Three targets (one with personal data and a Swedish owner, one whose name is markup), runs
// passed and failed, a drill and a restoration with files to correct.
EvidenceReport Sample() {
  EvidenceReport r;
  r.appliance = "restoreproof-1";
  r.version = "0.1.0";
  r.generated_at = kGenerated;
  r.zone = "Europe/Stockholm";
  r.from = kFrom;
  r.to = kTo;
  r.clear_names = true;
  r.clear_names_reason = "Revisorns begäran, ärende 2026-117";
  r.key_fingerprint = std::string(64, 'a');
  r.chain_seq = 42;
  r.chain_head = std::string(64, 'c');

  EvidenceTarget hr;
  hr.name = "hr-database";
  hr.owner = "Åsa Öberg";
  hr.classification = "K3 R3 T3";
  hr.personal_data = true;
  hr.personal_data_description = "Personuppgifter: namn, personnummer";
  hr.locations = {"nas-1:/backup/hr", "offsite-s3"};
  hr.verdict = "failing";
  hr.findings = {{"restore-test", "failing", "no passed restore test since 2026-11-20", "Säker drift av IS/IT §6.1"}};
  hr.rto_objective_s = 3600;
  hr.rto_measured_s = 95.5;
  hr.rto_met = true;
  hr.tests_passed = 2;
  hr.tests_failed = 1;
  hr.last_passed_test = kFrom + 86400;

  EvidenceTarget web;
  web.name = kScriptName;
  web.owner = "Märta Håkansson-Sjöberg";
  web.classification = "K1 R2 T2";
  web.locations = {"nas-1"};
  web.verdict = "ok";
  web.rto_objective_s = 7200;
  web.tests_passed = 1;

  EvidenceTarget longname;
  longname.name = std::string(300, 'x') + "-end";
  longname.owner = "Lars Ek";
  longname.verdict = "warning";
  longname.findings = {{"retention", "warning", std::string(2000, 'y'), "Säker drift av IS/IT §6.1"}};
  r.targets = {hr, web, longname};

  r.runs = {MakeRun(1001, "hr-database", "passed", kFrom + 86400), MakeRun(1002, kScriptName, "passed", kFrom + 2 * 86400),
            MakeRun(1003, "hr-database", "failed", kFrom + 3 * 86400), MakeRun(1004, "hr-database", "passed", kFrom + 4 * 86400)};
  r.runs[1].target = "=HYPERLINK(\"http://x\")";
  r.runs[2].message = std::string(kTricky) + " " + kScriptName;
  r.runs[3].kind = "drill";
  r.runs[3].drill_id = 7;
  r.runs[3].clock_synchronised = false;
  r.runs[3].clock_error_us = 2500000;

  EvidenceDrill drill;
  drill.id = 7;
  drill.name = "Månadsövning november";
  drill.trigger = "schedule";
  drill.responsible = hr.owner;
  drill.started_at = kFrom + 4 * 86400;
  drill.finished_at = kFrom + 4 * 86400 + 200;
  drill.passed = true;
  drill.targets = {{"hr-database", 1004, "passed", 95.5, 3600, true}};
  EvidenceDrill empty_drill;
  empty_drill.id = 8;
  empty_drill.name = "empty";
  r.drills = {drill, empty_drill};

  EvidenceRestoration x;
  x.seq = 41;
  x.time = kFrom + 10 * 86400;
  x.target = "hr-database";
  x.point = "snap-1004";
  x.location = "nas-1";
  x.responsible = hr.owner;
  x.personal_data = "namn, personnummer för 1 200 anställda";
  x.reason = "@SUM(1+1) after a deletion";
  x.result = "partial";
  x.files = 1200;
  x.bytes = 123456789;
  x.correctness = "incorrect";
  x.failed_files = {"hr/2026/lön-ärende.pdf", "-hr/anställda.csv"};
  r.restorations = {x};
  return r;
}

// A shell command's standard output (its standard error dropped) and exit status.
int Stdout(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return -1;
  char buf[65536];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The PDF of `r` through pdftotext -layout.
std::string PdfText(const EvidenceReport& r, const test::TempDir& dir, std::string* pdf_bytes = nullptr) {
  std::string pdf;
  const Status s = EvidencePdf(r, Stockholm(), &pdf);
  EXPECT_TRUE(s.ok()) << s.message();
  test::WriteFile(dir / "report.pdf", pdf);
  if (pdf_bytes) *pdf_bytes = pdf;
  std::string text;
  EXPECT_EQ(Stdout("pdftotext -layout " + test::ShellQuote(dir / "report.pdf") + " -", &text), 0);
  return text;
}

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

// RFC 4180, strictly: fields separated by commas, records by CRLF; a quoted field may hold
// commas, CR, LF and doubled quotes. Fails the test on anything else.
std::vector<std::vector<std::string>> ReadCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) {
          ADD_FAILURE() << "unterminated quoted field";
          return rows;
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
          else break;
        } else {
          field += text[i];
        }
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n' && text[i] != '"') field += text[i++];
    }
    if (i >= text.size()) {
      ADD_FAILURE() << "the last record has no CRLF";
      return rows;
    }
    row.push_back(std::move(field));
    field.clear();
    if (text[i] == ',') {
      ++i;
    } else if (text.compare(i, 2, "\r\n") == 0) {
      rows.push_back(std::move(row));
      row.clear();
      i += 2;
    } else {
      ADD_FAILURE() << "unexpected byte " << static_cast<int>(text[i]) << " at " << i;
      return rows;
    }
  }
  return rows;
}

// Rows as maps from the header's column names, checking every row has the header's width.
std::vector<std::map<std::string, std::string>> ReadCsvTable(const std::string& text) {
  const auto rows = ReadCsv(text);
  std::vector<std::map<std::string, std::string>> out;
  if (rows.empty()) {
    ADD_FAILURE() << "no header row";
    return out;
  }
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), rows[0].size()) << "row " << i;
    std::map<std::string, std::string> m;
    for (size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c) m[rows[0][c]] = rows[i][c];
    out.push_back(std::move(m));
  }
  return out;
}

TEST(EvidenceHtml, IsOneSelfContainedUtf8DocumentWithEverySection) {
  const std::string html = EvidenceHtml(Sample(), Stockholm());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // Swedish as UTF-8, times in Stockholm with their offset, the header's facts.
  for (const char* s : {"Åsa Öberg", "Personuppgifter: namn, personnummer", "Återläsningar",
                        "2026-11-22 09:00 +0100", "2026-11-01 00:00 +0100", "Europe/Stockholm", "record 42",
                        "Revisorns begäran", "K3 R3 T3", "nas-1:/backup/hr", "FAILING", "WARNING", "NOT met",
                        "1001", "1004", "drill #7", "NOT synchronised", "Månadsövning november",
                        "lön-ärende.pdf", "incorrect", "scope=\"col\"", "scope=\"row\"", "<caption"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
}

TEST(EvidenceHtml, NoTextOfTheModelBecomesMarkup) {
  const std::string html = EvidenceHtml(Sample(), Stockholm());
  std::string lower = html;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("in &quot;lön.csv&quot;"), std::string::npos);
}

TEST(EvidenceHtml, EscaperReplacesMarkupAndBrokenUtf8) {
  EXPECT_EQ(HtmlEscape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("åäö € 😀"), "åäö € 😀");
  const std::string bad = std::string("a\xFF" "b\xC3" "c") + '\0' + "\x1B\xED\xA0\x80\xC0\xAF\xC2\x85";
  std::string want = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c";
  // NUL, ESC, each byte of a surrogate and of an overlong '/', and a C1 control (NEL)
  for (int i = 0; i < 8; ++i) want += "\xEF\xBF\xBD";
  EXPECT_EQ(HtmlEscape(bad), want);
  EXPECT_EQ(CleanText("a\tb\r\nc", false), "a b  c");
  EXPECT_EQ(CleanText("a\tb\r\nc", true), "a\tb\r\nc");
}

TEST(EvidencePdf, EmbedsTheFontAndPdftotextReadsRowsAndSwedishHeadings) {
  test::TempDir dir;
  std::string pdf;
  const std::string text = PdfText(Sample(), dir, &pdf);
  EXPECT_EQ(pdf.rfind("%PDF-", 0), 0u);
  EXPECT_NE(pdf.find("/FontFile2"), std::string::npos);
  for (const char* s : {"Återläsning", "Ägare", "Personuppgifter", "Åsa Öberg",
                        "Märta Håkansson-Sjöberg", "hr-database", kScriptName, "1001", "1002",
                        "1003", "1004", "passed", "failed", "FAILING", "Personuppgifter: namn, personnummer",
                        "2026-11-22 09:00 +0100", "checksum mismatch", "lön-ärende.pdf",
                        "Revisorns begäran", "Månadsövning november", "page 1 of",
                        "2026-11-05 00:00 +0100", "NOT synced ±2.5 s"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  EXPECT_NE(text.find("xxxxxxxx…"), std::string::npos) << "the long name is shortened in the table";
}

TEST(EvidencePdf, DrawsNothingOutsideThePage) {
  test::TempDir dir;
  PdfText(Sample(), dir);
  std::string boxes;
  ASSERT_EQ(Stdout("pdftotext -bbox " + test::ShellQuote(dir / "report.pdf") + " -", &boxes), 0);
  const std::regex page_re("<page width=\"([0-9.]+)\" height=\"([0-9.]+)\"");
  const std::regex word_re("<word xMin=\"([-0-9.]+)\" yMin=\"([-0-9.]+)\" xMax=\"([-0-9.]+)\" yMax=\"([-0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(boxes, m, page_re));
  const double width = std::stod(m[1]), height = std::stod(m[2]);
  EXPECT_GT(width, height) << "landscape A4";
  int words = 0;
  for (auto it = std::sregex_iterator(boxes.begin(), boxes.end(), word_re); it != std::sregex_iterator(); ++it, ++words) {
    EXPECT_GE(std::stod((*it)[1]), 20.0);
    EXPECT_GE(std::stod((*it)[2]), 20.0);
    EXPECT_LE(std::stod((*it)[3]), width - 20.0) << (*it)[0];
    EXPECT_LE(std::stod((*it)[4]), height - 10.0) << (*it)[0];
  }
  EXPECT_GT(words, 200);
}

TEST(EvidencePdf, ManyRunsPaginateWithTheHeaderOnEachPage) {
  EvidenceReport r = Sample();
  r.runs.clear();
  for (int64_t i = 0; i < 2000; ++i)
    r.runs.push_back(MakeRun(50000 + i, "hr-database", i % 7 == 3 ? "failed" : "passed", kFrom + i * 600));
  test::TempDir dir;
  const std::string text = PdfText(r, dir);
  EXPECT_NE(text.find("50000"), std::string::npos);
  EXPECT_NE(text.find("51999"), std::string::npos);
  const size_t continued = Count(text, "Runs / Körningar (continued)");
  EXPECT_GE(continued, 20u) << "2,000 runs take more than 20 pages";
  // The header row repeats on every page of the table, with the first page's.
  std::regex header_re("Run +Target +Kind +State +Started +Duration");
  const auto headers = std::distance(std::sregex_iterator(text.begin(), text.end(), header_re), std::sregex_iterator());
  EXPECT_EQ(static_cast<size_t>(headers), continued + 1);
  std::string info;
  ASSERT_EQ(Stdout("pdfinfo " + test::ShellQuote(dir / "report.pdf"), &info), 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(info, m, std::regex("Pages: +([0-9]+)")));
  EXPECT_NE(text.find("page " + m[1].str() + " of " + m[1].str()), std::string::npos);
}

TEST(EvidencePdf, TextsBeyondLibharusStringLimitAreWrappedOrShortened) {
  EvidenceReport r = Sample();
  r.targets[0].name = std::string(70000, 'n') + "-end";
  r.runs[2].message = std::string(70000, 'q');
  std::string words;
  while (words.size() < 100000) words += "ordå ";
  r.restorations[0].reason = words + "slut";
  test::TempDir dir;
  const std::string text = PdfText(r, dir);
  EXPECT_NE(text.find("nnnn-end"), std::string::npos);
  EXPECT_NE(text.find("qqqq…"), std::string::npos);
  EXPECT_NE(text.find("ordå slut"), std::string::npos);
}

TEST(EvidencePdf, SameReportGivesTheSameBytes) {
  std::string a, b;
  ASSERT_TRUE(EvidencePdf(Sample(), Stockholm(), &a).ok());
  ASSERT_TRUE(EvidencePdf(Sample(), Stockholm(), &b).ok());
  EXPECT_EQ(a, b);
}

TEST(EvidencePdf, MissingOrBrokenFontIsAnEnvironmentErrorNotACrash) {
  test::TempDir dir;
  std::string pdf = "stale";
  Status s = EvidencePdfWithFont(Sample(), Stockholm(), dir / "no-such-font.ttf", &pdf);
  EXPECT_EQ(s.code(), Status::Code::kEnvironment);
  EXPECT_NE(s.message().find(dir / "no-such-font.ttf"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();
  EXPECT_TRUE(pdf.empty());

  test::WriteFile(dir / "broken.ttf", std::string(5000, '\x17'));
  s = EvidencePdfWithFont(Sample(), Stockholm(), dir / "broken.ttf", &pdf);
  EXPECT_EQ(s.code(), Status::Code::kEnvironment);
  EXPECT_NE(s.message().find(dir / "broken.ttf"), std::string::npos) << s.message();
  EXPECT_TRUE(pdf.empty());
}

TEST(EvidenceCsv, RunsReadBackFieldForFieldThroughAnRfc4180Reader) {
  const EvidenceReport r = Sample();
  const std::string csv = EvidenceRunsCsv(r);
  EXPECT_EQ(Count(csv, "\r\n"), r.runs.size() + 1) << "CRLF ends each record, LF stays inside a field";
  const auto rows = ReadCsvTable(csv);
  ASSERT_EQ(rows.size(), r.runs.size());
  EXPECT_EQ(rows[0].at("run_id"), "1001");
  EXPECT_EQ(rows[0].at("started_at"), "2026-11-01T23:00:00Z");
  EXPECT_EQ(rows[0].at("queued_at"), "2026-11-01T22:59:55Z");
  EXPECT_EQ(rows[0].at("duration_s"), "95.5");
  EXPECT_EQ(rows[0].at("bytes"), "123456789");
  EXPECT_EQ(rows[0].at("drill_id"), "");
  EXPECT_EQ(rows[0].at("citation"), "Säker drift av IS/IT §6.1");
  EXPECT_EQ(rows[2].at("message"), std::string(kTricky) + " " + kScriptName) << "comma, quotes and a newline survive";
  EXPECT_EQ(rows[2].at("state"), "failed");
  EXPECT_EQ(rows[3].at("drill_id"), "7");
  EXPECT_EQ(rows[3].at("clock_synchronised"), "false");
  EXPECT_EQ(rows[3].at("clock_error_us"), "2500000");
  EXPECT_EQ(rows[1].at("target"), "'=HYPERLINK(\"http://x\")") << "formula guard";
}

TEST(EvidenceCsv, TextCellsThatWouldBeFormulasGetAnApostrophe) {
  EvidenceReport r;
  for (const char* t : {"=1+1", "+1", "-1", "@SUM(A1)", "\tx", "a=1", "'quoted", ""}) {
    EvidenceRun run;
    run.target = t;
    r.runs.push_back(run);
  }
  const auto rows = ReadCsvTable(EvidenceRunsCsv(r));
  ASSERT_EQ(rows.size(), 8u);
  const std::vector<std::string> want = {"'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "a=1", "'quoted", ""};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(rows[i].at("target"), want[i]) << i;
  EXPECT_EQ(rows[0].at("started_at"), "") << "no time is an empty cell";
  EXPECT_EQ(rows[0].at("clock_synchronised"), "") << "unknown, not false";
}

TEST(EvidenceCsv, TargetsDrillsAndRestorationsReadBack) {
  const EvidenceReport r = Sample();
  const auto targets = ReadCsvTable(EvidenceTargetsCsv(r));
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].at("owner"), "Åsa Öberg");
  EXPECT_EQ(targets[0].at("personal_data"), "true");
  EXPECT_EQ(targets[0].at("personal_data_description"), "Personuppgifter: namn, personnummer");
  EXPECT_EQ(targets[0].at("locations"), "nas-1:/backup/hr\noffsite-s3");
  EXPECT_EQ(targets[0].at("rto_measured_s"), "95.5");
  EXPECT_EQ(targets[0].at("last_passed_test"), "2026-11-01T23:00:00Z");
  EXPECT_EQ(targets[0].at("findings_count"), "1");
  EXPECT_EQ(targets[1].at("target"), kScriptName);
  EXPECT_EQ(targets[1].at("rto_measured_s"), "");
  EXPECT_EQ(targets[1].at("last_passed_test"), "");

  const auto drills = ReadCsvTable(EvidenceDrillsCsv(r));
  ASSERT_EQ(drills.size(), 2u) << "one row per drill target, and one for a drill without targets";
  EXPECT_EQ(drills[0].at("drill_name"), "Månadsövning november");
  EXPECT_EQ(drills[0].at("run_id"), "1004");
  EXPECT_EQ(drills[0].at("met"), "true");
  EXPECT_EQ(drills[1].at("drill_id"), "8");
  EXPECT_EQ(drills[1].at("target"), "");

  const auto restorations = ReadCsvTable(EvidenceRestorationsCsv(r));
  ASSERT_EQ(restorations.size(), 1u);
  EXPECT_EQ(restorations[0].at("responsible"), "Åsa Öberg");
  EXPECT_EQ(restorations[0].at("reason"), "'@SUM(1+1) after a deletion");
  EXPECT_EQ(restorations[0].at("correctness"), "incorrect");
  EXPECT_EQ(restorations[0].at("failed_files_count"), "2");
  EXPECT_EQ(restorations[0].at("failed_files"), "hr/2026/lön-ärende.pdf\n-hr/anställda.csv");
  EXPECT_EQ(restorations[0].at("time"), "2026-11-10T23:00:00Z");
}

// Issue 18: who verified each run (host and database role beside the worker) and a sampled
// run's sample with the whole point's predicted time, marked predicted, in every format; a run
// without them reads as before.
TEST(EvidenceRuns, SayWhoVerifiedAndWhatASampleCovered) {
  EvidenceReport r = Sample();
  EvidenceRun& s = r.runs[0];
  s.worker = "verifier-7/4242/99";
  s.host = "verifier-7";
  s.db_role = "rp_verifier";
  s.sample_slice = 2;
  s.sample_slices = 4;
  s.sample_seed = "18446744073709551557";
  s.sample_files = 300;
  s.sample_bytes = 30000000;
  s.point_files = 1200;
  s.point_bytes = 123456789;
  s.duration_s = 95.5;
  s.predicted_full_s = 393;
  r.targets[0].rto_predicted = true;
  r.targets[0].rto_measured_s = 393;

  const std::string html = EvidenceHtml(r, Stockholm());
  EXPECT_NE(html.find("<th scope=\"col\">Verified by</th>"), std::string::npos);
  EXPECT_NE(html.find("host verifier-7, database role rp_verifier (worker verifier-7/4242/99)"), std::string::npos);
  EXPECT_NE(html.find("host \u2014, database role \u2014 (worker appliance-1 pid 4242)"), std::string::npos)
      << "a run of a report without them";
  EXPECT_NE(html.find("slice 2 of 4, seed 18446744073709551557: 300 of 1200 files"), std::string::npos);
  EXPECT_NE(html.find("1 min 36 s (sample); whole point 6 min 33 s (predicted)"), std::string::npos);
  EXPECT_NE(html.find("predicted from a sample 6 min 33 s"), std::string::npos) << "the target's recovery time";

  const auto rows = ReadCsvTable(EvidenceRunsCsv(r));
  ASSERT_EQ(rows.size(), r.runs.size());
  EXPECT_EQ(rows[0].at("host"), "verifier-7");
  EXPECT_EQ(rows[0].at("db_role"), "rp_verifier");
  EXPECT_EQ(rows[0].at("sample_slice"), "2");
  EXPECT_EQ(rows[0].at("sample_slices"), "4");
  EXPECT_EQ(rows[0].at("sample_seed"), "18446744073709551557");
  EXPECT_EQ(rows[0].at("point_bytes"), "123456789");
  EXPECT_EQ(rows[0].at("predicted_full_s"), "393");
  EXPECT_EQ(rows[1].at("db_role"), "");
  EXPECT_EQ(rows[1].at("sample_slices"), "") << "a whole point";
  EXPECT_EQ(rows[1].at("predicted_full_s"), "");
  const auto targets = ReadCsvTable(EvidenceTargetsCsv(r));
  EXPECT_EQ(targets[0].at("rto_predicted"), "true");
  EXPECT_EQ(targets[1].at("rto_predicted"), "false");

  test::TempDir dir;
  const std::string text = PdfText(r, dir);
  EXPECT_NE(text.find("Verified by (By)"), std::string::npos) << text.substr(0, 3000);
  EXPECT_NE(text.find("database role rp_verifier"), std::string::npos);
  EXPECT_NE(text.find("sample slice 2 of 4, seed 18446744073709551557"), std::string::npos);
  EXPECT_NE(text.find("whole point 6 min 33 s (predicted)"), std::string::npos);

  // The JSON keeps the seed as a string, reads back, and a report without the fields reads too.
  const nlohmann::json j = r;
  EXPECT_EQ(j["runs"][0]["sample_seed"], "18446744073709551557");
  EXPECT_EQ(j["format"], 2);
  EvidenceReport back = j.get<EvidenceReport>();
  EXPECT_EQ(back.runs[0].db_role, "rp_verifier");
  EXPECT_EQ(back.runs[0].predicted_full_s, 393);
  EXPECT_TRUE(back.targets[0].rto_predicted);
  nlohmann::json old = j;
  old["format"] = 1;
  for (auto& run : old["runs"])
    for (const char* key : {"host", "db_role", "sample_slice", "sample_slices", "sample_seed", "sample_files",
                            "sample_bytes", "point_files", "point_bytes", "predicted_full_s"})
      run.erase(key);
  for (auto& t : old["targets"]) t.erase("rto_predicted");
  back = old.get<EvidenceReport>();
  EXPECT_EQ(back.format, 1);
  EXPECT_EQ(back.runs[0].sample_slices, 0u);
  EXPECT_EQ(back.runs[0].host, "");
  EXPECT_FALSE(back.targets[0].rto_predicted);
}

}  // namespace
}  // namespace rp
