#include "rp/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <memory>
#include <vector>

#include "pipeline/entry_stream.h"
#include "pipeline/restore_job.h"
#include "rp/manifest.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"
#include "rp/sandbox.h"
#include "pipeline/content_checks.h"
#include "sources/mapped_source.h"
#include "pipeline/row_sorter.h"
#include "pipeline/sandbox_writer.h"

namespace rp {
namespace detail {
namespace {


// Hashes a restored file as it is on disk now. False with *why set when it cannot be read.
bool HashFromDisk(SandboxWriter* writer, const std::string& path, Hasher* hasher, std::vector<char>* buf,
                  std::string* hex, uint64_t* size, std::string* why) {
  const UniqueFd fd(writer->OpenForRead(path, why));
  if (!fd) return false;
  posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);  // after syncfs: read from the device, not the cache
  uint64_t total = 0;
  bool ok = true;
  for (;;) {
    const ssize_t n = ReadSome(fd.get(), buf->data(), buf->size());
    if (n < 0) {
      *why = std::strerror(errno);
      ok = false;
      break;
    }
    if (n == 0) break;
    hasher->Update(buf->data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  *hex = hasher->FinishHex();
  *size = total;
  return ok;
}

// The end of a restore, in one pass over the restored rows in path order (the last row of
// each path is what the sandbox holds), merged with the manifest's rows: directory modes and
// times, the symlink chain check, hard links' digests, read-back, the manifest comparison
// and the --write-manifest output. Memory stays flat: both sides are streamed.
class FinalPass {
 public:
  FinalPass(SandboxWriter* writer, HashAlgo algo, bool readback, int manifest_out_fd, int inventory_out_fd,
            CheckRunner* checks, VerifyReport* report, const SampleSpec* sample)
      : sample_(sample), writer_(writer), algo_(algo), readback_(readback), out_fd_(manifest_out_fd), inv_fd_(inventory_out_fd),
        checks_(checks), report_(report), hasher_(algo), buf_(kChunkBytes) {
    if (inv_fd_ >= 0) inv_ = InventoryHeader(algo);
  }

  Status Run(RowSorter* restored, RowSorter* manifest, int root_fd) {
    if (readback_) syncfs(root_fd);  // so that the bytes read back come from the device
    restored->Rewind();
    if (manifest) manifest->Rewind();
    LastPerPath rows(restored);
    Row r, m;
    bool hr = rows.Next(&r);
    bool hm = manifest && manifest->Next(&m);
    while (hr || hm) {
      if (hr && (!hm || r.path < m.path)) {
        if (Settle(&r) && manifest && r.kind == RowKind::kFile && !OutsideSample(r.path))
          report_->Add(Finding{FindingKind::kUnexpected, r.path, "in the source but not in the manifest", -1});
        hr = rows.Next(&r);
      } else if (!hr || m.path < r.path) {
        if (!OutsideSample(m.path)) Missing(m);
        hm = manifest->Next(&m);
      } else {
        const bool present = Settle(&r);
        const bool outside = OutsideSample(m.path);  // neither missing nor checked
        do {
          if (outside) {
          } else if (present) {
            Compare(m, r);
          } else {
            Missing(m);
          }
          hm = manifest->Next(&m);
        } while (hm && m.path == r.path);
        hr = rows.Next(&r);
      }
    }
    writer_->NoteSymlinkCheck();
    if (!restored->status().ok()) return restored->status();
    if (manifest && !manifest->status().ok()) return manifest->status();
    return Flush();
  }

 private:
  // A sampled run compares only the slice: a path outside it, or one in it whose content lies
  // outside (a hard link to another slice's file), is no finding either way.
  bool OutsideSample(const std::string& path) const {
    if (!sample_) return false;
    return !InSample(*sample_, path) || writer_->SampleExcluded(path);
  }

  // Side effects of one final row; false when the entry no longer exists (unsafe link removed).
  bool Settle(Row* r) {
    const bool present = SettleRow(r);
    if (present && checks_) checks_->OnRow(*r);
    return present;
  }

  bool SettleRow(Row* r) {
    switch (r->kind) {
      case RowKind::kDirectory: writer_->ApplyDirectory(*r); return true;
      case RowKind::kSymlink: return writer_->CheckSymlink(*r);
      case RowKind::kManifest: return true;
      case RowKind::kFile: break;
    }
    if (r->flags & kRowDamaged) return true;
    std::string why;
    if (r->flags & kRowRehash) {
      if (!HashFromDisk(writer_, r->path, &hasher_, &buf_, &r->hex, &r->size, &why)) {
        report_->Add(Finding{FindingKind::kIoError, r->path, "cannot read hard-linked file: " + why, -1});
        r->flags |= kRowDamaged;
        return true;
      }
    } else if (readback_) {
      std::string hex;
      uint64_t size = 0;
      const bool ok = HashFromDisk(writer_, r->path, &hasher_, &buf_, &hex, &size, &why);
      if (!ok && hex.empty()) why = "cannot read back: " + why;
      if (!ok || hex != r->hex || size != r->size) {
        report_->Add(Finding{FindingKind::kReadbackMismatch, r->path,
                             ok ? "read back " + std::to_string(size) + " bytes hashing " + hex + ", wrote " +
                                      std::to_string(r->size) + " bytes hashing " + r->hex
                                : "cannot read back: " + why,
                             -1});
      }
    }
    if (out_fd_ >= 0) out_ += FormatManifestLine(algo_, r->path, r->hex);
    if (inv_fd_ >= 0) inv_ += InventoryLine(*r);
    if (out_.size() + inv_.size() >= (1u << 20)) out_status_ = Flush();
    return true;
  }

  void Missing(const Row& m) {
    report_->Add(Finding{FindingKind::kMissing, m.path,
                         "listed in the manifest (line " + std::to_string(m.seq) + ") but not in the source", -1});
  }

  void Compare(const Row& m, const Row& r) {
    if (r.kind != RowKind::kFile) {
      report_->Add(Finding{FindingKind::kTypeMismatch, m.path,
                           std::string("manifest lists a regular file, the source holds a ") +
                               (r.kind == RowKind::kDirectory ? "directory" : "symlink"),
                           -1});
      return;
    }
    if (r.flags & kRowDamaged) return;  // already reported with its cause
    if (r.hex != m.hex) {
      report_->Add(Finding{FindingKind::kChecksumMismatch, m.path,
                           std::string(HashAlgoName(algo_)) + " " + r.hex + " != " + m.hex + " (manifest line " +
                               std::to_string(m.seq) + ")",
                           -1});
    }
  }

  Status Flush() {
    if (!out_status_.ok()) return out_status_;
    int err = 0;
    if (out_fd_ >= 0 && !out_.empty() && !WriteAll(out_fd_, out_, &err))
      return Status::Environment(std::string("cannot write manifest: ") + std::strerror(err));
    if (inv_fd_ >= 0 && !inv_.empty() && !WriteAll(inv_fd_, inv_, &err))
      return Status::Environment(std::string("cannot write inventory: ") + std::strerror(err));
    out_.clear();
    inv_.clear();
    return Status::Ok();
  }

  const SampleSpec* sample_;
  SandboxWriter* writer_;
  const HashAlgo algo_;
  const bool readback_;
  const int out_fd_;
  const int inv_fd_;
  CheckRunner* checks_;
  VerifyReport* report_;
  Hasher hasher_;
  std::vector<char> buf_;
  std::string out_, inv_;
  Status out_status_;
};

// Reads the manifest into sorted rows on a thread of its own, beside the restore.
class ManifestReader {
 public:
  ManifestReader(const VerifyOptions& opt, int dir_fd, LiveProgress* progress, MessageQueue* queue)
      : opt_(opt), progress_(progress), queue_(queue), rows_(dir_fd, opt.row_budget), thread_([this] { Run(); }) {}
  ~ManifestReader() { Finish(); }
  ManifestReader(const ManifestReader&) = delete;
  ManifestReader& operator=(const ManifestReader&) = delete;

  // Waits for the first entry (or the end of a manifest without any) and sets *algo to the
  // algorithm to hash with. Not ok: the manifest failed before that.
  Status WaitForAlgo(HashAlgo* algo) {
    std::unique_lock lock(mu_);
    decided_cv_.wait(lock, [&] { return decided_; });
    *algo = algo_;
    return status_;
  }
  // Waits for the whole manifest to be read and sorted. Not ok: unreadable, malformed, or in
  // another algorithm than the one asked for.
  Status Finish() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  RowSorter* rows() { return &rows_; }

 private:
  void Run() {
    HashAlgo algo = opt_.algo.value_or(HashAlgo::kXxh128);
    Row row;
    row.kind = RowKind::kManifest;
    bool first = true;
    Status st = ScanManifestFile(
        *opt_.manifest, opt_.algo,
        [&](ManifestEntry&& e) {
          if (first) {
            first = false;
            Decide(e.algo, opt_.algo && e.algo != *opt_.algo ? WrongAlgo(e.algo) : Status());
          }
          if (progress_) progress_->manifest_rows.fetch_add(1, std::memory_order_relaxed);
          // A sampled run compares the slice only: the other rows are read (and checked for
          // form) but neither kept nor sorted.
          if (opt_.sample && !InSample(*opt_.sample, e.path)) return;
          row.path = std::move(e.path);
          row.hex = std::move(e.hex);
          row.seq = e.line;
          rows_.Add(row);
        },
        &algo);
    if (st.ok()) st = rows_.status();
    // (another algorithm than --algo was found at the first entry: one manifest holds one)
    if (st.ok()) rows_.Rewind();  // sorted here, off the restore's critical path
    Decide(rows_.rows() > 0 ? algo : opt_.algo.value_or(HashAlgo::kXxh128), st);
  }

  Status WrongAlgo(HashAlgo algo) const {
    return Status::Usage("manifest " + *opt_.manifest + " uses " + std::string(HashAlgoName(algo)) + ", not " +
                         std::string(HashAlgoName(*opt_.algo)));
  }

  // The first call sets the algorithm; a failure is always recorded, and stops the restore.
  void Decide(HashAlgo algo, const Status& st) {
    if (!st.ok()) queue_->Cancel();
    std::lock_guard lock(mu_);
    if (!st.ok()) status_ = st;
    if (decided_) return;
    decided_ = true;
    algo_ = algo;
    decided_cv_.notify_all();
  }

  const VerifyOptions& opt_;
  LiveProgress* progress_;
  MessageQueue* queue_;
  RowSorter rows_;
  std::mutex mu_;
  std::condition_variable decided_cv_;
  bool decided_ = false;
  HashAlgo algo_ = HashAlgo::kXxh128;
  Status status_;  // under mu_ until the thread is joined
  std::thread thread_;
};

}  // namespace

Status CheckSampleOptions(const VerifyOptions& opt) {
  if (!opt.sample) return Status::Ok();
  std::string why;
  if (!ValidSampleSpec(*opt.sample, &why)) return Status::Usage(why);
  // A manifest or inventory of one slice would pass for the whole point's.
  if (opt.write_manifest) return Status::Usage("a sampled run cannot write a manifest (--write-manifest): it hashes only one slice");
  if (opt.write_inventory) return Status::Usage("a sampled run cannot write an inventory: it hashes only one slice");
  return Status::Ok();
}

namespace {

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
  report->isolation.Set(IsolationLayer::kNoFollowExtraction, LayerState::kEnforced,
                        "every path opened beneath the sandbox without following a symlink (O_NOFOLLOW)");
  if (Status s = CheckSampleOptions(opt); !s.ok()) return Abort(report, s);

  // The manifest is read and sorted on a thread of its own while the restore runs; the writers
  // wait only for its first entry, which decides the hash algorithm (not at all with --algo).
  // A malformed line stops the run at once (the queue is cancelled), with its line number; a
  // manifest's failure is reported before anything the restore found.
  MessageQueue queue(kQueueBytes, kQueueMessages);
  std::optional<ManifestReader> manifest;
  if (opt.manifest) {
    manifest.emplace(opt, job.sandbox_fd, job.progress, &queue);
    if (opt.algo) report->algo = *opt.algo;  // a manifest in another one fails the run
    else if (Status s = manifest->WaitForAlgo(&report->algo); !s.ok()) return Abort(report, manifest->Finish());
  } else {
    report->algo = opt.algo.value_or(HashAlgo::kXxh128);
  }
  // Waits for the manifest to be read whole: its failure, if any.
  auto manifest_status = [&] {
    if (!manifest) return Status();
    if (job.progress) job.progress->phase.store(static_cast<int>(RunPhase::kManifest));
    return manifest->Finish();
  };

  ReaderContext ctx{&queue, &opt.limits, start + opt.limits.max_seconds, {}, 0, std::nullopt};
  ctx.sample = opt.sample ? &*opt.sample : nullptr;
  if (ctx.sample) ctx.figures = NoFigures(*ctx.sample);
  if (job.progress) {
    ctx.live_source_bytes = &job.progress->source_bytes;
    job.progress->phase.store(static_cast<int>(RunPhase::kRestore));
  }
  std::thread reader;
  if (Status s = StartReader(opt.source, &ctx, &reader); !s.ok()) {
    const Status m = manifest_status();
    return Abort(report, m.ok() ? s : m);
  }
  RowSorter restored(job.sandbox_fd, opt.row_budget);
  SandboxWriter writer(job.sandbox_fd, report->algo, opt.limits, &restored, report, job.progress);
  writer.set_capped_bytes(job.sandbox_cap_bytes);
  writer.set_sample(ctx.sample);
  writer.Consume(&queue);
  queue.Cancel();  // unblocks the reader if the writer stopped early
  reader.join();

  report->format = ctx.format;
  // A sampled run: the figures are the reader's, and the files it kept from the writer
  // (outside the slice) are entries of the point too.
  report->entries += ctx.passed_over;
  if (ctx.sample) report->sample = ctx.figures;
  // Whatever was found, a source that changed under the run proves nothing about the backup.
  const std::string change = DescribeSourceChange(ctx.source_fd, ctx.source_stamp,
                                                  ctx.source_shrank && ctx.source_shrank->load());
  if (ctx.source_fd >= 0) close(ctx.source_fd);
  if (Status m = manifest_status(); !m.ok()) return Abort(report, m);
  report->manifest_used = manifest.has_value();
  if (!change.empty())
    return Abort(report, Status::Environment("the source " + opt.source + " changed while it was read: " + change +
                                             "; a backup still being written or rotated? Nothing restored from it "
                                             "counts: verify it again once it is complete"));
  report->source_bytes = ctx.source_bytes;
  if (ctx.abort) return Abort(report, *ctx.abort);
  if (report->status == RunStatus::kAborted) return;
  if (report->entries == 0 && report->findings.empty())
    report->Add(Finding{FindingKind::kEmptySource, "",
                        "the source holds no entries at all: an empty recovery point proves nothing", -1});
  if (job.progress) job.progress->phase.store(static_cast<int>(RunPhase::kFinal));
  // After a limit hit the sandbox is removed unchecked: nothing more is compared.
  if (!writer.limit_hit()) {
    std::optional<CheckRunner> checks;
    if (job.run_checks && !opt.checks.empty()) checks.emplace(opt.checks, job.sandbox_fd, report->algo);
    FinalPass pass(&writer, report->algo, opt.readback, job.manifest_out_fd, job.inventory_out_fd,
                   checks ? &*checks : nullptr, report, opt.sample ? &*opt.sample : nullptr);
    if (Status s = pass.Run(&restored, manifest ? manifest->rows() : nullptr, job.sandbox_fd); !s.ok()) return Abort(report, s);
    if (checks) checks->Finish(report);
  }
  report->Conclude();
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
    detail::RestoreJob job{&options, run.sandbox.fd, run.manifest.fd(), run.inventory.fd(), nullptr, false, 0};
    detail::RestoreInto(job, &report);
  }
  report.isolation.Set(IsolationLayer::kWorkerProcess, LayerState::kNotRequested, "restored in the calling process");
  detail::EndRun(options, &report, &run);
  report.duration_s = detail::MonotonicSeconds() - start;
  return report;
}

namespace detail {

namespace {

bool OpenPending(const std::optional<std::string>& path, AtomicFile* out, VerifyReport* report) {
  if (!path) return true;
  if (Status s = AtomicFile::Create(*path, out); !s.ok()) {
    report->status = RunStatus::kAborted;
    report->abort_status = s;
    return false;
  }
  return true;
}

// Publishes the file if the run passed; drops it otherwise.
void Publish(AtomicFile* out, VerifyReport* report) {
  if (out->fd() < 0) return;
  if (report->status != RunStatus::kPassed) return out->Discard();
  if (Status s = out->Commit(); !s.ok()) {
    report->status = RunStatus::kAborted;
    report->abort_status = s;
  }
}

}  // namespace

bool BeginRun(const VerifyOptions& options, VerifyReport* report, RunResources* run) {
  Status s = CreateSandbox(options.sandbox_parent, &run->sandbox);
  if (!s.ok()) {
    report->status = RunStatus::kAborted;
    report->abort_status = s;
    return false;
  }
  report->sandbox = run->sandbox.path;
  return OpenPending(options.write_manifest, &run->manifest, report) &&
         OpenPending(options.write_inventory, &run->inventory, report);
}

void EndRun(const VerifyOptions& options, VerifyReport* report, RunResources* run) {
  Publish(&run->manifest, report);
  Publish(&run->inventory, report);
  if (report->sandbox.empty()) {  // never created
    CloseSandbox(&run->sandbox);
    return;
  }
  report->sandbox_removed = false;
  if (!options.keep || LimitWasHit(*report) || report->status == RunStatus::kAborted) {
    CloseSandbox(&run->sandbox);
    Status s = RemoveTree(report->sandbox);
    report->sandbox_removed = s.ok();
    if (!s.ok() && report->status != RunStatus::kAborted) {
      report->status = RunStatus::kAborted;
      report->abort_status = s;
    }
    return;
  }
  // A kept sandbox is renamed (still holding its lock) out of the orphan scan's way: the next
  // start-up must not take it for the leftover of a run that died.
  const size_t slash = report->sandbox.rfind('/');
  const std::string kept = report->sandbox.substr(0, slash + 1) + "rp-kept-" +
                           report->sandbox.substr(report->sandbox.size() - 6);
  if (rename(report->sandbox.c_str(), kept.c_str()) == 0) report->sandbox = kept;
  CloseSandbox(&run->sandbox);
}

}  // namespace detail
}  // namespace rp
