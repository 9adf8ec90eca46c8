#include "rp/archive_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "rp/manifest.h"

namespace rp {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr const char* kWords[] = {"restore", "backup", "payroll", "Stockholm", "verify", "journal",
                                  "patient", "ärende", "kommun", "invoice", "2026", "lorem",
                                  "ipsum", "data", "record", "\n"};

struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

constexpr size_t kBlock = 64 * 1024;

}  // namespace

void GenerateContent(uint64_t seed, bool compressible, uint64_t offset, char* buf, size_t len) {
  // Content is defined per 64-byte block so any range can be produced independently.
  for (size_t i = 0; i < len;) {
    const uint64_t pos = offset + i;
    const uint64_t block = pos / 64;
    const uint64_t r = SplitMix(seed * 0x100000001B3ull ^ block);
    const size_t in_block = static_cast<size_t>(pos % 64);
    const size_t n = std::min<size_t>(64 - in_block, len - i);
    char tmp[64];
    if (compressible) {
      // Words chosen by the block's random value: text-like, compresses about 4:1.
      size_t k = 0;
      uint64_t v = r;
      while (k < 64) {
        const char* w = kWords[v & 15];
        v = SplitMix(v);
        for (const char* c = w; *c && k < 64; ++c) tmp[k++] = *c;
        if (k < 64) tmp[k++] = ' ';
      }
    } else {
      uint64_t v = r;
      for (size_t k = 0; k < 64; k += 8) {
        v = SplitMix(v);
        std::memcpy(tmp + k, &v, 8);
      }
    }
    std::memcpy(buf + i, tmp + in_block, n);
    i += n;
  }
}

std::string ContentHashHex(const TreeEntry& e, HashAlgo algo) {
  Hasher h(algo);
  std::vector<char> buf(kBlock);
  for (uint64_t off = 0; off < e.size; off += kBlock) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, e.size - off));
    GenerateContent(e.seed, e.compressible, off, buf.data(), n);
    h.Update(buf.data(), n);
  }
  return h.FinishHex();
}

Status WriteArchive(const std::string& path, const ArchiveSpec& spec, const std::vector<TreeEntry>& entries) {
  std::unique_ptr<archive, WriterDeleter> a(archive_write_new());
  auto fail = [&](const std::string& what) {
    const char* e = archive_error_string(a.get());
    return Status::Environment("writing " + path + ": " + what + (e ? std::string(": ") + e : ""));
  };
  if (archive_write_set_format_by_name(a.get(), spec.format.c_str()) != ARCHIVE_OK)
    return fail("format " + spec.format);
  for (const auto& f : spec.filters)
    if (archive_write_add_filter_by_name(a.get(), f.c_str()) != ARCHIVE_OK) return fail("filter " + f);
  if (spec.format == "zip") archive_write_set_options(a.get(), "zip:compression=deflate");
  if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK) return fail("open");
  std::vector<char> buf(kBlock);
  std::map<std::string, const TreeEntry*> files;
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_copy_pathname(ae, e.path.c_str());
    archive_entry_set_mtime(ae, e.mtime, 0);
    archive_entry_set_perm(ae, e.mode & 07777);
    archive_entry_set_uid(ae, 1000);
    archive_entry_set_gid(ae, 1000);
    archive_entry_set_nlink(ae, 1);
    uint64_t size = 0;
    const TreeEntry* content = nullptr;
    switch (e.kind) {
      case TreeEntry::Kind::kFile:
        archive_entry_set_filetype(ae, AE_IFREG);
        size = e.size;
        content = &e;
        files[e.path] = &e;
        break;
      case TreeEntry::Kind::kDirectory: archive_entry_set_filetype(ae, AE_IFDIR); break;
      case TreeEntry::Kind::kSymlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_copy_symlink(ae, e.target.c_str());
        break;
      case TreeEntry::Kind::kHardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_copy_hardlink(ae, e.target.c_str());
        archive_entry_set_nlink(ae, 2);
        // zip and 7z have no hard links, and cpio links by inode number, which this builder
        // does not assign: those formats store the content again.
        if ((spec.format == "zip" || spec.format == "7zip" || spec.format == "newc" || spec.format == "cpio") &&
            files.count(e.target)) {
          archive_entry_set_hardlink(ae, nullptr);
          // One link: cpio readers pair entries with nlink > 1 by inode number, and every
          // entry here has inode 0, so two such copies would be read as links of each other.
          archive_entry_set_nlink(ae, 1);
          content = files[e.target];
          size = content->size;
        }
        break;
      case TreeEntry::Kind::kFifo: archive_entry_set_filetype(ae, AE_IFIFO); break;
      case TreeEntry::Kind::kCharDevice:
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_rdev(ae, makedev(1, 3));
        break;
      case TreeEntry::Kind::kBlockDevice:
        archive_entry_set_filetype(ae, AE_IFBLK);
        archive_entry_set_rdev(ae, makedev(8, 0));
        break;
    }
    archive_entry_set_size(ae, static_cast<la_int64_t>(size));
    if (archive_write_header(a.get(), ae) < ARCHIVE_WARN) {
      archive_entry_free(ae);
      return fail("header for " + e.path);
    }
    archive_entry_free(ae);
    for (uint64_t off = 0; content && off < size; off += kBlock) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, size - off));
      GenerateContent(content->seed, content->compressible, off, buf.data(), n);
      if (archive_write_data(a.get(), buf.data(), n) < 0) return fail("data for " + e.path);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail("close");
  return Status::Ok();
}

Status WriteTree(const std::string& root, const std::vector<TreeEntry>& entries) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(root, ec);
  std::vector<char> buf(kBlock);
  for (const auto& e : entries) {
    const std::string p = root + "/" + e.path;
    fs::create_directories(fs::path(p).parent_path(), ec);
    switch (e.kind) {
      case TreeEntry::Kind::kDirectory:
        if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return Status::Environment("mkdir " + p);
        break;
      case TreeEntry::Kind::kSymlink:
        if (symlink(e.target.c_str(), p.c_str()) != 0) return Status::Environment("symlink " + p);
        break;
      case TreeEntry::Kind::kHardlink:
        if (link((root + "/" + e.target).c_str(), p.c_str()) != 0) return Status::Environment("link " + p);
        break;
      case TreeEntry::Kind::kFile: {
        const int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, e.mode & 0777);
        if (fd < 0) return Status::Environment("create " + p + ": " + std::strerror(errno));
        for (uint64_t off = 0; off < e.size; off += kBlock) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, e.size - off));
          GenerateContent(e.seed, e.compressible, off, buf.data(), n);
          if (write(fd, buf.data(), n) != static_cast<ssize_t>(n)) {
            close(fd);
            return Status::Environment("write " + p);
          }
        }
        close(fd);
        break;
      }
      default: break;  // devices and FIFOs are never materialised
    }
  }
  return Status::Ok();
}

std::vector<TreeEntry> SampleTree(const SampleTreeOptions& o) {
  std::vector<TreeEntry> out;
  uint64_t r = SplitMix(o.seed);
  auto next = [&r] { return r = SplitMix(r); };
  const std::vector<std::string> dirs = {"etc", "data", "data/db", "data/docs", "home/anna/projekt/rapporter/2026"};
  std::string deep = "deep";
  for (int i = 0; i < 12; ++i) deep += "/level" + std::to_string(i);
  for (const auto& d : dirs) out.push_back({TreeEntry::Kind::kDirectory, d, 0, 0, true, "", 0755, 1700000000});
  {
    std::string acc;
    size_t start = 0;
    while (start < deep.size()) {
      size_t slash = deep.find('/', start);
      if (slash == std::string::npos) slash = deep.size();
      acc = deep.substr(0, slash);
      out.push_back({TreeEntry::Kind::kDirectory, acc, 0, 0, true, "", 0755, 1700000000});
      start = slash + 1;
    }
  }
  for (int i = 0; i < o.files; ++i) {
    TreeEntry e;
    const std::string& dir = dirs[next() % dirs.size()];
    e.path = dir + "/file-" + std::to_string(i) + ".dat";
    const uint64_t kind = next() % 10;
    e.size = kind == 0 ? 0 : kind < 8 ? 1 + next() % 16384 : 16384 + next() % 200000;
    e.seed = next();
    e.compressible = next() % 2 == 0;
    e.mode = 0644;
    e.mtime = 1700000000 + static_cast<int64_t>(next() % 1000000);
    out.push_back(e);
  }
  out.push_back({TreeEntry::Kind::kFile, "data/empty.txt", 0, 7, true, "", 0644, 1700000000});
  out.push_back({TreeEntry::Kind::kFile, "data/large.bin", o.large_file_bytes, next(), false, "", 0600, 1700000000});
  out.push_back({TreeEntry::Kind::kFile, deep + "/bottom.txt", 1234, next(), true, "", 0644, 1700000000});
  if (o.exotic_names) {
    out.push_back({TreeEntry::Kind::kFile, "data/docs/" + std::string(200, 'l') + ".txt", 777, next(), true, "", 0644, 1700000000});
    out.push_back({TreeEntry::Kind::kFile, "data/docs/r\xe4ksm\xf6rg\xe5s-latin1.txt", 100, next(), true, "", 0644, 1700000000});
    out.push_back({TreeEntry::Kind::kFile, "data/docs/\xc3\xa5\xc3\xa4\xc3\xb6-utf8.txt", 100, next(), true, "", 0644, 1700000000});
    out.push_back({TreeEntry::Kind::kFile, "data/docs/with space and \\ backslash.txt", 50, next(), true, "", 0644, 1700000000});
  }
  if (o.links) {
    out.push_back({TreeEntry::Kind::kSymlink, "data/latest", 0, 0, true, "docs", 0777, 1700000000});
    out.push_back({TreeEntry::Kind::kSymlink, "data/db/large-link", 0, 0, true, "../large.bin", 0777, 1700000000});
    out.push_back({TreeEntry::Kind::kHardlink, "data/large-hardlink.bin", 0, 0, true, "data/large.bin", 0600, 1700000000});
  }
  return out;
}

std::string ManifestFor(const std::vector<TreeEntry>& entries, HashAlgo algo) {
  std::map<std::string, std::string> rows;
  std::map<std::string, std::string> by_path;
  for (const auto& e : entries) {
    if (e.kind == TreeEntry::Kind::kFile) {
      const std::string hex = ContentHashHex(e, algo);
      by_path[e.path] = hex;
      rows[e.path] = hex;
    } else if (e.kind == TreeEntry::Kind::kHardlink && by_path.count(e.target)) {
      rows[e.path] = by_path[e.target];
    }
  }
  std::string out;
  for (const auto& [p, hex] : rows) out += FormatManifestLine(algo, p, hex);
  return out;
}

}  // namespace rp
