// The engine's per-entry memory: rows sorted by path through spilled runs come out in the
// same order, complete and intact, as an in-memory sort, whatever the budget.
#include "pipeline/row_sorter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "testkit.h"

namespace rp::test {
namespace {

using detail::LastPerPath;
using detail::Row;
using detail::RowKind;
using detail::RowSorter;

std::vector<Row> RandomRows(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Row> rows;
  for (size_t i = 0; i < n; ++i) {
    Row r;
    // Some paths repeat (a later entry replaces an earlier one); a few are long, some hold
    // bytes that are not UTF-8 and sort above ASCII.
    const uint64_t id = rng() % (n * 3 / 4 + 1);
    r.path = "d" + std::to_string(id % 37) + "/f" + std::to_string(id);
    if (id % 11 == 0) r.path += std::string(3000 + id % 500, 'x');
    if (id % 13 == 0) r.path += "\xe5\xff";
    r.seq = i + 1;
    r.kind = static_cast<RowKind>(rng() % 3);
    r.flags = static_cast<uint8_t>(rng() % 4);
    r.size = rng();
    r.hex = std::to_string(rng());
    r.mode = static_cast<uint32_t>(rng() % 07777);
    r.mtime_sec = static_cast<int64_t>(rng() >> 2);
    r.mtime_nsec = static_cast<int64_t>(rng() % 1000000000);
    rows.push_back(r);
  }
  return rows;
}

bool SameRow(const Row& a, const Row& b) {
  return a.path == b.path && a.seq == b.seq && a.kind == b.kind && a.flags == b.flags && a.size == b.size &&
         a.hex == b.hex && a.mode == b.mode && a.mtime_sec == b.mtime_sec && a.mtime_nsec == b.mtime_nsec;
}

class RowSorterBudget : public ::testing::TestWithParam<size_t> {};

TEST_P(RowSorterBudget, SortsByPathThenArrivalAndKeepsEveryField) {
  TempDir dir;
  const int dfd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  auto rows = RandomRows(5000, GetParam());
  {
    RowSorter sorter(dfd, GetParam());
    for (const auto& r : rows) sorter.Add(r);
    if (GetParam() < (1u << 20)) EXPECT_GT(sorter.spilled_runs(), 3u) << "the budget must force spilling";
    else EXPECT_EQ(sorter.spilled_runs(), 0u);
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.path != b.path ? a.path < b.path : a.seq < b.seq;
    });
    sorter.Rewind();
    Row got;
    size_t i = 0;
    while (sorter.Next(&got)) {
      ASSERT_LT(i, rows.size());
      ASSERT_TRUE(SameRow(got, rows[i])) << "row " << i << ": " << got.path.substr(0, 40) << " seq " << got.seq;
      ++i;
    }
    EXPECT_EQ(i, rows.size());
    EXPECT_TRUE(sorter.status().ok()) << sorter.status().message();
  }
  // The spill file was unnamed: nothing is left in the directory.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  close(dfd);
}

INSTANTIATE_TEST_SUITE_P(Budgets, RowSorterBudget, ::testing::Values(4096, 64 * 1024, 8u << 20));

TEST(RowSorter, LastPerPathKeepsOnlyTheLatestRowOfEachPath) {
  TempDir dir;
  const int dfd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  RowSorter sorter(dfd, 4096);
  const auto rows = RandomRows(3000, 9);
  std::map<std::string, uint64_t> last;
  for (const auto& r : rows) {
    sorter.Add(r);
    last[r.path] = r.seq;
  }
  sorter.Rewind();
  LastPerPath dedup(&sorter);
  Row got;
  auto want = last.begin();
  while (dedup.Next(&got)) {
    ASSERT_NE(want, last.end());
    EXPECT_EQ(got.path, want->first);
    EXPECT_EQ(got.seq, want->second);
    ++want;
  }
  EXPECT_EQ(want, last.end());
  close(dfd);
}

TEST(RowSorter, SpillFailureIsReportedNotIgnored) {
  // A directory that cannot hold the spill file: /proc refuses file creation.
  const int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  RowSorter sorter(dfd, 4096);
  for (const auto& r : RandomRows(500, 3)) sorter.Add(r);
  EXPECT_FALSE(sorter.status().ok());
  EXPECT_NE(sorter.status().message().find("spill file"), std::string::npos) << sorter.status().message();
  close(dfd);
}

}  // namespace
}  // namespace rp::test
