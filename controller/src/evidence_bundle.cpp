// Evidence bundles: the log excerpt's codec and check, the files of a bundle and their
// signature, the archive written and read through libarchive, and every check of
// `evidence verify` (docs/evidence.md).
#include "rp/evidence_bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "rp/codec.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"

namespace rp {

const char* const kEvidenceDir = "evidence";

namespace {

constexpr int64_t kMaxBundleFile = int64_t{256} << 20;  // 256 MiB: a year of 100 targets is ~25 MB
constexpr int64_t kMaxBundleTotal = int64_t{1} << 30;  // 1 GiB

const char* const kSums = "SHA256SUMS";
const char* const kSig = "SHA256SUMS.sig";
const char* const kRequired[] = {"report.html",      "report.pdf", "report.json", "runs.csv",    "targets.csv",
                                 "drills.csv",       "restorations.csv",          "log.json",    "signing.pub",
                                 "README.txt",       "SHA256SUMS", "SHA256SUMS.sig"};

std::string Seq(int64_t n) { return std::to_string(n); }

nlohmann::json RecordJson(const ExcerptRecord& x) {
  nlohmann::json j = x.record;
  j.erase("damage");
  if (x.redacted) {  // the private texts withheld (target, point and failed_files as pseudonyms)
    j.erase("salt");
    j.erase("reason");
    j.erase("personal_data");
    j["redacted"] = true;
    if (!x.commitment.empty()) j["commitment"] = x.commitment;
  }
  return j;
}

ExcerptRecord ParseRecord(const nlohmann::json& j) {
  ExcerptRecord x;
  LogRecord& r = x.record;
  r.seq = codec::Num<int64_t>(j.at("seq"));
  r.time = codec::Num<int64_t>(j.at("time"));
  j.at("time_local").get_to(r.time_local);
  const auto kind = ParseLogKind(j.at("kind").get<std::string>());
  if (!kind) throw std::invalid_argument("record " + Seq(r.seq) + ": unknown kind");
  r.kind = *kind;
  j.at("target").get_to(r.target);
  j.at("point").get_to(r.point);
  j.at("location").get_to(r.location);
  j.at("responsible").get_to(r.responsible);
  r.personal_data = j.value("personal_data", "");
  r.reason = j.value("reason", "");
  j.at("result").get_to(r.result);
  r.files = codec::Num<uint64_t>(j.at("files"));
  r.bytes = codec::Num<uint64_t>(j.at("bytes"));
  r.failing_findings = codec::Num<uint64_t>(j.at("failing_findings"));
  const auto c = ParseCorrectness(j.at("correctness").get<std::string>());
  if (!c) throw std::invalid_argument("record " + Seq(r.seq) + ": unknown correctness");
  r.correctness = *c;
  j.at("failed_files").get_to(r.failed_files);
  r.run_id = codec::Num<int64_t>(j.at("run_id"));
  j.at("changed_keys").get_to(r.changed_keys);
  r.salt = j.value("salt", "");
  j.at("prev_hash").get_to(r.prev_hash);
  j.at("hash").get_to(r.hash);
  x.redacted = j.value("redacted", false);
  if (x.redacted) x.commitment = j.value("commitment", "");
  return x;
}

}  // namespace

void to_json(nlohmann::json& j, const LogExcerpt& v) {
  nlohmann::json records = nlohmann::json::array();
  for (const auto& x : v.records) records.push_back(RecordJson(x));
  nlohmann::json checkpoints = nlohmann::json::array();
  for (const auto& c : v.checkpoints)
    checkpoints.push_back({{"seq", c.seq},
                           {"head_hash", c.head_hash},
                           {"at", c.at},
                           {"signature", c.signature},
                           {"key_fingerprint", c.key_fingerprint}});
  j = nlohmann::json{{"format", 1},
                     {"hash_rule", "docs/restoration-log.md: hash = SHA-256(prev_hash || SHA-256(canonical))"},
                     {"head_seq", v.head_seq},
                     {"head_hash", v.head_hash},
                     {"records", std::move(records)},
                     {"checkpoints", std::move(checkpoints)}};
}

namespace {

// log.json in pieces, a record each; `take` moves the records out of `v` as they are encoded.
std::vector<std::string> ExcerptParts(LogExcerpt& v, bool take) {
  std::vector<std::string> parts;
  parts.reserve(v.records.size() + 2);
  nlohmann::json head{{"format", 1},
                      {"hash_rule", "docs/restoration-log.md: hash = SHA-256(prev_hash || SHA-256(canonical))"},
                      {"head_seq", v.head_seq},
                      {"head_hash", v.head_hash}};
  std::string first = head.dump();
  first.pop_back();  // the closing brace: the lists follow, an element per line
  first += ",\n\"records\": [";
  parts.push_back(std::move(first));
  for (size_t i = 0; i < v.records.size(); ++i) {
    parts.push_back((i ? ",\n" : "\n") + RecordJson(v.records[i]).dump());
    if (take) v.records[i] = ExcerptRecord{};
  }
  std::string last = v.records.empty() ? "]" : "\n]";
  if (take) {
    v.records.clear();
    v.records.shrink_to_fit();
  }
  nlohmann::json checkpoints = nlohmann::json::array();
  for (const auto& c : v.checkpoints)
    checkpoints.push_back({{"seq", c.seq},
                           {"head_hash", c.head_hash},
                           {"at", c.at},
                           {"signature", c.signature},
                           {"key_fingerprint", c.key_fingerprint}});
  last += ",\n\"checkpoints\": " + checkpoints.dump() + "\n}\n";
  parts.push_back(std::move(last));
  return parts;
}

}  // namespace

std::vector<std::string> TakeLogExcerptJson(LogExcerpt&& excerpt) { return ExcerptParts(excerpt, true); }

std::string LogExcerptJson(const LogExcerpt& excerpt) {
  std::string out;
  for (const auto& p : ExcerptParts(const_cast<LogExcerpt&>(excerpt), false)) out += p;
  return out;
}

void from_json(const nlohmann::json& j, LogExcerpt& v) {
  if (codec::Num<int>(j.at("format")) != 1) throw std::invalid_argument("log.json: unknown format");
  v.head_seq = codec::Num<int64_t>(j.at("head_seq"));
  j.at("head_hash").get_to(v.head_hash);
  v.records.clear();
  for (const auto& r : j.at("records")) v.records.push_back(ParseRecord(r));
  v.checkpoints.clear();
  for (const auto& c : j.at("checkpoints")) {
    LogCheckpoint k;
    k.seq = codec::Num<int64_t>(c.at("seq"));
    c.at("head_hash").get_to(k.head_hash);
    k.at = codec::Num<int64_t>(c.at("at"));
    c.at("signature").get_to(k.signature);
    c.at("key_fingerprint").get_to(k.key_fingerprint);
    v.checkpoints.push_back(std::move(k));
  }
}

LogVerification VerifyLogExcerpt(const LogExcerpt& x, const PublicKey& key) {
  LogVerification v;
  const auto fail = [&v](int64_t seq, LogDefect what, std::string detail) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.what = what;
    v.detail = std::move(detail);
    return v;
  };
  std::map<int64_t, std::string> hash_at;
  for (size_t i = 0; i < x.records.size(); ++i) {
    const LogRecord& r = x.records[i].record;
    ++v.records;
    // Not `seq + 1`: that overflows when a bundle gives the largest seq.
    if (i > 0 && (r.seq <= x.records[i - 1].record.seq || r.seq - 1 != x.records[i - 1].record.seq))
      return fail(r.seq, r.seq > x.records[i - 1].record.seq ? LogDefect::kRemoved : LogDefect::kReordered,
                  "record " + Seq(r.seq) + " follows record " + Seq(x.records[i - 1].record.seq));
    if (i == 0 && r.seq == 1 && r.prev_hash != kLogGenesisHash)
      return fail(r.seq, LogDefect::kChanged, "the first record does not start the chain");
    if (i > 0 && r.prev_hash != x.records[i - 1].record.hash)
      return fail(r.seq, LogDefect::kChanged,
                  "record " + Seq(r.seq) + " does not link to record " + Seq(r.seq - 1) + "'s hash");
    // A redacted record without a commitment was written before schema 6 (docs/evidence.md):
    // its hash is taken as given and only its links are checked.
    const bool legacy = x.records[i].redacted && x.records[i].commitment.empty();
    const std::string h = legacy                    ? r.hash
                          : x.records[i].redacted ? LogRecordHashWithCommitment(r.prev_hash, r, x.records[i].commitment)
                                                  : LogRecordHash(r.prev_hash, r);
    if (h.empty() || h != r.hash)
      return fail(r.seq, LogDefect::kChanged,
                  "record " + Seq(r.seq) + (x.records[i].redacted ? " (pseudonymised)" : "") +
                      " does not match its hash (recomputed " + (h.empty() ? "nothing: a malformed hash" : h) + ")");
    hash_at[r.seq] = r.hash;
  }
  if (x.records.empty()) {
    if (x.head_seq != 0) return fail(x.head_seq, LogDefect::kRemoved, "the excerpt holds no record up to its head");
    if (x.head_hash != kLogGenesisHash) return fail(0, LogDefect::kChanged, "an empty log pins a hash other than the genesis");
  } else if (x.records.back().record.seq != x.head_seq || x.records.back().record.hash != x.head_hash) {
    return fail(x.records.back().record.seq, LogDefect::kRemoved,
                "the excerpt ends at record " + Seq(x.records.back().record.seq) + ", not at its head (seq " +
                    Seq(x.head_seq) + ")");
  }
  for (const auto& c : x.checkpoints) {
    const auto it = hash_at.find(c.seq);
    const auto sig = ParseLowerHex(c.signature);
    if (it == hash_at.end())
      return fail(c.seq, LogDefect::kBadCheckpoint, "a checkpoint at seq " + Seq(c.seq) + " outside the excerpt");
    if (c.key_fingerprint != key.Fingerprint())
      return fail(c.seq, LogDefect::kBadCheckpoint, "the checkpoint at seq " + Seq(c.seq) + " was signed by another key");
    if (!sig || !key.Verify(CheckpointMessage(c.seq, c.head_hash, c.at), *sig))
      return fail(c.seq, LogDefect::kBadCheckpoint, "the checkpoint at seq " + Seq(c.seq) + ": its signature fails");
    if (it->second != c.head_hash)
      return fail(c.seq, LogDefect::kChanged,
                  "the checkpoint at seq " + Seq(c.seq) + " signed another hash than the record's: rewritten");
    ++v.checkpoints;
  }
  return v;
}

// ---- the archive ----------------------------------------------------------------------------

namespace {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

BundleWriter::~BundleWriter() {
  if (archive_) archive_write_free(archive_);
  if (fd_ >= 0) close(fd_);
  if (!tmp_.empty()) unlink(tmp_.c_str());  // not finished: nothing is left behind
}

Status BundleWriter::Fail(std::string why) {
  if (archive_) archive_write_free(archive_);
  archive_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) unlink(tmp_.c_str());
  tmp_.clear();
  return Status::Environment(std::move(why));
}

Status BundleWriter::Entry(const std::string& name, const std::vector<std::string>* parts) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  if (!e) return Fail("no memory");
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_mtime(e.get(), mtime_, 0);
  if (parts) {
    size_t size = 0;
    for (const auto& p : *parts) size += p.size();
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  } else {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    archive_entry_set_perm(e.get(), 0755);
  }
  bool ok = archive_write_header(archive_, e.get()) == ARCHIVE_OK;
  if (parts)
    for (const auto& p : *parts)
      ok = ok && (p.empty() || archive_write_data(archive_, p.data(), p.size()) == static_cast<la_ssize_t>(p.size()));
  if (!ok) return Fail(path_ + ": writing " + name + ": " + (archive_error_string(archive_) ?: "cannot write"));
  return Status::Ok();
}

Status BundleWriter::Open(const std::string& path, int64_t mtime) {
  path_ = path;
  mtime_ = mtime;
  tmp_ = path + ".tmp-XXXXXX";
  fd_ = mkostemp(tmp_.data(), O_CLOEXEC);
  if (fd_ < 0) {
    tmp_.clear();
    return Status::Environment(path + ": cannot create a file beside it: " + std::strerror(errno));
  }
  if (fchmod(fd_, 0600) != 0) return Fail(tmp_ + ": " + std::strerror(errno));
  archive_ = archive_write_new();
  if (!archive_ || archive_write_set_format_pax_restricted(archive_) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(archive_) != ARCHIVE_OK || archive_write_open_fd(archive_, fd_) != ARCHIVE_OK)
    return Fail(path + ": cannot start the archive: " +
                (archive_ ? archive_error_string(archive_) ?: "" : std::string("no memory")));
  return Entry(std::string(kEvidenceDir) + "/", nullptr);
}

Status BundleWriter::Add(const std::string& name, std::string data) {
  std::vector<std::string> parts;
  parts.push_back(std::move(data));
  return Add(name, std::move(parts));
}

Status BundleWriter::Add(const std::string& name, std::vector<std::string> parts) {
  if (!archive_) return Status::Environment(path_ + ": the bundle is not open");
  if (Status s = Entry(std::string(kEvidenceDir) + "/" + name, &parts); !s.ok()) return s;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1;
  for (const auto& p : parts) ok = ok && EVP_DigestUpdate(md.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(md.get(), digest, &len) == 1;
  if (!ok) return Fail("SHA-256 of " + name + " failed");
  sums_ += LowerHex(std::string_view(reinterpret_cast<const char*>(digest), len)) + "  " + name + "\n";
  return Status::Ok();
}

Status BundleWriter::Finish(const SigningKey& key) {
  if (!archive_) return Status::Environment(path_ + ": the bundle is not open");
  const std::string signature = key.Sign(sums_);
  if (signature.size() != 64) return Fail("signing SHA256SUMS failed");
  const std::vector<std::string> sums{sums_}, sig{signature};
  if (Status s = Entry(std::string(kEvidenceDir) + "/SHA256SUMS", &sums); !s.ok()) return s;
  if (Status s = Entry(std::string(kEvidenceDir) + "/SHA256SUMS.sig", &sig); !s.ok()) return s;
  if (archive_write_close(archive_) != ARCHIVE_OK)
    return Fail(path_ + ": " + (archive_error_string(archive_) ?: "cannot finish the archive"));
  archive_write_free(archive_);
  archive_ = nullptr;
  if (fsync(fd_) != 0) return Fail(path_ + ": " + std::strerror(errno));
  close(fd_);
  fd_ = -1;
  if (link(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    return Fail(path_ + ": " + (err == EEXIST ? std::string("exists; a bundle is never overwritten") : std::strerror(err)));
  }
  unlink(tmp_.c_str());
  tmp_.clear();
  return Status::Ok();
}

namespace {

// The files of an opened archive; `path` names it in messages.
Status ReadBundleFiles(archive* a, const std::string& path, std::map<std::string, std::string>* files) {
  const std::string prefix = std::string(kEvidenceDir) + "/";
  int64_t total = 0;
  archive_entry* e = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return Status::Usage(path + ": the archive is damaged: " + (archive_error_string(a) ?: "unreadable"));
    const char* raw = archive_entry_pathname(e);
    const std::string name = raw ? raw : "";
    if (name == prefix || name == kEvidenceDir) {
      if (archive_entry_filetype(e) != AE_IFDIR) return Status::Usage(path + ": " + EscapePath(name) + " is not a directory");
      continue;
    }
    if (name.rfind(prefix, 0) != 0)
      return Status::Usage(path + ": " + EscapePath(name) + " is outside the " + prefix + " directory");
    const std::string base = name.substr(prefix.size());
    if (base.empty() || base.find('/') != std::string::npos || base == "." || base == "..")
      return Status::Usage(path + ": " + EscapePath(name) + " is not a plain file name in " + prefix);
    if (archive_entry_filetype(e) != AE_IFREG)
      return Status::Usage(path + ": " + EscapePath(name) + " is not a regular file");
    if (files->count(base)) return Status::Usage(path + ": " + EscapePath(name) + " appears twice");
    const int64_t size = archive_entry_size(e);
    if (size < 0 || size > kMaxBundleFile || total + size > kMaxBundleTotal)
      return Status::Usage(path + ": " + EscapePath(name) + " is too large for an evidence bundle");
    total += size;
    // Read as it comes, never sized from the header alone: a header can claim anything.
    std::string data;
    char buf[1 << 16];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buf, sizeof buf);
      if (n < 0) return Status::Usage(path + ": " + EscapePath(name) + ": " + (archive_error_string(a) ?: "unreadable"));
      if (n == 0) break;
      if (data.size() + static_cast<size_t>(n) > static_cast<size_t>(size))
        return Status::Usage(path + ": " + EscapePath(name) + " holds more than its header says");
      data.append(buf, static_cast<size_t>(n));
    }
    if (data.size() != static_cast<size_t>(size)) return Status::Usage(path + ": " + EscapePath(name) + " is truncated");
    (*files)[base] = std::move(data);
  }
  return Status::Ok();
}

// A bundle is a tar, gzip-compressed as WriteEvidenceBundle writes it or not: one gzip layer
// when it starts with gzip's magic, else none. Never libarchive's filter bidding: with every
// filter it runs lrzip, grzip and the like as programs on a hostile bundle's bytes, and even
// with gzip alone it stacks gzip on gzip, spinning for minutes and gigabytes on 293 bytes of
// members that decode to members (fuzz/regressions/evidence/gzip-members-decoding-to-gzip-members).
bool IsGzip(const char* head, size_t n) { return n >= 2 && head[0] == '\x1f' && head[1] == '\x8b'; }
bool OneGzipLayer(archive* a, bool gzip) {
  return !gzip || archive_read_append_filter(a, ARCHIVE_FILTER_GZIP) == ARCHIVE_OK;
}

}  // namespace

Status ReadEvidenceBundle(const std::string& path, std::map<std::string, std::string>* files) {
  files->clear();
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::Environment(path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  if (!a) return Status::Environment("no memory");
  // A pipe cannot be peeked at: it is taken to be gzip, as a bundle is written.
  char head[2] = {};
  const ssize_t got = pread(fd.get(), head, sizeof head, 0);
  if (!OneGzipLayer(a.get(), got < 0 ? errno == ESPIPE : IsGzip(head, static_cast<size_t>(got))))
    return Status::Environment(path + ": " + (archive_error_string(a.get()) ?: "no gzip reader"));
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd.get(), 1 << 16) != ARCHIVE_OK)
    return Status::Usage(path + ": not a tar archive: " + (archive_error_string(a.get()) ?: "unreadable"));
  return ReadBundleFiles(a.get(), path, files);
}

Status ReadEvidenceBundleBytes(std::string_view data, std::map<std::string, std::string>* files) {
  files->clear();
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  if (!a) return Status::Environment("no memory");
  if (!OneGzipLayer(a.get(), IsGzip(data.data(), data.size())))
    return Status::Environment(std::string("the bundle: ") + (archive_error_string(a.get()) ?: "no gzip reader"));
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK)
    return Status::Usage("the bundle: not a tar archive: " + std::string(archive_error_string(a.get()) ?: "unreadable"));
  return ReadBundleFiles(a.get(), "the bundle", files);
}

// ---- checking ---------------------------------------------------------------------------------

namespace {

// The records of a CSV file (RFC 4180): line ends inside quotes do not end one.
size_t CsvRecords(const std::string& csv) {
  size_t n = 0;
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    if (csv[i] == '"') quoted = !quoted;
    else if (csv[i] == '\n' && !quoted) ++n;
  }
  if (!csv.empty() && csv.back() != '\n') ++n;
  return n;
}

}  // namespace

BundleVerification VerifyEvidenceFiles(const std::map<std::string, std::string>& files,
                                       const std::optional<PublicKey>& pinned) {
  BundleVerification v;
  const auto check = [&v](std::string name, bool ok, std::string detail) {
    v.checks.push_back({std::move(name), ok, std::move(detail)});
    if (!ok) v.ok = false;
    return ok;
  };
  const auto get = [&files](const std::string& name) -> const std::string* {
    const auto it = files.find(name);
    return it == files.end() ? nullptr : &it->second;
  };

  // The file set.
  std::string missing, extra;
  std::set<std::string> required(std::begin(kRequired), std::end(kRequired));
  for (const auto& name : required)
    if (!files.count(name)) missing += (missing.empty() ? "" : ", ") + name;
  for (const auto& [name, data] : files)
    if (!required.count(name)) extra += (extra.empty() ? "" : ", ") + EscapePath(name);
  check("files", missing.empty() && extra.empty(),
        missing.empty() && extra.empty() ? std::to_string(files.size()) + " files, as a bundle has"
                                         : (missing.empty() ? "" : "missing: " + missing) +
                                               (extra.empty() ? "" : std::string(missing.empty() ? "" : "; ") +
                                                                         "not part of a bundle: " + extra));

  // SHA256SUMS over every other file.
  if (const std::string* sums = get(kSums)) {
    std::set<std::string> listed;
    std::string bad;
    size_t start = 0;
    while (start < sums->size()) {
      size_t end = sums->find('\n', start);
      if (end == std::string::npos) end = sums->size();
      const std::string line = sums->substr(start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') ||
          !ParseLowerHex(line.substr(0, 64))) {
        bad += (bad.empty() ? "" : "; ") + std::string("a line that is not \"SHA-256  name\": ") +
               EscapeMessage(line.substr(0, 80));
        continue;
      }
      const std::string name = line.substr(66);
      if (!listed.insert(name).second) bad += (bad.empty() ? "" : "; ") + EscapePath(name) + " listed twice";
      const std::string* data = get(name);
      if (!data) bad += (bad.empty() ? "" : "; ") + EscapePath(name) + " is listed but not in the bundle";
      else if (LowerHex(Sha256Raw(*data)) != line.substr(0, 64))
        bad += (bad.empty() ? "" : "; ") + EscapePath(name) + ": its SHA-256 differs (the file was changed)";
    }
    for (const auto& [name, data] : files)
      if (name != kSums && name != kSig && !listed.count(name))
        bad += (bad.empty() ? "" : "; ") + EscapePath(name) + " is not listed in SHA256SUMS";
    check("sha256sums", bad.empty(), bad.empty() ? std::to_string(listed.size()) + " files match" : bad);
  } else {
    check("sha256sums", false, "no SHA256SUMS");
  }

  // The signature over SHA256SUMS, with the key in the bundle; that key against a pinned one.
  std::optional<PublicKey> key;
  if (const std::string* pem = get("signing.pub")) {
    PublicKey k;
    if (Status s = ParsePublicKeyPem(*pem, &k); s.ok()) key = k;
    else check("key", false, "signing.pub: " + s.message());
  }
  if (key) {
    v.key_fingerprint = key->Fingerprint();
    const std::string* sums = get(kSums);
    const std::string* sig = get(kSig);
    check("signature", sums && sig && key->Verify(*sums, *sig),
          sums && sig && key->Verify(*sums, *sig)
              ? "SHA256SUMS is signed by the key in signing.pub (fingerprint " + v.key_fingerprint + ")"
              : "the Ed25519 signature in SHA256SUMS.sig does not verify over SHA256SUMS with signing.pub");
    if (pinned) {
      v.key_pinned = true;
      check("key", pinned->raw == key->raw,
            pinned->raw == key->raw ? "signing.pub is the expected key (fingerprint " + v.key_fingerprint + ")"
                                    : "signed by the key with fingerprint " + v.key_fingerprint +
                                          ", not the expected " + pinned->Fingerprint());
    } else {
      check("key", true, "the key in the bundle was trusted (fingerprint " + v.key_fingerprint +
                             "); compare it with the appliance's, or give --key");
    }
  } else {
    check("signature", false, "no usable signing.pub: the signature cannot be checked");
  }

  // The log excerpt: its chain and checkpoints.
  std::optional<EvidenceReport> report;
  if (const std::string* data = get("report.json")) {
    try {
      report = nlohmann::json::parse(*data).get<EvidenceReport>();
    } catch (const std::exception& e) {
      check("report", false, std::string("report.json cannot be read: ") + e.what());
    }
  }
  if (const std::string* data = get("log.json")) {
    try {
      v.excerpt = nlohmann::json::parse(*data).get<LogExcerpt>();
    } catch (const std::exception& e) {
      check("log-chain", false, std::string("log.json cannot be read: ") + e.what());
    }
  }
  if (v.excerpt) {
    v.head_seq = v.excerpt->head_seq;
    v.head_hash = v.excerpt->head_hash;
    if (key) {
      const LogVerification lv = VerifyLogExcerpt(*v.excerpt, *key);
      size_t legacy = 0;
      for (const auto& xr : v.excerpt->records) legacy += xr.redacted && xr.commitment.empty();
      check("log-chain", lv.ok,
            lv.ok ? std::to_string(lv.records) + " records recomputed up to the head at seq " + Seq(v.head_seq) + ", " +
                        std::to_string(lv.checkpoints) + " checkpoints verified" +
                        (legacy ? "; " + std::to_string(legacy) +
                                      " redacted records written before schema 6: their hashes taken as given"
                                : "")
                  : std::string(LogDefectName(lv.what)) + " at seq " + Seq(lv.first_bad_seq) + ": " + lv.detail);
    }
  }
  if (report) {
    std::string bad;
    if (key && report->key_fingerprint != key->Fingerprint())
      bad += "report.json names the key " + report->key_fingerprint + ", the bundle holds " + key->Fingerprint();
    if (v.excerpt && (report->chain_seq != v.excerpt->head_seq || report->chain_head != v.excerpt->head_hash))
      bad += (bad.empty() ? "" : "; ") + std::string("report.json pins another chain head than log.json");
    if (v.excerpt) {
      // The excerpt reaches back to before the period, so none of the period's records is left
      // out; and every real restoration of the period in it is in the report, as it is there.
      const auto& recs = v.excerpt->records;
      if (!recs.empty() && recs.front().record.seq > 1 && recs.front().record.time >= report->from)
        bad += (bad.empty() ? "" : "; ") + std::string("log.json starts at record ") + Seq(recs.front().record.seq) +
               ", inside the period: earlier records of the period may be left out";
      std::set<std::string> asked(report->requested_targets.begin(), report->requested_targets.end());
      std::map<int64_t, const EvidenceRestoration*> shown;
      for (const auto& er : report->restorations) shown[er.seq] = &er;
      size_t expected = 0;
      for (const auto& xr : recs) {
        const LogRecord& rec = xr.record;
        if (rec.kind != LogKind::kRealRestore || rec.time < report->from || rec.time >= report->to) continue;
        if (!asked.empty() && !asked.count(rec.target)) continue;
        ++expected;
        const auto it = shown.find(rec.seq);
        if (it == shown.end()) {
          bad += (bad.empty() ? "" : "; ") + std::string("the restoration of record ") + Seq(rec.seq) +
                 " is in log.json but not in report.json";
          continue;
        }
        const EvidenceRestoration& er = *it->second;
        if (er.time != rec.time || er.result != rec.result || er.correctness != CorrectnessName(rec.correctness) ||
            er.files != rec.files || er.bytes != rec.bytes || er.responsible != rec.responsible ||
            er.location != rec.location || er.failed_files.size() != rec.failed_files.size())
          bad += (bad.empty() ? "" : "; ") + std::string("report.json shows the restoration of record ") +
                 Seq(rec.seq) + " otherwise than log.json";
      }
      if (expected != report->restorations.size())
        bad += (bad.empty() ? "" : "; ") + std::string("report.json lists ") +
               std::to_string(report->restorations.size()) + " restorations, log.json holds " +
               std::to_string(expected) + " in the period";
    }
    if (const std::string* csv = get("runs.csv"); csv && CsvRecords(*csv) != report->runs.size() + 1)
      bad += (bad.empty() ? "" : "; ") + std::string("runs.csv holds another number of runs than report.json");
    if (const std::string* csv = get("targets.csv"); csv && CsvRecords(*csv) != report->targets.size() + 1)
      bad += (bad.empty() ? "" : "; ") + std::string("targets.csv holds another number of targets than report.json");
    check("report", bad.empty(),
          bad.empty() ? std::to_string(report->targets.size()) + " targets, " + std::to_string(report->runs.size()) +
                            " runs; fingerprint and chain head agree"
                      : bad);
  }
  return v;
}

}  // namespace rp
