#include "rp/restoration_log.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/store.h"

namespace rp {

const char* const kLogGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

namespace {

constexpr std::array<std::pair<LogKind, std::string_view>, 6> kKinds{{
    {LogKind::kScheduledTest, "scheduled-test"},
    {LogKind::kDrill, "drill"},
    {LogKind::kOperatorTest, "operator-test"},
    {LogKind::kRealRestore, "real-restore"},
    {LogKind::kConfigChange, "config-change"},
    {LogKind::kClearNamesExport, "clear-names-export"},
}};

constexpr std::array<std::pair<Correctness, std::string_view>, 4> kVerdicts{{
    {Correctness::kNotApplicable, "not-applicable"},
    {Correctness::kCorrect, "correct"},
    {Correctness::kIncorrect, "incorrect"},
    {Correctness::kUnverified, "unverified"},
}};

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not the encoded form
}

// nullopt unless `hex` is lower-case hex of whole bytes.
std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

void PutU32(std::string* out, size_t n) {
  const auto v = static_cast<uint32_t>(n);
  for (int shift = 24; shift >= 0; shift -= 8) *out += static_cast<char>((v >> shift) & 0xff);
}
void PutText(std::string* out, std::string_view s) {
  PutU32(out, s.size());
  out->append(s);
}
void PutInt(std::string* out, int64_t n) { PutText(out, std::to_string(n)); }
void PutUint(std::string* out, uint64_t n) { PutText(out, std::to_string(n)); }
void PutList(std::string* out, const std::vector<std::string>& items) {
  PutU32(out, items.size());
  for (const auto& s : items) PutText(out, s);
}

// OpenSSL's queued errors, oldest first, and the queue emptied.
std::string OpenSslError() {
  std::string text;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text.empty() ? "OpenSSL gave no reason" : text;
}

}  // namespace

// The whole of a small file; false with errno set when it cannot be read.
bool ReadSmallFile(const std::string& path, std::string* out) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  out->clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > (1 << 20)) {
      errno = EFBIG;
      return false;
    }
  }
}

// Writes `data` to a new file beside `path` (mode `mode`) and links it in as `path`: a reader
// never sees half a file. With `replace` an existing file is replaced; without it one already
// there wins and *existed says so.
Status PublishFile(const std::string& path, const std::string& data, unsigned mode, bool replace, bool* existed) {
  std::string tmp = path + ".tmp-XXXXXX";
  UniqueFd fd(mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return Status::Environment(path + ": cannot create a file beside it: " + std::strerror(errno));
  int err = 0;
  if (fchmod(fd.get(), mode) != 0 || !WriteAll(fd.get(), data, &err) || fsync(fd.get()) != 0) {
    if (!err) err = errno;
    unlink(tmp.c_str());
    return Status::Environment(tmp + ": cannot write: " + std::strerror(err));
  }
  fd.Reset();
  if (existed) *existed = false;
  if (replace ? rename(tmp.c_str(), path.c_str()) != 0 : link(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    unlink(tmp.c_str());
    if (!replace && err == EEXIST && existed) {
      *existed = true;
      return Status::Ok();
    }
    return Status::Environment(path + ": cannot create: " + std::strerror(err));
  }
  if (!replace) unlink(tmp.c_str());
  return Status::Ok();
}

std::string LowerHex(std::string_view bytes) { return Hex(bytes); }
std::optional<std::string> ParseLowerHex(std::string_view hex) { return Unhex(hex); }
std::string Sha256Raw(std::string_view data) { return Sha256(data); }

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32)
    return std::nullopt;
  return raw;
}

// --- the chain's verification -----------------------------------------------------------------

struct Defect {
  LogDefect what = LogDefect::kNone;
  int64_t seq = 0;
  std::string detail;
};

bool SelfConsistent(const LogRecord& r) { return r.damage.empty() && LogRecordHash(r.prev_hash, r) == r.hash; }

std::string Seq(int64_t seq) { return std::to_string(seq); }

// Where each stored hash is, by seq: read again only once something is wrong.
std::unordered_map<std::string, std::vector<int64_t>> HashIndex(Store& store) {
  std::unordered_map<std::string, std::vector<int64_t>> where;
  constexpr size_t kPage = 10000;
  int64_t from = INT64_MIN;
  for (;;) {
    const auto page = store.ReadLog(from, kPage);
    for (const auto& r : page) where[r.hash].push_back(r.seq);
    if (page.size() < kPage || page.back().seq == INT64_MAX) break;
    from = page.back().seq + 1;
  }
  return where;
}

// What went wrong at `j`, the first record that does not continue the verified chain: every
// record before it has seqs 1..expected_seq-1 and chains from the genesis hash to
// `expected_prev`.
Defect Classify(Store& store, const LogRecord& j, int64_t expected_seq, const std::string& expected_prev) {
  const std::string at = "record " + Seq(j.seq);
  if (!j.damage.empty()) return {LogDefect::kChanged, j.seq, at + ": " + j.damage.substr(0, j.damage.size() - 2)};
  const bool self_ok = SelfConsistent(j);
  const bool link_ok = j.prev_hash == expected_prev;
  if (j.seq > expected_seq) {
    if (link_ok)
      return {LogDefect::kChanged, j.seq,
              at + " follows record " + Seq(expected_seq - 1) + " in the chain, but its seq was changed from " +
                  Seq(expected_seq)};
    const std::string missing =
        j.seq == expected_seq + 1 ? "record " + Seq(expected_seq) : "records " + Seq(expected_seq) + ".." + Seq(j.seq - 1);
    return {LogDefect::kRemoved, expected_seq,
            missing + " missing: " + at + " follows " +
                (expected_seq > 1 ? "record " + Seq(expected_seq - 1) : std::string("the start")) +
                " and links to a hash that is not " +
                (expected_seq > 1 ? "record " + Seq(expected_seq - 1) + "'s" : std::string("the genesis hash"))};
  }
  if (j.seq < expected_seq)
    return {LogDefect::kChanged, j.seq, at + ": its seq is out of the log's order (expected " + Seq(expected_seq) + ")"};
  const auto where = HashIndex(store);
  std::optional<int64_t> linked;  // the seq of the record j links to, when some record has that hash
  if (const auto it = where.find(j.prev_hash); it != where.end()) linked = it->second.front();
  if (!link_ok) {
    if (const auto it = where.find(j.hash); it != where.end())
      for (int64_t other : it->second)
        if (other != j.seq)
          return {LogDefect::kInserted, j.seq, at + " is a copy of record " + Seq(other) + " (the same hash)"};
    if (linked && *linked > expected_seq - 1)
      return {LogDefect::kReordered, j.seq,
              at + " links to record " + Seq(*linked) + ": it was written after that record, not after record " +
                  Seq(expected_seq - 1)};
  }
  const auto next = store.ReadLog(j.seq + 1, 1);
  if (!next.empty() && next[0].prev_hash == expected_prev)
    return {LogDefect::kInserted, j.seq,
            at + " is not in the chain: record " + Seq(next[0].seq) + " links straight to " +
                (expected_seq > 1 ? "record " + Seq(expected_seq - 1) : std::string("the start"))};
  if (link_ok)
    return {LogDefect::kChanged, j.seq,
            at + ": its content does not match its hash (stored " + j.hash + ", recomputed " +
                LogRecordHash(j.prev_hash, j) + ")"};
  if (linked && *linked < expected_seq - 1) {
    const int64_t k = *linked;
    const std::string range =
        k + 1 == expected_seq - 1 ? "record " + Seq(k + 1) : "records " + Seq(k + 1) + ".." + Seq(expected_seq - 1);
    return {LogDefect::kInserted, k + 1, range + " not in the chain: " + at + " links straight to record " + Seq(k)};
  }
  if (self_ok && expected_seq > 1)
    return {LogDefect::kChanged, expected_seq - 1,
            "record " + Seq(expected_seq - 1) + " was changed and its hash recomputed: " + at +
                " links to a hash that is no longer its"};
  if (!self_ok) {
    // A record renumbered after records before it were removed still matches its hash under
    // the seq it was written with.
    for (int64_t d = 1; d <= 64; ++d) {
      LogRecord written = j;
      written.seq = j.seq + d;
      if (LogRecordHash(j.prev_hash, written) == j.hash)
        return {LogDefect::kRemoved, j.seq,
                (d == 1 ? "record " + Seq(j.seq) : "records " + Seq(j.seq) + ".." + Seq(j.seq + d - 1)) +
                    " removed and the later ones renumbered: the record now at seq " + Seq(j.seq) +
                    " was written as seq " + Seq(j.seq + d)};
    }
    if (next.empty())
      return {LogDefect::kInserted, j.seq,
              at + ", the last, does not extend the chain: it links to a hash no record has and does not match its own"};
  }
  return {LogDefect::kChanged, j.seq,
          at + ": it links to a hash no record has" + std::string(self_ok ? "" : " and does not match its own hash")};
}

Defect CheckCheckpoints(const std::vector<LogCheckpoint>& checkpoints, const std::map<int64_t, std::string>& head_at,
                        int64_t last_seq, const std::optional<PublicKey>& key, int64_t* verified) {
  for (const auto& c : checkpoints) {
    const std::string at = "checkpoint of seq " + Seq(c.seq) + " (signed at " + Seq(c.at) + ")";
    if (!key)
      return {LogDefect::kBadCheckpoint, c.seq,
              at + ": no public key to check it with (signing.pub is missing from data_dir)"};
    if (c.key_fingerprint != key->Fingerprint())
      return {LogDefect::kBadCheckpoint, c.seq,
              at + ": signed by key " + c.key_fingerprint + ", not by this appliance's key " + key->Fingerprint()};
    const auto signature = Unhex(c.signature);
    if (!signature || !key->Verify(CheckpointMessage(c.seq, c.head_hash, c.at), *signature))
      return {LogDefect::kBadCheckpoint, c.seq, at + ": its signature does not verify over its seq, head and time"};
    if (c.seq > last_seq)
      return {LogDefect::kRemoved, last_seq + 1,
              (c.seq == last_seq + 1 ? "record " + Seq(c.seq) : "records " + Seq(last_seq + 1) + ".." + Seq(c.seq)) +
                  " removed: the log ends at seq " + Seq(last_seq) + ", but the " + at + " covers them"};
    const auto it = head_at.find(c.seq);
    if (c.seq < 1 || it == head_at.end())
      return {LogDefect::kBadCheckpoint, c.seq, at + ": the log has no record at that seq"};
    if (it->second != c.head_hash)
      return {LogDefect::kChanged, c.seq,
              "the chain up to record " + Seq(c.seq) + " was rewritten: its hash is " + it->second + ", the " + at +
                  " says " + c.head_hash};
    ++*verified;
  }
  return {};
}

}  // namespace

std::string_view LogKindName(LogKind k) {
  for (const auto& [kind, name] : kKinds)
    if (kind == k) return name;
  return "operator-test";
}

std::optional<LogKind> ParseLogKind(std::string_view name) {
  for (const auto& [kind, n] : kKinds)
    if (n == name) return kind;
  return std::nullopt;
}

std::string_view CorrectnessName(Correctness c) {
  for (const auto& [verdict, name] : kVerdicts)
    if (verdict == c) return name;
  return "unverified";
}

std::optional<Correctness> ParseCorrectness(std::string_view name) {
  for (const auto& [verdict, n] : kVerdicts)
    if (n == name) return verdict;
  return std::nullopt;
}

std::string_view LogDefectName(LogDefect d) {
  switch (d) {
    case LogDefect::kNone: return "none";
    case LogDefect::kChanged: return "changed";
    case LogDefect::kRemoved: return "removed";
    case LogDefect::kInserted: return "inserted";
    case LogDefect::kReordered: return "reordered";
    case LogDefect::kBadCheckpoint: return "bad-checkpoint";
  }
  return "changed";
}

LogRecord NewLogRecord(LogKind kind, int64_t now, const TimeZone& zone) {
  LogRecord r;
  r.kind = kind;
  r.time = now;
  r.time_local = zone.Format(now, "%Y-%m-%dT%H:%M:%S%z");
  return r;
}

std::string LogText(std::string_view text) {
  if (IsValidUtf8(text) && text.find('\0') == std::string_view::npos) return std::string(text);
  return EscapePath(text);
}

void MakeLogTexts(LogRecord* r) {
  for (std::string* s : {&r->time_local, &r->target, &r->point, &r->location, &r->responsible, &r->personal_data,
                         &r->reason, &r->result})
    *s = LogText(*s);
  for (auto* list : {&r->failed_files, &r->changed_keys})
    for (auto& s : *list) s = LogText(s);
}

namespace {

// The form of the records written before salts (schema 5 and older): every field in one
// encoding, hashed with the previous hash directly. Still verified; never written.
std::string CanonicalV1(const LogRecord& r) {
  std::string out;
  out.reserve(256);
  PutText(&out, "restoreproof-log-v1");
  PutInt(&out, r.seq);
  PutInt(&out, r.time);
  PutText(&out, r.time_local);
  PutText(&out, LogKindName(r.kind));
  PutText(&out, r.target);
  PutText(&out, r.point);
  PutText(&out, r.location);
  PutText(&out, r.responsible);
  PutText(&out, r.personal_data);
  PutText(&out, r.reason);
  PutText(&out, r.result);
  PutUint(&out, r.files);
  PutUint(&out, r.bytes);
  PutUint(&out, r.failing_findings);
  PutText(&out, CorrectnessName(r.correctness));
  PutList(&out, r.failed_files);
  PutInt(&out, r.run_id);
  PutList(&out, r.changed_keys);
  return out;
}

}  // namespace

std::string LogRecordCommitment(const LogRecord& r) {
  std::string out;
  out.reserve(128);
  PutText(&out, "restoreproof-log-v2-private");
  PutText(&out, r.salt);
  PutText(&out, r.target);
  PutText(&out, r.point);
  PutText(&out, r.personal_data);
  PutText(&out, r.reason);
  PutList(&out, r.failed_files);
  return Hex(Sha256(out));
}

std::string CanonicalLogRecord(const LogRecord& r, std::string_view commitment_hex) {
  std::string out;
  out.reserve(256);
  PutText(&out, "restoreproof-log-v2");
  PutInt(&out, r.seq);
  PutInt(&out, r.time);
  PutText(&out, r.time_local);
  PutText(&out, LogKindName(r.kind));
  PutText(&out, r.location);
  PutText(&out, r.responsible);
  PutText(&out, r.result);
  PutUint(&out, r.files);
  PutUint(&out, r.bytes);
  PutUint(&out, r.failing_findings);
  PutText(&out, CorrectnessName(r.correctness));
  PutInt(&out, r.run_id);
  PutList(&out, r.changed_keys);
  PutText(&out, commitment_hex);
  return out;
}

std::string CanonicalLogRecord(const LogRecord& r) {
  return r.salt.empty() ? CanonicalV1(r) : CanonicalLogRecord(r, LogRecordCommitment(r));
}

std::string LogRecordHashWithCommitment(std::string_view prev_hash_hex, const LogRecord& r,
                                        std::string_view commitment_hex) {
  const auto prev = Unhex(prev_hash_hex);
  const auto commitment = Unhex(commitment_hex);
  if (!prev || prev->size() != 32 || !commitment || commitment->size() != 32) return "";
  return Hex(Sha256(*prev + CanonicalLogRecord(r, commitment_hex)));
}

std::string LogRecordHash(std::string_view prev_hash_hex, const LogRecord& r) {
  const auto prev = Unhex(prev_hash_hex);
  if (!prev || prev->size() != 32) return "invalid previous hash";  // never a hash: the record fails
  return Hex(Sha256(*prev + CanonicalLogRecord(r)));
}

std::string NewLogSalt() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("restoration log: no random bytes for a salt");
  return Hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

void to_json(nlohmann::json& j, const LogRecord& r) {
  j = nlohmann::json{{"seq", r.seq},
                     {"time", r.time},
                     {"time_local", r.time_local},
                     {"kind", LogKindName(r.kind)},
                     {"target", r.target},
                     {"point", r.point},
                     {"location", r.location},
                     {"responsible", r.responsible},
                     {"personal_data", r.personal_data},
                     {"reason", r.reason},
                     {"result", r.result},
                     {"files", r.files},
                     {"bytes", r.bytes},
                     {"failing_findings", r.failing_findings},
                     {"correctness", CorrectnessName(r.correctness)},
                     {"failed_files", r.failed_files},
                     {"run_id", r.run_id},
                     {"changed_keys", r.changed_keys},
                     {"salt", r.salt},
                     {"prev_hash", r.prev_hash},
                     {"hash", r.hash}};
  if (!r.damage.empty()) j["damage"] = r.damage;
}

std::string CheckpointMessage(int64_t seq, std::string_view head_hash, int64_t at) {
  return "restoreproof-log-checkpoint-v1 seq=" + std::to_string(seq) + " head=" + std::string(head_hash) +
         " at=" + std::to_string(at) + "\n";
}

std::string PublicKey::Fingerprint() const { return Hex(Sha256(raw)); }

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
                                        raw.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

Status ParsePublicKeyPem(std::string_view pem, PublicKey* out) {
  if (pem.size() > (1 << 16)) return Status::Environment("not a PEM Ed25519 public key (too long)");
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey || EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return Status::Environment("not a PEM Ed25519 public key");
  }
  const auto raw = RawPublicKey(pkey.get());
  if (!raw) return Status::Environment(OpenSslError());
  out->raw = *raw;
  return Status::Ok();
}

Status ReadPublicKey(const std::string& path, PublicKey* out) {
  std::string pem;
  if (!ReadSmallFile(path, &pem)) return Status::Environment(path + ": cannot read: " + std::strerror(errno));
  if (Status s = ParsePublicKeyPem(pem, out); !s.ok()) return Status::Environment(path + ": " + s.message());
  return Status::Ok();
}

std::string SigningKeyPath(const std::string& data_dir) { return data_dir + "/signing.key"; }
std::string PublicKeyPath(const std::string& data_dir) { return data_dir + "/signing.pub"; }

SigningKey::~SigningKey() { EVP_PKEY_free(pkey_); }

Status SigningKey::LoadOrCreate(const std::string& data_dir, std::unique_ptr<SigningKey>* out) {
  const std::string path = SigningKeyPath(data_dir);
  std::string pem;
  if (!ReadSmallFile(path, &pem)) {
    if (errno != ENOENT) return Status::Environment(path + ": cannot read the signing key: " + std::strerror(errno));
    Pkey fresh(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    Bio bio(BIO_new(BIO_s_mem()));
    if (!fresh || !bio || PEM_write_bio_PrivateKey(bio.get(), fresh.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      return Status::Environment(path + ": cannot create an Ed25519 key: " + OpenSslError());
    pem = BioText(bio.get());
    bool existed = false;
    // Another process creating the key at the same moment wins; its key is read below.
    if (Status s = PublishFile(path, pem, 0600, /*replace=*/false, &existed); !s.ok()) return s;
    if (existed && !ReadSmallFile(path, &pem))
      return Status::Environment(path + ": cannot read the signing key: " + std::strerror(errno));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && chmod(path.c_str(), 0600) != 0)
    return Status::Environment(path + ": the signing key is open to other users and cannot be closed (chmod 600): " +
                               std::strerror(errno));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!pkey || EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519)
    return Status::Environment(path + ": not a PEM Ed25519 private key (move it aside to have a new one made; "
                                      "checkpoints signed with it can then no longer be checked)");
  auto key = std::make_unique<SigningKey>(Private{});
  const auto raw = RawPublicKey(pkey.get());
  if (!raw) return Status::Environment(path + ": " + OpenSslError());
  key->public_.raw = *raw;
  key->pkey_ = pkey.release();
  // signing.pub follows the private key: written when missing or not this key's.
  Bio pub(BIO_new(BIO_s_mem()));
  if (!pub || PEM_write_bio_PUBKEY(pub.get(), key->pkey_) != 1)
    return Status::Environment(PublicKeyPath(data_dir) + ": " + OpenSslError());
  const std::string pub_pem = BioText(pub.get());
  std::string current;
  if (!ReadSmallFile(PublicKeyPath(data_dir), &current) || current != pub_pem)
    if (Status s = PublishFile(PublicKeyPath(data_dir), pub_pem, 0644, /*replace=*/true, nullptr); !s.ok()) return s;
  *out = std::move(key);
  return Status::Ok();
}

std::string SigningKey::Sign(std::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return {};
  sig.resize(len);
  return sig;
}

Status Checkpoint(Store& store, const SigningKey& key, int64_t now, std::optional<LogCheckpoint>* made) {
  made->reset();
  LogFilter newest;
  newest.limit = 1;
  const auto head = store.ListLog(newest);
  if (head.empty()) return Status::Ok();
  const LogRecord& h = head[0];
  if (!SelfConsistent(h))
    return Status::Environment("restoration log: the newest record (seq " + Seq(h.seq) +
                               ") does not match its hash; it is not signed (run `restoreproof log verify`)");
  LogCheckpoint c;
  c.seq = h.seq;
  c.head_hash = h.hash;
  c.at = now;
  const std::string signature = key.Sign(CheckpointMessage(c.seq, c.head_hash, c.at));
  if (signature.empty()) return Status::Environment("restoration log: signing the checkpoint failed: " + OpenSslError());
  c.signature = Hex(signature);
  c.key_fingerprint = key.public_key().Fingerprint();
  store.PutCheckpoint(c);
  *made = c;
  return Status::Ok();
}

LogVerification VerifyLog(Store& store, const std::optional<PublicKey>& key) {
  LogVerification v;
  const auto checkpoints = store.Checkpoints();
  std::map<int64_t, std::string> head_at;  // the chain's hash at each checkpoint's seq
  for (const auto& c : checkpoints) head_at[c.seq];
  const auto fail = [&v](const Defect& d) {
    v.ok = false;
    v.what = d.what;
    v.first_bad_seq = d.seq;
    v.detail = d.detail;
    return v;
  };
  std::string expected_prev = kLogGenesisHash;
  int64_t expected_seq = 1;
  constexpr size_t kPage = 10000;
  int64_t from = INT64_MIN;  // a seq edited to 0 or below is read too
  for (;;) {
    const auto page = store.ReadLog(from, kPage);
    for (const auto& r : page) {
      ++v.records;
      if (r.seq != expected_seq || r.prev_hash != expected_prev || !SelfConsistent(r))
        return fail(Classify(store, r, expected_seq, expected_prev));
      if (const auto it = head_at.find(r.seq); it != head_at.end()) it->second = r.hash;
      expected_prev = r.hash;
      expected_seq = r.seq + 1;
    }
    if (page.size() < kPage) break;
    from = page.back().seq + 1;
  }
  for (auto it = head_at.begin(); it != head_at.end();)  // seqs past the end have no hash
    it = it->first >= expected_seq ? head_at.erase(it) : std::next(it);
  if (const Defect d = CheckCheckpoints(checkpoints, head_at, expected_seq - 1, key, &v.checkpoints);
      d.what != LogDefect::kNone)
    return fail(d);
  return v;
}

}  // namespace rp
