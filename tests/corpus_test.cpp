// libarchive's own test archives (../shared/corpus/libarchive): every one gets a verdict within
// 10 seconds, with no crash, no prompt and nothing outside the sandbox.
#include <fstream>
#include <sstream>

#include "engine_support.h"

namespace rp::test {
namespace {

struct CorpusFile {
  std::string name;
  std::string bsdtar;  // what bsdtar 3.6.2 does with it: reads / refuses / hangs_or_prompts
};

void PrintTo(const CorpusFile& f, std::ostream* os) { *os << f.name << " (bsdtar " << f.bsdtar << ")"; }

std::vector<CorpusFile> LoadIndex() {
  std::vector<CorpusFile> out;
  std::ifstream in(std::string(RP_CORPUS_DIR) + "/libarchive-index.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    CorpusFile f;
    std::string bytes;
    if (std::getline(ls, f.name, '\t') && std::getline(ls, bytes, '\t') && std::getline(ls, f.bsdtar)) out.push_back(f);
  }
  return out;
}

class Corpus : public ::testing::TestWithParam<CorpusFile> {};

TEST_P(Corpus, GetsAVerdictInBoundedTimeWithNothingOutsideTheSandbox) {
  const CorpusFile& cf = GetParam();
  TempDir dir;
  const std::string canary = dir / "outside";
  std::filesystem::create_directories(canary);
  auto o = Options(dir, std::string(RP_CORPUS_DIR) + "/libarchive/" + cf.name);
  o.limits.max_seconds = 6;  // plus the parent's grace: under 10 s in all
  o.limits.max_total_bytes = 512u << 20;
  const VerifyReport r = RunVerifyIsolated(o);

  EXPECT_LT(r.duration_s, 10.0);
  EXPECT_TRUE(PathsOf(r, FindingKind::kWorkerDied).empty()) << "the restore process crashed\n" << Describe(r);
  EXPECT_NE(r.status, RunStatus::kAborted) << Describe(r);
  if (r.status == RunStatus::kFailed) {
    bool reason = false;
    for (const auto& f : r.findings)
      if (FindingFailsRun(f.kind) && !f.message.empty()) reason = true;
    EXPECT_TRUE(reason) << "a failure names its reason\n" << Describe(r);
  }
  EXPECT_TRUE(r.sandbox_removed);
  EXPECT_TRUE(ListTree(canary).empty());
  EXPECT_TRUE(ListTree(dir / "sandboxes").empty());
}

std::string TestName(const ::testing::TestParamInfo<CorpusFile>& tpi) {
  std::string n = tpi.param.name;
  for (auto& c : n)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Libarchive, Corpus, ::testing::ValuesIn(LoadIndex()), TestName);

TEST(CorpusIndex, IsPresentAndComplete) { EXPECT_GT(LoadIndex().size(), 390u); }

}  // namespace
}  // namespace rp::test
