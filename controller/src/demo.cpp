#include "rp/demo.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/path_text.h"
#include "rp/report_json.h"
#include "rp/verify.h"

namespace rp {
namespace {

namespace fs = std::filesystem;

struct DemoBackup {
  std::string target;
  std::string file;
  ArchiveSpec spec;
  uint64_t seed;
  bool damage;
  std::string description;
};

std::string HumanBytes(uint64_t b) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1);
  if (b >= (1u << 20)) os << static_cast<double>(b) / (1 << 20) << " MiB";
  else if (b >= 1024) os << static_cast<double>(b) / 1024 << " KiB";
  else os << b << " B";
  return os.str();
}

// Flips one byte in the middle of a file's content inside an uncompressed archive: the
// archive stays structurally valid, so only the manifest can tell.
bool DamageContent(const std::string& archive_path, const TreeEntry& victim) {
  std::vector<char> probe(64);
  GenerateContent(victim.seed, victim.compressible, 0, probe.data(), probe.size());
  std::ifstream in(archive_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find(std::string(probe.data(), probe.size()));
  if (at == std::string::npos) return false;
  const size_t pos = at + victim.size / 2;
  std::fstream f(archive_path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(pos));
  const char c = static_cast<char>(bytes[pos] ^ 0xFF);
  f.write(&c, 1);
  return static_cast<bool>(f);
}

}  // namespace

int RunDemo(const DemoOptions& options, std::ostream& out) {
  const std::string estate = options.dir + "/estate";
  const std::string sandboxes = options.dir + "/sandboxes";
  std::error_code ec;
  fs::create_directories(estate, ec);
  fs::create_directories(sandboxes, ec);

  const std::vector<DemoBackup> backups = {
      {"payroll", "payroll-20261121T020000.tar.zst", {"pax", {"zstd"}}, 11, false,
       "Employees: names, personal identity numbers, salaries"},
      {"case-files", "case-files-20261121T021500.tar.gz", {"gnutar", {"gzip"}}, 22, false,
       "Citizens: names, addresses, case notes"},
      {"website", "website-20261121T023000.zip", {"zip", {}}, 33, false, "none"},
      {"hr-archive", "hr-archive-20261121T024500.tar", {"pax", {}}, 44, true,
       "Employees: sick leave, rehabilitation notes"},
  };

  out << "restoreproof demo: a sample estate of " << backups.size() << " backups under " << estate << "\n"
      << "Each backup is restored into a fresh sandbox, every byte hashed (xxh128) and compared\n"
      << "with the manifest written when the backup was made. One backup was silently damaged\n"
      << "after its manifest was written: a single flipped byte that the archive format cannot see.\n\n";

  int failed = 0;
  for (const auto& b : backups) {
    const std::string dir = estate + "/" + b.target;
    fs::create_directories(dir, ec);
    const std::string archive_path = dir + "/" + b.file;
    SampleTreeOptions sto;
    sto.seed = b.seed;
    sto.files = 40;
    sto.large_file_bytes = 2 * 1024 * 1024;
    const auto entries = SampleTree(sto);
    Status s = WriteArchive(archive_path, b.spec, entries);
    if (!s.ok()) {
      out << "cannot build the demo estate: " << s.message() << "\n";
      return -1;
    }
    std::ofstream(archive_path + ".xxh128") << ManifestFor(entries, HashAlgo::kXxh128);
    if (b.damage) {
      for (const auto& e : entries)
        if (e.path == "data/large.bin" && !DamageContent(archive_path, e)) {
          out << "cannot damage the demo archive " << archive_path << "\n";
          return -1;
        }
    }

    VerifyOptions vo;
    vo.source = archive_path;
    vo.manifest = archive_path + ".xxh128";
    vo.sandbox_parent = sandboxes;
    const VerifyReport r = RunVerifyIsolated(vo);
    if (r.status != RunStatus::kPassed) ++failed;
    out << (r.status == RunStatus::kPassed ? "  PASSED  " : "  FAILED  ") << b.target << "/" << b.file << "\n"
        << "          " << r.files << " files, " << HumanBytes(r.bytes) << " restored and verified in "
        << std::fixed << std::setprecision(2) << r.duration_s << " s (" << r.format << "); sandbox "
        << (r.sandbox_removed ? "wiped" : "kept at " + r.sandbox) << "\n"
        << "          personal data: " << b.description << "\n";
    for (const auto& f : r.findings) {
      out << "          " << FindingKindName(f.kind) << ": " << EscapePath(f.path) << ": " << EscapePath(f.message)
          << "\n";
    }
  }
  out << "\n" << (backups.size() - static_cast<size_t>(failed)) << " of " << backups.size()
      << " backups verified; " << failed << " failed.\n"
      << "Try it yourself:  restoreproof verify " << estate << "/hr-archive/" << backups[3].file
      << " --manifest " << estate << "/hr-archive/" << backups[3].file << ".xxh128\n"
      << "Not in this demo yet (later issues): the catalog and policies, schedules and drills, the\n"
      << "restoration log, evidence export and the web dashboard.\n";
  return failed;
}

}  // namespace rp
