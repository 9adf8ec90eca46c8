#include "rp/manifest_create.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "entry_stream.h"
#include "rp/manifest.h"
#include "rp/path_text.h"

namespace rp {

ManifestCreateResult CreateManifest(const std::string& source, HashAlgo algo, const Limits& limits) {
  ManifestCreateResult result;
  detail::MessageQueue queue(detail::kQueueBytes, detail::kQueueMessages);
  detail::ReaderContext ctx{&queue, &limits, detail::MonotonicSeconds() + limits.max_seconds, {}, 0, std::nullopt};
  std::thread reader;
  if (Status s = detail::StartReader(source, &ctx, &reader); !s.ok()) {
    result.status = s;
    return result;
  }

  // Hash-only consumer: the same stream the restore engine reads, nothing written.
  std::map<std::string, std::string> rows;
  Hasher hasher(algo);
  std::string current;
  bool hashing = false;
  bool damaged = false;
  uint64_t pos = 0;
  std::optional<uint64_t> sparse_size;  // declared size of a sparse entry: holes hash as zeros
  std::deque<detail::Message> batch;
  bool done = false;
  while (!done && queue.PopAll(&batch)) {
    for (auto& msg : batch) {
      detail::Message* m = &msg;
      if (m->header) {
        const auto& h = *m->header;
        std::string why;
        auto norm = NormaliseMemberPath(h.path, &why);
        hashing = false;
        damaged = false;
        pos = 0;
        sparse_size = h.sparse ? h.size : std::nullopt;
        if (!norm) {
          result.findings.push_back(Finding{FindingKind::kUnsafeEntry, h.path, "skipped: " + why, -1});
        } else if (h.type == detail::EntryType::kFile && !h.encrypted) {
          current = *norm;
          hashing = true;
        } else if (h.type == detail::EntryType::kHardlink) {
          auto t = NormaliseMemberPath(h.link_target, &why);
          auto it = t ? rows.find(*t) : rows.end();
          if (it != rows.end() && h.size.value_or(0) == 0)
            rows[*norm] = it->second;
          else if (h.size.value_or(0) > 0) {
            current = *norm;
            hashing = true;
          }
        } else if (h.encrypted) {
          result.findings.push_back(Finding{FindingKind::kEncrypted, *norm, "encrypted, no passphrase configured", -1});
        }
      }
      if (hashing) {
        if (m->data_offset > pos) hasher.UpdateZeros(m->data_offset - pos);
        if (m->data_offset > pos) pos = m->data_offset;
        hasher.Update(m->data.data(), m->data.size());
        pos += m->data.size();
      }
      if (m->entry_damaged) damaged = true;
      if (m->finding) result.findings.push_back(std::move(*m->finding));
      if (m->end_of_entry && hashing) {
        if (sparse_size && *sparse_size > pos) hasher.UpdateZeros(*sparse_size - pos);
        std::string hex = hasher.FinishHex();
        if (!damaged) {
          rows[current] = std::move(hex);
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
  if (ctx.abort) {
    result.status = *ctx.abort;
    return result;
  }
  for (const auto& [path, hex] : rows) result.text += FormatManifestLine(algo, path, hex);
  return result;
}

}  // namespace rp
