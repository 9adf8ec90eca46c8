#include "rp/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "entry_stream.h"
#include "restore_job.h"
#include "rp/manifest.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/sandbox.h"
#include "sandbox_writer.h"

namespace rp {
namespace detail {
namespace {


void CompareWithManifest(const Manifest& manifest, const SandboxWriter& writer, VerifyReport* report) {
  const auto& records = writer.records();
  std::unordered_set<std::string_view> listed;  // views into manifest: no copies of paths
  listed.reserve(manifest.entries.size());
  for (const auto& e : manifest.entries) listed.insert(e.path);
  for (const auto& e : manifest.entries) {
    auto it = records.find(e.path);
    if (it == records.end()) {
      report->Add(Finding{FindingKind::kMissing, e.path,
                          "listed in the manifest (line " + std::to_string(e.line) + ") but not in the source", -1});
      continue;
    }
    const RestoredRecord& r = it->second;
    if (r.type != EntryType::kFile) {
      report->Add(Finding{FindingKind::kTypeMismatch, e.path,
                          std::string("manifest lists a regular file, the source holds a ") +
                              (r.type == EntryType::kDirectory ? "directory" : "symlink"), -1});
      continue;
    }
    if (r.content_damaged()) continue;  // already reported with its cause
    if (r.content->hex != e.hex) {
      report->Add(Finding{FindingKind::kChecksumMismatch, e.path,
                          std::string(HashAlgoName(manifest.algo)) + " " + r.content->hex + " != " + e.hex +
                              " (manifest line " + std::to_string(e.line) + ")", -1});
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [path, r] : records)
    if (r.type == EntryType::kFile && !listed.count(std::string_view(path))) unexpected.push_back(path);
  std::sort(unexpected.begin(), unexpected.end());
  for (auto& p : unexpected)
    report->Add(Finding{FindingKind::kUnexpected, p, "in the source but not in the manifest", -1});
}

void ReadBack(SandboxWriter* writer, HashAlgo algo, int root_fd, VerifyReport* report) {
  syncfs(root_fd);  // so that the bytes read back come from the device, not only the cache
  Hasher hasher(algo);
  std::vector<char> buf(kChunkBytes);
  std::vector<std::string> paths;
  for (const auto& [path, r] : writer->records())
    if (r.type == EntryType::kFile && !r.content_damaged()) paths.push_back(path);
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    const auto& r = writer->records().at(path);
    std::string why;
    const int fd = writer->OpenForRead(path, &why);
    if (fd < 0) {
      report->Add(Finding{FindingKind::kReadbackMismatch, path, "cannot read back: " + why, -1});
      continue;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    uint64_t total = 0;
    bool err = false;
    for (;;) {
      const ssize_t n = read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { err = true; break; }
      if (n == 0) break;
      hasher.Update(buf.data(), static_cast<size_t>(n));
      total += static_cast<uint64_t>(n);
    }
    close(fd);
    const std::string hex = hasher.FinishHex();
    if (err || hex != r.content->hex || total != r.content->size)
      report->Add(Finding{FindingKind::kReadbackMismatch, path,
                          "read back " + std::to_string(total) + " bytes hashing " + hex + ", wrote " +
                              std::to_string(r.content->size) + " bytes hashing " + r.content->hex, -1});
  }
}

Status WriteManifestTo(int fd, const SandboxWriter& writer, HashAlgo algo) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [path, r] : writer.records())
    if (r.type == EntryType::kFile && !r.content_damaged()) rows.emplace_back(path, r.content->hex);
  std::sort(rows.begin(), rows.end());
  std::string out;
  for (const auto& [path, hex] : rows) out += FormatManifestLine(algo, path, hex);
  int err = 0;
  if (!WriteAll(fd, out, &err)) return Status::Environment(std::string("cannot write manifest: ") + std::strerror(err));
  return Status::Ok();
}

void Abort(VerifyReport* report, Status s) {
  report->status = RunStatus::kAborted;
  report->abort_status = std::move(s);
}

}  // namespace

void RestoreInto(const RestoreJob& job, VerifyReport* report) {
  const VerifyOptions& opt = *job.options;
  const double start = MonotonicSeconds();
  report->source = opt.source;
  report->limits = opt.limits;
  report->readback = opt.readback;
  report->isolation["no_follow_extraction"] = "enforced";

  std::optional<Manifest> manifest;
  if (opt.manifest) {
    auto parsed = LoadManifestFile(*opt.manifest, opt.algo);
    if (!parsed.status.ok()) return Abort(report, parsed.status);
    if (opt.algo && parsed.manifest.entries.size() > 0 && parsed.manifest.algo != *opt.algo)
      return Abort(report, Status::Usage("manifest " + *opt.manifest + " uses " +
                                         std::string(HashAlgoName(parsed.manifest.algo)) + ", not " +
                                         std::string(HashAlgoName(*opt.algo))));
    manifest = std::move(parsed.manifest);
    report->manifest_used = true;
  }
  report->algo = manifest && !manifest->entries.empty() ? manifest->algo : opt.algo.value_or(HashAlgo::kXxh128);

  MessageQueue queue(kQueueBytes, kQueueMessages);
  ReaderContext ctx{&queue, &opt.limits, start + opt.limits.max_seconds, {}, 0, std::nullopt};
  std::thread reader;
  if (Status s = StartReader(opt.source, &ctx, &reader); !s.ok()) return Abort(report, s);
  SandboxWriter writer(job.sandbox_fd, report->algo, opt.limits, report);
  writer.Consume(&queue);
  queue.Cancel();  // unblocks the reader if the writer stopped early
  reader.join();

  report->format = ctx.format;
  report->source_bytes = ctx.source_bytes;
  if (ctx.abort) return Abort(report, *ctx.abort);
  if (report->status == RunStatus::kAborted) return;
  writer.Finalise();
  if (report->entries == 0 && report->findings.empty())
    report->Add(Finding{FindingKind::kEmptySource, "",
                        "the source holds no entries at all: an empty recovery point proves nothing", -1});
  if (!writer.limit_hit()) {
    if (manifest) CompareWithManifest(*manifest, writer, report);
    if (opt.readback) ReadBack(&writer, report->algo, job.sandbox_fd, report);
  }
  report->Conclude();
  if (job.manifest_out_fd >= 0 && report->status == RunStatus::kPassed) {
    Status s = WriteManifestTo(job.manifest_out_fd, writer, report->algo);
    if (!s.ok()) return Abort(report, s);
  }
  report->duration_s = MonotonicSeconds() - start;
}

}  // namespace detail

bool LimitWasHit(const VerifyReport& report) {
  for (const auto& f : report.findings)
    if (f.kind == FindingKind::kLimitExceeded) return true;
  return false;
}

VerifyReport RunVerify(const VerifyOptions& options) {
  const double start = detail::MonotonicSeconds();
  VerifyReport report;
  report.source = options.source;
  report.limits = options.limits;
  detail::RunResources run;
  if (detail::BeginRun(options, &report, &run)) {
    detail::RestoreJob job{&options, run.sandbox.fd, run.manifest_out_fd};
    detail::RestoreInto(job, &report);
  }
  report.isolation["child_process"] = "not used: restored in the calling process";
  detail::EndRun(options, &report, &run);
  report.duration_s = detail::MonotonicSeconds() - start;
  return report;
}

namespace detail {

bool BeginRun(const VerifyOptions& options, VerifyReport* report, RunResources* run) {
  Status s = CreateSandbox(options.sandbox_parent, &run->sandbox);
  if (!s.ok()) {
    report->status = RunStatus::kAborted;
    report->abort_status = s;
    return false;
  }
  report->sandbox = run->sandbox.path;
  if (options.write_manifest) {
    std::string tmpl = *options.write_manifest + ".tmp-XXXXXX";
    run->manifest_out_fd = mkostemp(tmpl.data(), O_CLOEXEC);
    if (run->manifest_out_fd < 0) {
      report->status = RunStatus::kAborted;
      report->abort_status =
          Status::Environment("cannot create " + *options.write_manifest + ": " + std::strerror(errno));
      return false;
    }
    run->manifest_tmp = tmpl;
  }
  return true;
}

void EndRun(const VerifyOptions& options, VerifyReport* report, RunResources* run) {
  if (run->manifest_out_fd >= 0) {
    const bool publish = report->status == RunStatus::kPassed;
    if (publish && (fchmod(run->manifest_out_fd, 0644) != 0 || fsync(run->manifest_out_fd) != 0 ||
                    rename(run->manifest_tmp.c_str(), options.write_manifest->c_str()) != 0)) {
      report->status = RunStatus::kAborted;
      report->abort_status =
          Status::Environment("cannot write " + *options.write_manifest + ": " + std::strerror(errno));
    }
    if (!publish || report->status == RunStatus::kAborted) unlink(run->manifest_tmp.c_str());
    close(run->manifest_out_fd);
    run->manifest_out_fd = -1;
  }
  CloseSandbox(&run->sandbox);
  if (report->sandbox.empty()) return;  // never created
  report->sandbox_removed = false;
  if (!options.keep || LimitWasHit(*report) || report->status == RunStatus::kAborted) {
    Status s = RemoveTree(report->sandbox);
    report->sandbox_removed = s.ok();
    if (!s.ok() && report->status != RunStatus::kAborted) {
      report->status = RunStatus::kAborted;
      report->abort_status = s;
    }
  }
}

}  // namespace detail
}  // namespace rp
