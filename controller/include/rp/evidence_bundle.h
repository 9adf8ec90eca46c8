// Building, writing and checking evidence bundles (docs/evidence.md). BuildEvidence gathers the
// report and the restoration-log excerpt from the configuration and the store, pseudonymising
// targets that hold personal data; WriteEvidenceBundle renders and packs them with the public
// key, SHA256SUMS and the Ed25519 signature over it into one tar.gz (libarchive), a file at a
// time; VerifyEvidenceFiles checks a bundle without trusting the appliance that made it.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rp/evidence.h"
#include "rp/restoration_log.h"
#include "rp/status.h"

struct archive;  // libarchive's

namespace rp {

class Store;
struct Config;

// Keyed pseudonyms: HMAC-SHA256 with the appliance's own key (`data_dir/pseudonym.key`, 32
// random bytes, mode 0600, created on first use), so a name's pseudonym is stable within the
// appliance and cannot be recomputed elsewhere.
class Pseudonymiser {
 public:
  static Status LoadOrCreate(const std::string& data_dir, std::unique_ptr<Pseudonymiser>* out);
  explicit Pseudonymiser(std::string key) : key_(std::move(key)) {}
  std::string Target(std::string_view name) const;  // "pd-" and 16 hex digits
  std::string Path(std::string_view path) const;    // "path-" and 16 hex digits
 private:
  std::string key_;
};
std::string PseudonymKeyPath(const std::string& data_dir);

// One restoration-log record as a bundle carries it: in full (its salt included, so anyone can
// recompute its hash), or redacted: its private texts withheld (target, point and failed_files
// as pseudonyms, personal_data and reason left out, no salt) and their commitment given, so the
// hash is still recomputed from the fields shown (docs/evidence.md, "The log excerpt").
struct ExcerptRecord {
  LogRecord record;
  bool redacted = false;
  std::string commitment;  // redacted: the record's LogRecordCommitment
};
// The records from the first one in the period to the head, and the checkpoints among them.
struct LogExcerpt {
  int64_t head_seq = 0;     // 0: the log was empty
  std::string head_hash;    // kLogGenesisHash when empty
  std::vector<ExcerptRecord> records;  // in seq order, contiguous, ending at head_seq
  std::vector<LogCheckpoint> checkpoints;
};
void to_json(nlohmann::json& j, const LogExcerpt& v);
void from_json(const nlohmann::json& j, LogExcerpt& v);  // throws nlohmann::json::exception on a bad shape

// Recomputes the excerpt's chain: contiguous seqs, each digest (recomputed for a full record),
// each link, the head; then every checkpoint's head and signature with `key`.
LogVerification VerifyLogExcerpt(const LogExcerpt& excerpt, const PublicKey& key);

struct EvidenceRequest {
  int64_t from = 0, to = 0;          // UTC seconds, [from, to)
  std::vector<std::string> targets;  // empty: every configured target
  bool clear_names = false;
  std::string clear_names_reason;
  int64_t now = 0;
};

// Gathers the report and the excerpt. Unknown target names are a usage error. A target holds
// personal data unless its declaration says `none`.
Status BuildEvidence(const Config& config, Store& store, const EvidenceRequest& request, const Pseudonymiser& names,
                     const PublicKey& key, EvidenceReport* report, LogExcerpt* excerpt);

// The files of a bundle: report.html, report.pdf, report.json, runs.csv, targets.csv, drills.csv,
// restorations.csv, log.json, signing.pub, README.txt, SHA256SUMS, SHA256SUMS.sig, all under the
// directory kEvidenceDir.
extern const char* const kEvidenceDir;  // "evidence"

// Writes a bundle a file at a time, so that only the file being added is in memory: a
// gzip-compressed pax tar written beside `path` (mode 0600) and linked into place by Finish,
// which adds SHA256SUMS over every file added and its Ed25519 signature. `path` must not exist
// (it is never overwritten). A writer destroyed before Finish leaves nothing behind; after a
// failed call the writer is closed.
class BundleWriter {
 public:
  BundleWriter() = default;
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;
  Status Open(const std::string& path, int64_t mtime);
  Status Add(const std::string& name, std::string data);
  Status Add(const std::string& name, std::vector<std::string> parts);  // the file is the parts joined
  Status Finish(const SigningKey& key);

 private:
  Status Entry(const std::string& name, const std::vector<std::string>* parts);
  Status Fail(std::string why);
  std::string path_, tmp_, sums_;
  int64_t mtime_ = 0;
  int fd_ = -1;
  ::archive* archive_ = nullptr;
};

// Renders every file of the bundle and writes it through a BundleWriter, each file freed once
// written; `excerpt` is written first and released before the report is rendered.
Status WriteEvidenceBundle(const std::string& path, const EvidenceReport& report, LogExcerpt excerpt,
                           const TimeZone& zone, const SigningKey& key, const std::string& public_key_pem,
                           int64_t mtime);
// The JSON of log.json: the codec's, with a record per line (written without building the whole
// document as one tree). The Take form gives it in pieces, a record each, freeing each record of
// the excerpt once encoded, so the excerpt and its JSON are never both whole in memory.
std::string LogExcerptJson(const LogExcerpt& excerpt);
std::vector<std::string> TakeLogExcerptJson(LogExcerpt&& excerpt);

// Reads a bundle's regular files under kEvidenceDir (names without the directory). Anything
// else in the archive (another directory, a link, a device, a duplicate name, a file over 256 MiB)
// is an error naming it.
Status ReadEvidenceBundle(const std::string& path, std::map<std::string, std::string>* files);
Status ReadEvidenceBundleBytes(std::string_view data, std::map<std::string, std::string>* files);

// One check of `evidence verify` and its outcome.
struct BundleCheck {
  std::string name;    // "archive", "files", "sha256sums", "signature", "key", "report", "log-chain", ...
  bool ok = true;
  std::string detail;  // for a person: what was found, and where
};
struct BundleVerification {
  bool ok = true;
  std::vector<BundleCheck> checks;
  std::string key_fingerprint;  // the bundle's key
  bool key_pinned = false;      // checked against a key given by the caller
  int64_t head_seq = 0;
  std::string head_hash;
  std::optional<LogExcerpt> excerpt;  // when log.json could be read and its signature verified
};
// Every check over the files of a bundle: the file set, every SHA256SUMS line, the signature
// with the bundled key (and `pinned` when given), the report's fingerprint and chain head
// against the key and the log excerpt, the excerpt's chain and checkpoints, the CSV and JSON
// agreeing on the runs.
BundleVerification VerifyEvidenceFiles(const std::map<std::string, std::string>& files,
                                       const std::optional<PublicKey>& pinned);

}  // namespace rp
