// placeholder until the evidence commands land
#include "rp/evidence_cmd.h"
namespace rp {
int EvidenceExportCommand(const std::string&, const EvidenceExportOptions&, std::ostream&, std::ostream& err) {
  err << "not built yet\n";
  return 2;
}
int EvidenceVerifyCommand(const std::string&, const std::string&, bool, std::ostream&, std::ostream& err) {
  err << "not built yet\n";
  return 2;
}
int EvidencePersonalDataCommand(const std::string&, bool, std::ostream&, std::ostream& err) {
  err << "not built yet\n";
  return 2;
}
}  // namespace rp
