// libFuzzer target for evidence bundles as `evidence verify` reads them (rp/evidence_bundle.h:
// controller/src/evidence_bundle.cpp, evidence_codec.cpp and restoration_log.cpp, compiled here
// alone: the rest of rp_controller needs Poco). The first byte chooses what the rest is:
// mode = byte % 5, and the key the caller pins = (byte / 5) % 3 (none, the fixed set's key,
// another key).
//   0  a bundle's bytes (rp::ReadEvidenceBundleBytes: a tar, gzip-compressed or not), then,
//      when it reads, rp::VerifyEvidenceFiles;
//   1  log.json, 2 report.json, 3 SHA256SUMS, 4 signing.pub, each replacing that file in a
//      fixed, valid file set, then rp::VerifyEvidenceFiles.
// The fixed set is made once at start-up, in memory, with an Ed25519 key made from a fixed
// seed (so that an input replays the same way and the seeds can hold the set's own files):
// three restoration-log records chained with LogRecordHash, the second redacted and given as
// its LogRecordCommitment, a signed checkpoint, a report that agrees with them and with the CSV
// files, placeholders for the HTML and PDF (only their sums are checked), SHA256SUMS and its
// signature. Start-up checks that the set verifies, with and without its key pinned, fails
// with another key pinned, and reads back from a tar made of it.
// Any input: no crash, leak or sanitizer report. A bundle that reads has only plain names and
// no file over 256 MiB. A verification is `ok` exactly when every check is; it always checks the
// file set, the sums and the signature, never one thing twice, each with a detail; `ok` needs
// the log chain and the report to have been checked and the key pinned (when one is) to be
// the bundle's; with another key pinned it is never `ok`, and under the fixed set's key only
// the fixed set itself is. In modes 1-4 a file different from the set's makes it fail (the
// sums catch log.json, report.json and signing.pub, the signature catches SHA256SUMS), and
// the unchanged set is `ok` unless another key is pinned. Any log.json or report.json that
// decodes encodes, decodes and encodes again to the same JSON. Traps when one breaks.
// RP_FUZZ_EVIDENCE_SEEDS=<dir> in the environment writes the seeds of fuzz/seeds/evidence/
// made from the fixed set (mode-0-bundle.tar and mode-N-<file>) into <dir> at start-up;
// RP_FUZZ_VERBOSE=1 prints every verification's checks (to replay an input).
// Single-threaded; no state between inputs beyond the fixed set.
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "rp/evidence.h"
#include "rp/evidence_bundle.h"
#include "rp/restoration_log.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// The fixed set could not be made or does not verify: the harness or the code under test is
// broken before any input.
[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "fuzz_evidence: start-up: %s\n", why.c_str());
  std::abort();
}

using Files = std::map<std::string, std::string>;

// The order MakeEvidenceFiles writes them in; SHA256SUMS covers all but the last two.
constexpr std::array<const char*, 12> kNames{"report.html", "report.pdf",  "report.json", "runs.csv",
                                             "targets.csv", "drills.csv",  "restorations.csv", "log.json",
                                             "signing.pub", "README.txt",  "SHA256SUMS",  "SHA256SUMS.sig"};
// The file each of modes 1-4 replaces.
constexpr std::array<const char*, 5> kReplaced{"", "log.json", "report.json", "SHA256SUMS", "signing.pub"};

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// An Ed25519 key whose 32-byte private seed is `fill` repeated: a real key, the same on every run.
Pkey FixedKey(unsigned char fill) {
  std::array<unsigned char, 32> seed{};
  seed.fill(fill);
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) Fail("cannot make an Ed25519 key");
  return key;
}

std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) Fail("cannot write the public key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) Fail("no public key PEM");
  return std::string(data, static_cast<size_t>(n));
}

rp::PublicKey PublicOf(EVP_PKEY* key) {
  rp::PublicKey out;
  if (rp::Status s = rp::ParsePublicKeyPem(PublicPem(key), &out); !s.ok()) Fail("own public key: " + s.message());
  return out;
}

std::string Sign(EVP_PKEY* key, std::string_view message) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != 64)
    Fail("cannot sign");
  return sig;
}

// The files as an uncompressed pax tar under evidence/, as WriteEvidenceBundle lays them out
// but without gzip, so that mode 0's seed is easy to mutate.
std::string PackTar(const Files& files) {
  std::string out;
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), &archive_write_free);
  const auto write = [](archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  if (!a || archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open(a.get(), &out, nullptr, write, nullptr) != ARCHIVE_OK)
    Fail("cannot start a tar");
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
  const auto put = [&](const std::string& name, const std::string* data) {
    archive_entry_clear(e.get());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mtime(e.get(), 1796489860, 0);
    archive_entry_set_filetype(e.get(), data ? AE_IFREG : AE_IFDIR);
    archive_entry_set_perm(e.get(), data ? 0644 : 0755);
    if (data) archive_entry_set_size(e.get(), static_cast<la_int64_t>(data->size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        (data && archive_write_data(a.get(), data->data(), data->size()) != static_cast<la_ssize_t>(data->size())))
      Fail("cannot write " + name + " to a tar");
  };
  put(std::string(rp::kEvidenceDir) + "/", nullptr);
  for (const char* name : kNames) put(std::string(rp::kEvidenceDir) + "/" + name, &files.at(name));
  if (archive_write_close(a.get()) != ARCHIVE_OK) Fail("cannot finish a tar");
  return out;
}

std::string Describe(const rp::BundleVerification& v) {
  std::string text;
  for (const auto& c : v.checks) text += "\n  " + std::string(c.ok ? "ok   " : "FAIL ") + c.name + ": " + c.detail;
  return text;
}

struct Fixture {
  Files files;
  rp::PublicKey key;    // the set's
  rp::PublicKey other;  // a key that signed nothing here
  std::string tar;
};

Fixture Build() {
  Fixture fx;
  const Pkey key = FixedKey(0x5a);
  const Pkey other = FixedKey(0xa5);
  fx.key = PublicOf(key.get());
  fx.other = PublicOf(other.get());
  const std::string fingerprint = fx.key.Fingerprint();

  // The log: a drill in full, a real restoration of personal data redacted, a change of the
  // configuration in full; a checkpoint at the second.
  rp::LogRecord drill;
  drill.seq = 1;
  drill.time = 1796489860;
  drill.time_local = "2026-12-05T17:57:40+0100";
  drill.kind = rp::LogKind::kDrill;
  drill.target = "website";
  drill.point = "website-20261205T020000.zip";
  drill.location = "site-a";
  drill.responsible = "Anna Svensson";
  drill.result = "passed";
  drill.files = 20;
  drill.bytes = 818234;
  drill.run_id = 3;
  drill.salt = "00112233445566778899aabbccddeeff";
  drill.prev_hash = rp::kLogGenesisHash;
  drill.hash = rp::LogRecordHash(drill.prev_hash, drill);

  rp::LogRecord restore;
  restore.seq = 2;
  restore.time = 1796493460;
  restore.time_local = "2026-12-05T18:57:40+0100";
  restore.kind = rp::LogKind::kRealRestore;
  restore.target = "hr-archive";
  restore.point = "hr-archive-20261205T020000.tar";
  restore.location = "site-b";
  restore.responsible = "Erik Lind";
  restore.personal_data = "categories: names, salaries; data subjects: employees";
  restore.reason = "Sara Ek's payslips were deleted by mistake";
  restore.result = "restored";
  restore.files = 2;
  restore.bytes = 4096;
  restore.failing_findings = 1;
  restore.correctness = rp::Correctness::kIncorrect;
  restore.failed_files = {"data/salaries\\x80.csv"};
  restore.salt = "ffeeddccbbaa99887766554433221100";
  restore.prev_hash = drill.hash;
  restore.hash = rp::LogRecordHash(restore.prev_hash, restore);

  rp::LogRecord change;
  change.seq = 3;
  change.time = 1796497060;
  change.time_local = "2026-12-05T19:57:40+0100";
  change.kind = rp::LogKind::kConfigChange;
  change.responsible = "root";
  change.result = "changed";
  change.changed_keys = {"targets.website.schedule", "notify.smtp.host"};
  change.salt = "0123456789abcdef0123456789abcdef";
  change.prev_hash = restore.hash;
  change.hash = rp::LogRecordHash(change.prev_hash, change);

  rp::LogExcerpt excerpt;
  excerpt.head_seq = 3;
  excerpt.head_hash = change.hash;
  excerpt.records.push_back({drill, false, ""});
  rp::ExcerptRecord hidden;
  hidden.redacted = true;
  hidden.commitment = rp::LogRecordCommitment(restore);
  hidden.record = restore;
  hidden.record.target = "pd-e5ea42dadb0579dc";
  hidden.record.point = "path-fd17e3b1f20265fe";
  hidden.record.failed_files = {"path-1c7957a6dc2875f3"};
  hidden.record.reason.clear();
  hidden.record.personal_data.clear();
  hidden.record.salt.clear();
  excerpt.records.push_back(hidden);
  excerpt.records.push_back({change, false, ""});
  rp::LogCheckpoint checkpoint;
  checkpoint.seq = 2;
  checkpoint.head_hash = restore.hash;
  checkpoint.at = 1796493500;
  checkpoint.signature =
      rp::LowerHex(Sign(key.get(), rp::CheckpointMessage(checkpoint.seq, checkpoint.head_hash, checkpoint.at)));
  checkpoint.key_fingerprint = fingerprint;
  excerpt.checkpoints.push_back(checkpoint);

  // The report: two targets, one run, one drill, the restoration.
  rp::EvidenceReport report;
  report.appliance = "vm";
  report.version = "0.1.0";
  report.generated_at = 1796500000;
  report.zone = "Europe/Stockholm";
  report.from = 1796079600;
  report.to = 1798758000;
  report.key_fingerprint = fingerprint;
  report.chain_seq = excerpt.head_seq;
  report.chain_head = excerpt.head_hash;
  rp::EvidenceTarget website;
  website.name = "website";
  website.owner = "web team";
  website.classification = "K2 R3 T3";
  website.locations = {"site-a", "site-b"};
  website.verdict = "warning";
  website.findings.push_back({"redundancy.offsite", "warning", "one copy only off-site", "Säker drift av IS/IT §6.2"});
  website.rto_objective_s = 14400;
  website.rto_measured_s = 0.025;
  website.rto_met = true;
  website.tests_passed = 1;
  website.last_passed_test = drill.time;
  rp::EvidenceTarget hr;
  hr.name = "pd-e5ea42dadb0579dc";
  hr.pseudonymised = true;
  hr.personal_data = true;
  hr.personal_data_description = restore.personal_data;
  hr.verdict = "failing";
  hr.rto_objective_s = 28800;
  report.targets = {website, hr};
  rp::EvidenceRun run;
  run.id = 3;
  run.target = "website";
  run.kind = "drill";
  run.drill_id = 1;
  run.state = "passed";
  run.queued_at = run.started_at = drill.time - 1;
  run.finished_at = drill.time;
  run.point_id = drill.point;
  run.location = "site-a";
  run.files = 20;
  run.bytes = 818234;
  run.duration_s = 0.025;
  run.isolation = "landlock=enforced userns=unavailable";
  run.worker = "vm pid 4242";
  run.clock_known = run.clock_synchronised = true;
  run.clock_error_us = 1200;
  run.rto_objective_s = 14400;
  run.within_rto = true;
  run.citation = rp::kCitationRestoreTest;
  report.runs = {run};
  rp::EvidenceDrill d;
  d.id = 1;
  d.name = "on-demand";
  d.trigger = "operator";
  d.responsible = "Anna Svensson";
  d.started_at = run.started_at;
  d.finished_at = run.finished_at;
  d.passed = true;
  d.targets.push_back({"website", 3, "passed", 0.025, 14400, true});
  report.drills = {d};
  rp::EvidenceRestoration r;
  r.seq = 2;
  r.time = restore.time;
  r.target = hidden.record.target;
  r.point = hidden.record.point;
  r.location = restore.location;
  r.responsible = restore.responsible;
  r.personal_data = restore.personal_data;
  r.reason = "[name]'s payslips were deleted by mistake";
  r.result = restore.result;
  r.files = restore.files;
  r.bytes = restore.bytes;
  r.correctness = "incorrect";
  r.failed_files = hidden.record.failed_files;
  report.restorations = {r};

  Files& f = fx.files;
  f["report.html"] = "<!DOCTYPE html>\n<html><body><h1>Evidence</h1></body></html>\n";
  f["report.pdf"] = "%PDF-1.4\n% placeholder: only its SHA-256 is checked\n%%EOF\n";
  f["report.json"] = nlohmann::json(report).dump(1) + "\n";
  f["runs.csv"] = "id,target,kind,state\n3,website,drill,passed\n";
  // A quoted line end does not end a CSV record.
  f["targets.csv"] = "name,owner,verdict\nwebsite,\"web\nteam\",warning\npd-e5ea42dadb0579dc,,failing\n";
  f["drills.csv"] = "drill,target,state\n1,website,passed\n";
  f["restorations.csv"] = "seq,target,correctness\n2,pd-e5ea42dadb0579dc,incorrect\n";
  f["log.json"] = nlohmann::json(excerpt).dump(1) + "\n";
  f["signing.pub"] = PublicPem(key.get());
  f["README.txt"] = "restoreproof evidence bundle (fuzz_evidence's fixed set)\n";
  std::string sums;
  for (size_t i = 0; i + 2 < kNames.size(); ++i)
    sums += rp::LowerHex(rp::Sha256Raw(f.at(kNames[i]))) + "  " + kNames[i] + "\n";
  f["SHA256SUMS"] = sums;
  f["SHA256SUMS.sig"] = Sign(key.get(), sums);

  // It verifies, with and without its key pinned, and not with another.
  const rp::BundleVerification plain = rp::VerifyEvidenceFiles(f, std::nullopt);
  if (!plain.ok) Fail("the fixed set does not verify:" + Describe(plain));
  if (!plain.excerpt || plain.head_seq != 3 || plain.key_fingerprint != fingerprint)
    Fail("the fixed set verifies but its head or key was not read");
  const rp::BundleVerification pinned = rp::VerifyEvidenceFiles(f, fx.key);
  if (!pinned.ok || !pinned.key_pinned) Fail("the fixed set does not verify with its key pinned:" + Describe(pinned));
  if (rp::VerifyEvidenceFiles(f, fx.other).ok) Fail("the fixed set verifies with another key pinned");

  // And it reads back from a tar.
  fx.tar = PackTar(f);
  Files back;
  if (rp::Status s = rp::ReadEvidenceBundleBytes(fx.tar, &back); !s.ok()) Fail("the fixed set's tar: " + s.message());
  if (back != f) Fail("the fixed set's tar reads back different files");
  return fx;
}

const Fixture& TheFixture() {
  static const Fixture fixture = Build();
  return fixture;
}

void WriteSeeds(const Fixture& fx, const std::string& dir) {
  const auto put = [&](const std::string& name, char mode, const std::string& data) {
    std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
    out << mode << data;
    if (!out.flush()) Fail("cannot write " + dir + "/" + name);
  };
  put("mode-0-bundle.tar", '\0', fx.tar);
  for (char mode = 1; mode <= 4; ++mode) {
    const std::string name = kReplaced[static_cast<size_t>(mode)];
    put("mode-" + std::to_string(mode) + "-" + name, mode, fx.files.at(name));
  }
}

bool Verbose() {
  static const bool verbose = std::getenv("RP_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

// ---- properties ----

const rp::BundleCheck* Find(const rp::BundleVerification& v, std::string_view name) {
  for (const auto& c : v.checks)
    if (c.name == name) return &c;
  return nullptr;
}

bool Failed(const rp::BundleVerification& v, std::string_view name) {
  const rp::BundleCheck* c = Find(v, name);
  return c && !c->ok;
}

void Consistent(const rp::BundleVerification& v, const Files& files, const std::optional<rp::PublicKey>& pinned) {
  static const std::set<std::string> kKnown{"files", "sha256sums", "signature", "key", "report", "log-chain"};
  std::set<std::string> seen;
  bool all_ok = true;
  for (const auto& c : v.checks) {
    Check(kKnown.count(c.name) == 1);
    Check(seen.insert(c.name).second);  // never one thing twice
    Check(!c.detail.empty());
    all_ok = all_ok && c.ok;
  }
  Check(v.ok == all_ok);
  Check(Find(v, "files") && Find(v, "sha256sums") && Find(v, "signature"));
  if (pinned && !v.key_fingerprint.empty()) Check(v.key_pinned);
  if (!pinned) Check(!v.key_pinned);
  if (!v.ok) return;
  // Everything was looked at, and agrees.
  Check(Find(v, "key") && Find(v, "report") && Find(v, "log-chain"));
  Check(files.size() == kNames.size());
  for (const char* name : kNames) Check(files.count(name) == 1);
  Check(v.excerpt.has_value() && v.head_seq == v.excerpt->head_seq && v.head_hash == v.excerpt->head_hash);
  rp::PublicKey bundled;
  Check(rp::ParsePublicKeyPem(files.at("signing.pub"), &bundled).ok());
  Check(v.key_fingerprint == bundled.Fingerprint());
  Check(bundled.Verify(files.at("SHA256SUMS"), files.at("SHA256SUMS.sig")));
  if (pinned) Check(pinned->raw == bundled.raw);
}

// What decodes encodes, decodes and encodes again to the same JSON.
template <class T>
void RoundTrips(const Files& files, const char* name) {
  const auto it = files.find(name);
  if (it == files.end()) return;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  T value;
  try {
    value = j.get<T>();
  } catch (const std::exception&) {
    return;
  }
  const nlohmann::json once = value;
  T again;
  try {
    again = once.get<T>();
  } catch (const std::exception&) {
    Check(false);  // its own encoding must decode
  }
  const nlohmann::json twice = again;
  Check(once == twice);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const Fixture& fx = TheFixture();
  if (const char* dir = std::getenv("RP_FUZZ_EVIDENCE_SEEDS")) WriteSeeds(fx, dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Fixture& fx = TheFixture();
  const size_t mode = data[0] % 5;
  const int pin = data[0] / 5 % 3;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<rp::PublicKey> pinned;
  if (pin == 1) pinned = fx.key;
  if (pin == 2) pinned = fx.other;

  Files files;
  bool changed = true;
  if (mode == 0) {
    const rp::Status s = rp::ReadEvidenceBundleBytes(rest, &files);
    if (Verbose() && !s.ok()) std::fprintf(stderr, "mode 0: %s\n", s.message().c_str());
    if (!s.ok()) {
      Check(!s.message().empty());
      return 0;
    }
    for (const auto& [name, content] : files) {
      Check(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos);
      Check(content.size() <= (size_t{256} << 20));
    }
  } else {
    files = fx.files;
    const std::string name = kReplaced[mode];
    changed = rest != files.at(name);
    files[name] = std::string(rest);
  }

  const rp::BundleVerification v = rp::VerifyEvidenceFiles(files, pinned);
  if (Verbose()) std::fprintf(stderr, "mode %zu, pin %d: %s%s\n", mode, pin, v.ok ? "ok" : "not ok", Describe(v).c_str());
  Consistent(v, files, pinned);
  if (pin == 2) Check(!v.ok);
  // Nobody but the fixed set's maker holds its private key: what verifies under it is the set.
  if (v.ok && pin == 1) Check(files == fx.files);
  if (mode != 0) {
    if (changed) {
      Check(!v.ok);
      Check(Failed(v, mode == 3 ? "signature" : "sha256sums"));
    } else {
      Check(v.ok == (pin != 2));
    }
  }

  if (mode == 0 || mode == 1) RoundTrips<rp::LogExcerpt>(files, "log.json");
  if (mode == 0 || mode == 2) RoundTrips<rp::EvidenceReport>(files, "report.json");
  return 0;
}
