// Benchmark of the configuration issue: discovery and policy evaluation of 10,000 targets with
// 400 recovery points each (4,000,000 archive files), goal under 2 seconds. Measures in one
// run, side by side:
//   ours      discover every copy (list its directory, parse the time in each file name) and
//             evaluate every target's policy, on all cores;
//   find      `find ROOT -name '*.tar' | wc -l`, a plain listing of the same tree (the
//             baseline: what reading the directories alone costs);
// and prints the ratio. The tree is generated once and kept for later runs. As root, ROOT is a
// tmpfs of its own (unlimited inodes: /dev/shm holds only about 3 million); otherwise a
// directory on whatever file system ROOT is on.
//   catalog_bench [--targets N] [--points P] [--root DIR] [--reps R] [--threads T]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "rp/catalog.h"
#include "rp/policy_eval.h"

namespace {

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string TargetDir(const std::string& root, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/t%05d", i);
  return root + buf;
}

void Generate(const std::string& root, const rp::TimeZone& zone, int targets, int points, int64_t newest) {
  const std::string marker = root + "/.generated-" + std::to_string(targets) + "x" + std::to_string(points);
  struct stat st {};
  if (stat(marker.c_str(), &st) == 0) return;
  std::fprintf(stderr, "catalog_bench: generating %d x %d files under %s ...\n", targets, points, root.c_str());
  std::string cmd = "mkdir -p '" + root + "' && find '" + root + "' -mindepth 1 -delete";
  if (std::system(cmd.c_str()) != 0) std::exit(2);
  for (int i = 0; i < targets; ++i) {
    const std::string dir = TargetDir(root, i);
    mkdir(dir.c_str(), 0755);
    for (int p = 0; p < points; ++p) {
      const int64_t t = newest - static_cast<int64_t>(p) * 86400 - (i % 7) * 60;
      const std::string path = dir + "/b-" + zone.Format(t, "%Y%m%dT%H%M%S") + ".tar";
      const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        std::perror(("catalog_bench: cannot create " + path).c_str());
        std::exit(2);
      }
      close(fd);
    }
  }
  std::ofstream(marker) << "done\n";
}

}  // namespace

int main(int argc, char** argv) {
  int targets = 10000, points = 400, reps = 3;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string root = "/tmp/rp-catalog-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--targets") targets = std::atoi(argv[i + 1]);
    else if (a == "--points") points = std::atoi(argv[i + 1]);
    else if (a == "--root") root = argv[i + 1];
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  const auto zone = rp::TimeZone::Locate("Europe/Stockholm");
  if (!zone) return 2;
  if (geteuid() == 0) {
    const std::string mnt = "mkdir -p '" + root + "' && (mountpoint -q '" + root + "' || mount -t tmpfs -o size=12g,nr_inodes=0 rp-catalog-bench '" + root + "')";
    if (std::system(mnt.c_str()) != 0) std::fprintf(stderr, "catalog_bench: no tmpfs of its own; using the directory as it is\n");
  }
  // A fixed "now": the data set stays valid whatever day the benchmark runs.
  const int64_t now = 1795334400;  // 2026-11-22T08:00:00Z
  Generate(root, *zone, targets, points, now - 6 * 3600);

  rp::Config config;
  config.baseline.min_copies = 1;
  config.baseline.retention_days = 30;
  config.baseline.max_retention_days = 365;  // every target keeps 400 days: an over-retention finding each
  config.targets.resize(static_cast<size_t>(targets));
  for (int i = 0; i < targets; ++i) {
    auto& t = config.targets[static_cast<size_t>(i)];
    t.name = "t" + std::to_string(i);
    t.owner = "bench";
    t.classification = {2, 2, 2};
    t.personal_data.none = true;
    rp::CopyConfig c;
    c.location = "site-a";
    c.kind = rp::CopyKind::kArchiveDir;
    c.path = TargetDir(root, i);
    c.pattern = "b-{YYYY}{MM}{DD}T{hh}{mm}{ss}.tar";
    t.copies.push_back(c);
  }

  std::vector<double> ours, find;
  size_t points_seen = 0, failing = 0;
  for (int rep = 0; rep < reps; ++rep) {
    // ours: discover and evaluate every target, the targets shared out over the threads.
    std::atomic<size_t> next{0}, seen{0}, fail{0};
    const double t0 = Seconds();
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < threads; ++w)
      pool.emplace_back([&] {
        for (size_t i; (i = next.fetch_add(1)) < config.targets.size();) {
          const auto& t = config.targets[i];
          std::vector<rp::CopyCatalog> cats;
          for (const auto& c : t.copies) cats.push_back(rp::DiscoverCopy(c, *zone));
          for (const auto& c : cats) seen += c.points.size();
          rp::EvalOptions opt;
          opt.now = now;
          opt.zone = *zone;
          opt.compare_content = false;
          const auto ev = rp::EvaluateTarget(config, t, cats, opt);
          if (ev.verdict == rp::Verdict::kFailing) ++fail;
        }
      });
    for (auto& th : pool) th.join();
    ours.push_back(Seconds() - t0);
    points_seen = seen;
    failing = fail;
    // find: list the same tree.
    const double f0 = Seconds();
    const std::string cmd = "find '" + root + "' -name '*.tar' | wc -l > /dev/null";
    if (std::system(cmd.c_str()) != 0) return 2;
    find.push_back(Seconds() - f0);
  }
  std::sort(ours.begin(), ours.end());
  std::sort(find.begin(), find.end());
  const double o = ours[ours.size() / 2], f = find[find.size() / 2];
  std::printf("catalog benchmark: %d targets x %d points (%zu points found), %u threads, medians of %d\n", targets,
              points, points_seen, threads, reps);
  const std::string fs = "findmnt -n -o FSTYPE,OPTIONS -T '" + root + "' | sed 's/^/  tree on: /'";
  (void)!std::system(fs.c_str());
  std::printf("  ours (discover + evaluate): %6.2f s   goal < 2.00 s: %s\n", o, o < 2.0 ? "PASS" : "MISS");
  std::printf("  find | wc -l (listing only): %6.2f s\n", f);
  std::printf("  ours / find: %.2f\n", o / f);
  std::printf("  targets failing (each keeps 400 days against a maximum of 365): %zu of %d\n", failing, targets);
  return points_seen == static_cast<size_t>(targets) * static_cast<size_t>(points) ? 0 : 1;
}
