// The restoration log (docs/restoration-log.md): one typed record per restoration, test or real,
// per configuration change and per clear-names export, hash-chained (SHA-256 over the previous
// hash and the record's canonical encoding) and checkpointed with the appliance's Ed25519 key.
// The records live in the Store (append-only); this module owns the encoding, the hash rule,
// the key and the chain's verification. Pure functions are thread-safe; a SigningKey is
// immutable after loading and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rp/calendar.h"
#include "rp/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace rp {

class Store;

enum class LogKind { kScheduledTest, kDrill, kOperatorTest, kRealRestore, kConfigChange, kClearNamesExport };
std::string_view LogKindName(LogKind k);  // "scheduled-test", "drill", ... (the encoded form)
std::optional<LogKind> ParseLogKind(std::string_view name);

// For a target that holds personal data: were the restored data shown correct?
enum class Correctness { kNotApplicable, kCorrect, kIncorrect, kUnverified };
std::string_view CorrectnessName(Correctness c);  // "not-applicable", "correct", "incorrect", "unverified"
std::optional<Correctness> ParseCorrectness(std::string_view name);

// One record. Every text is UTF-8 without NUL (Store::AppendLog stores a text that is not as its
// EscapePath form), so that the JSON of `log show --json` carries the hashed bytes exactly.
struct LogRecord {
  int64_t seq = 0;          // 1, 2, 3, ...: assigned by Store::AppendLog
  int64_t time = 0;         // UTC seconds
  std::string time_local;   // the same instant in the appliance's zone, "2026-11-22T08:00:00+0100"
  LogKind kind = LogKind::kOperatorTest;
  std::string target;       // "" for a change of the configuration
  std::string point;        // the recovery point's id, escaped like every path (docs/json.md)
  std::string location;     // the copy restored from
  std::string responsible;  // the person responsible; for config-change: who changed it, where known
  std::string personal_data;  // description of the personal data restored
  std::string reason;
  std::string result;       // a run's state (passed, failed, aborted, ...), or what happened
  uint64_t files = 0, bytes = 0;  // verification summary: restored and verified
  uint64_t failing_findings = 0;
  Correctness correctness = Correctness::kNotApplicable;
  std::vector<std::string> failed_files;  // personal data: paths (EscapePath form) that failed verification
  int64_t run_id = 0;                     // 0: no run
  std::vector<std::string> changed_keys;  // config-change: key paths, never values
  // 32 lowercase hex digits (16 random bytes), assigned by Store::AppendLog when empty. It is
  // in the commitment of the private texts, so nobody can confirm a guessed name against the
  // commitment a bundle shows. Empty only in records written before schema 6 (the v1 form).
  std::string salt;
  std::string prev_hash, hash;            // lowercase hex of 32 bytes: assigned by AppendLog
  // Read back only, never encoded: a column the store could not decode (the file was edited).
  // Such a record fails verification as changed.
  std::string damage;
};

// Which records `log show` lists (Store::ListLog).
struct LogFilter {
  int64_t since = 0;   // time at or after (UTC seconds)
  std::string target;  // "" any
  size_t limit = 0;    // the newest this many; 0: all
};

// The record as `log show --json` prints it (docs/restoration-log.md): every encoded field by
// its name, and `damage` when there is some.
void to_json(nlohmann::json& j, const LogRecord& r);

// A record of `kind` at `now`, its local time rendered in `zone`.
LogRecord NewLogRecord(LogKind kind, int64_t now, const TimeZone& zone);

// A text as the log stores it: valid UTF-8 without NUL as it is, anything else as EscapePath.
std::string LogText(std::string_view text);
void MakeLogTexts(LogRecord* r);  // LogText on every text of the record

// The encoding and the hash rule (docs/restoration-log.md). A record's private texts (target,
// point, personal_data, reason, failed_files) enter only through their commitment, the
// lowercase hex SHA-256 of their encoding with the record's salt; its canonical encoding is the
// other fields and that commitment (seq included, prev_hash and hash not); its hash is the
// lowercase hex SHA-256(prev_hash as 32 raw bytes || canonical). So an evidence bundle can show a
// record of a target holding personal data with its private texts withheld and its commitment
// given, and the chain is still recomputed from what it shows. A record without a salt (written
// before schema 6) is encoded in the earlier form (v1), every field in clear. `prev_hash_hex`
// of the first record is kLogGenesisHash. LogRecordHashWithCommitment returns "" for malformed
// hex.
std::string LogRecordCommitment(const LogRecord& r);
std::string CanonicalLogRecord(const LogRecord& r);
std::string CanonicalLogRecord(const LogRecord& r, std::string_view commitment_hex);
std::string LogRecordHash(std::string_view prev_hash_hex, const LogRecord& r);
std::string LogRecordHashWithCommitment(std::string_view prev_hash_hex, const LogRecord& r,
                                        std::string_view commitment_hex);
std::string NewLogSalt();  // 16 random bytes as hex
extern const char* const kLogGenesisHash;  // 64 zeros

// A signed statement that the chain's head was `head_hash` at `seq`.
struct LogCheckpoint {
  int64_t seq = 0;
  std::string head_hash;        // hex
  int64_t at = 0;               // UTC seconds, when signed
  std::string signature;        // hex of the 64-byte Ed25519 signature over CheckpointMessage
  std::string key_fingerprint;  // hex SHA-256 of the signing key's raw 32-byte public key
};
// The bytes a checkpoint's signature covers.
std::string CheckpointMessage(int64_t seq, std::string_view head_hash, int64_t at);

// An Ed25519 public key: its raw 32 bytes.
struct PublicKey {
  std::string raw;
  std::string Fingerprint() const;  // hex SHA-256 of raw
  bool Verify(std::string_view message, std::string_view signature) const;  // raw signature bytes
};
// Reads a PEM public key (`signing.pub`), from a file or from memory.
Status ReadPublicKey(const std::string& path, PublicKey* out);
Status ParsePublicKeyPem(std::string_view pem, PublicKey* out);

// The appliance's Ed25519 key: `data_dir/signing.key` (PEM, PKCS#8, mode 0600, never printed)
// and `data_dir/signing.pub` (PEM). Created on first use; two processes creating it at once end
// up with the same key.
class SigningKey {
  struct Private {};

 public:
  static Status LoadOrCreate(const std::string& data_dir, std::unique_ptr<SigningKey>* out);
  explicit SigningKey(Private) {}
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  std::string Sign(std::string_view message) const;  // raw 64 bytes
  const PublicKey& public_key() const { return public_; }

 private:
  ::evp_pkey_st* pkey_ = nullptr;
  PublicKey public_;
};
std::string SigningKeyPath(const std::string& data_dir);
std::string PublicKeyPath(const std::string& data_dir);

// Signs the current head (seq and hash) and stores the checkpoint. An empty log has no head:
// *made stays empty.
Status Checkpoint(Store& store, const SigningKey& key, int64_t now, std::optional<LogCheckpoint>* made);

// What is wrong with the log, at the first record (or checkpoint) where it goes wrong.
enum class LogDefect {
  kNone,
  kChanged,        // a record's content no longer matches its hash, or was rewritten with it
  kRemoved,        // records are missing (a gap, a link to a hash no record has, a checkpoint past the end)
  kInserted,       // a record that the chain does not link: skipped by the next one, or a copy
  kReordered,      // records out of chain order: one links to a record that is not its predecessor
  kBadCheckpoint,  // a checkpoint's signature fails, it is another key's, or no key to check it
};
std::string_view LogDefectName(LogDefect d);  // "changed", "removed", "inserted", "reordered", "bad-checkpoint"

struct LogVerification {
  bool ok = true;
  int64_t records = 0;      // records read
  int64_t checkpoints = 0;  // checkpoints whose signature and head were verified
  int64_t first_bad_seq = 0;
  LogDefect what = LogDefect::kNone;
  std::string detail;  // for a person: what was found where
};

// Shared with the evidence code: lowercase hex and its inverse (nullopt unless lowercase hex of
// whole bytes), SHA-256 as raw bytes, and small files written whole beside their place and
// linked in (a reader never sees half a file; without `replace` one already there wins and
// *existed says so). ReadSmallFile fails (errno EFBIG) past 1 MiB.
std::string LowerHex(std::string_view bytes);
std::optional<std::string> ParseLowerHex(std::string_view hex);
std::string Sha256Raw(std::string_view data);
bool ReadSmallFile(const std::string& path, std::string* out);
Status PublishFile(const std::string& path, const std::string& data, unsigned mode, bool replace, bool* existed);

// Walks the chain in seq order, recomputing every hash, then checks every checkpoint: its head
// is the chain's hash at its seq and, with `key`, its signature and fingerprint. Without `key`
// a store that has checkpoints fails (they cannot be checked).
LogVerification VerifyLog(Store& store, const std::optional<PublicKey>& key);

}  // namespace rp
