// placeholder until the restore command lands
#include "rp/restore_cmd.h"
namespace rp {
int RestoreCommand(const std::string&, const RestoreOptions&, std::ostream&, std::ostream& err) {
  err << "restoreproof restore: not built yet\n";
  return 2;
}
}  // namespace rp
