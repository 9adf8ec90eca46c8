#include "sources/xar_toc.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rp/path_text.h"

namespace rp::detail {
namespace {

constexpr size_t kHeaderBytes = 28;
constexpr size_t kChunk = 64 << 10;
constexpr size_t kMaxDepth = 256;       // libxml2's own limit without XML_PARSE_HUGE
constexpr size_t kMaxNameBytes = 4096;  // of one file element's name
constexpr size_t kMaxTokenBytes = 16;   // element and attribute names: only short ones matter

uint16_t Be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint64_t Be64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsNameStart(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u == ':' || u >= 0x80;
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

// Appends UTF-8 for code point `cp`.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | cp >> 6);
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | cp >> 12);
    *out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18 & 0x07));
    *out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    *out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Text with XML's predefined and numeric character references replaced (others kept).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t semi = s[i] == '&' ? s.find(';', i) : std::string::npos;
    if (semi == std::string::npos || semi - i > 12) {
      out += s[i];
      continue;
    }
    const std::string ref = s.substr(i + 1, semi - i - 1);
    static const std::pair<const char*, char> kNamed[] = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    bool done = false;
    for (const auto& [name, c] : kNamed)
      if (ref == name) {
        out += c;
        done = true;
      }
    if (!done && ref.size() > 1 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string digits = ref.substr(hex ? 2 : 1);
      char* stop = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
      if (!digits.empty() && stop && *stop == '\0' && cp > 0 && cp <= 0x10ffff) {
        AppendUtf8(static_cast<uint32_t>(cp), &out);
        done = true;
      }
    }
    if (!done) {
      out += s[i];
      continue;
    }
    i = semi;
  }
  return out;
}

// A byte-at-a-time reader of just enough XML: elements, their attribute names, comments,
// CDATA, processing instructions and declarations skipped, the text of a file's <name>.
class TocReader {
 public:
  TocReader(FindingList* out, uint64_t toc_at) : out_(out), toc_at_(toc_at) {}

  // False once the nesting is deeper than libxml2 allows (libarchive fails there).
  bool Feed(const char* p, size_t n) {
    for (size_t i = 0; i < n && !too_deep_; ++i) Step(p[i]);
    return !too_deep_;
  }

  // The elements still open at the end of the TOC are closed (reported if need be).
  void End() {
    while (!stack_.empty()) Close();
  }

 private:
  enum class State {
    kText,
    kLt,
    kStartName,
    kInTag,
    kAttrName,
    kAfterAttrName,
    kBeforeValue,
    kValue,
    kSelfClose,
    kEndTag,
    kBang,
    kComment,
    kCData,
    kDeclaration,
    kInstruction
  };
  struct Frame {
    bool file = false;          // a <file> element
    bool name_of_file = false;  // a <name> element directly inside a file
    uint64_t links = 0;         // link attributes on its own <type> children (files)
    std::string name;           // its <name> text, escaped (files)
  };

  static void AddToken(std::string* token, char c) {
    if (c == ':') {
      token->clear();  // a namespace prefix: libarchive compares local names
    } else if (token->size() < kMaxTokenBytes) {
      *token += c;
    } else {
      *token = std::string(kMaxTokenBytes + 1, '\0');  // too long to be one of ours
    }
  }

  void Text(char c) {
    if (stack_.size() < 2 || !stack_.back().name_of_file) return;
    std::string& name = stack_[stack_.size() - 2].name;
    if (name.size() < kMaxNameBytes) name += c;
  }

  void Step(char c) {
    switch (state_) {
      case State::kText:
        if (c == '<')
          state_ = State::kLt;
        else
          Text(c);
        break;
      case State::kLt:
        if (c == '/') {
          state_ = State::kEndTag;
        } else if (c == '!') {
          bang_.clear();
          state_ = State::kBang;
        } else if (c == '?') {
          prev_ = 0;
          state_ = State::kInstruction;
        } else if (IsNameStart(c)) {
          tag_.clear();
          AddToken(&tag_, c);
          links_ = 0;
          state_ = State::kStartName;
        } else {
          state_ = State::kText;
        }
        break;
      case State::kStartName:
        if (IsNameChar(c))
          AddToken(&tag_, c);
        else
          EndOfName(c);
        break;
      case State::kInTag:
        if (IsNameStart(c)) {
          attr_.clear();
          AddToken(&attr_, c);
          state_ = State::kAttrName;
        } else {
          EndOfName(c);
        }
        break;
      case State::kAttrName:
        if (IsNameChar(c))
          AddToken(&attr_, c);
        else if (IsSpace(c))
          state_ = State::kAfterAttrName;
        else if (c == '=')
          state_ = State::kBeforeValue;
        else
          state_ = State::kText;
        break;
      case State::kAfterAttrName:
        if (c == '=')
          state_ = State::kBeforeValue;
        else if (!IsSpace(c))
          state_ = State::kText;
        break;
      case State::kBeforeValue:
        if (c == '"' || c == '\'') {
          quote_ = c;
          if (attr_ == "link") ++links_;
          state_ = State::kValue;
        } else if (!IsSpace(c)) {
          state_ = State::kText;
        }
        break;
      case State::kValue:
        if (c == quote_) state_ = State::kInTag;
        break;
      case State::kSelfClose:
        if (c == '>') {
          Open();
          Close();
        }
        state_ = State::kText;
        break;
      case State::kEndTag:
        if (c == '>') {
          Close();
          state_ = State::kText;
        }
        break;
      case State::kBang:
        bang_ += c;
        if (bang_ == "--") {
          prev_ = 0;
          dashes_ = 0;
          state_ = State::kComment;
        } else if (bang_ == "[CDATA[") {
          prev_ = 0;
          dashes_ = 0;
          state_ = State::kCData;
        } else if (std::string_view("--").substr(0, bang_.size()) != bang_ &&
                   std::string_view("[CDATA[").substr(0, bang_.size()) != bang_) {
          brackets_ = 0;
          state_ = State::kDeclaration;
          Declaration(c);
        }
        break;
      case State::kComment:
        if (c == '>' && dashes_ >= 2) state_ = State::kText;
        dashes_ = c == '-' ? dashes_ + 1 : 0;
        break;
      case State::kCData:
        if (c == '>' && dashes_ >= 2) {
          state_ = State::kText;
          break;
        }
        if (c != ']') {
          for (; dashes_ > 0; --dashes_) Text(']');
          Text(c);
        } else {
          ++dashes_;
        }
        break;
      case State::kDeclaration:
        Declaration(c);
        break;
      case State::kInstruction:
        if (c == '>' && prev_ == '?') state_ = State::kText;
        prev_ = c;
        break;
    }
  }

  // After an element's name or an attribute value: more attributes, or the tag's end.
  void EndOfName(char c) {
    if (IsSpace(c)) {
      state_ = State::kInTag;
    } else if (c == '/') {
      state_ = State::kSelfClose;
    } else if (c == '>') {
      Open();
      state_ = State::kText;
    } else {
      state_ = State::kText;  // malformed: libarchive's parser reports it
    }
  }

  // <!DOCTYPE ...> and the like, with an internal subset in brackets.
  void Declaration(char c) {
    if (c == '[')
      ++brackets_;
    else if (c == ']' && brackets_ > 0)
      --brackets_;
    else if (c == '>' && brackets_ == 0)
      state_ = State::kText;
  }

  void Open() {
    if (stack_.size() >= kMaxDepth) {
      too_deep_ = true;
      return;
    }
    Frame f;
    f.file = tag_ == "file";
    if (!stack_.empty() && stack_.back().file) {
      if (tag_ == "type") stack_.back().links += links_;
      f.name_of_file = tag_ == "name";
    }
    stack_.push_back(std::move(f));
  }

  void Close() {
    if (stack_.empty()) return;
    const Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (!f.file || f.links <= 1) return;
    std::string path;
    for (const Frame& g : stack_)
      if (g.file) path += Unescape(g.name) + "/";
    path += Unescape(f.name);
    out_->Add(IndexProblem::kCorrupt, IndexCheck::kXarDoubleLink, path, toc_at_,
              "the xar TOC (compressed at offset " + std::to_string(toc_at_) + ") gives the file " +
                  (f.name.empty() ? std::string("without a name") : "'" + EscapePath(path) + "'") + " " +
                  std::to_string(f.links) +
                  " link attributes: libarchive 3.6.2 loops for ever on such a file, so the archive is not read");
  }

  FindingList* out_;
  const uint64_t toc_at_;
  State state_ = State::kText;
  std::vector<Frame> stack_;
  std::string tag_;     // local name of the element being opened
  std::string attr_;    // local name of the attribute being read
  uint64_t links_ = 0;  // link attributes of the element being opened
  char quote_ = '"';
  std::string bang_;  // what follows "<!", until it says comment, CDATA or declaration
  char prev_ = 0;
  int dashes_ = 0;  // '-' in a comment, ']' in CDATA, just seen
  int brackets_ = 0;
  bool too_deep_ = false;
};

}  // namespace

void ScanXarToc(ScanSource& src, FindingList* out) {
  unsigned char h[kHeaderBytes];
  if (!src.Read(0, sizeof h, h)) return;
  const uint64_t toc_at = Be16(h + 4), packed = Be64(h + 8), declared = Be64(h + 16);
  if (toc_at < kHeaderBytes || toc_at > src.size()) return;
  const uint64_t available = std::min(packed, src.size() - toc_at);
  const uint64_t limit = std::min(declared, kMaxDecodedIndexBytes);
  auto state = std::make_unique<inflate_state>();
  isal_inflate_init(state.get());
  state->crc_flag = ISAL_ZLIB;
  std::vector<uint8_t> in(kChunk), text(kChunk);
  uint64_t fed = 0, produced = 0;
  TocReader toc(out, toc_at);
  while (produced < limit) {
    if (state->avail_in == 0) {
      if (fed == available) break;
      const size_t k = static_cast<size_t>(std::min<uint64_t>(in.size(), available - fed));
      if (!src.Read(toc_at + fed, k, in.data())) break;
      state->next_in = in.data();
      state->avail_in = static_cast<uint32_t>(k);
      fed += k;
    }
    const uint32_t room = static_cast<uint32_t>(std::min<uint64_t>(text.size(), limit - produced));
    const uint32_t in_before = state->avail_in;
    state->next_out = text.data();
    state->avail_out = room;
    const int rc = isal_inflate(state.get());
    const uint32_t got = room - state->avail_out;
    produced += got;
    if (!toc.Feed(reinterpret_cast<const char*>(text.data()), got)) break;
    if (rc != ISAL_DECOMP_OK || state->block_state == ISAL_BLOCK_FINISH) break;
    if (got == 0 && state->avail_in == in_before) break;  // no progress: not a stream it can read
  }
  toc.End();
}

}  // namespace rp::detail
