// gen_dataset: writes the benchmark data set, deterministically from a seed.
//
//   gen_dataset OUT_DIR [--scale S] [--seed N]
//
// At scale 1: about 40,000 files of 1-16 KiB (half text-like and compressible, half random)
// spread over 320 directories, plus 6 files of 96-128 MiB (half of them compressible), about
// 1 GiB in all. `--scale` multiplies the number of small files, the number of directories and
// the size of the large files (0.1 gives a ~100 MiB set for a quick check).
//
// Writes into OUT_DIR:
//   data.tar         pax archive of the whole tree (rp::WriteArchive, content streamed)
//   manifest.xxh128  xxh128 manifest in xxhsum's GNU style, paths relative to the tree root
//   dataset.txt      one line of counts: files, directories, bytes
// The compressed forms (tar.gz, tar.zst) are made by bench/run.sh with gzip and zstd.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "rp/archive_builder.h"
#include "rp/hash.h"

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// prefix followed by n in at least `width` digits, zero-padded ("s07"). Built by appending:
// GCC 12 at -O3 reports a false -Wrestrict for `"literal" + std::string` (GCC bug 105329).
std::string Name(const char* prefix, uint64_t n, int width) {
  std::string digits = std::to_string(n);
  std::string s(prefix);
  if (static_cast<int>(digits.size()) < width) s.append(static_cast<size_t>(width) - digits.size(), '0');
  s += digits;
  return s;
}

struct Plan {
  std::vector<rp::TreeEntry> entries;
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;
};

// Directories d00..d19 each with subdirectories s00..s14 (scaled), small files spread at random
// over the subdirectories, the large files placed in a few top directories so that they come at
// several points in the archive rather than all at its end.
Plan MakePlan(uint64_t seed, double scale) {
  const int tops = std::max(2, static_cast<int>(20 * std::min(1.0, scale * 2) + 0.5));
  const int subs = std::max(2, static_cast<int>(15 * std::min(1.0, scale * 2) + 0.5));
  const uint64_t small_files = std::max<uint64_t>(10, static_cast<uint64_t>(40000 * scale + 0.5));
  constexpr int kLarge = 6;

  uint64_t rng = seed;
  const int leaf_dirs = tops * subs;
  std::vector<std::vector<rp::TreeEntry>> per_leaf(static_cast<size_t>(leaf_dirs));
  for (uint64_t i = 0; i < small_files; ++i) {
    const auto leaf = static_cast<size_t>(SplitMix(rng) % static_cast<uint64_t>(leaf_dirs));
    rp::TreeEntry e;
    e.compressible = (SplitMix(rng) & 1) == 0;
    e.size = 1 * kKiB + SplitMix(rng) % (15 * kKiB + 1);
    e.seed = SplitMix(rng);
    e.path = Name("d", leaf / static_cast<size_t>(subs), 2);
    e.path += Name("/s", leaf % static_cast<size_t>(subs), 2);
    e.path += Name("/f", i, 6);
    e.path += e.compressible ? ".txt" : ".bin";
    per_leaf[leaf].push_back(std::move(e));
  }
  std::vector<std::vector<rp::TreeEntry>> large_in_top(static_cast<size_t>(tops));
  for (int k = 0; k < kLarge; ++k) {
    rp::TreeEntry e;
    e.compressible = k % 2 == 0;
    const uint64_t full = 96 * kMiB + SplitMix(rng) % (32 * kMiB + 1);
    e.size = static_cast<uint64_t>(static_cast<double>(full) * scale);
    e.seed = SplitMix(rng);
    const int top = k * tops / kLarge;
    e.path = Name("d", static_cast<uint64_t>(top), 2);
    e.path += Name("/large-", static_cast<uint64_t>(k), 1);
    e.path += e.compressible ? ".log" : ".img";
    large_in_top[static_cast<size_t>(top)].push_back(std::move(e));
  }

  Plan plan;
  auto add_dir = [&plan](const std::string& path) {
    rp::TreeEntry d;
    d.kind = rp::TreeEntry::Kind::kDirectory;
    d.path = path;
    d.mode = 0755;
    plan.entries.push_back(std::move(d));
    ++plan.dirs;
  };
  auto add_file = [&plan](rp::TreeEntry e) {
    plan.bytes += e.size;
    ++plan.files;
    plan.entries.push_back(std::move(e));
  };
  for (int t = 0; t < tops; ++t) {
    const std::string top = Name("d", static_cast<uint64_t>(t), 2);
    add_dir(top);
    for (int s = 0; s < subs; ++s) {
      add_dir(top + Name("/s", static_cast<uint64_t>(s), 2));
      for (auto& e : per_leaf[static_cast<size_t>(t * subs + s)]) add_file(std::move(e));
      if (s == subs / 2)  // the large files of this directory, halfway through it
        for (auto& e : large_in_top[static_cast<size_t>(t)]) add_file(std::move(e));
    }
  }
  return plan;
}

int Usage() {
  std::cerr << "usage: gen_dataset OUT_DIR [--scale S] [--seed N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string out = argv[1];
  double scale = 1.0;
  uint64_t seed = 20261122;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--scale" && i + 1 < argc) {
      scale = std::strtod(argv[++i], nullptr);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (!(scale > 0.0 && scale <= 16.0)) {
    std::cerr << "gen_dataset: --scale must be in (0, 16]\n";
    return 2;
  }

  const Plan plan = MakePlan(seed, scale);
  std::cerr << "gen_dataset: " << plan.files << " files, " << plan.dirs << " directories, "
            << plan.bytes / kMiB << " MiB (seed " << seed << ", scale " << scale << ")\n";

  // The manifest hashes the generated content; the archive streams it again. Both only read
  // the plan, so they run side by side.
  std::string manifest;
  std::thread hasher([&] { manifest = rp::ManifestFor(plan.entries, rp::HashAlgo::kXxh128); });
  const rp::Status s = rp::WriteArchive(out + "/data.tar", rp::ArchiveSpec{"pax", {}}, plan.entries);
  hasher.join();
  if (!s.ok()) {
    std::cerr << "gen_dataset: " << s.message() << "\n";
    return 3;
  }
  {
    std::ofstream m(out + "/manifest.xxh128", std::ios::binary);
    m << manifest;
    std::ofstream d(out + "/dataset.txt");
    d << "files " << plan.files << " directories " << plan.dirs << " bytes " << plan.bytes << " seed " << seed
      << " scale " << scale << "\n";
    if (!m || !d) {
      std::cerr << "gen_dataset: cannot write into " << out << "\n";
      return 3;
    }
  }
  return 0;
}
