// Internal: runs a restore test's content checks (rp/checks.h) on the restored tree, inside
// the worker's sandbox. The final pass feeds it every final row in path order; Finish() then
// evaluates the counts, opens the SQLite databases, compares with the baseline inventory and
// runs the operator's command, adding one finding per check.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/row_sorter.h"
#include "rp/checks.h"
#include "rp/hash.h"
#include "rp/report.h"

namespace rp::detail {

class CheckRunner {
 public:
  // `algo` is the run's digest algorithm (a baseline must hold the same).
  CheckRunner(const std::vector<ContentCheck>& checks, int sandbox_fd, HashAlgo algo);
  ~CheckRunner();
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // Every final row, in path order (files after their hash is final).
  void OnRow(const Row& row);
  void Finish(VerifyReport* report);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The inventory's first line: which algorithm its digests use.
std::string InventoryHeader(HashAlgo algo);
// One inventory line (the file `unchanged-since-baseline` compares with): digest, size, mtime
// and escaped path, tab-separated, sorted by path.
std::string InventoryLine(const Row& file);

}  // namespace rp::detail
