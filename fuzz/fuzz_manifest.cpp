// libFuzzer target for the parsers of outside text: checksum manifests (rp::ParseManifest),
// archive member names (rp::NormaliseMemberPath, rp::EscapePath/UnescapePath), sizes and
// durations from the command line (rp::ParseByteSize, rp::ParseDurationSeconds), the report a
// worker sends its parent (the codec's report and the protocol's lines: the worker parses
// hostile archives, so what it says is untrusted input to the parent), a worker's job and a
// --checks file (DecodeJob), and path globs (rp::GlobMatch).
// Besides "no crash, no sanitizer report" it checks round-trip properties and traps when one
// breaks. Single-threaded; holds no state between inputs.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "rp/hash.h"
#include "rp/manifest.h"
#include "rp/path_text.h"
#include "rp/codec.h"
#include "rp/units.h"
#include "rp/checks.h"
#include "isolation/worker_protocol.h"

namespace {

constexpr rp::HashAlgo kAllAlgos[] = {rp::HashAlgo::kXxh128, rp::HashAlgo::kXxh3_64, rp::HashAlgo::kXxh64,
                                      rp::HashAlgo::kXxh32,  rp::HashAlgo::kSha256,  rp::HashAlgo::kSha512,
                                      rp::HashAlgo::kBlake2b};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsSafeNormalised(std::string_view p) {
  if (p.find('\0') != std::string_view::npos) return false;
  if (!p.empty() && (p.front() == '/' || p.back() == '/')) return false;
  if (p.find("//") != std::string_view::npos) return false;
  size_t pos = 0;
  while (pos <= p.size() && !p.empty()) {
    size_t next = p.find('/', pos);
    if (next == std::string_view::npos) next = p.size();
    const std::string_view comp = p.substr(pos, next - pos);
    if (comp == "." || comp == "..") return false;
    pos = next + 1;
  }
  return true;
}

// Every entry a manifest yields must survive FormatManifestLine -> ParseManifest unchanged.
void CheckManifest(std::string_view text, std::optional<rp::HashAlgo> hint) {
  const rp::ManifestParseResult parsed = rp::ParseManifest(text, "fuzz", hint);
  if (!parsed.status.ok()) {
    Check(parsed.manifest.entries.empty());
    return;
  }
  const rp::HashAlgo algo = parsed.manifest.algo;
  for (const rp::ManifestEntry& e : parsed.manifest.entries) {
    Check(!e.path.empty() && IsSafeNormalised(e.path));
    Check(e.hex.size() == rp::HashHexLength(algo));
    const std::string line = rp::FormatManifestLine(algo, e.path, e.hex);
    const rp::ManifestParseResult again = rp::ParseManifest(line, "roundtrip", algo);
    Check(again.status.ok());
    Check(again.manifest.entries.size() == 1);
    Check(again.manifest.algo == algo);
    Check(again.manifest.entries[0].path == e.path);
    Check(again.manifest.entries[0].hex == e.hex);
  }
}

void CheckPathText(std::string_view raw) {
  const std::string escaped = rp::EscapePath(raw);
  const std::optional<std::string> back = rp::UnescapePath(escaped);
  Check(back.has_value() && *back == raw);
  (void)rp::UnescapePath(raw);  // arbitrary text as an escaped name: may fail, must not crash

  std::string why;
  const std::optional<std::string> norm = rp::NormaliseMemberPath(raw, &why);
  if (!norm) {
    Check(!why.empty());
    return;
  }
  Check(IsSafeNormalised(*norm));
  const std::optional<std::string> twice = rp::NormaliseMemberPath(*norm, nullptr);
  Check(twice.has_value() && *twice == *norm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckManifest(text, std::nullopt);
  // The first byte picks an algorithm hint; the rest is parsed with it.
  if (size > 0) CheckManifest(text.substr(1), kAllAlgos[data[0] % std::size(kAllAlgos)]);
  (void)rp::AlgoHintFromFileName(text);
  CheckPathText(text);
  (void)rp::ParseByteSize(text);
  (void)rp::ParseDurationSeconds(text);
  // A job that parses must survive a round trip through its own JSON form.
  if (rp::detail::WorkerJob job; rp::detail::DecodeJob(text, &job).ok()) {
    rp::detail::WorkerJob again;
    Check(rp::detail::DecodeJob(rp::detail::EncodeJob(job), &again).ok());
    Check(again.options.checks == job.options.checks);
    Check(again.options.source == job.options.source);
    Check(again.options.limits == job.options.limits);
  }
  // Glob: the first line is the pattern, the rest the path (bounded: '**' backtracks).
  if (size < 512) {
    const size_t nl = text.find('\n');
    if (nl != std::string_view::npos) (void)rp::GlobMatch(text.substr(0, nl), text.substr(nl + 1));
  }
  // A report that parses must survive a round trip through its own JSON form.
  if (rp::VerifyReport report; rp::DecodeJson(text, "report", &report).ok()) {
    rp::VerifyReport again;
    Check(rp::DecodeJson(rp::EncodeJson(report), "report", &again).ok());
    Check(again == report);
  }
  // So must any line of the worker's protocol.
  if (auto line = rp::detail::DecodeLine(text)) {
    using Type = rp::detail::WorkerLine::Type;
    const std::string encoded = line->type == Type::kResult      ? rp::detail::EncodeResultLine(line->result)
                                : line->type == Type::kFinding   ? rp::detail::EncodeFindingLine(line->finding)
                                : line->type == Type::kIsolation ? rp::detail::EncodeIsolationLine(line->isolation)
                                                                 : rp::detail::EncodeProgressLine(line->progress);
    Check(rp::detail::DecodeLine(encoded).has_value());
  }
  return 0;
}
