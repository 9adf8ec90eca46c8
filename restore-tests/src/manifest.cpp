#include "rp/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>

#include "rp/path_text.h"
#include "rp/posix_io.h"

namespace rp {
namespace {

bool IsWhite(char c) { return c == ' ' || c == '\t'; }

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// coreutils' filename_unescape: "\\\\" -> '\\', "\\n" -> newline, "\\r" -> CR.
std::optional<std::string> UnescapeName(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') { out += s[i]; continue; }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default: return std::nullopt;
    }
  }
  return out;
}

// The digest length decides; the hint only chooses between algorithms of equal length.
std::optional<HashAlgo> AlgoForHexLength(size_t len, std::optional<HashAlgo> hint) {
  if (hint && HashHexLength(*hint) == len && len == 128) return hint;
  switch (len) {
    case 8: return HashAlgo::kXxh32;
    case 16: return HashAlgo::kXxh64;
    case 32: return HashAlgo::kXxh128;
    case 64: return HashAlgo::kSha256;
    case 128: return HashAlgo::kSha512;
    default: return std::nullopt;
  }
}

struct ParsedLine {
  HashAlgo algo;
  std::string hex;
  std::string name;  // raw, unescaped
};

// Parses one non-empty, non-comment line. On failure returns nullopt and sets *why.
std::optional<ParsedLine> ParseLine(std::string_view s, std::optional<HashAlgo> hint,
                                    int* single_space_style, std::string* why) {
  size_t i = 0;
  while (i < s.size() && IsWhite(s[i])) ++i;
  bool escaped = false;
  if (i < s.size() && s[i] == '\\') {
    escaped = true;
    ++i;
  }
  const std::string_view rest = s.substr(i);

  // BSD tag style: TAG (name) = HEX; the space before '(' and those around '=' optional,
  // as coreutils reads them ("SHA256(a)= HEX" is what openssl dgst prints).
  const size_t paren = rest.find('(');
  std::string_view tag = paren == std::string_view::npos ? std::string_view() : rest.substr(0, paren);
  if (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
  if (!tag.empty()) {
    if (auto algo = HashAlgoFromTag(tag)) {
      const size_t close = rest.rfind(')');
      if (close == std::string_view::npos || close < paren + 1) {
        *why = "tag line without ')' closing the file name";
        return std::nullopt;
      }
      size_t j = close + 1;
      while (j < rest.size() && IsWhite(rest[j])) ++j;
      if (j >= rest.size() || rest[j] != '=') {
        *why = "tag line without '=' after the file name";
        return std::nullopt;
      }
      ++j;
      while (j < rest.size() && IsWhite(rest[j])) ++j;
      const std::string_view hex = rest.substr(j);
      if (hex.size() != HashHexLength(*algo)) {
        *why = "digest has " + std::to_string(hex.size()) + " characters, " +
               std::string(HashAlgoTag(*algo)) + " needs " +
               std::to_string(HashHexLength(*algo));
        return std::nullopt;
      }
      for (char c : hex)
        if (!IsHex(c)) {
          *why = "digest is not hexadecimal";
          return std::nullopt;
        }
      std::string_view raw_name = rest.substr(paren + 1, close - (paren + 1));
      std::string name(raw_name);
      if (escaped) {
        auto un = UnescapeName(raw_name);
        if (!un) {
          *why = "invalid backslash escape in file name";
          return std::nullopt;
        }
        name = std::move(*un);
      }
      return ParsedLine{*algo, Lower(hex), std::move(name)};
    }
  }

  // GNU style: HEX, whitespace, then ' ' or '*', then the name.
  size_t h = 0;
  while (h < rest.size() && IsHex(rest[h])) ++h;
  if (h == 0) {
    *why = "neither 'HASH  name' nor 'TAG (name) = HASH'";
    return std::nullopt;
  }
  auto algo = AlgoForHexLength(h, hint);
  if (!algo) {
    *why = "digest of " + std::to_string(h) + " hex digits matches no supported algorithm";
    return std::nullopt;
  }
  if (h >= rest.size() || !IsWhite(rest[h])) {
    *why = "digest not followed by a space";
    return std::nullopt;
  }
  // As coreutils: "HASH  name" and "HASH *name" normally; "HASH name" (one space) is the
  // reversed style, which once chosen holds for the whole file, where a following ' ' or '*'
  // is part of the name.
  size_t n = h + 1;
  if (rest.size() - n == 1 || (n < rest.size() && rest[n] != ' ' && rest[n] != '*') || n >= rest.size()) {
    if (*single_space_style == 0) {
      *why = "mixes 'HASH name' and 'HASH  name' lines";
      return std::nullopt;
    }
    *single_space_style = 1;
  } else if (*single_space_style != 1) {
    *single_space_style = 0;
    ++n;
  }
  std::string_view raw_name = rest.substr(n);
  if (raw_name.empty()) {
    *why = "no file name after the digest";
    return std::nullopt;
  }
  std::string name(raw_name);
  if (escaped) {
    auto un = UnescapeName(raw_name);
    if (!un) {
      *why = "invalid backslash escape in file name";
      return std::nullopt;
    }
    name = std::move(*un);
  }
  return ParsedLine{*algo, Lower(rest.substr(0, h)), std::move(name)};
}

}  // namespace

namespace {

// Turns manifest lines into entries, keeping what holds across lines: the algorithm and the
// single-space style.
class LineParser {
 public:
  LineParser(std::string_view name, std::optional<HashAlgo> hint) : name_(name), hint_(hint) {}

  // One line without its '\n'. Returns false with *error set on a malformed line; *has
  // tells whether the line held an entry (blank and '#' lines do not).
  bool Feed(std::string_view line, ManifestEntry* out, bool* has, Status* error) {
    ++line_no_;
    *has = false;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') return true;
    auto fail = [&](const std::string& why) {
      *error = Status::Usage(std::string(name_) + ":" + std::to_string(line_no_) + ": malformed manifest line: " + why);
      return false;
    };
    std::string why;
    auto parsed = ParseLine(line, hint_, &single_space_style_, &why);
    if (!parsed) return fail(why);
    if (algo_ && *algo_ != parsed->algo) {
      return fail("uses " + std::string(HashAlgoName(parsed->algo)) + " but earlier lines use " +
                  std::string(HashAlgoName(*algo_)) + "; one manifest holds one algorithm");
    }
    algo_ = parsed->algo;
    std::string unsafe;
    auto norm = NormaliseMemberPath(parsed->name, &unsafe);
    if (!norm || norm->empty()) {
      return fail("file name '" + EscapePath(parsed->name) + "' is not a relative path inside the tree" +
                  (unsafe.empty() ? "" : " (" + unsafe + ")"));
    }
    *out = ManifestEntry{std::move(*norm), std::move(parsed->hex), line_no_, parsed->algo};
    *has = true;
    return true;
  }
  std::optional<HashAlgo> algo() const { return algo_; }

 private:
  std::string_view name_;
  std::optional<HashAlgo> hint_;
  int single_space_style_ = -1;
  std::optional<HashAlgo> algo_;
  size_t line_no_ = 0;
};

}  // namespace

ManifestParseResult ParseManifest(std::string_view text, std::string_view name,
                                  std::optional<HashAlgo> algo_hint) {
  ManifestParseResult result;
  LineParser parser(name, algo_hint);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ManifestEntry e;
    bool has = false;
    if (!parser.Feed(text.substr(pos, end - pos), &e, &has, &result.status)) {
      result.manifest.entries.clear();
      return result;
    }
    if (has) result.manifest.entries.push_back(std::move(e));
    pos = end + 1;
  }
  if (parser.algo()) result.manifest.algo = *parser.algo();
  return result;
}

Status ScanManifestFile(const std::string& path, std::optional<HashAlgo> algo_hint,
                        const std::function<void(ManifestEntry&&)>& each, HashAlgo* algo) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::Environment("cannot read manifest " + path + ": " + std::strerror(errno));
  if (!algo_hint) algo_hint = AlgoHintFromFileName(path);
  LineParser parser(path, algo_hint);
  std::string buf;
  std::vector<char> chunk(1 << 20);
  Status st;
  auto feed = [&](std::string_view line) {
    ManifestEntry e;
    bool has = false;
    if (!parser.Feed(line, &e, &has, &st)) return false;
    if (has) each(std::move(e));
    return true;
  };
  for (;;) {
    const ssize_t n = ReadSome(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      st = Status::Environment("cannot read manifest " + path + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) {
      if (!buf.empty()) feed(buf);
      break;
    }
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t pos = 0, end;
    bool ok = true;
    while (ok && (end = buf.find('\n', pos)) != std::string::npos) {
      ok = feed(std::string_view(buf).substr(pos, end - pos));
      pos = end + 1;
    }
    if (!ok) break;
    buf.erase(0, pos);
  }
  if (st.ok() && parser.algo()) *algo = *parser.algo();
  return st;
}

ManifestParseResult LoadManifestFile(const std::string& path, std::optional<HashAlgo> algo_hint) {
  ManifestParseResult r;
  r.status = ScanManifestFile(
      path, algo_hint, [&](ManifestEntry&& e) { r.manifest.entries.push_back(std::move(e)); }, &r.manifest.algo);
  if (!r.status.ok()) r.manifest.entries.clear();
  return r;
}

std::string FormatManifestLine(HashAlgo algo, std::string_view path, std::string_view hex) {
  const bool openssl_algo =
      algo == HashAlgo::kSha256 || algo == HashAlgo::kSha512 || algo == HashAlgo::kBlake2b;
  const bool needs_escape = path.find('\n') != std::string_view::npos ||
                            path.find('\r') != std::string_view::npos ||
                            (openssl_algo && path.find('\\') != std::string_view::npos);
  std::string name;
  if (needs_escape) {
    for (char c : path) {
      if (c == '\\') name += "\\\\";
      else if (c == '\n') name += "\\n";
      else if (c == '\r') name += "\\r";
      else name += c;
    }
  } else {
    name = path;
  }
  std::string line;
  if (needs_escape) line += '\\';
  if (algo == HashAlgo::kXxh3_64) {
    line += "XXH3 (" + name + ") = " + std::string(hex);
  } else {
    line += std::string(hex) + "  " + name;
  }
  line += '\n';
  return line;
}

Status SaveManifestFile(const std::string& path, std::string_view text) { return WriteFileAtomically(path, text); }

std::optional<HashAlgo> AlgoHintFromFileName(std::string_view file_name) {
  const size_t slash = file_name.rfind('/');
  std::string base(slash == std::string_view::npos ? file_name : file_name.substr(slash + 1));
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (base.find("sha512") != std::string::npos) return HashAlgo::kSha512;
  if (base.find("blake2") != std::string::npos || base.find("b2sum") != std::string::npos ||
      base.rfind("b2", 0) == 0 || (base.size() >= 3 && base.compare(base.size() - 3, 3, ".b2") == 0))
    return HashAlgo::kBlake2b;
  return std::nullopt;
}

}  // namespace rp
