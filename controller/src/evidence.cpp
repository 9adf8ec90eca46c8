// The evidence report's value: the rules cited, its JSON codec, the pseudonyms, and gathering
// it (with the restoration-log excerpt) from the configuration and the store.
#include "rp/evidence.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "rp/config.h"
#include "rp/coverage.h"
#include "rp/drill.h"
#include "rp/evidence_bundle.h"
#include "rp/path_text.h"
#include "rp/store.h"
#include "rp/syslog_forward.h"
#include "rp/targets.h"

namespace rp {

// ---- pseudonyms -----------------------------------------------------------------------------

std::string PseudonymKeyPath(const std::string& data_dir) { return data_dir + "/pseudonym.key"; }

Status Pseudonymiser::LoadOrCreate(const std::string& data_dir, std::unique_ptr<Pseudonymiser>* out) {
  const std::string path = PseudonymKeyPath(data_dir);
  std::string key;
  if (!ReadSmallFile(path, &key)) {
    if (errno != ENOENT) return Status::Environment(path + ": cannot read the pseudonym key: " + std::strerror(errno));
    std::string fresh(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), 32) != 1)
      return Status::Environment(path + ": no random bytes for a pseudonym key");
    bool existed = false;
    // Another process creating it at the same moment wins; its key is read below.
    if (Status s = PublishFile(path, fresh, 0600, /*replace=*/false, &existed); !s.ok()) return s;
    if (!ReadSmallFile(path, &key))
      return Status::Environment(path + ": cannot read the pseudonym key: " + std::strerror(errno));
  }
  if (key.size() != 32)
    return Status::Environment(path + ": the pseudonym key is not 32 bytes (" + std::to_string(key.size()) +
                               "); pseudonyms would change if it were replaced, so it is left as it is");
  *out = std::make_unique<Pseudonymiser>(std::move(key));
  return Status::Ok();
}

namespace {

std::string Keyed(const std::string& key, std::string_view domain, std::string_view text) {
  const std::string message = std::string(domain) + '\0' + std::string(text);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), md, &len);
  return LowerHex(std::string_view(reinterpret_cast<const char*>(md), std::min(len, 8u)));
}

}  // namespace

std::string Pseudonymiser::Target(std::string_view name) const { return "pd-" + Keyed(key_, "target", name); }
std::string Pseudonymiser::Path(std::string_view path) const { return "path-" + Keyed(key_, "path", path); }

// ---- gathering ------------------------------------------------------------------------------

namespace {

bool HoldsPersonalData(const TargetConfig& t) { return !t.personal_data.none; }

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string DescribePersonalData(const PersonalData& pd) {
  if (pd.none) return "none";
  std::string out = pd.description;
  if (!pd.categories.empty()) out += (out.empty() ? "" : "; ") + std::string("categories: ") + Join(pd.categories, ", ");
  if (!pd.subjects.empty()) out += (out.empty() ? "" : "; ") + std::string("data subjects: ") + Join(pd.subjects, ", ");
  return out.empty() ? "not declared" : out;
}

std::string KindOf(Trigger t) {
  switch (t) {
    case Trigger::kSchedule: return "scheduled-test";
    case Trigger::kDrill: return "drill";
    case Trigger::kOperator:
    case Trigger::kApi: return "operator-test";
  }
  return "operator-test";
}

std::string IsolationSummary(const std::optional<VerifyReport>& report) {
  if (!report || report->isolation.empty()) return "not recorded";
  int enforced = 0, total = 0;
  std::vector<std::string> missing;
  for (const auto& r : report->isolation.records()) {
    if (r.state == LayerState::kNotRequested) continue;
    ++total;
    if (r.state == LayerState::kEnforced) ++enforced;
    else missing.emplace_back(IsolationLayerName(r.layer));
  }
  std::string out = std::to_string(enforced) + "/" + std::to_string(total) + " layers enforced";
  if (!missing.empty()) out += "; unavailable: " + Join(missing, ", ");
  return out;
}

// Replaces every identifying text of a target that holds personal data by its pseudonym.
bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || (c & 0x80); }

class Scrubber {
 public:
  // `clear` and its escaped form (docs/json.md) both become `pseudonym`. A text under 3 bytes is
  // replaced only where it stands as a word of its own: anywhere, it would hit every other word.
  void Add(const std::string& clear, const std::string& pseudonym) {
    if (clear.empty()) return;
    pairs_.emplace_back(clear, pseudonym);
    const std::string escaped = EscapePath(clear);
    if (escaped != clear) pairs_.emplace_back(escaped, pseudonym);
    std::sort(pairs_.begin(), pairs_.end(),  // longest first: a path before the name it contains
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
  void Add(const Scrubber& other) {
    for (const auto& [c, p] : other.pairs_) Add(c, p);
  }
  std::string operator()(std::string text) const {
    for (const auto& [clear, pseudonym] : pairs_) {
      for (size_t at = text.find(clear); at != std::string::npos;) {
        const bool whole = clear.size() >= 3 || ((at == 0 || !WordChar(text[at - 1])) &&
                                                 (at + clear.size() == text.size() || !WordChar(text[at + clear.size()])));
        if (whole) text.replace(at, clear.size(), pseudonym);
        at = text.find(clear, at + (whole ? pseudonym.size() : 1));
      }
    }
    return text;
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

const char* const kWithheld = "(withheld: the target holds personal data; an export with --clear-names shows it)";

// How each configured target's names appear in what is exported.
struct Naming {
  const Pseudonymiser* names = nullptr;
  bool clear = false;
  std::map<std::string, const TargetConfig*> targets;
  Scrubber all;  // every hidden target's names and paths: for texts not tied to one target

  // Pseudonymised: a target holding personal data, or one no longer configured (nobody can say).
  bool Hidden(const std::string& target) const {
    if (clear || target.empty()) return false;
    const auto it = targets.find(target);
    return it == targets.end() || HoldsPersonalData(*it->second);
  }
  // A log record shown redacted: of a hidden target, an export with clear names (its reason is
  // free text), or one that itself says it concerns personal data (the target may have been
  // declared otherwise since).
  bool HiddenRecord(const LogRecord& r) const {
    if (clear) return false;
    return Hidden(r.target) || r.kind == LogKind::kClearNamesExport || r.correctness != Correctness::kNotApplicable ||
           !r.failed_files.empty() || (!r.personal_data.empty() && r.personal_data != "none");
  }
  std::string Target(const std::string& t) const { return Hidden(t) ? names->Target(t) : t; }
  std::string Path(const std::string& target, const std::string& p) const {
    return Hidden(target) && !p.empty() ? names->Path(p) : p;
  }
  Scrubber ScrubberFor(const std::string& target, const std::vector<std::string>& points) const {
    Scrubber s;
    if (!Hidden(target)) return s;
    s.Add(target, names->Target(target));
    const auto it = targets.find(target);
    if (it != targets.end()) {
      for (const auto& c : it->second->copies) s.Add(c.path, names->Path(c.path));
      if (!it->second->production_path.empty())
        s.Add(it->second->production_path, names->Path(it->second->production_path));
    }
    for (const auto& p : points) s.Add(p, names->Path(p));
    return s;
  }
};

std::string ClassText(const rp::Classification& c) {
  return "K" + std::to_string(c.k) + " R" + std::to_string(c.r) + " T" + std::to_string(c.t);
}

}  // namespace

Status BuildEvidence(const Config& config, Store& store, const EvidenceRequest& request, const Pseudonymiser& names,
                     const PublicKey& key, EvidenceReport* report, LogExcerpt* excerpt) {
  if (request.to <= request.from) return Status::Usage("the period ends before it begins");
  Naming naming;
  naming.names = &names;
  naming.clear = request.clear_names;
  for (const auto& t : config.targets) naming.targets[t.name] = &t;
  for (const auto& t : config.targets) naming.all.Add(naming.ScrubberFor(t.name, {}));
  std::vector<const TargetConfig*> chosen;
  for (const auto& name : request.targets) {
    const auto it = naming.targets.find(name);
    if (it == naming.targets.end()) return Status::Usage("no target named \"" + name + "\" in the configuration");
    if (std::find(chosen.begin(), chosen.end(), it->second) == chosen.end()) chosen.push_back(it->second);
  }
  if (request.targets.empty())
    for (const auto& t : config.targets) chosen.push_back(&t);
  std::set<std::string> chosen_names;
  for (const auto* t : chosen) chosen_names.insert(t->name);

  EvidenceReport r;
  r.appliance = SyslogHostname();
#ifdef RP_VERSION
  r.version = RP_VERSION;
#endif
  r.generated_at = request.now;
  r.zone = config.appliance.zone.name();
  r.from = request.from;
  r.to = request.to;
  for (const auto& name : request.targets) r.requested_targets.push_back(naming.Target(name));
  r.clear_names = request.clear_names;
  r.clear_names_reason = request.clear_names_reason;
  r.key_fingerprint = key.Fingerprint();

  // Runs queued in the period, read a page at a time (newest first) so that a year of them
  // never sits in memory with their engine reports; the report lists them oldest first.
  std::map<std::string, EvidenceTarget> by_target;
  RunFilter rf;
  rf.since = request.from;
  rf.limit = 1000;
  for (;;) {
    const std::vector<RunRecord> page = store.ListRuns(rf);
    if (page.empty()) break;
    rf.before_id = page.back().id;
    for (const auto& run : page) {
      if (run.queued_at >= request.to || !chosen_names.count(run.request.target)) continue;
      if (run.state == RunState::kQueued || run.state == RunState::kRunning) continue;  // no result yet
      const TargetConfig& tc = *naming.targets.at(run.request.target);
      EvidenceRun e;
      e.id = run.id;
      e.target = naming.Target(tc.name);
      e.kind = KindOf(run.request.trigger);
      e.drill_id = run.request.drill_id;
      e.state = std::string(RunStateName(run.state));
      e.queued_at = run.queued_at;
      e.started_at = run.started_at;
      e.finished_at = run.finished_at;
      const std::string point = LogText(run.point_id);  // as the log holds it: one pseudonym for both
      e.point_id = naming.Path(tc.name, point);
      e.location = LogText(run.location);
      e.files = run.files;
      e.bytes = run.bytes;
      e.duration_s = run.duration_s;
      if (run.report)
        for (const auto& f : run.report->findings)
          if (FindingFailsRun(f.kind)) ++e.failing_findings;
      // An engine's message may name any file of the restored tree: withheld, not scrubbed.
      e.message = run.message.empty() ? "" : naming.Hidden(tc.name) ? kWithheld : LogText(run.message);
      e.isolation = IsolationSummary(run.report);
      e.worker = LogText(run.worker);
      e.host = LogText(run.worker.substr(0, run.worker.find('/')));  // "host/pid/start"
      e.db_role = LogText(run.db_role);
      e.clock_known = run.clock.known;
      e.clock_synchronised = run.clock.synchronised;
      e.clock_error_us = run.clock.estimated_error_us;
      if (run.report && run.report->sample) {
        const SampleFigures& f = *run.report->sample;
        e.sample_slice = f.spec.slice;
        e.sample_slices = f.spec.slices;
        e.sample_seed = std::to_string(f.spec.seed);
        e.sample_files = f.sample_files;
        e.sample_bytes = f.sample_bytes;
        e.point_files = f.point_files;
        e.point_bytes = f.point_bytes;
        e.predicted_full_s = PredictedFullSeconds(run).value_or(0);
      }
      // A sampled run restored one slice: the objective is judged by the whole point's predicted time.
      const double restore_s = e.predicted_full_s > 0 ? e.predicted_full_s : run.duration_s;
      e.rto_objective_s = config.PolicyFor(tc).rto_s;
      e.within_rto = run.state == RunState::kPassed && (e.rto_objective_s <= 0 || restore_s <= e.rto_objective_s);
      e.citation = kCitationRestoreTest;
      EvidenceTarget& et = by_target[tc.name];
      if (run.state == RunState::kPassed) {
        ++et.tests_passed;
        if (run.finished_at >= et.last_passed_test) {
          et.last_passed_test = run.finished_at;
          et.rto_measured_s = restore_s;
          et.rto_predicted = e.predicted_full_s > 0;
        }
      } else if (run.state == RunState::kFailed) {
        ++et.tests_failed;
      } else {
        ++et.tests_other;
      }
      r.runs.push_back(std::move(e));
    }
  }
  std::reverse(r.runs.begin(), r.runs.end());

  // Each target: its declaration and its policy check now.
  for (const auto* t : chosen) {
    EvidenceTarget& et = by_target[t->name];
    et.name = naming.Target(t->name);
    et.pseudonymised = naming.Hidden(t->name);
    et.owner = t->owner;
    et.classification = ClassText(t->classification);
    et.personal_data = HoldsPersonalData(*t);
    et.personal_data_description = DescribePersonalData(t->personal_data);
    for (const auto& c : t->copies) et.locations.push_back(c.location);
    const TargetEvaluation ev = CheckTarget(config, *t, request.now, /*compare_content=*/false, nullptr, &store);
    et.verdict = std::string(VerdictName(ev.verdict));
    for (const auto& f : ev.findings)
      et.findings.push_back({std::string(PolicyRuleName(f.rule)), std::string(VerdictName(f.severity)),
                             naming.ScrubberFor(t->name, {f.point})(LogText(f.message)),
                             std::string(RuleCitation(f.rule))});
    et.rto_objective_s = ev.policy.rto_s;
    et.rto_met = et.rto_measured_s && (et.rto_objective_s <= 0 || *et.rto_measured_s <= et.rto_objective_s);
    r.targets.push_back(std::move(et));
  }

  // Drills begun in the period that touch a chosen target.
  for (const auto& d : store.ListDrills(std::numeric_limits<uint32_t>::max())) {
    if (d.started_at < request.from || d.started_at >= request.to) continue;
    const DrillReport dr = DrillReportOf(config, &store, d);
    EvidenceDrill ed;
    ed.id = d.id;
    ed.name = naming.all(LogText(d.name));  // a drill may be named after a target
    ed.trigger = std::string(TriggerName(d.trigger));
    ed.responsible = d.responsible;
    ed.started_at = d.started_at;
    ed.finished_at = d.finished_at;
    ed.passed = d.passed;
    for (const auto& t : dr.targets) {
      if (!chosen_names.count(t.target)) continue;
      ed.targets.push_back({naming.Target(t.target), t.run_id, std::string(RunStateName(t.state)), t.measured_s,
                            t.objective_s, t.met});
    }
    if (!ed.targets.empty()) r.drills.push_back(std::move(ed));
  }
  std::reverse(r.drills.begin(), r.drills.end());

  // The log: the head now, and every record from the last one before the period (which shows
  // that none of the period is left out) to it.
  LogFilter newest;
  newest.limit = 1;
  const auto head = store.ListLog(newest);
  LogExcerpt x;
  x.head_seq = head.empty() ? 0 : head[0].seq;
  x.head_hash = head.empty() ? std::string(kLogGenesisHash) : head[0].hash;
  int64_t first = store.FirstLogSeqSince(request.from);
  // Nothing in the period, or only records appended since the head was read: the head alone,
  // so that it is backed by a record.
  if (first == 0 || first > x.head_seq) first = x.head_seq;
  if (first > 1) --first;
  for (int64_t from = first; from > 0 && from <= x.head_seq;) {
    std::vector<LogRecord> page = store.ReadLog(from, 2000);  // a page at a time: flat in memory
    if (page.empty()) break;
    from = page.back().seq + 1;
    for (LogRecord& rec : page) {
      if (rec.seq > x.head_seq) break;  // appended while this ran: not pinned
      const bool hidden = naming.HiddenRecord(rec);
      // Restorations of every target when none was asked for, one no longer configured included.
      if (rec.kind == LogKind::kRealRestore && rec.time >= request.from && rec.time < request.to &&
          (request.targets.empty() || chosen_names.count(rec.target))) {
        EvidenceRestoration er;
        er.seq = rec.seq;
        er.time = rec.time;
        er.target = naming.Target(rec.target);
        er.point = hidden && !rec.point.empty() ? names.Path(rec.point) : rec.point;
        er.location = rec.location;
        er.responsible = rec.responsible;
        er.personal_data = hidden ? kWithheld : rec.personal_data;
        er.reason = hidden ? kWithheld : rec.reason;
        er.result = rec.result;
        er.files = rec.files;
        er.bytes = rec.bytes;
        er.correctness = std::string(CorrectnessName(rec.correctness));
        for (const auto& f : rec.failed_files) er.failed_files.push_back(hidden ? names.Path(f) : f);
        r.restorations.push_back(std::move(er));
      }
      ExcerptRecord xr;
      if (hidden && rec.salt.empty()) {
        // Written before schema 6: its hash covers every text, so it cannot be shown redacted
        // and still be recomputed. Its hash is given as it stands (docs/evidence.md).
        xr.redacted = true;
      } else if (hidden) {
        xr.redacted = true;
        xr.commitment = LogRecordCommitment(rec);
      }
      if (xr.redacted) {
        LogRecord kept;  // what may leave the appliance: the public fields; texts as pseudonyms or gone
        kept.seq = rec.seq;
        kept.time = rec.time;
        kept.time_local = rec.time_local;
        kept.kind = rec.kind;
        kept.target = naming.Target(rec.target);
        kept.point = rec.point.empty() ? "" : names.Path(rec.point);
        kept.location = rec.location;
        kept.responsible = rec.responsible;
        kept.result = rec.result;
        kept.files = rec.files;
        kept.bytes = rec.bytes;
        kept.failing_findings = rec.failing_findings;
        kept.correctness = rec.correctness;
        for (const auto& f : rec.failed_files) kept.failed_files.push_back(names.Path(f));
        kept.run_id = rec.run_id;
        kept.changed_keys = rec.changed_keys;
        kept.prev_hash = rec.prev_hash;
        kept.hash = rec.hash;
        xr.record = std::move(kept);
      } else {
        xr.record = std::move(rec);
      }
      x.records.push_back(std::move(xr));
    }
  }
  const int64_t first_seq = x.records.empty() ? x.head_seq : x.records.front().record.seq;
  for (const auto& c : store.Checkpoints())
    if (c.seq >= first_seq && c.seq <= x.head_seq) x.checkpoints.push_back(c);
  r.chain_seq = x.head_seq;
  r.chain_head = x.head_hash;
  *report = std::move(r);
  *excerpt = std::move(x);
  return Status::Ok();
}

// ---- making the files -------------------------------------------------------------------------

namespace {

std::string Seq(int64_t n) { return std::to_string(n); }

std::string Readme(const EvidenceReport& r) {
  return "restoreproof evidence bundle\n"
         "\n"
         "Appliance " + r.appliance + ", restoreproof " + r.version + "\n"
         "Signing key fingerprint (SHA-256 of the raw Ed25519 public key): " + r.key_fingerprint + "\n"
         "Restoration log head pinned: seq " + Seq(r.chain_seq) + ", hash " + r.chain_head + "\n"
         "\n"
         "To check this bundle without restoreproof, in this directory:\n"
         "\n"
         "  sha256sum -c SHA256SUMS\n"
         "  openssl pkeyutl -verify -pubin -inkey signing.pub -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig\n"
         "\n"
         "Then compare the fingerprint above with the one the appliance's operators gave you:\n"
         "\n"
         "  openssl pkey -pubin -in signing.pub -outform DER | tail -c 32 | sha256sum\n"
         "\n"
         "With restoreproof: `restoreproof evidence verify BUNDLE [--key signing.pub]` also\n"
         "recomputes the restoration log's chain in log.json and checks its signed checkpoints, and\n"
         "`restoreproof log verify --against BUNDLE` on the appliance checks that its log still\n"
         "extends the head pinned here.\n";
}

}  // namespace

Status WriteEvidenceBundle(const std::string& path, const EvidenceReport& report, LogExcerpt excerpt,
                           const TimeZone& zone, const SigningKey& key, const std::string& public_key_pem,
                           int64_t mtime) {
  BundleWriter w;
  if (Status s = w.Open(path, mtime); !s.ok()) return s;
  // The largest pieces first, each freed once written: a year of 100 targets stays in 128 MiB.
  if (Status s = w.Add("log.json", TakeLogExcerptJson(std::move(excerpt))); !s.ok()) return s;
  if (Status s = w.Add("report.json", EvidenceReportJsonParts(report)); !s.ok()) return s;
  if (Status s = w.Add("runs.csv", EvidenceRunsCsv(report)); !s.ok()) return s;
  if (Status s = w.Add("targets.csv", EvidenceTargetsCsv(report)); !s.ok()) return s;
  if (Status s = w.Add("drills.csv", EvidenceDrillsCsv(report)); !s.ok()) return s;
  if (Status s = w.Add("restorations.csv", EvidenceRestorationsCsv(report)); !s.ok()) return s;
  if (Status s = w.Add("report.html", EvidenceHtml(report, zone)); !s.ok()) return s;
  {
    std::string pdf;
    if (Status s = EvidencePdf(report, zone, &pdf); !s.ok()) return s;
    if (Status s = w.Add("report.pdf", pdf); !s.ok()) return s;
  }
  if (Status s = w.Add("signing.pub", public_key_pem); !s.ok()) return s;
  if (Status s = w.Add("README.txt", Readme(report)); !s.ok()) return s;
  return w.Finish(key);
}

}  // namespace rp
