#include "rp/manifest_create.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <functional>

#include "pipeline/entry_stream.h"
#include "pipeline/row_sorter.h"
#include "rp/manifest.h"
#include "rp/path_text.h"
#include "rp/posix_io.h"

namespace rp {

ManifestCreateResult CreateManifest(const ManifestCreateOptions& o) {
  ManifestCreateResult result;
  struct stat st {};
  if (stat(o.dir.c_str(), &st) != 0) {
    result.status = Status::Environment("cannot read " + o.dir + ": " + std::strerror(errno));
    return result;
  }
  if (!S_ISDIR(st.st_mode)) {
    result.status = Status::Usage(o.dir + ": not a directory (archives are hashed by restoring them in the worker)");
    return result;
  }
  detail::MessageQueue queue(detail::kQueueBytes, detail::kQueueMessages);
  detail::ReaderContext ctx{&queue, &o.limits, detail::MonotonicSeconds() + o.limits.max_seconds, {}, 0, std::nullopt};
  ctx.detect_hardlinks = false;  // every path is hashed on its own: nothing kept per inode
  std::thread reader;
  if (Status s = detail::StartReader(o.dir, &ctx, &reader); !s.ok()) {
    result.status = s;
    return result;
  }

  // Hash-only consumer of the same stream the restore engine reads; nothing is written but
  // the rows.
  detail::RowSorter rows(o.spill_dir_fd, o.row_budget);
  Hasher hasher(o.algo);
  detail::Row row;
  bool hashing = false, damaged = false;
  uint64_t pos = 0, seq = 0;
  std::deque<detail::Message> batch;
  bool done = false;
  while (!done && queue.PopAll(&batch)) {
    for (auto& msg : batch) {
      detail::Message* m = &msg;
      if (m->header) {
        const auto& h = *m->header;
        std::string why;
        auto norm = NormaliseMemberPath(h.path, &why);
        hashing = damaged = false;
        pos = 0;
        if (!norm) {
          result.findings.push_back(Finding{FindingKind::kUnsafeEntry, h.path, "skipped: " + why, -1});
        } else if (h.type == detail::EntryType::kFile) {
          row.path = *norm;
          hashing = true;
        }
      }
      if (hashing) {
        if (m->data_offset > pos) {  // a hole the reader skipped: zeros
          hasher.UpdateZeros(m->data_offset - pos);
          pos = m->data_offset;
        }
        hasher.Update(m->bytes(), m->size());
        pos += m->size();
      }
      if (m->entry_damaged) damaged = true;
      if (m->finding) result.findings.push_back(std::move(*m->finding));
      if (m->end_of_entry && hashing) {
        row.hex = hasher.FinishHex();
        row.seq = seq++;
        if (!damaged) {
          rows.Add(row);
          ++result.files;
        }
        hashing = false;
      }
      queue.ReturnBuffer(std::move(m->data));
      if (m->end_of_stream) {
        done = true;
        break;
      }
    }
    batch.clear();
  }
  queue.Cancel();
  reader.join();
  if (ctx.source_fd >= 0) close(ctx.source_fd);  // kept for verify's change check; a directory has none
  if (ctx.abort) {
    result.status = *ctx.abort;
    return result;
  }
  if (!rows.status().ok()) {
    result.status = rows.status();
    return result;
  }
  rows.Rewind();
  if (!rows.status().ok()) {
    result.status = rows.status();
    return result;
  }
  int out_fd = o.out_fd;
  if (o.open_output) {  // only now: an output file inside the tree is not part of the walk
    if (Status s = o.open_output(&out_fd); !s.ok()) {
      result.status = s;
      return result;
    }
  }
  std::string out;
  int err = 0;
  auto flush = [&] {
    if (!WriteAll(out_fd, out, &err)) return false;
    out.clear();
    return true;
  };
  detail::LastPerPath last(&rows);
  while (last.Next(&row)) {
    out += FormatManifestLine(o.algo, row.path, row.hex);
    if (out.size() >= (1u << 16) && !flush()) break;
  }
  if (!rows.status().ok()) {
    result.status = rows.status();
  } else if (err != 0 || !flush()) {
    result.status = Status::Environment(std::string("cannot write the manifest: ") + std::strerror(err));
  }
  return result;
}

}  // namespace rp
