// Evidence for auditors (docs/evidence.md): what happened to the chosen targets in a period, as
// one typed value (EvidenceReport) with one JSON codec, rendered as HTML and PDF for a person
// and as CSV for a spreadsheet, and packed with the restoration-log excerpt, the appliance's
// public key, SHA256SUMS and an Ed25519 signature into one archive (evidence_bundle.h).
// Names and paths of targets that hold personal data are pseudonymised before they enter the
// value (BuildEvidence), so no renderer ever sees them in clear unless the export asked for it.
// Plain data and pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rp/calendar.h"
#include "rp/policy.h"
#include "rp/restoration_log.h"
#include "rp/status.h"

namespace rp {

class Store;
struct Config;

// The rule a result serves, cited by section (REQUIREMENTS.md): "Säker drift av IS/IT §6.1".
std::string_view RuleCitation(PolicyRule rule);
extern const char* const kCitationRestoreTest;   // restore tests and drills: §6.1 (tested continuously)
extern const char* const kCitationRestoration;   // restoration logged with responsible and personal data: §6.1
extern const char* const kCitationClock;         // clock synchronised: §8.2
extern const char* const kCitationLog;           // log protected against change: §9.1
extern const char* const kCitationIsolation;     // production data in a test environment: §5.1.2

struct EvidenceFinding {
  std::string rule;      // PolicyRuleName
  std::string severity;  // VerdictName
  std::string message;   // for a person (pseudonymised like every name)
  std::string citation;  // RuleCitation
};

struct EvidenceTarget {
  std::string name;            // its pseudonym when pseudonymised
  bool pseudonymised = false;
  std::string owner;
  std::string classification;  // "K2 R3 T3"
  bool personal_data = false;
  std::string personal_data_description;  // the declaration's text, categories and subjects
  std::vector<std::string> locations;     // the copies' locations
  std::string verdict;                    // the policy check at export time: "ok", "warning", "failing"
  std::vector<EvidenceFinding> findings;
  double rto_objective_s = 0;
  std::optional<double> rto_measured_s;  // the newest passed restore test or drill in the period
  bool rto_predicted = false;             // that test sampled: rto_measured_s is its predicted whole-point time
  bool rto_met = false;                   // measured and within the objective
  int64_t tests_passed = 0, tests_failed = 0, tests_other = 0;  // runs in the period by outcome
  int64_t last_passed_test = 0;                                 // UTC seconds, 0 none in the period
};

struct EvidenceRun {
  int64_t id = 0;
  std::string target;  // pseudonym when pseudonymised
  std::string kind;    // "scheduled-test", "drill", "operator-test"
  int64_t drill_id = 0;
  std::string state;  // RunStateName
  int64_t queued_at = 0, started_at = 0, finished_at = 0;
  std::string point_id;  // pseudonymised with the target
  std::string location;
  uint64_t files = 0, bytes = 0;
  double duration_s = 0;
  uint64_t failing_findings = 0;
  std::string message;    // why it did not pass (pseudonymised like every name)
  std::string isolation;  // the layers and their state, "landlock=enforced userns=unavailable ..."
  std::string worker;     // host and process that ran it: "host/pid/start"
  std::string host;       // the host part of `worker`: which host verified the run
  std::string db_role;    // the database role that recorded its result (PostgreSQL's current_user; "" on SQLite)
  bool clock_known = false, clock_synchronised = false;
  int64_t clock_error_us = 0;  // estimated error
  // A run that restored a sample (docs/sampling.md): sample_slices is 0 for a whole point.
  uint32_t sample_slice = 0, sample_slices = 0;  // the slice restored, numbered from 0, of so many
  std::string sample_seed;                      // the cycle's seed, decimal (a JSON number past 2^53 loses digits)
  uint64_t sample_files = 0, sample_bytes = 0;  // what the sample restored and verified
  uint64_t point_files = 0, point_bytes = 0;    // the whole point's regular files
  double predicted_full_s = 0;  // the whole point's restore time predicted from the sample's throughput; 0 none
  double rto_objective_s = 0;
  // Passed and no longer than the objective: duration_s, or for a sampled run predicted_full_s.
  bool within_rto = false;
  std::string citation;     // the rule it serves
};

struct EvidenceDrillTarget {
  std::string target;  // pseudonym when pseudonymised
  int64_t run_id = 0;
  std::string state;
  double measured_s = 0, objective_s = 0;
  bool met = false;
};
struct EvidenceDrill {
  int64_t id = 0;
  std::string name, trigger, responsible;
  int64_t started_at = 0, finished_at = 0;
  bool passed = false;
  std::vector<EvidenceDrillTarget> targets;
};

// A real restoration (a restoration-log record of kind real-restore) in the period.
struct EvidenceRestoration {
  int64_t seq = 0;
  int64_t time = 0;
  std::string target, point, location;  // pseudonymised with the target
  std::string responsible, personal_data, reason, result;
  uint64_t files = 0, bytes = 0;
  std::string correctness;                // CorrectnessName
  std::vector<std::string> failed_files;  // each pseudonymised with the target
};

struct EvidenceReport {
  // 1: the first; 2 adds the runs' host, db_role and sample fields and the targets' rto_predicted
  // (a reader takes either: a field a report lacks keeps its default).
  int format = 2;
  std::string appliance;  // the host name
  std::string version;    // restoreproof's
  int64_t generated_at = 0;
  std::string zone;              // IANA name; every local time in the report is in it
  int64_t from = 0, to = 0;      // the period, UTC seconds, [from, to)
  std::vector<std::string> requested_targets;  // as asked (pseudonymised); empty: all
  bool clear_names = false;
  std::string clear_names_reason;
  std::string key_fingerprint;  // hex SHA-256 of the signing key's raw public key
  int64_t chain_seq = 0;        // the restoration log's head when the report was made
  std::string chain_head;       // its hash (hex); kLogGenesisHash when the log is empty
  std::vector<EvidenceTarget> targets;
  std::vector<EvidenceRun> runs;  // oldest first
  std::vector<EvidenceDrill> drills;
  std::vector<EvidenceRestoration> restorations;
};

void to_json(nlohmann::json& j, const EvidenceReport& v);
void from_json(const nlohmann::json& j, EvidenceReport& v);
// report.json: the same JSON as to_json, written an element of each list per line without
// building the whole document as one tree (a year of runs would take ~150 MB as a tree).
std::string EvidenceReportJson(const EvidenceReport& v);
std::vector<std::string> EvidenceReportJsonParts(const EvidenceReport& v);  // the same, in pieces to write one after another

// The report as files, each a complete document (UTF-8). `zone` renders local times.
std::string EvidenceHtml(const EvidenceReport& r, const TimeZone& zone);
// PDF bytes, through libharu, with the DejaVu Sans TrueType font embedded (kEvidenceFont).
Status EvidencePdf(const EvidenceReport& r, const TimeZone& zone, std::string* pdf);
extern const char* const kEvidenceFont;  // /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
// CSV (RFC 4180, a header row, UTC times as ISO 8601): one row per run, target, drill target,
// restoration.
std::string EvidenceRunsCsv(const EvidenceReport& r);
std::string EvidenceTargetsCsv(const EvidenceReport& r);
std::string EvidenceDrillsCsv(const EvidenceReport& r);
std::string EvidenceRestorationsCsv(const EvidenceReport& r);

}  // namespace rp
